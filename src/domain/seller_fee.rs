//! A seller's platform fee: the platform setting, or the admin's override of
//! either part of it. [`effective_fee`] is the one resolution rule; checkout
//! reaches it through `db::seller_fees::fee_for`.

use super::fees::PlatformFee;

/// Basis points are a share of the order: 0 to 10000 (100%).
pub const MAX_BPS: i64 = 10_000;
/// The largest fixed part an admin may set, in minor units (10,000.00 in a
/// two-decimal currency). The fee is capped at the order amount anyway.
pub const MAX_FIXED_MINOR: i64 = 1_000_000;

/// The override columns of `sellers`; `None` in a part means "the platform's".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct FeeOverride {
    pub bps: Option<u32>,
    pub fixed_minor: Option<i64>,
}

impl FeeOverride {
    pub fn is_empty(self) -> bool {
        self.bps.is_none() && self.fixed_minor.is_none()
    }
}

/// The fee in effect for a seller: each part of the override, where set,
/// replaces the same part of the platform fee.
pub fn effective_fee(platform: PlatformFee, ovr: FeeOverride) -> PlatformFee {
    PlatformFee {
        bps: ovr.bps.unwrap_or(platform.bps),
        fixed_minor: ovr.fixed_minor.unwrap_or(platform.fixed_minor),
    }
}

/// Per-field messages for the admin's fee form.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FeeOverrideErrors {
    pub bps: Option<String>,
    pub fixed_minor: Option<String>,
}

/// Reads what the admin typed. A blank field keeps the platform's value for
/// that part; both blank clears the override.
pub fn parse_override(bps: &str, fixed_minor: &str) -> Result<FeeOverride, FeeOverrideErrors> {
    let mut errors = FeeOverrideErrors::default();
    let bps = match parse_whole(bps, MAX_BPS) {
        Ok(v) => v.map(|v| v as u32),
        Err(()) => {
            errors.bps = Some(format!(
                "Enter a whole number of basis points from 0 to {MAX_BPS} (500 = 5%), or leave it blank for the platform's rate."
            ));
            None
        }
    };
    let fixed_minor = match parse_whole(fixed_minor, MAX_FIXED_MINOR) {
        Ok(v) => v,
        Err(()) => {
            errors.fixed_minor = Some(format!(
                "Enter a whole number of minor units (cents) from 0 to {MAX_FIXED_MINOR}, or leave it blank for the platform's fixed part."
            ));
            None
        }
    };
    if errors == FeeOverrideErrors::default() {
        Ok(FeeOverride { bps, fixed_minor })
    } else {
        Err(errors)
    }
}

fn parse_whole(text: &str, max: i64) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) || text.len() > 12 {
        return Err(());
    }
    match text.parse::<i64>() {
        Ok(v) if v <= max => Ok(Some(v)),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLATFORM: PlatformFee = PlatformFee {
        bps: 500,
        fixed_minor: 30,
    };

    #[test]
    fn no_override_is_the_platform_fee() {
        assert_eq!(effective_fee(PLATFORM, FeeOverride::default()), PLATFORM);
    }

    #[test]
    fn each_part_of_the_override_replaces_its_own_part() {
        let both = FeeOverride {
            bps: Some(250),
            fixed_minor: Some(0),
        };
        assert_eq!(
            effective_fee(PLATFORM, both),
            PlatformFee {
                bps: 250,
                fixed_minor: 0
            }
        );
        let rate_only = FeeOverride {
            bps: Some(0),
            fixed_minor: None,
        };
        assert_eq!(
            effective_fee(PLATFORM, rate_only),
            PlatformFee {
                bps: 0,
                fixed_minor: 30
            }
        );
    }

    #[test]
    fn parses_blank_as_the_platform_part_and_rejects_nonsense() {
        assert_eq!(parse_override(" ", "").unwrap(), FeeOverride::default());
        assert_eq!(
            parse_override("10000", "0").unwrap(),
            FeeOverride {
                bps: Some(10_000),
                fixed_minor: Some(0)
            }
        );
        for bad in ["10001", "-1", "2.5", "5%", "abc", "99999999999999999999"] {
            let e = parse_override(bad, "").unwrap_err();
            assert!(e.bps.is_some() && e.fixed_minor.is_none(), "{bad}");
        }
        let e = parse_override("", "1000001").unwrap_err();
        assert!(e.fixed_minor.is_some() && e.bps.is_none());
        let e = parse_override("x", "y").unwrap_err();
        assert!(e.fixed_minor.is_some() && e.bps.is_some());
    }
}
