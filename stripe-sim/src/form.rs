//! Form / query-string decoding with Stripe's bracket nesting, and typed parameter access.
//!
//! `a[b][c]=v` → `{"a":{"b":{"c":"v"}}}`, `a[]=x&a[]=y` and `a[0]=x&a[1]=y` → `{"a":["x","y"]}`.

use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};

/// Splits `a[b][]` into `["a", "b", ""]`.
fn split_key(key: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut parts = vec![head.to_string()];
    while !rest.is_empty() {
        if !rest.starts_with('[') {
            return None;
        }
        let close = rest.find(']')?;
        parts.push(rest[1..close].to_string());
        rest = &rest[close + 1..];
    }
    Some(parts)
}

/// Checks percent escapes before decoding: `form_urlencoded` silently passes `%ZZ` through.
fn valid_percent(raw: &[u8]) -> bool {
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            if i + 2 >= raw.len() {
                return false;
            }
            if !(raw[i + 1].is_ascii_hexdigit() && raw[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn malformed(msg: &str) -> ApiError {
    ApiError::invalid(format!("Invalid request body: {msg}"))
}

fn insert(node: &mut Value, parts: &[String], value: String, full_key: &str) -> ApiResult<()> {
    let conflict = || {
        ApiError::invalid(format!("Invalid hash: conflicting values for {full_key}"))
            .with_code("parameter_invalid_hash")
            .with_param(full_key.to_string())
    };
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    // `[]` appends; numeric keys are kept as object keys and turned into arrays afterwards.
    if first.is_empty() {
        let Value::Array(arr) = node else {
            return Err(conflict());
        };
        if rest.is_empty() {
            arr.push(Value::String(value));
            return Ok(());
        }
        // `a[][x]=1&a[][y]=2` fills the last element until a key repeats.
        let needs_new = match arr.last() {
            Some(Value::Object(m)) => m.contains_key(&rest[0]),
            _ => true,
        };
        if needs_new {
            arr.push(Value::Object(Map::new()));
        }
        let last = arr.last_mut().ok_or_else(conflict)?;
        return insert_child(last, rest, value, full_key);
    }
    let Value::Object(map) = node else {
        return Err(conflict());
    };
    if rest.is_empty() {
        if map.contains_key(first) {
            match map.get(first) {
                Some(Value::String(_)) => {
                    // Repeated scalar keys: last one wins, as Stripe does.
                    map.insert(first.clone(), Value::String(value));
                    return Ok(());
                }
                _ => return Err(conflict()),
            }
        }
        map.insert(first.clone(), Value::String(value));
        return Ok(());
    }
    let child_template = if rest[0].is_empty() {
        Value::Array(vec![])
    } else {
        Value::Object(Map::new())
    };
    let child = map.entry(first.clone()).or_insert(child_template);
    insert_child(child, rest, value, full_key)
}

fn insert_child(
    node: &mut Value,
    parts: &[String],
    value: String,
    full_key: &str,
) -> ApiResult<()> {
    if parts.first().is_some_and(|p| p.is_empty()) && !node.is_array() {
        return Err(ApiError::invalid(format!("Invalid array: {full_key}"))
            .with_code("parameter_invalid_array")
            .with_param(full_key.to_string()));
    }
    if parts.first().is_some_and(|p| !p.is_empty()) && !node.is_object() {
        return Err(ApiError::invalid(format!("Invalid hash: {full_key}"))
            .with_code("parameter_invalid_hash")
            .with_param(full_key.to_string()));
    }
    if parts.len() == 1
        && !parts[0].is_empty()
        && let Value::Object(map) = node
    {
        if map.get(&parts[0]).is_some_and(|v| !v.is_string()) {
            return Err(ApiError::invalid(format!("Invalid hash: {full_key}"))
                .with_code("parameter_invalid_hash")
                .with_param(full_key.to_string()));
        }
        map.insert(parts[0].clone(), Value::String(value));
        return Ok(());
    }
    insert(node, parts, value, full_key)
}

/// Objects whose keys are all array indices become arrays, ordered by index.
fn normalise(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let all_numeric = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
            if all_numeric {
                let mut items: Vec<(usize, Value)> = map
                    .into_iter()
                    .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, normalise(v))))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, normalise(v))).collect())
            }
        }
        Value::Array(items) => Value::Array(items.into_iter().map(normalise).collect()),
        other => other,
    }
}

/// Deepest nesting accepted (`a[b][c]…`); the decoder is recursive, so this also bounds its stack.
const MAX_DEPTH: usize = 10;

