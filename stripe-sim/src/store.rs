//! All emulator state. Everything here is `Serialize + Deserialize` so the whole store can be
//! snapshotted to a file and reloaded (ids stay valid across restarts).
//!
//! Objects are kept as the exact JSON Stripe would return (`json`), plus private fields the API
//! never shows (`internal`, e.g. the test card's behaviour). Every object has an `owner`: the
//! account (platform or connected) it lives on; reads from any other account get a 404.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::idempotency::IdemRecord;

/// How many objects currently hold a parsed tree (see [`Json`]); the ticker sweeps when > 0.
static THAWED: AtomicUsize = AtomicUsize::new(0);

pub fn thawed_count() -> usize {
    THAWED.load(Ordering::Relaxed)
}

/// A stored object's JSON. At rest it is compact text: a `serde_json::Value` tree costs about
/// seven times its text, which made the store grow by ~180 KB per payment. It is parsed on first
/// access (reads and writes go through `Deref`/`DerefMut` to a `Value`, so code reads
/// `obj.json["status"]` as before) and turned back into text by [`State::freeze_touched`] after
/// each request and by the ticker's sweep.
pub struct Json {
    /// The compact text; `None` once the tree has been modified.
    raw: Option<std::sync::Arc<RawValue>>,
    tree: OnceCell<Value>,
}

impl Json {
    pub fn new(v: Value) -> Json {
        THAWED.fetch_add(1, Ordering::Relaxed);
        Json {
            raw: None,
            tree: OnceCell::from(v),
        }
    }

    fn parse(&self) -> Value {
        THAWED.fetch_add(1, Ordering::Relaxed);
        self.raw
            .as_ref()
            .and_then(|r| serde_json::from_str(r.get()).ok())
            .unwrap_or(Value::Null)
    }

    /// Drops the parsed tree, keeping (or producing) the compact text.
    pub fn freeze(&mut self) {
        if let Some(tree) = self.tree.take() {
            THAWED.fetch_sub(1, Ordering::Relaxed);
            if self.raw.is_none() {
                self.raw = serde_json::value::to_raw_value(&tree).ok().map(Into::into);
            }
        }
    }

    /// The compact text, shared rather than copied when the object is at rest (the snapshot
    /// writer keeps it without doubling the store's memory).
    pub fn shared_text(&self) -> Result<std::sync::Arc<RawValue>, serde_json::Error> {
        match (self.tree.get(), &self.raw) {
            (None, Some(raw)) => Ok(raw.clone()),
            _ => serde_json::value::to_raw_value(&**self).map(Into::into),
        }
    }

    pub fn is_thawed(&self) -> bool {
        self.tree.get().is_some()
    }
}

