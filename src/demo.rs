//! `seed-demo`: a living shop to click through — three sellers with products, a buyer with a
//! saved test card and an admin — against whatever Stripe the settings name.
//!
//! Everything is found by its email (or the seller's product title) before it is created, and
//! every Stripe call carries a key built from ids stored before the call, so running the seed
//! again, or after it stopped halfway, completes what is missing and duplicates nothing.

use std::fmt::Write as _;

use crate::auth::accounts::{self, RegisterError};
use crate::config::Settings;
use crate::db::checkout as cards;
use crate::db::products::{self, ProductFields};
use crate::db::users::User;
use crate::db::{self, Db, DbError};
use crate::domain::images::{self, ImageType};
use crate::domain::product::{self, ProductInput};
use crate::domain::{Email, Password, Role, UserId};
use crate::seller::accounts::{
    ConnectError, LifecycleError, apply_account_snapshot, ensure_account, onboarding_link,
};
use crate::stripe::payments::IdemKey;
use crate::stripe::{GatewayConfig, GatewayError, StripeGateway};
use crate::web::uploads;

/// Every demo account's password: the accounts exist to be logged into by whoever runs the seed.
pub const DEMO_PASSWORD: &str = "demo-password-2026";

pub const ADMIN_EMAIL: &str = "demo-admin@example.com";
pub const BUYER_EMAIL: &str = "demo-buyer@example.com";

/// The test card the buyer gets (Stripe's test token for a Visa that always succeeds).
const TEST_CARD: &str = "pm_card_visa";

struct DemoProduct {
    title: &'static str,
    description: &'static str,
    price: &'static str,
    stock: &'static str,
    image: &'static [u8],
}

struct DemoSeller {
    /// The shop name starts as the email's local part, so the address is chosen to read well.
    email: &'static str,
    currency: &'static str,
    products: &'static [DemoProduct],
}

const SELLERS: &[DemoSeller] = &[
    DemoSeller {
        email: "tidewater-pottery@example.com",
        currency: "usd",
        products: &[
            DemoProduct {
                title: "Stoneware mug",
                description: "Wheel-thrown, glazed in terracotta.\n\nHolds 350 ml; dishwasher safe.",
                price: "28.00",
                stock: "25",
                image: include_bytes!("../static/demo/mug.png"),
            },
            DemoProduct {
                title: "Beeswax candle",
                description: "Poured by hand in a reused stoneware cup. About 30 hours of light.",
                price: "16.50",
                stock: "40",
                image: include_bytes!("../static/demo/candle.png"),
            },
        ],
    },
    DemoSeller {
        email: "northloom-textiles@example.com",
        currency: "eur",
        products: &[
            DemoProduct {
                title: "Striped wool scarf",
                description: "Merino, woven on a floor loom. 180 × 30 cm.",
                price: "64.00",
                stock: "12",
                image: include_bytes!("../static/demo/scarf.png"),
            },
            DemoProduct {
                title: "Checked socks",
                description: "Knitted from undyed and plum wool. Sizes 38–42.",
                price: "19.00",
                stock: "30",
                image: include_bytes!("../static/demo/socks.png"),
            },
        ],
    },
    DemoSeller {
        email: "hanami-print-studio@example.com",
        currency: "jpy",
        products: &[
            DemoProduct {
                title: "Risograph print: sun over hills",
                description: "A4, three colours, signed and numbered (edition of 50).",
                price: "3200",
                stock: "50",
                image: include_bytes!("../static/demo/print.png"),
            },
            DemoProduct {
                title: "Sourdough loaf print",
                description: "A5 risograph on recycled paper.",
                price: "1500",
                stock: "50",
                image: include_bytes!("../static/demo/bread.png"),
            },
        ],
    },
];

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error("{0}")]
    Refused(String),
    #[error(
        "{email} already exists as a {found}, not a {wanted}; remove it or seed another database"
    )]
    WrongRole {
        email: String,
        found: &'static str,
        wanted: &'static str,
    },
    #[error("demo product “{title}”: {detail}")]
    BadProduct { title: &'static str, detail: String },
    #[error("cannot prepare {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error("Stripe: {0}")]
    Stripe(#[from] GatewayError),
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
}

impl From<ConnectError> for SeedError {
    fn from(e: ConnectError) -> Self {
        match e {
            ConnectError::Db(d) => SeedError::Db(d),
            ConnectError::Stripe(s) => SeedError::Stripe(s),
            ConnectError::NoProfile => SeedError::Refused("a demo seller has no profile".into()),
        }
    }
}

/// Seeds the demo data and answers what to print: the logins, and where sellers still have to
/// finish Stripe's onboarding themselves (real Stripe), their links.
pub async fn seed(settings: &Settings) -> Result<String, SeedError> {
    std::fs::create_dir_all(&settings.data_dir).map_err(|source| SeedError::DataDir {
        path: settings.data_dir.display().to_string(),
        source,
    })?;
    let db = db::connect(&settings.database_url).await?;
    let stripe = StripeGateway::connect(&GatewayConfig {
        secret_key: settings.stripe.secret_key.clone(),
        api_base: Some(settings.stripe.api_base.clone()),
        data_dir: settings.data_dir.clone(),
    })
    .await?;
    let result = seed_with(settings, &db, &stripe).await;
    // The embedded emulator writes its state on shutdown: without it the accounts and cards just
    // created would be unknown to the app's next start.
    stripe.shutdown().await;
    db.close().await;
    result
}

async fn seed_with(
    settings: &Settings,
    db: &Db,
    stripe: &StripeGateway,
) -> Result<String, SeedError> {
    if stripe.livemode() {
        return Err(SeedError::Refused(
            "seed-demo refuses a live Stripe key: it creates test cards and fake shops".into(),
        ));
    }
    let password = Password::parse(DEMO_PASSWORD.to_owned())
        .map_err(|e| SeedError::Refused(format!("demo password: {e}")))?;
    let sim = stripe.serves_sim_helpers().await;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Demo data ready at {} (every password: {DEMO_PASSWORD})\n",
        settings.base_url
    );

    let admin = ensure_user(db, settings, ADMIN_EMAIL, &password, Role::Admin).await?;
    let _ = writeln!(out, "  admin   {}", admin.email);

    let mut links = Vec::new();
    for spec in SELLERS {
        let seller = ensure_user(db, settings, spec.email, &password, Role::Seller).await?;
        let active = connect_seller(db, stripe, settings, &seller, sim, &mut links).await?;
        let count = ensure_products(db, settings, &seller.id, spec).await?;
        let _ = writeln!(
            out,
            "  seller  {}  ({count} products, {})",
            seller.email,
            if active {
                "active"
            } else {
                "onboarding not finished"
            }
        );
    }

    let buyer = ensure_user(db, settings, BUYER_EMAIL, &password, Role::Buyer).await?;
    let card = ensure_card(db, stripe, &buyer).await?;
    let _ = writeln!(out, "  buyer   {}  (saved card {card})", buyer.email);

    if !links.is_empty() {
        let _ = writeln!(
            out,
            "\nThis Stripe is not the emulator: each seller finishes onboarding on Stripe's form \
             (links expire within minutes; run seed-demo again for fresh ones):"
        );
        for (email, url) in links {
            let _ = writeln!(out, "  {email}: {url}");
        }
    }
    Ok(out)
}

