//! The platform's application fee on a charge.

use super::money::{Money, MoneyError};

/// `bps` basis points of the amount plus a fixed part in the charge currency's minor units.
///
/// Rounding rule (the only place it is written): the percentage part is rounded
/// half up to a whole minor unit, then the fixed part is added, and the total is
/// capped at the amount itself so a seller never owes money on a small order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformFee {
    pub bps: u32,
    pub fixed_minor: i64,
}

impl PlatformFee {
    pub fn fee_for(self, amount: Money) -> Result<Money, MoneyError> {
        if amount.is_negative() {
            return Err(MoneyError::InvalidAmount(amount.to_string()));
        }
        let scaled = i128::from(amount.minor) * i128::from(self.bps);
        let percent = (scaled + 5_000) / 10_000;
        let total = (percent + i128::from(self.fixed_minor)).min(i128::from(amount.minor));
        let minor = i64::try_from(total).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, amount.currency))
    }

    /// The fee on a partial capture: the authorized fee scaled to the captured share, rounded
    /// half up like [`PlatformFee::fee_for`], never above the captured amount. Scaling the fee
    /// that was agreed at checkout (rather than re-reading today's rule) keeps the effective
    /// rate the buyer's order was priced with, even if an admin changed the seller's fee since.
    pub fn captured_share(
        fee: Money,
        authorized: Money,
        captured: Money,
    ) -> Result<Money, MoneyError> {
        if fee.currency != authorized.currency || captured.currency != authorized.currency {
            return Err(MoneyError::CurrencyMismatch {
                left: authorized.currency,
                right: if fee.currency != authorized.currency {
                    fee.currency
                } else {
                    captured.currency
                },
            });
        }
        if authorized.minor <= 0 || captured.is_negative() || captured.minor > authorized.minor {
            return Err(MoneyError::InvalidAmount(captured.to_string()));
        }
        let scaled = i128::from(fee.minor) * i128::from(captured.minor);
        let den = i128::from(authorized.minor);
        let share = ((2 * scaled + den) / (2 * den)).min(i128::from(captured.minor));
        let minor = i64::try_from(share).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, captured.currency))
    }

    /// "5% + 30 minor units" rendered for people, e.g. "5% + $0.30".
    pub fn describe(self, currency: super::money::Currency) -> String {
        let whole = self.bps / 100;
        let frac = self.bps % 100;
        let percent = if frac == 0 {
            format!("{whole}%")
        } else {
            format!("{}%", format!("{whole}.{frac:02}").trim_end_matches('0'))
        };
        if self.fixed_minor == 0 {
            percent
        } else {
            format!("{percent} + {}", Money::new(self.fixed_minor, currency))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::Currency;

    #[test]
    fn rounds_half_up_then_adds_fixed_part() {
        let fee = PlatformFee {
            bps: 250,
            fixed_minor: 30,
        };
        // 2.5% of $10.10 = 25.25 cents → 25, + 30
        assert_eq!(
            fee.fee_for(Money::new(1010, Currency::Usd)).unwrap().minor,
            55
        );
        // 2.5% of $10.30 = 25.75 cents → 26, + 30
        assert_eq!(
            fee.fee_for(Money::new(1030, Currency::Usd)).unwrap().minor,
            56
        );
        // exactly half a cent rounds up: 2.5% of 0.20 = 0.5
        let pct = PlatformFee {
            bps: 250,
            fixed_minor: 0,
        };
        assert_eq!(pct.fee_for(Money::new(20, Currency::Usd)).unwrap().minor, 1);
    }

    #[test]
    fn never_exceeds_the_amount() {
        let fee = PlatformFee {
            bps: 500,
            fixed_minor: 30,
        };
        assert_eq!(
            fee.fee_for(Money::new(20, Currency::Usd)).unwrap().minor,
            20
        );
        assert!(fee.fee_for(Money::new(-1, Currency::Usd)).is_err());
    }

    #[test]
    fn a_partial_capture_keeps_the_fee_in_proportion() {
        let usd = |m| Money::new(m, Currency::Usd);
        // $100.00 authorized with a $5.30 fee; $40.00 captured → $2.12
        assert_eq!(
            PlatformFee::captured_share(usd(530), usd(10_000), usd(4_000))
                .unwrap()
                .minor,
            212
        );
        // half a cent rounds up: 3¢ of 2¢ on a 1¢ capture is 1.5¢ → 2¢, capped at the 1¢
        assert_eq!(
            PlatformFee::captured_share(usd(3), usd(2), usd(1))
                .unwrap()
                .minor,
            1
        );
        assert_eq!(
            PlatformFee::captured_share(usd(3), usd(4), usd(2))
                .unwrap()
                .minor,
            2
        );
        // all of it: the whole fee
        assert_eq!(
            PlatformFee::captured_share(usd(530), usd(10_000), usd(10_000))
                .unwrap()
                .minor,
            530
        );
        assert!(PlatformFee::captured_share(usd(530), usd(10_000), usd(10_001)).is_err());
        assert!(
            PlatformFee::captured_share(usd(530), usd(10_000), Money::new(1, Currency::Eur))
                .is_err()
        );
    }

    #[test]
    fn describes_itself() {
        let fee = PlatformFee {
            bps: 500,
            fixed_minor: 30,
        };
        assert_eq!(fee.describe(Currency::Usd), "5% + $0.30");
        let fee = PlatformFee {
            bps: 250,
            fixed_minor: 0,
        };
        assert_eq!(fee.describe(Currency::Usd), "2.5%");
    }
}