impl Drop for Json {
    fn drop(&mut self) {
        if self.tree.get().is_some() {
            THAWED.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Deref for Json {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.tree.get_or_init(|| self.parse())
    }
}

impl DerefMut for Json {
    fn deref_mut(&mut self) -> &mut Value {
        if self.tree.get().is_none() {
            let v = self.parse();
            self.tree = OnceCell::from(v);
        }
        // The text no longer matches once the tree may change.
        self.raw = None;
        self.tree.get_mut().expect("tree was set just above")
    }
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        Json::new(v)
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.tree.get(), &self.raw) {
            (None, Some(raw)) => (**raw).serialize(s),
            _ => (**self).serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Json, D::Error> {
        let raw: std::sync::Arc<RawValue> = Box::<RawValue>::deserialize(d)?.into();
        Ok(Json {
            raw: Some(raw),
            tree: OnceCell::new(),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Obj {
    pub id: String,
    /// Account id the object lives on.
    pub owner: String,
    /// Resource kind: "customer", "payment_intent", … (the JSON `object` value).
    pub kind: String,
    /// Global creation order; breaks ties between objects created in the same second.
    pub seq: u64,
    pub created: i64,
    pub json: Json,
    #[serde(default)]
    pub internal: Map<String, Value>,
}

impl Clone for Obj {
    fn clone(&self) -> Obj {
        Obj {
            id: self.id.clone(),
            owner: self.owner.clone(),
            kind: self.kind.clone(),
            seq: self.seq,
            created: self.created,
            json: Json::new((*self.json).clone()),
            internal: self.internal.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Secret key (`sk_test_…`) → platform account id.
    pub platforms_by_key: HashMap<String, String>,
    pub objects: HashMap<String, Obj>,
    /// `"{owner}|{kind}"` → object ids in creation order (oldest first).
    pub index: HashMap<String, Vec<String>>,
    /// `"{owner}|{key}"` → stored idempotent result.
    pub idempotency: HashMap<String, IdemRecord>,
    /// Hosted-page tokens (account links, 3-D Secure challenges) → object id.
    pub tokens: HashMap<String, String>,
    pub seq: u64,
    /// Seconds added to the wall clock by the advance-time test helper.
    pub clock_offset: i64,
    /// Event ids recorded but not yet handed to the webhook dispatcher.
    pub pending_events: VecDeque<String>,
    /// Ids handed out by the accessors during the current request, frozen back to text at its end.
    #[serde(skip)]
    pub touched: RefCell<Vec<String>>,
    /// Refunds of the refund-fail test card that will fail: (account, refund id, due at).
    pub due_refund_failures: Vec<(String, String, i64)>,
    /// Ids of objects changed (or just read) since the snapshot writer last looked; `None`
    /// when nothing is persisted. See `persistence::refresh`.
    #[serde(skip)]
    pub snapshot_changes: Option<HashSet<String>>,
    /// Fault-injection rules (test helpers); deliberately not persisted.
    #[serde(skip)]
    pub faults: crate::faults::FaultRules,
}

pub fn index_key(owner: &str, kind: &str) -> String {
    format!("{owner}|{kind}")
}

impl State {
    pub fn now(&self) -> i64 {
        let wall = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        wall + self.clock_offset
    }

    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Stores a new object; `json` must already carry `id`, `object` and `created`.
    pub fn insert(&mut self, owner: &str, json: Value, internal: Map<String, Value>) -> &mut Obj {
        let id = json["id"].as_str().unwrap_or_default().to_string();
        let kind = json["object"].as_str().unwrap_or_default().to_string();
        let created = json["created"].as_i64().unwrap_or_else(|| self.now());
        let seq = self.next_seq();
        self.index
            .entry(index_key(owner, &kind))
            .or_default()
            .push(id.clone());
        let obj = Obj {
            id: id.clone(),
            owner: owner.to_string(),
            kind,
            seq,
            created,
            json: Json::new(json),
            internal,
        };
        self.touch(&id);
        self.objects.insert(id.clone(), obj);
        self.objects.get_mut(&id).expect("just inserted")
    }

    fn touch(&self, id: &str) {
        self.touched.borrow_mut().push(id.to_string());
    }

    pub fn get(&self, id: &str) -> Option<&Obj> {
        self.touch(id);
        self.objects.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Obj> {
        self.touch(id);
        self.objects.get_mut(id)
    }

    /// The object if it lives on `owner` and is of `kind`.
    pub fn find(&self, owner: &str, kind: &str, id: &str) -> Option<&Obj> {
        self.touch(id);
        self.objects
            .get(id)
            .filter(|o| o.owner == owner && o.kind == kind)
    }

    pub fn find_mut(&mut self, owner: &str, kind: &str, id: &str) -> Option<&mut Obj> {
        self.touch(id);
        self.objects
            .get_mut(id)
            .filter(|o| o.owner == owner && o.kind == kind)
    }

    /// Turns the objects accessed since the last call back into compact text.
    pub fn freeze_touched(&mut self) {
        let ids = std::mem::take(self.touched.get_mut());
        if let Some(changes) = self.snapshot_changes.as_mut() {
            changes.extend(ids.iter().cloned());
        }
        for id in ids {
            if let Some(o) = self.objects.get_mut(&id) {
                o.json.freeze();
            }
        }
    }

    /// Freezes every parsed object, for objects reached without the accessors (scans of
    /// `objects`). O(objects); the ticker runs it only when something is still parsed.
    pub fn freeze_all(&mut self) {
        self.touched.get_mut().clear();
        for o in self.objects.values_mut() {
            if o.json.is_thawed() {
                o.json.freeze();
                if let Some(changes) = self.snapshot_changes.as_mut() {
                    changes.insert(o.id.clone());
                }
            }
        }
    }

    /// Ids of `owner`'s objects of `kind`, oldest first.
    pub fn ids_of(&self, owner: &str, kind: &str) -> &[String] {
        self.index
            .get(&index_key(owner, kind))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Removes an object entirely (deleted customers, detached tokens…).
    pub fn remove(&mut self, id: &str) -> Option<Obj> {
        let obj = self.objects.remove(id)?;
        if let Some(changes) = self.snapshot_changes.as_mut() {
            changes.insert(id.to_string());
        }
        if let Some(ids) = self.index.get_mut(&index_key(&obj.owner, &obj.kind)) {
            ids.retain(|x| x != id);
        }
        Some(obj)
    }

    /// The platform that `account` belongs to: itself for a platform, its platform otherwise.
    pub fn platform_of(&self, account: &str) -> Option<String> {
        let obj = self.objects.get(account)?;
        match obj.internal.get("platform").and_then(Value::as_str) {
            Some(p) => Some(p.to_string()),
            None => Some(account.to_string()),
        }
    }

    pub fn is_connected_account(&self, account: &str) -> bool {
        self.objects
            .get(account)
            .is_some_and(|o| o.internal.get("platform").and_then(Value::as_str).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_rest_as_text_and_survive_edits_and_snapshots() {
        let mut st = State::default();
        st.insert(
            "acct_1",
            json!({"id": "cus_1", "object": "customer", "created": 1, "n": 1}),
            Map::new(),
        );
        st.freeze_touched();
        assert!(!st.objects["cus_1"].json.is_thawed());
        // Reading parses; freezing an unmodified object keeps the same text.
        assert_eq!(st.get("cus_1").map(|o| o.json["n"].clone()), Some(json!(1)));
        st.freeze_touched();
        // Writing through DerefMut is kept when frozen again.
        if let Some(o) = st.get_mut("cus_1") {
            o.json["n"] = json!(2);
        }
        st.freeze_touched();
        assert!(!st.objects["cus_1"].json.is_thawed());
        let text = serde_json::to_string(&st).unwrap_or_default();
        let back: State = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(back.objects["cus_1"].json["n"], json!(2));
        assert_eq!(back.ids_of("acct_1", "customer"), ["cus_1".to_string()]);
    }
}
