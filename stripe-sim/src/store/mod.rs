//! All emulator state. Everything here is `Serialize + Deserialize` so the whole store can be
//! snapshotted to a file and reloaded (ids stay valid across restarts).
//!
//! Objects are kept as the exact JSON Stripe would return (`json`), plus private fields the API
//! never shows (`internal`, e.g. the test card's behaviour). Every object has an `owner`: the
//! account (platform or connected) it lives on; reads from any other account get a 404.
//!
//! At rest an object is compressed text ([`packed::Packed`]): a parsed `Obj` costs about ten
//! times more, and a payment leaves some twenty objects behind (events, balance transactions,
//! fees…). The accessors thaw an object on first use and queue it; [`State::freeze_touched`]
//! packs what changed and drops the parsed copies after each request.

pub mod packed;

use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::idempotency::IdemRecord;
use packed::Packed;

/// A stored object's JSON, as the API returns it. A newtype so that code reads
/// `obj.json["status"]` and the representation can change without touching every resource.
/// Not `Clone`, so that `obj.json.clone()` reads as it looks: a copy of the JSON `Value`.
#[derive(Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Json(Value);

impl Json {
    pub fn new(v: Value) -> Json {
        Json(v)
    }
}

impl Deref for Json {
    type Target = Value;
    fn deref(&self) -> &Value {
        &self.0
    }
}

impl DerefMut for Json {
    fn deref_mut(&mut self) -> &mut Value {
        &mut self.0
    }
}

impl From<Value> for Json {
    fn from(v: Value) -> Json {
        Json(v)
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.0, f)
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
            json: Json::new(self.json.clone()),
            internal: self.internal.clone(),
        }
    }
}

impl Obj {
    fn pack(&self) -> Packed {
        // Serializing a tree of plain JSON values cannot fail.
        Packed::pack(&serde_json::to_string(self).unwrap_or_default())
    }

    fn unpack(id: &str, packed: &Packed) -> Obj {
        let decoded = packed
            .unpack()
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<Obj>(&text).map_err(|e| e.to_string()));
        decoded.unwrap_or_else(|e| {
            // Only a bug can get here; an object nobody owns answers 404 instead of a crash.
            tracing::error!(id, error = %e, "stripe-sim: stored object is unreadable");
            Obj {
                id: id.to_string(),
                owner: String::new(),
                kind: String::new(),
                seq: 0,
                created: 0,
                json: Json::default(),
                internal: Map::new(),
            }
        })
    }
}

/// One stored object: packed bytes at rest, plus the parsed copy while a request uses it.
struct Slot {
    /// `None` while the parsed copy may have changed and is not packed yet.
    packed: Option<Packed>,
    live: OnceCell<Box<Obj>>,
}

impl Slot {
    fn thaw(&self, id: &str) -> &Obj {
        self.live.get_or_init(|| {
            let packed = self
                .packed
                .as_ref()
                .expect("a slot without a parsed copy is packed");
            Box::new(Obj::unpack(id, packed))
        })
    }

    fn thaw_mut(&mut self, id: &str) -> &mut Obj {
        self.thaw(id);
        // The bytes no longer match once the object may change.
        self.packed = None;
        self.live.get_mut().expect("thawed just above")
    }

    fn freeze(&mut self) {
        if let Some(obj) = self.live.take()
            && self.packed.is_none()
        {
            self.packed = Some(obj.pack());
        }
    }

    /// The packed bytes, packing a changed parsed copy without keeping the result.
    fn packed(&self) -> Packed {
        match (&self.packed, self.live.get()) {
            (Some(p), _) => p.clone(),
            (None, Some(obj)) => obj.pack(),
            (None, None) => unreachable!("a slot is either packed or parsed"),
        }
    }
}

/// The object map and its per-(owner, kind) index. Ids are shared between the two.
#[derive(Default)]
pub struct Objects {
    map: HashMap<Arc<str>, Slot>,
    /// `"{owner}|{kind}"` → object ids in creation order (oldest first). Rebuilt at load.
    index: HashMap<String, Vec<Arc<str>>>,
}

