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

/// A 128-bit SHA-256 prefix, kept instead of texts that can be kilobytes (request parameters)
/// or 255 characters (keys) on records that live 24 h. Snapshots hold it as hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest128([u8; 16]);

impl Digest128 {
    fn of(text: &str) -> Digest128 {
        let full: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        let mut out = [0u8; 16];
        out.copy_from_slice(&full[..16]);
        Digest128(out)
    }
}

impl Serialize for Digest128 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

/// Text that is not hex (a snapshot from before digests: `"{account}|{key}"` or the canonical
/// request) is digested instead, so keys used before an upgrade still match.
impl<'de> Deserialize<'de> for Digest128 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Digest128, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        let mut out = [0u8; 16];
        Ok(match hex::decode_to_slice(text.as_bytes(), &mut out) {
            Ok(()) => Digest128(out),
            Err(_) => Digest128::of(&text),
        })
    }
}

/// A record's key: the digest of the account and the client's key. Records are only ever
/// looked up, never listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RecordKey(Digest128);

pub fn record_key(account: &str, key: &str) -> RecordKey {
    RecordKey(Digest128::of(&format!("{account}|{key}")))
}

/// Sorted keys at every level, so that parameter order does not matter.
fn canonical_map(m: &Map<String, Value>) -> Value {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    Value::Object(
        keys.into_iter()
            .map(|k| (k.clone(), canonical(&m[k])))
            .collect(),
    )
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => canonical_map(m),
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// What identifies a request for idempotency: the digest of method, path and canonical
/// parameters. Values and nesting matter; parameter order does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(Digest128);

pub fn fingerprint(method: &str, path: &str, params: &Map<String, Value>) -> Fingerprint {
    Fingerprint(Digest128::of(&format!(
        "{method} {path} {}",
        canonical_map(params)
    )))
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
