//! Stripe's webhook signature scheme.
//!
//! Stripe signs `"<timestamp>.<raw body>"` with HMAC-SHA256 keyed by the whole endpoint secret
//! (the `whsec_…` string itself, prefix included, as the official libraries verify it) and sends
//! `Stripe-Signature: t=<timestamp>,v1=<hex digest>`.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Hex HMAC-SHA256 of `"<timestamp>.<payload>"` under `secret`.
pub fn signature(secret: &str, timestamp: i64, payload: &str) -> String {
    // HMAC accepts keys of any length, so this constructor cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The value of the `Stripe-Signature` header for one delivery attempt.
pub fn header(secret: &str, timestamp: i64, payload: &str) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, payload))
}

/// Checks a `Stripe-Signature` header the way Stripe's client libraries do (any `v1` entry may
/// match; the timestamp must be within `tolerance_secs` of `now`). Used by the emulator's own
/// tests and handy for clients written against it.
pub fn verify(secret: &str, header: &str, payload: &str, now: i64, tolerance_secs: i64) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", sig)) => candidates.push(sig),
            _ => {}
        }
    }
    let Some(t) = timestamp else { return false };
    if (now - t).abs() > tolerance_secs {
        return false;
    }
    let expected = signature(secret, t, payload);
    candidates
        .iter()
        .any(|c| constant_time_eq(c.as_bytes(), expected.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_0123456789";
    const BODY: &str = r#"{"id":"evt_1","object":"event"}"#;

    #[test]
    fn matches_an_independently_computed_vector() {
        // python3: hmac.new(SECRET.encode(), b'1700000000.' + BODY.encode(), hashlib.sha256).hexdigest()
        assert_eq!(
            signature(SECRET, 1_700_000_000, BODY),
            "0f06c232d18bc676bfacfc5240a2cfe4559e99421aacd50637b2ba2c7262e338"
        );
        assert_eq!(
            header(SECRET, 1_700_000_000, BODY),
            "t=1700000000,v1=0f06c232d18bc676bfacfc5240a2cfe4559e99421aacd50637b2ba2c7262e338"
        );
    }

    #[test]
    fn verify_accepts_own_header_and_rejects_tampering() {
        let h = header(SECRET, 1_700_000_000, BODY);
        assert!(verify(SECRET, &h, BODY, 1_700_000_010, 300));
        assert!(!verify(
            SECRET,
            &h,
            r#"{"id":"evt_2","object":"event"}"#,
            1_700_000_010,
            300
        ));
        assert!(!verify("whsec_other", &h, BODY, 1_700_000_010, 300));
        assert!(
            !verify(SECRET, &h, BODY, 1_700_001_000, 300),
            "stale timestamp"
        );
        assert!(
            !verify(SECRET, "v1=abc", BODY, 1_700_000_000, 300),
            "no timestamp"
        );
    }

    #[test]
    fn verify_accepts_any_matching_v1_entry() {
        let good = signature(SECRET, 42, BODY);
        let h = format!("t=42,v1=deadbeef,v0=zzz,v1={good}");
        assert!(verify(SECRET, &h, BODY, 42, 300));
    }
}
