//! `Stripe-Signature` verification: HMAC-SHA256 of `"{t}.{raw body}"` under the endpoint's
//! secret, compared in constant time with every `v1` entry of the header (several during a
//! secret rotation), and `t` within [`TOLERANCE_SECS`] of now.
//!
//! Why not async-stripe-webhook's `Webhook::construct_event`: it has no verify-only entry
//! point, so every delivery also paid for a typed parse of the whole event into its generated
//! types (built without optimisation in release, see Cargo.toml), and we discard that parse:
//! receiving needs only the envelope, and handlers re-read the object from Stripe. That parse
//! was most of the CPU time of an ingest (`scripts/bench`, README "Webhooks").

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's default tolerance between the signature's timestamp and our clock.
pub const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` or no `v1=` in the header, or a `t` that is not a number.
    Malformed,
    /// No `v1` entry matches under any of the secrets.
    Mismatch,
    /// A signature matches but its timestamp is too far from now.
    Stale,
}

struct Header {
    timestamp: i64,
    v1: Vec<[u8; 32]>,
}

fn parse(header: &str) -> Result<Header, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for pair in header.split(',') {
        let Some((key, value)) = pair.trim().split_once('=') else {
            continue;
        };
        match key {
            "t" => timestamp = Some(value.parse().map_err(|_| SignatureError::Malformed)?),
            // An entry that is not 32 bytes of hex can never match; other entries may.
            "v1" => {
                let mut sig = [0u8; 32];
                if hex::decode_to_slice(value, &mut sig).is_ok() {
                    v1.push(sig);
                }
            }
            _ => {}
        }
    }
    match timestamp {
        Some(timestamp) if !v1.is_empty() => Ok(Header { timestamp, v1 }),
        Some(_) => Err(SignatureError::Mismatch),
        None => Err(SignatureError::Malformed),
    }
}

/// Verifies `header` for `body` under any of `secrets` at time `now` (unix seconds).
/// A matching signature with a stale timestamp is `Stale`, so a replayed old delivery reads
/// as what it is in the logs.
pub fn verify(
    body: &[u8],
    header: &str,
    secrets: &[String],
    now: i64,
) -> Result<(), SignatureError> {
    let parsed = parse(header)?;
    let prefix = format!("{}.", parsed.timestamp);
    for secret in secrets {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
            continue;
        };
        mac.update(prefix.as_bytes());
        mac.update(body);
        if parsed
            .v1
            .iter()
            .any(|sig| mac.clone().verify_slice(sig).is_ok())
        {
            return if (now - parsed.timestamp).abs() > TOLERANCE_SECS {
                Err(SignatureError::Stale)
            } else {
                Ok(())
            };
        }
    }
    Err(SignatureError::Mismatch)
}

/// The header Stripe would send for `body` signed with `secret` at `timestamp` (tests, tools).
pub fn sign(body: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"evt_1","type":"account.updated"}"#;
    const NOW: i64 = 1_800_000_000;

    fn secrets(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_signature_of_ours_verifies() {
        let header = sign(BODY, "whsec_a", NOW);
        assert_eq!(verify(BODY, &header, &secrets(&["whsec_a"]), NOW), Ok(()));
    }

    #[test]
    fn tampered_body_wrong_secret_and_junk_are_refused() {
        let header = sign(BODY, "whsec_a", NOW);
        let tampered = br#"{"id":"evt_2","type":"account.updated"}"#;
        assert_eq!(
            verify(tampered, &header, &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(BODY, &header, &secrets(&["whsec_b"]), NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(BODY, "garbage", &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(BODY, "t=abc,v1=00", &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify(BODY, &format!("t={NOW}"), &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Mismatch)
        );
        // Another scheme's signature (v0) is not a v1.
        let v0 = sign(BODY, "whsec_a", NOW).replace("v1=", "v0=");
        assert_eq!(
            verify(BODY, &v0, &secrets(&["whsec_a"]), NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn any_v1_under_any_secret_matches_during_a_rotation() {
        let good = sign(BODY, "whsec_new", NOW);
        let good_sig = good.split_once(",v1=").unwrap().1;
        let header = format!("t={NOW},v1=zz-not-hex,v1={},v1={good_sig}", "ab".repeat(32));
        assert_eq!(
            verify(BODY, &header, &secrets(&["whsec_old", "whsec_new"]), NOW),
            Ok(())
        );
    }

    #[test]
    fn the_timestamp_must_be_within_five_minutes_either_way() {
        let header = sign(BODY, "whsec_a", NOW);
        let s = secrets(&["whsec_a"]);
        assert_eq!(verify(BODY, &header, &s, NOW + 300), Ok(()));
        assert_eq!(verify(BODY, &header, &s, NOW - 300), Ok(()));
        assert_eq!(
            verify(BODY, &header, &s, NOW + 301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            verify(BODY, &header, &s, NOW - 301),
            Err(SignatureError::Stale)
        );
    }
}
