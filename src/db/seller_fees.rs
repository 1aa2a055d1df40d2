//! The platform fee a seller pays: the override columns of `sellers` resolved
//! against the platform setting by `domain::seller_fee::effective_fee`.
//! Checkout calls [`fee_for`] when it prices a charge; nothing else decides a
//! seller's fee.

use sqlx::any::AnyRow;
use sqlx::{Any, Row};

use super::DbError;
use crate::domain::seller_fee::{self, FeeOverride};
use crate::domain::{PlatformFee, UserId};

/// The fee in effect for `seller`, or `None` if there is no such seller.
/// Works on the pool or inside a transaction.
pub async fn fee_for<'e, E>(
    ex: E,
    seller: &UserId,
    platform: PlatformFee,
) -> Result<Option<PlatformFee>, DbError>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let row = sqlx::query("SELECT fee_bps, fee_fixed_minor FROM sellers WHERE user_id = $1")
        .bind(seller.as_str())
        .fetch_optional(ex)
        .await?;
    match row {
        Some(row) => Ok(Some(seller_fee::effective_fee(
            platform,
            override_from_row(&row)?,
        ))),
        None => Ok(None),
    }
}

/// Reads `fee_bps` / `fee_fixed_minor` from a row that selected them; values
/// outside what the admin form accepts are reported as corrupt, never used.
pub fn override_from_row(row: &AnyRow) -> Result<FeeOverride, DbError> {
    let bps: Option<i64> = row.try_get("fee_bps")?;
    let fixed: Option<i64> = row.try_get("fee_fixed_minor")?;
    let bps = match bps {
        Some(v) if (0..=seller_fee::MAX_BPS).contains(&v) => Some(v as u32),
        Some(v) => {
            return Err(DbError::Corrupt {
                column: "sellers.fee_bps",
                detail: v.to_string(),
            });
        }
        None => None,
    };
    let fixed_minor = match fixed {
        Some(v) if (0..=seller_fee::MAX_FIXED_MINOR).contains(&v) => Some(v),
        Some(v) => {
            return Err(DbError::Corrupt {
                column: "sellers.fee_fixed_minor",
                detail: v.to_string(),
            });
        }
        None => None,
    };
    Ok(FeeOverride { bps, fixed_minor })
}
