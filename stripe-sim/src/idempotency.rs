//! Idempotency keys: the first completed response is stored per (account, key) for 24 h.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub const TTL_SECS: i64 = 24 * 3600;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum IdemState {
    /// The first request with this key is still executing.
    InFlight,
    Done {
        status: u16,
        body: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdemRecord {
    /// Method, path and canonical parameters of the first request.
    pub fingerprint: String,
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

/// Parameter order does not matter; values and nesting do.
pub fn fingerprint(method: &str, path: &str, params: &Map<String, Value>) -> String {
    format!(
        "{method} {path} {}",
        canonical(&Value::Object(params.clone()))
    )
}

/// Whether a finished response is kept for replay. Stripe keeps results of requests that
/// began executing (successes and card declines); validation failures and conflicts are not
/// kept, so the client may retry them with corrected parameters.
pub fn should_store(status: u16) -> bool {
    (200..300).contains(&status) || status == 402
}