/// A verified buyer with the demo password and one saved test card, as the seed makes its buyer
/// (also used by the checkout benchmark's driver, which needs many buyers). Answers the buyer.
pub async fn ensure_buyer_with_card(
    db: &Db,
    stripe: &StripeGateway,
    settings: &Settings,
    email: &str,
) -> Result<User, SeedError> {
    let password = Password::parse(DEMO_PASSWORD.to_owned())
        .map_err(|e| SeedError::Refused(format!("demo password: {e}")))?;
    let buyer = ensure_user(db, settings, email, &password, Role::Buyer).await?;
    ensure_card(db, stripe, &buyer).await?;
    Ok(buyer)
}

/// The user with this email, created (verified, with the demo password) if missing. An account
/// that exists keeps its password; one with another role stops the seed.
async fn ensure_user(
    db: &Db,
    settings: &Settings,
    email: &str,
    password: &Password,
    role: Role,
) -> Result<User, SeedError> {
    let email = Email::parse(email).map_err(|e| SeedError::Refused(format!("{email}: {e}")))?;
    let user = match db::users::find_by_email(db, &email).await? {
        Some(u) => u,
        None => match accounts::register(db, &settings.base_url, &email, password, role).await {
            Ok(u) => u,
            // Another seed run created it between our look-up and the insert.
            Err(RegisterError::EmailTaken) => db::users::find_by_email(db, &email)
                .await?
                .ok_or_else(|| SeedError::Refused(format!("{} vanished", email.as_str())))?,
            Err(e) => return Err(e.into()),
        },
    };
    if user.role != role {
        return Err(SeedError::WrongRole {
            email: user.email,
            found: user.role.as_str(),
            wanted: role.as_str(),
        });
    }
    if !user.email_verified() {
        let mut conn = db.acquire().await.map_err(DbError::from)?;
        db::users::mark_email_verified(&mut conn, &user.id, db::now_unix()).await?;
    }
    Ok(user)
}

