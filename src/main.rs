use std::process::ExitCode;

// The embedded stripe-sim keeps many small long-lived objects next to short-lived request
// data; glibc's allocator fragments under that mix (see stripe-sim's benchmark).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    marketplace::cli::main()
}
