//! `expand[]`: replaces id strings by the objects they name, following dotted paths
//! (`latest_charge.balance_transaction`, `data.customer` on lists).

use serde_json::Value;

use crate::store::State;

const MAX_DEPTH: usize = 4;

/// Whether `reader` may see objects owned by `owner`: same platform family (a platform sees
/// fees on its connected accounts' charges and vice versa, as Stripe's expansion allows).
fn visible(st: &State, reader: &str, owner: &str) -> bool {
    reader == owner || st.platform_of(reader) == st.platform_of(owner)
}

fn expand_path(st: &State, reader: &str, value: &mut Value, path: &[&str], depth: usize) {
    let Some((head, rest)) = path.split_first() else {
        return;
    };
    if depth > MAX_DEPTH {
        return;
    }
    let Value::Object(map) = value else {
        return;
    };
    if *head == "data" && map.get("object").and_then(Value::as_str) == Some("list") {
        if let Some(Value::Array(items)) = map.get_mut("data") {
            for item in items {
                expand_path(st, reader, item, rest, depth + 1);
            }
        }
        return;
    }
    let Some(field) = map.get_mut(*head) else {
        return;
    };
    if let Value::String(id) = field
        && let Some(obj) = st.get(id)
        && visible(st, reader, &obj.owner)
    {
        *field = obj.json.clone();
    }
    if !rest.is_empty() {
        expand_path(st, reader, field, rest, depth + 1);
    }
}

/// Applies every `expand[]` path to a response body.
pub fn apply(st: &State, reader: &str, body: &mut Value, paths: &[String]) {
    for p in paths {
        let parts: Vec<&str> = p.split('.').collect();
        expand_path(st, reader, body, &parts, 0);
    }
}
