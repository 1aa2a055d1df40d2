//! The stripe-sim test helpers the demo seed drives. They exist only on the emulator (embedded,
//! or a standalone one named by STRIPE_API_BASE); real Stripe answers 404 to them.

use super::payments::IdemKey;
use super::raw::Params;
use super::{GatewayError, StripeGateway};

impl StripeGateway {
    /// Whether the Stripe server is stripe-sim: the embedded one always is; a remote server is
    /// when its test-helper clock answers (real Stripe has no such endpoint).
    pub async fn serves_sim_helpers(&self) -> bool {
        if self.is_simulated() {
            return true;
        }
        self.raw_get("/test_helpers/clock", &Params::new(), None)
            .await
            .is_ok()
    }

    /// Completes a connected account's onboarding as if its owner had filled in Stripe's hosted
    /// form (details submitted, charges and payouts enabled). Emulator only.
    pub async fn sim_complete_onboarding(
        &self,
        account: &str,
        key: &IdemKey,
    ) -> Result<(), GatewayError> {
        self.raw_post(
            &format!("/test_helpers/accounts/{account}/onboard"),
            &Params::new(),
            None,
            key.as_str(),
        )
        .await
        .map(|_| ())
    }
}
