use std::process::ExitCode;

use marketplace::cli::{self, Command};
use marketplace::config::Settings;
use marketplace::startup::Application;
use marketplace::telemetry;

// The embedded stripe-sim keeps many small long-lived objects next to short-lived request
// data; glibc's allocator fragments under that mix (see stripe-sim's benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit code for configuration and usage mistakes, distinct from runtime failures (1).
const EXIT_CONFIG: u8 = 2;

fn main() -> ExitCode {
    if let Err(e) = dotenvy::dotenv()
        && !e.not_found()
    {
        eprintln!("configuration error: .env: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("configuration error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match cli::parse(&args) {
        Ok(c) => c,
        Err(problem) => {
            eprintln!("{problem}\n{}", cli::USAGE);
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    // One-shot commands print their own report; request and Stripe-call spans at INFO would
    // bury it, so they log warnings only unless RUST_LOG asks for more.
    let filter = if matches!(command, Command::Serve) || std::env::var_os("RUST_LOG").is_some() {
        settings.rust_log.clone()
    } else {
        "warn".to_string()
    };
    telemetry::init_with(&filter, settings.log_format);

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Serve => serve(settings).await,
            Command::CreateAdmin { email } => cli::create_admin(&settings, &email)
                .await
                .map(|msg| println!("{msg}"))
                .map_err(anyhow::Error::from),
            Command::SeedDemo => marketplace::demo::seed(&settings)
                .await
                .map(|report| print!("{report}"))
                .map_err(anyhow::Error::from),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let base_url = settings.base_url.clone();
    let app = Application::build(settings).await?;
    tracing::info!("listening on {base_url} (port {})", app.port());
    app.run_until_stopped().await?;
    Ok(())
}
