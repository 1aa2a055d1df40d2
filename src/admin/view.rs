//! Small presentation helpers shared by the admin pages.

use crate::domain::time;

/// `YYYY-MM-DD HH:MM UTC`.
pub fn when(unix: i64) -> String {
    time::ymd_hm(unix)
}

/// One changed field of an audit entry, ready to print.
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// The fields of two JSON objects side by side, in the order they appear
/// (before's keys, then keys only `after` has). `null` reads "—"; numbers in
/// fields named `…_at` are timestamps.
pub fn changes(before_json: &str, after_json: &str) -> Vec<Change> {
    let parse = |text: &str| match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    let before = parse(before_json);
    let after = parse(after_json);
    let mut keys: Vec<&String> = before.keys().collect();
    keys.extend(after.keys().filter(|k| !before.contains_key(*k)));
    keys.into_iter()
        .map(|k| Change {
            field: k.clone(),
            before: show(k, before.get(k)),
            after: show(k, after.get(k)),
        })
        .collect()
}

fn show(field: &str, value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => "—".into(),
        Some(serde_json::Value::Number(n)) if field.ends_with("_at") => {
            n.as_i64().map(when).unwrap_or_else(|| n.to_string())
        }
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_changes() {
        assert_eq!(when(0), "1970-01-01 00:00 UTC");
        let c = changes(
            r#"{"suspended_at":null,"fee_bps":500}"#,
            r#"{"suspended_at":86460,"fee_bps":250,"note":"x"}"#,
        );
        let rows: Vec<(&str, &str, &str)> = c
            .iter()
            .map(|c| (c.field.as_str(), c.before.as_str(), c.after.as_str()))
            .collect();
        // serde_json keeps keys sorted unless preserve_order is on; compare as a set.
        for want in [
            ("suspended_at", "—", "1970-01-02 00:01 UTC"),
            ("fee_bps", "500", "250"),
            ("note", "—", "x"),
        ] {
            assert!(rows.contains(&want), "{want:?} in {rows:?}");
        }
        assert!(changes("not json", "{}").is_empty());
    }
}