/// Written as `{id: object}`, the layout of the snapshot file.
impl Serialize for Objects {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        let mut m = s.serialize_map(Some(self.map.len()))?;
        for (id, slot) in &self.map {
            let text = slot.packed().unpack().map_err(S::Error::custom)?;
            let raw = serde_json::value::RawValue::from_string(text).map_err(S::Error::custom)?;
            m.serialize_entry(&**id, &raw)?;
        }
        m.end()
    }
}

/// Read one object at a time and packed at once: parsing a whole large snapshot first would
/// take ten times its packed size.
impl<'de> Deserialize<'de> for Objects {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Objects, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Objects;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of object id to stored object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Objects, A::Error> {
                let mut out = Objects::default();
                let mut order: HashMap<Arc<str>, u64> = HashMap::new();
                while let Some((_, obj)) = a.next_entry::<Cow<'de, str>, Obj>()? {
                    let seq = obj.seq;
                    let id = out.add(obj);
                    if let Some(slot) = out.map.get_mut(&id) {
                        slot.freeze();
                    }
                    order.insert(id, seq);
                }
                // Entries come in any order; lists need creation order.
                for ids in out.index.values_mut() {
                    ids.sort_by_key(|id| order.get(id).copied().unwrap_or(0));
                }
                Ok(out)
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Objects {
    /// Appends `obj` (thawed) to the map and the index; returns its shared id.
    fn add(&mut self, obj: Obj) -> Arc<str> {
        // Random ids never repeat, but a replaced object must not stay listed twice.
        self.remove(&obj.id);
        let id: Arc<str> = obj.id.as_str().into();
        self.index
            .entry(index_key(&obj.owner, &obj.kind))
            .or_default()
            .push(id.clone());
        let slot = Slot {
            packed: None,
            live: OnceCell::from(Box::new(obj)),
        };
        self.map.insert(id.clone(), slot);
        id
    }

    fn remove(&mut self, id: &str) -> Option<Obj> {
        let (key, slot) = self.map.remove_entry(id)?;
        let obj = match (slot.live.into_inner(), &slot.packed) {
            (Some(obj), _) => *obj,
            (None, Some(packed)) => Obj::unpack(&key, packed),
            (None, None) => return None,
        };
        if let Some(ids) = self.index.get_mut(&index_key(&obj.owner, &obj.kind))
            && let Some(pos) = ids.iter().rposition(|x| **x == *id)
        {
            ids.remove(pos);
        }
        Some(obj)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every object's id and packed bytes (shared, not copied): the snapshot writer's view.
    pub fn packed_entries(&self) -> Vec<(Arc<str>, Packed)> {
        self.map
            .iter()
            .map(|(id, slot)| (id.clone(), slot.packed()))
            .collect()
    }

    /// Bytes held by packed objects, for diagnostics.
    pub fn packed_bytes(&self) -> usize {
        self.map
            .values()
            .filter_map(|s| s.packed.as_ref())
            .map(Packed::len)
            .sum()
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Secret key (`sk_test_…`) → platform account id.
    pub platforms_by_key: HashMap<String, String>,
    pub objects: Objects,
    /// `"{owner}|{key}"` → stored idempotent result.
    pub idempotency: HashMap<String, IdemRecord>,
    /// Hosted-page tokens (account links, 3-D Secure challenges) → object id.
    pub tokens: HashMap<String, String>,
    pub seq: u64,
    /// Seconds added to the wall clock by the advance-time test helper.
    pub clock_offset: i64,
    /// Event ids recorded but not yet handed to the webhook dispatcher.
    pub pending_events: VecDeque<String>,
    /// Ids thawed by the accessors during the current request, frozen again at its end.
    #[serde(skip)]
    touched: RefCell<Vec<Arc<str>>>,
    /// Refunds of the refund-fail test card that will fail: (account, refund id, due at).
    pub due_refund_failures: Vec<(String, String, i64)>,
    /// Fault-injection rules (test helpers); deliberately not persisted.
    #[serde(skip)]
    pub faults: crate::faults::FaultRules,
    /// Account id → its platform (itself for a platform). Asked on every request and fixed
    /// when the account is created, so it is kept rather than unpacked each time.
    #[serde(skip)]
    platforms: RefCell<HashMap<String, String>>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objects({} stored)", self.map.len())
    }
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
        self.platforms.get_mut().remove(&id);
        let key = self.objects.add(Obj {
            id,
            owner: owner.to_string(),
            kind,
            seq,
            created,
            json: Json::new(json),
            internal,
        });
        self.touched.get_mut().push(key.clone());
        self.objects
            .map
            .get_mut(&key)
            .expect("just inserted")
            .thaw_mut(&key)
    }

    /// The slot of `id`, queued to be frozen at the end of the request.
    fn slot(&self, id: &str) -> Option<(&Arc<str>, &Slot)> {
        let (key, slot) = self.objects.map.get_key_value(id)?;
        if slot.live.get().is_none() {
            self.touched.borrow_mut().push(key.clone());
        }
        Some((key, slot))
    }

    pub fn get(&self, id: &str) -> Option<&Obj> {
        let (key, slot) = self.slot(id)?;
        Some(slot.thaw(key))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Obj> {
        let key = self.slot(id)?.0.clone();
        Some(self.objects.map.get_mut(&key)?.thaw_mut(&key))
    }

    /// The object if it lives on `owner` and is of `kind`.
    pub fn find(&self, owner: &str, kind: &str, id: &str) -> Option<&Obj> {
        self.get(id).filter(|o| o.owner == owner && o.kind == kind)
    }

    pub fn find_mut(&mut self, owner: &str, kind: &str, id: &str) -> Option<&mut Obj> {
        self.find(owner, kind, id)?;
        self.get_mut(id)
    }

    /// Reads an object without keeping it parsed: for scans over many objects, which would
    /// otherwise thaw all of them until the end of the request.
    pub fn peek(&self, id: &str) -> Option<Cow<'_, Obj>> {
        let (key, slot) = self.objects.map.get_key_value(id)?;
        Some(match slot.live.get() {
            Some(obj) => Cow::Borrowed(&**obj),
            None => Cow::Owned(Obj::unpack(key, slot.packed.as_ref()?)),
        })
    }

    /// Every object of `kind` on every account, oldest first per account, read with `peek`.
    pub fn scan<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = Cow<'a, Obj>> + 'a {
        self.objects
            .index
            .iter()
            .filter(move |(k, _)| k.rsplit_once('|').is_some_and(|(_, kd)| kd == kind))
            .flat_map(|(_, ids)| ids.iter())
            .filter_map(|id| self.peek(id))
    }

    /// Accounts that hold at least one object of `kind`.
    pub fn owners_of(&self, kind: &str) -> Vec<String> {
        let mut owners: Vec<String> = self
            .objects
            .index
            .iter()
            .filter(|(_, ids)| !ids.is_empty())
            .filter_map(|(k, _)| k.rsplit_once('|'))
            .filter(|(_, kd)| *kd == kind)
            .map(|(owner, _)| owner.to_string())
            .collect();
        owners.sort();
        owners
    }

    /// Packs the objects changed since the last call and drops every parsed copy.
    pub fn freeze_touched(&mut self) {
        let ids = std::mem::take(self.touched.get_mut());
        for id in ids {
            if let Some(slot) = self.objects.map.get_mut(&id) {
                slot.freeze();
            }
        }
    }

    /// How many objects are parsed right now (0 between requests).
    pub fn thawed_count(&self) -> usize {
        self.objects
            .map
            .values()
            .filter(|s| s.live.get().is_some())
            .count()
    }

    /// Ids of `owner`'s objects of `kind`, oldest first.
    pub fn ids_of(&self, owner: &str, kind: &str) -> &[Arc<str>] {
        self.objects
            .index
            .get(&index_key(owner, kind))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Removes an object entirely (deleted customers, detached tokens…).
    pub fn remove(&mut self, id: &str) -> Option<Obj> {
        self.platforms.get_mut().remove(id);
        self.objects.remove(id)
    }

    /// The platform that `account` belongs to: itself for a platform, its platform otherwise.
    pub fn platform_of(&self, account: &str) -> Option<String> {
        if let Some(p) = self.platforms.borrow().get(account) {
            return Some(p.clone());
        }
        let obj = self.peek(account)?;
        let platform = match obj.internal.get("platform").and_then(Value::as_str) {
            Some(p) => p.to_string(),
            None => account.to_string(),
        };
        self.platforms
            .borrow_mut()
            .insert(account.to_string(), platform.clone());
        Some(platform)
    }

    pub fn is_connected_account(&self, account: &str) -> bool {
        self.platform_of(account).is_some_and(|p| p != account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_rest_packed_and_survive_edits_and_snapshots() {
        let mut st = State::default();
        st.insert(
            "acct_1",
            json!({"id": "cus_1", "object": "customer", "created": 1, "n": 1}),
            Map::new(),
        );
        st.freeze_touched();
        assert_eq!(st.thawed_count(), 0);
        // Reading thaws; freezing an unmodified object keeps the same bytes.
        let before = st.objects.packed_entries();
        assert_eq!(st.get("cus_1").map(|o| o.json["n"].clone()), Some(json!(1)));
        assert_eq!(st.thawed_count(), 1);
        st.freeze_touched();
        assert_eq!(st.objects.packed_entries()[0].1, before[0].1);
        // Writing through get_mut is kept when frozen again.
        if let Some(o) = st.get_mut("cus_1") {
            o.json["n"] = json!(2);
        }
        st.freeze_touched();
        assert_eq!(st.thawed_count(), 0);
        assert_eq!(
            st.peek("cus_1").map(|o| o.json["n"].clone()),
            Some(json!(2))
        );
        let text = serde_json::to_string(&st).unwrap_or_default();
        let back: State = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(
            back.get("cus_1").map(|o| o.json["n"].clone()),
            Some(json!(2))
        );
        assert_eq!(&*back.ids_of("acct_1", "customer")[0], "cus_1");
    }

    #[test]
    fn the_index_follows_inserts_and_removals_and_is_rebuilt_at_load() {
        let mut st = State::default();
        for (owner, id) in [("acct_1", "ch_1"), ("acct_2", "ch_2"), ("acct_1", "ch_3")] {
            st.insert(
                owner,
                json!({"id": id, "object": "charge", "created": 1}),
                Map::new(),
            );
        }
        st.freeze_touched();
        assert_eq!(st.scan("charge").count(), 3);
        assert_eq!(st.owners_of("charge"), ["acct_1", "acct_2"]);
        assert_eq!(
            st.remove("ch_1").map(|o| o.owner),
            Some("acct_1".to_string())
        );
        let back: State = serde_json::from_str(&serde_json::to_string(&st).unwrap_or_default())
            .unwrap_or_default();
        let ids: Vec<&str> = back
            .ids_of("acct_1", "charge")
            .iter()
            .map(|i| &**i)
            .collect();
        assert_eq!(ids, ["ch_3"]);
        assert!(back.find("acct_1", "charge", "ch_2").is_none());
        assert!(back.find("acct_2", "charge", "ch_2").is_some());
    }

    #[test]
    fn find_mut_on_another_account_leaves_the_object_untouched() {
        let mut st = State::default();
        st.insert(
            "acct_1",
            json!({"id": "pi_1", "object": "payment_intent", "created": 1}),
            Map::new(),
        );
        st.freeze_touched();
        let before = st.objects.packed_entries();
        assert!(st.find_mut("acct_2", "payment_intent", "pi_1").is_none());
        st.freeze_touched();
        assert_eq!(st.objects.packed_entries()[0].1, before[0].1);
    }
}
