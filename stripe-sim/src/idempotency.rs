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

pub fn record_key(account: &str, key: &str) -> String {
    format!("{account}|{key}")
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

/// What identifies a request for idempotency: a SHA-256 of method, path and canonical
/// parameters. Parameter order does not matter; values and nesting do. A digest rather than
/// the text, because a record lives 24 h and the parameters can be kilobytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    fn of_text(text: &str) -> Fingerprint {
        Fingerprint(Sha256::digest(text.as_bytes()).into())
    }
}

pub fn fingerprint(method: &str, path: &str, params: &Map<String, Value>) -> Fingerprint {
    Fingerprint::of_text(&format!(
        "{method} {path} {}",
        canonical(&Value::Object(params.clone()))
    ))
}

impl Serialize for Fingerprint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

/// Snapshots written before fingerprints were digests hold the canonical text; it is hashed
/// at load so keys used before an upgrade still replay.
impl<'de> Deserialize<'de> for Fingerprint {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fingerprint, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        let mut digest = [0u8; 32];
        match hex::decode_to_slice(text.as_bytes(), &mut digest) {
            Ok(()) => Ok(Fingerprint(digest)),
            Err(_) => Ok(Fingerprint::of_text(&text)),
        }
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
}
