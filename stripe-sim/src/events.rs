//! The one place events are recorded. Every state change calls [`emit`]; the webhook
//! dispatcher takes new event ids from `State::pending_events`.

use serde_json::{Value, json};

use crate::ids;
use crate::store::State;

/// API version events are rendered for (the one async-stripe 1.0.0-rc.10 sends).
pub const API_VERSION: &str = "2026-09-30.endive";

#[derive(Debug, Clone, Default)]
pub struct EventRequest {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Records an event on `account` with a snapshot of `object` and returns the event id.
/// `previous` is `data.previous_attributes` (the changed fields' old values) for `*.updated`.
pub fn emit(
    st: &mut State,
    account: &str,
    event_type: &str,
    object: &Value,
    previous: Option<Value>,
    request: EventRequest,
) -> String {
    let id = ids::new_id("evt");
    let mut data = json!({ "object": object });
    if let Some(prev) = previous {
        data["previous_attributes"] = prev;
    }
    let mut event = json!({
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": st.now(),
        "data": data,
        "livemode": false,
        "pending_webhooks": 0,
        "request": { "id": request.id, "idempotency_key": request.idempotency_key },
        "type": event_type,
    });
    if st.is_connected_account(account) {
        event["account"] = json!(account);
    }
    st.insert(account, event, Default::default());
    st.pending_events.push_back(id.clone());
    id
}

/// `previous_attributes` for an update: the old values of the top-level fields that changed.
pub fn diff(old: &Value, new: &Value) -> Value {
    let mut prev = serde_json::Map::new();
    if let (Value::Object(o), Value::Object(n)) = (old, new) {
        for (k, nv) in n {
            let ov = o.get(k).cloned().unwrap_or(Value::Null);
            if &ov != nv {
                prev.insert(k.clone(), ov);
            }
        }
    }
    Value::Object(prev)
}