/// Decodes a form body or query string into a JSON object of strings, arrays and objects.
pub fn parse(raw: &[u8]) -> ApiResult<Map<String, Value>> {
    if std::str::from_utf8(raw).is_err() {
        return Err(malformed("not valid UTF-8"));
    }
    if !valid_percent(raw) {
        return Err(malformed("invalid percent-encoding"));
    }
    let mut root = Value::Object(Map::new());
    for (k, v) in form_urlencoded::parse(raw) {
        if k.is_empty() && v.is_empty() {
            continue;
        }
        let parts = split_key(&k)
            .filter(|parts| parts.len() <= MAX_DEPTH)
            .ok_or_else(|| {
                ApiError::invalid(format!("Invalid parameter name: {k}")).with_param(k.to_string())
            })?;
        insert(&mut root, &parts, v.into_owned(), &k)?;
    }
    match normalise(root) {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}

/// Request parameters with typed accessors that produce Stripe's 400s naming the parameter.
#[derive(Debug, Clone, Default)]
pub struct Params {
    pub map: Map<String, Value>,
    prefix: String,
}

impl Params {
    pub fn new(map: Map<String, Value>) -> Self {
        Params {
            map,
            prefix: String::new(),
        }
    }

    /// The parameter's full name as the client wrote it, e.g. `card[number]`.
    pub fn name(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}[{key}]", self.prefix)
        }
    }

    /// Rejects parameters the endpoint does not know. `expand` is always allowed at top level.
    pub fn known(&self, allowed: &[&str]) -> ApiResult<()> {
        for k in self.map.keys() {
            if (self.prefix.is_empty() && k == "expand") || allowed.contains(&k.as_str()) {
                continue;
            }
            return Err(ApiError::unknown_param(&self.name(k)));
        }
        Ok(())
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn str(&self, key: &str) -> ApiResult<Option<String>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid_string(&self.name(key))),
        }
    }

    /// A string where the empty string means "not given" (Stripe's way of unsetting).
    pub fn str_nonempty(&self, key: &str) -> ApiResult<Option<String>> {
        Ok(self.str(key)?.filter(|s| !s.is_empty()))
    }

    pub fn req_str(&self, key: &str) -> ApiResult<String> {
        match self.str(key)? {
            Some(s) if !s.is_empty() => Ok(s),
            _ => Err(ApiError::missing(&self.name(key))),
        }
    }

    pub fn i64(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.str(key) {
            Ok(None) => Ok(None),
            Ok(Some(s)) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| ApiError::invalid_integer(&self.name(key))),
            Err(_) => Err(ApiError::invalid_integer(&self.name(key))),
        }
    }

    pub fn req_i64(&self, key: &str) -> ApiResult<i64> {
        self.i64(key)?
            .ok_or_else(|| ApiError::missing(&self.name(key)))
    }

    /// A non-negative amount in minor units.
    pub fn amount(&self, key: &str) -> ApiResult<Option<i64>> {
        match self.i64(key)? {
            Some(v) if v < 0 => Err(ApiError::invalid(format!(
                "Invalid non-negative integer: {}",
                self.name(key)
            ))
            .with_code("parameter_invalid_integer")
            .with_param(self.name(key))),
            other => Ok(other),
        }
    }

    pub fn bool(&self, key: &str) -> ApiResult<Option<bool>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => match s.as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(ApiError::invalid(format!("Invalid boolean: {s}"))
                    .with_code("parameter_invalid_boolean")
                    .with_param(self.name(key))),
            },
            Some(_) => Err(
                ApiError::invalid(format!("Invalid boolean: {}", self.name(key)))
                    .with_code("parameter_invalid_boolean")
                    .with_param(self.name(key)),
            ),
        }
    }

    /// One of a fixed set of string values.
    pub fn enum_str(&self, key: &str, allowed: &[&str]) -> ApiResult<Option<String>> {
        match self.str(key)? {
            None => Ok(None),
            Some(s) if allowed.contains(&s.as_str()) => Ok(Some(s)),
            Some(s) => Err(ApiError::invalid(format!(
                "Invalid {}: must be one of {}",
                self.name(key),
                allowed.join(", ")
            ))
            .with_param(self.name(key))
            .with_code(if s.is_empty() {
                "parameter_invalid_empty"
            } else {
                "parameter_invalid_string"
            })),
        }
    }

    /// A nested hash, e.g. `card[...]`. An empty string is treated as "not given".
    pub fn obj(&self, key: &str) -> ApiResult<Option<Params>> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(Params {
                map: m.clone(),
                prefix: self.name(key),
            })),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(_) => Err(
                ApiError::invalid(format!("Invalid hash: {}", self.name(key)))
                    .with_code("parameter_invalid_hash")
                    .with_param(self.name(key)),
            ),
        }
    }

    pub fn str_list(&self, key: &str) -> ApiResult<Option<Vec<String>>> {
        let bad = || {
            ApiError::invalid(format!("Invalid array: {}", self.name(key)))
                .with_code("parameter_invalid_array")
                .with_param(self.name(key))
        };
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_string).ok_or_else(bad))
                .collect::<ApiResult<Vec<_>>>()
                .map(Some),
            // A single value where a list is expected is accepted, as Stripe does for `expand`.
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(vec![s.clone()])),
            Some(Value::String(_)) => Ok(Some(vec![])),
            Some(_) => Err(bad()),
        }
    }

    /// Validates `metadata` against Stripe's limits and merges it into `existing`
    /// (an empty value unsets a key; `metadata=` clears all).
    pub fn metadata_into(&self, existing: &mut Map<String, Value>) -> ApiResult<bool> {
        let name = self.name("metadata");
        match self.map.get("metadata") {
            None => Ok(false),
            Some(Value::String(s)) if s.is_empty() => {
                existing.clear();
                Ok(true)
            }
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let Some(v) = v.as_str() else {
                        return Err(ApiError::invalid(format!(
                            "Invalid value for metadata key {k}: must be a string"
                        ))
                        .with_param(format!("{name}[{k}]")));
                    };
                    if k.chars().count() > 40 {
                        return Err(ApiError::invalid(format!(
                            "Metadata keys can have up to 40 characters; \"{k}\" has {}.",
                            k.chars().count()
                        ))
                        .with_param(format!("{name}[{k}]")));
                    }
                    if v.chars().count() > 500 {
                        return Err(ApiError::invalid(format!(
                            "Metadata values can have up to 500 characters, but you passed in a value that is {} characters long.",
                            v.chars().count()
                        ))
                        .with_param(format!("{name}[{k}]")));
                    }
                    if v.is_empty() {
                        existing.remove(k);
                    } else {
                        existing.insert(k.clone(), Value::String(v.to_string()));
                    }
                }
                if existing.len() > 50 {
                    return Err(
                        ApiError::invalid("You can have a maximum of 50 metadata keys.")
                            .with_param(name),
                    );
                }
                Ok(true)
            }
            Some(_) => Err(ApiError::invalid("Invalid metadata: must be a hash")
                .with_code("parameter_invalid_hash")
                .with_param(name)),
        }
    }

    /// New metadata for a created object.
    pub fn metadata(&self) -> ApiResult<Map<String, Value>> {
        let mut m = Map::new();
        self.metadata_into(&mut m)?;
        Ok(m)
    }

    pub fn expand(&self) -> ApiResult<Vec<String>> {
        Ok(self.str_list("expand")?.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nesting_and_arrays() {
        let m = parse(b"a[b][c]=v&x[]=1&x[]=2&y[0]=p&y[1]=q&metadata[k]=&e=%20s").unwrap();
        assert_eq!(
            Value::Object(m),
            json!({"a":{"b":{"c":"v"}},"x":["1","2"],"y":["p","q"],"metadata":{"k":""},"e":" s"})
        );
    }

    #[test]
    fn array_of_hashes() {
        let m = parse(b"i[0][p]=a&i[0][q]=1&i[1][p]=b").unwrap();
        assert_eq!(Value::Object(m), json!({"i":[{"p":"a","q":"1"},{"p":"b"}]}));
    }

    #[test]
    fn conflicts_and_bad_encoding_are_errors() {
        assert!(parse(b"a=1&a[b]=2").is_err());
        assert!(parse(b"a[b]=2&a=1").is_err());
        assert!(parse(b"a=%ZZ").is_err());
        assert!(parse(b"a=%4").is_err());
        assert!(parse(b"a[b=1").is_err());
        assert!(parse(&[0x61, 0x3d, 0xff]).is_err());
        let deep = format!("a{}=1", "[b]".repeat(100_000));
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn typed_access() {
        let p = Params::new(parse(b"amount=12x&ok=true&card[number]=42").unwrap());
        assert_eq!(
            p.i64("amount").unwrap_err().param.as_deref(),
            Some("amount")
        );
        assert_eq!(p.bool("ok").unwrap(), Some(true));
        let card = p.obj("card").unwrap().unwrap();
        assert_eq!(
            card.known(&[]).unwrap_err().param.as_deref(),
            Some("card[number]")
        );
        assert_eq!(
            p.req_str("nope").unwrap_err().code.as_deref(),
            Some("parameter_missing")
        );
    }
}
