//! What request handlers share. Route modules import this, never the start-up
//! wiring, so a page does not depend on how the server is assembled.

use std::sync::Arc;

use crate::config::Settings;
use crate::db::Db;
use crate::domain::PlatformFee;
use crate::storefront::cache::CatalogCache;
use crate::stripe::StripeGateway;

/// Everything handlers share, in one place: add a field here and every
/// handler can take it through `web::Data<AppState>`.
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub platform_fee: PlatformFee,
    /// The one way to Stripe (or the embedded emulator).
    pub stripe: StripeGateway,
    /// Payments go to the embedded Stripe emulator; the layout shows a test-mode banner.
    pub simulated_payments: bool,
    /// Recent storefront reads, shared by this instance's workers (see `storefront::cache`).
    pub catalog: Arc<CatalogCache>,
}

impl AppState {
    /// The state of one instance: the platform fee and the catalog cache's lifetime come from
    /// `settings`.
    pub fn new(db: Db, stripe: StripeGateway, settings: Arc<Settings>) -> AppState {
        AppState {
            db,
            platform_fee: PlatformFee {
                bps: settings.platform_fee_bps,
                fixed_minor: settings.platform_fee_fixed,
            },
            simulated_payments: stripe.is_simulated(),
            stripe,
            catalog: Arc::new(CatalogCache::new(settings.catalog_cache)),
            settings,
        }
    }
}