/// Creates the seller's connected account if missing and, on stripe-sim, completes its
/// onboarding through the emulator's test helper and stores what Stripe then says about it.
/// On real Stripe it collects an onboarding link for the seller to follow. Answers whether the
/// seller can take payments now.
async fn connect_seller(
    db: &Db,
    stripe: &StripeGateway,
    settings: &Settings,
    seller: &User,
    sim: bool,
    links: &mut Vec<(String, String)>,
) -> Result<bool, SeedError> {
    let account = ensure_account(
        db,
        stripe,
        &seller.id,
        &seller.email,
        settings.seller_account_type,
        db::now_unix(),
    )
    .await?;
    let profile = db::sellers::find(db, &seller.id)
        .await?
        .ok_or_else(|| SeedError::Refused(format!("{} has no seller profile", seller.email)))?;
    if profile.charges_enabled {
        return Ok(true);
    }
    if !sim {
        let link = onboarding_link(stripe, &settings.base_url, &account).await?;
        links.push((seller.email.clone(), link.url));
        // Stripe may already have finished it (a person followed last run's link).
        let snapshot = stripe.retrieve_account(&account).await?;
        apply_account_snapshot(db, &snapshot, db::now_unix(), &settings.base_url).await?;
        return Ok(snapshot.charges_enabled);
    }
    stripe
        .sim_complete_onboarding(
            &account,
            &IdemKey::new(&[seller.id.as_str(), &account, "demo-onboard"]),
        )
        .await?;
    let snapshot = stripe.retrieve_account(&account).await?;
    apply_account_snapshot(db, &snapshot, db::now_unix(), &settings.base_url).await?;
    Ok(snapshot.charges_enabled)
}

/// Creates (through the same checks as the seller's upload form) and publishes the seller's
/// demo products that are missing, found by title. Answers how many demo products the seller has.
async fn ensure_products(
    db: &Db,
    settings: &Settings,
    seller: &UserId,
    spec: &DemoSeller,
) -> Result<usize, SeedError> {
    let existing = products::list_owned(db, seller).await?;
    for demo in spec.products {
        let found = existing.iter().find(|p| p.title == demo.title);
        let (id, published) = match found {
            Some(p) => (p.id.clone(), p.published),
            None => (
                create_product(db, settings, seller, spec.currency, demo).await?,
                false,
            ),
        };
        if !published {
            products::set_published(db, seller, &id, true, db::now_unix()).await?;
        }
    }
    Ok(spec.products.len())
}

async fn create_product(
    db: &Db,
    settings: &Settings,
    seller: &UserId,
    currency: &str,
    demo: &DemoProduct,
) -> Result<crate::domain::ProductId, SeedError> {
    let bad = |detail: String| SeedError::BadProduct {
        title: demo.title,
        detail,
    };
    let valid = product::validate(&ProductInput {
        title: demo.title.into(),
        description: demo.description.into(),
        price: demo.price.into(),
        currency: currency.into(),
        stock: demo.stock.into(),
    })
    .map_err(|errors| {
        bad(errors
            .into_iter()
            .map(|(field, msg)| format!("{field}: {msg}"))
            .collect::<Vec<_>>()
            .join("; "))
    })?;
    let kind: ImageType = images::sniff(demo.image)
        .filter(|_| demo.image.len() <= images::MAX_IMAGE_BYTES)
        .ok_or_else(|| bad("the image is not an accepted PNG, JPEG or WebP".into()))?;
    let file = uploads::store_image(&settings.data_dir, kind, demo.image.to_vec())
        .await
        .map_err(|e| bad(e.to_string()))?;
    let fields = ProductFields {
        title: &valid.title,
        description: &valid.description,
        price: valid.price,
        stock: valid.stock,
    };
    match products::insert(
        db,
        seller,
        &fields,
        Some((&file, kind.content_type())),
        db::now_unix(),
    )
    .await
    {
        Ok(id) => Ok(id),
        Err(e) => {
            uploads::remove_image(&settings.data_dir, &file).await;
            Err(e.into())
        }
    }
}

/// The buyer's platform Customer (made the way checkout makes it) and one saved test card,
/// attached by Stripe and stored as the hosted card page's return stores it. Answers the card
/// as the buyer sees it.
async fn ensure_card(db: &Db, stripe: &StripeGateway, buyer: &User) -> Result<String, SeedError> {
    let buyer_id = buyer.id.as_str();
    if let Some(card) = cards::cards(db, buyer_id).await?.into_iter().next() {
        return Ok(format!("{} •••• {}", card.brand, card.last4));
    }
    let customer = match cards::platform_customer(db, buyer_id).await? {
        Some(c) => c,
        None => {
            // The same key as checkout's, so either path finds the one Customer.
            let key = IdemKey::new(&[buyer_id, "platform-customer"]);
            let id = stripe
                .create_platform_customer(buyer_id, &buyer.email, &key)
                .await?;
            cards::save_platform_customer(db, buyer_id, &id, db::now_unix()).await?
        }
    };
    let card = stripe
        .attach_card(
            &customer,
            TEST_CARD,
            &IdemKey::new(&[buyer_id, &customer, "demo-card"]),
        )
        .await?;
    cards::save_card(
        db,
        buyer_id,
        &card.payment_method_id,
        &card.brand,
        &card.last4,
        card.exp_month,
        card.exp_year,
        db::now_unix(),
    )
    .await?;
    Ok(format!("{} •••• {}", card.brand, card.last4))
}
