//! Idempotency keys: the first completed response is stored per (account, key) for 24 h.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::store::packed::Packed;

pub const TTL_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IdemState {
    /// The first request with this key is still executing.
    InFlight,
    Done {
        status: u16,
        /// The response body, replayed byte for byte.
        body: Packed,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdemRecord {
    /// Method, path and canonical parameters of the first request.
    pub fingerprint: Fingerprint,
    pub created: i64,
    pub state: IdemState,
}

/// A record's key: a 128-bit digest of the account and the client's key. Records are only
/// ever looked up, never listed, and a key can be 255 characters: the digest keeps each of the
/// (many) records small. Snapshots hold it as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordKey([u8; 16]);

pub fn record_key(account: &str, key: &str) -> RecordKey {
    RecordKey(digest(&format!("{account}|{key}")))
}

fn digest(text: &str) -> [u8; 16] {
    let full: [u8; 32] = Sha256::digest(text.as_bytes()).into();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Hex of the digest; text that is not (a snapshot from before digests: `"{account}|{key}"`
/// or the canonical request) is digested instead, so keys used before an upgrade still match.
fn digest_from_text(text: &str) -> [u8; 16] {
    let mut out = [0u8; 16];
    match hex::decode_to_slice(text.as_bytes(), &mut out) {
        Ok(()) => out,
        Err(_) => digest(text),
    }
}

impl Serialize for RecordKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for RecordKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RecordKey, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(RecordKey(digest_from_text(&text)))
    }
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// What identifies a request for idempotency: a 128-bit digest of method, path and canonical
/// parameters. Parameter order does not matter; values and nesting do. A digest rather than
/// the text, because a record lives 24 h and the parameters can be kilobytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 16]);

pub fn fingerprint(method: &str, path: &str, params: &Map<String, Value>) -> Fingerprint {
    Fingerprint(digest(&format!(
        "{method} {path} {}",
        canonical(&Value::Object(params.clone()))
    )))
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fingerprint, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        Ok(Fingerprint(digest_from_text(&text)))
    }
}

/// Whether a finished response is kept for replay. Stripe keeps results of requests that
/// began executing (successes and card declines); validation failures and conflicts are not
/// kept, so the client may retry them with corrected parameters.
pub fn should_store(status: u16) -> bool {
    (200..300).contains(&status) || status == 402
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn parameter_order_does_not_matter_but_values_do() {
        let a = fingerprint(
            "POST",
            "/v1/refunds",
            &params(json!({"charge": "ch_1", "amount": "5"})),
        );
        let b = fingerprint(
            "POST",
            "/v1/refunds",
            &params(json!({"amount": "5", "charge": "ch_1"})),
        );
        let c = fingerprint(
            "POST",
            "/v1/refunds",
            &params(json!({"amount": "6", "charge": "ch_1"})),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn records_round_trip_and_old_text_fingerprints_still_match() {
        let fp = fingerprint("POST", "/v1/customers", &params(json!({"email": "a@b.c"})));
        let rec = IdemRecord {
            fingerprint: fp,
            created: 7,
            state: IdemState::Done {
                status: 200,
                body: Packed::pack("{\"id\":\"cus_1\"}"),
            },
        };
        let text = serde_json::to_string(&rec).unwrap_or_default();
        assert!(text.contains("{\\\"id\\\":\\\"cus_1\\\"}"), "{text}");
        let back: IdemRecord = serde_json::from_str(&text).expect("record");
        assert_eq!(back.fingerprint, fp);
        // Snapshots from before digests kept the canonical text itself.
        let old = json!({
            "fingerprint": "POST /v1/customers {\"email\":\"a@b.c\"}",
            "created": 7,
            "state": {"Done": {"status": 200, "body": "{}"}}
        });
        let old: IdemRecord = serde_json::from_value(old).expect("old record");
        assert_eq!(old.fingerprint, fp);
    }

    #[test]
    fn record_keys_are_per_account_and_old_text_keys_still_match() {
        let k = record_key("acct_1", "order-7");
        assert_ne!(k, record_key("acct_2", "order-7"));
        assert_ne!(k, record_key("acct_1", "order-8"));
        let saved = serde_json::to_string(&k).unwrap_or_default();
        assert_eq!(serde_json::from_str::<RecordKey>(&saved).ok(), Some(k));
        let old: Option<RecordKey> = serde_json::from_str("\"acct_1|order-7\"").ok();
        assert_eq!(old, Some(k));
    }
}
