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
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::idempotency::{IdemRecord, RecordKey};
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

    /// Parses a stored text; an unreadable one (only a bug can cause it) becomes an object
    /// nobody owns, which answers 404 instead of bringing the emulator down.
    fn from_text(id: &str, text: Result<&str, String>) -> Obj {
        let decoded = text.and_then(|t| serde_json::from_str::<Obj>(t).map_err(|e| e.to_string()));
        decoded.unwrap_or_else(|e| {
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

/// How many of the most recently written objects stay packed one by one. Requests mostly
/// change recent objects; older ones are sealed into blocks.
pub const DEFAULT_HOT_OBJECTS: usize = 4096;

/// Objects per block. Sealed together, objects of one payment (charge, fee, balance
/// transactions, events) share their ids and values, so a block of 64 takes about a third of
/// the memory of its members packed one by one; reading one member decompresses ~60 KB
/// (about 30 µs), and lists reading neighbours in a row decompress it once.
const BLOCK_OBJECTS: usize = 64;
// A block's live members are a bit mask.
const _: () = assert!(BLOCK_OBJECTS <= 64);

/// Blocks sealed at the end of one request at most, to keep its latency flat; the next
/// requests catch up.
const SEALS_PER_REQUEST: usize = 2;

/// Where an object's text is at rest.
enum At {
    /// Compressed on its own.
    Hot(Packed),
    /// Member `pos` of sealed block `block`.
    Cold { block: u32, pos: u16 },
    /// Only the parsed copy is current: new, or changed during this request.
    Changed,
}

/// One stored object: its text at rest, plus the parsed copy while a request uses it.
struct Slot {
    at: At,
    live: OnceCell<Box<Obj>>,
}

/// The texts of objects sealed together, compressed as one.
pub struct Block {
    text: Packed,
    /// End offset of each member's text.
    ends: Box<[u32]>,
}

impl Block {
    fn member<'a>(&self, text: &'a str, pos: u16) -> Result<&'a str, String> {
        let pos = usize::from(pos);
        let end = self.ends.get(pos).ok_or("no such block member")?;
        let start = if pos == 0 { 0 } else { self.ends[pos - 1] };
        text.get(start as usize..*end as usize)
            .ok_or_else(|| "block member out of range".to_string())
    }

    /// The id and text of each member whose bit is set in `live`, given the block's text.
    fn live_members<'t>(
        &self,
        text: &'t str,
        live: u64,
    ) -> impl Iterator<Item = Result<(Cow<'t, str>, &'t str), String>> {
        (0..self.ends.len())
            .filter(move |pos| live & (1 << pos) != 0)
            .map(move |pos| {
                let member = self.member(text, pos as u16)?;
                let IdOnly { id } = serde_json::from_str(member).map_err(|e| e.to_string())?;
                Ok((id, member))
            })
    }
}

struct BlockEntry {
    block: Arc<Block>,
    /// Bit `pos` is set while member `pos` is the object's current text.
    live: u64,
}

/// Every object's text at rest, as the snapshot writer takes it under the store lock: shared
/// with the store, not copied, and small (one entry per hot object, one per block).
#[derive(Default)]
pub struct Stored {
    hot: Vec<(Arc<str>, Packed)>,
    cold: Vec<(Arc<Block>, u64)>,
}

impl Stored {
    /// Calls `f(id, text)` for every object, oldest blocks first; each block is decompressed
    /// once.
    pub fn for_each<E: From<Unreadable>>(
        &self,
        mut f: impl FnMut(&str, &str) -> Result<(), E>,
    ) -> Result<(), E> {
        let unreadable = |e: &dyn std::fmt::Display| Unreadable(e.to_string());
        // Blocks first, in the order they were sealed, then the newest objects: the file is
        // roughly in creation order, which lets a load seal blocks as it reads.
        for (block, live) in &self.cold {
            let text = block.text.unpack().map_err(|e| unreadable(&e))?;
            for found in block.live_members(&text, *live) {
                let (id, member) = found.map_err(|e| unreadable(&e))?;
                f(&id, member)?;
            }
        }
        for (id, packed) in &self.hot {
            f(id, &packed.unpack().map_err(|e| unreadable(&e))?)?;
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.hot.len()
            + self
                .cold
                .iter()
                .map(|(_, live)| live.count_ones() as usize)
                .sum::<usize>()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A stored text could not be read back (only a bug can cause it).
#[derive(Debug, thiserror::Error)]
#[error("stored object is unreadable: {0}")]
pub struct Unreadable(pub String);

/// The id of a stored text, without parsing the rest into values.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

/// One account's objects of one kind.
#[derive(Default)]
struct IndexList {
    /// Oldest first.
    ids: Vec<Arc<str>>,
    /// Largest `created` seen.
    newest_created: i64,
    /// Set if some object was created with an earlier `created` than one before it (only a
    /// wall clock stepping back can do that): then creation order is not `created` order.
    out_of_order: bool,
}

impl IndexList {
    fn push(&mut self, id: Arc<str>, created: i64) {
        if !self.ids.is_empty() && created < self.newest_created {
            self.out_of_order = true;
        }
        self.newest_created = self.newest_created.max(created);
        self.ids.push(id);
    }
}

/// The object map and its per-(owner, kind) index (ids are shared between the two), and the
/// sealed blocks.
pub struct Objects {
    map: HashMap<Arc<str>, Slot>,
    /// `"{owner}|{kind}"` → object ids in creation order (oldest first). Rebuilt at load.
    index: HashMap<String, IndexList>,
    /// [`REFERENCES`]: hash of (owner, kind, field, value) → ids in creation order. Rebuilt at
    /// load. Keyed by a hash to stay small; a collision only adds candidates, which readers
    /// check (see [`State::ids_by_ref`]).
    by_ref: HashMap<u64, RefIds>,
    /// Sealed blocks by number; numbers are never reused (`last_block` relies on it).
    blocks: Vec<Option<BlockEntry>>,
    /// Objects packed on their own, oldest first. May also hold ids since sealed, changed
    /// again or removed: sealing skips those.
    hot: VecDeque<Arc<str>>,
    hot_limit: usize,
    /// The block read last, decompressed: lists and scans read neighbours in a row.
    last_block: RefCell<Option<(u32, String)>>,
}

impl Default for Objects {
    fn default() -> Objects {
        Objects {
            map: HashMap::new(),
            index: HashMap::new(),
            by_ref: HashMap::new(),
            blocks: Vec::new(),
            hot: VecDeque::new(),
            hot_limit: DEFAULT_HOT_OBJECTS,
            last_block: RefCell::new(None),
        }
    }
}

/// Written as `{id: object}`, the layout of the snapshot file.
impl Serialize for Objects {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        enum Failed<E> {
            Write(E),
            Read(Unreadable),
        }
        impl<E> From<Unreadable> for Failed<E> {
            fn from(e: Unreadable) -> Self {
                Failed::Read(e)
            }
        }
        let stored = self.stored();
        let mut m = s.serialize_map(Some(stored.len()))?;
        let walked = stored.for_each(|id, text| {
            let raw = serde_json::value::RawValue::from_string(text.to_string())
                .map_err(|e| Failed::Read(Unreadable(e.to_string())))?;
            m.serialize_entry(id, &raw).map_err(Failed::Write)
        });
        match walked {
            Ok(()) => m.end(),
            Err(Failed::Write(e)) => Err(e),
            Err(Failed::Read(e)) => Err(S::Error::custom(e)),
        }
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
                let mut order: HashMap<Arc<str>, (u64, i64)> = HashMap::new();
                while let Some((_, obj)) = a.next_entry::<Cow<'de, str>, Obj>()? {
                    let (seq, created) = (obj.seq, obj.created);
                    let id = out.add(obj);
                    out.freeze(&id);
                    order.insert(id, (seq, created));
                    // Sealing as objects come keeps memory near its steady size while loading;
                    // snapshots list objects roughly in creation order, so blocks stay
                    // made of neighbours.
                    out.seal(1);
                }
                // Entries come in any order (hot objects last); lists need creation order.
                let by_seq = |id: &Arc<str>| order.get(id).map_or(0, |o| o.0);
                for list in out.index.values_mut() {
                    let mut ids = std::mem::take(&mut list.ids);
                    ids.sort_by_key(by_seq);
                    *list = IndexList::default();
                    for id in ids {
                        let created = order.get(&id).map_or(0, |o| o.1);
                        list.push(id, created);
                    }
                }
                for ids in out.by_ref.values_mut() {
                    if let RefIds::Many(ids) = ids {
                        ids.sort_by_key(by_seq);
                    }
                }
                out.hot.make_contiguous().sort_by_key(by_seq);
                Ok(out)
            }
        }
        d.deserialize_map(Visit)
    }
}

impl Objects {
    /// Appends `obj` (parsed, not packed yet) to the map and the index; returns its shared id.
    fn add(&mut self, obj: Obj) -> Arc<str> {
        // Random ids never repeat, but a replaced object must not stay listed twice.
        self.remove(&obj.id);
        let id: Arc<str> = obj.id.as_str().into();
        self.index
            .entry(index_key(&obj.owner, &obj.kind))
            .or_default()
            .push(id.clone(), obj.created);
        for key in ref_keys(&obj) {
            match self.by_ref.entry(key) {
                Entry::Occupied(mut ids) => ids.get_mut().push(id.clone()),
                Entry::Vacant(slot) => {
                    slot.insert(RefIds::One(id.clone()));
                }
            }
        }
        let slot = Slot {
            at: At::Changed,
            live: OnceCell::from(Box::new(obj)),
        };
        self.map.insert(id.clone(), slot);
        id
    }

    fn remove(&mut self, id: &str) -> Option<Obj> {
        let slot = self.map.get(id)?;
        let obj = match slot.live.get() {
            Some(obj) => (**obj).clone(),
            None => self.decode(id, slot),
        };
        let (_, slot) = self.map.remove_entry(id)?;
        if let At::Cold { block, pos } = slot.at {
            self.release(block, pos);
        }
        if let Some(list) = self.index.get_mut(&index_key(&obj.owner, &obj.kind))
            && let Some(pos) = list.ids.iter().rposition(|x| **x == *id)
        {
            list.ids.remove(pos);
        }
        for key in ref_keys(&obj) {
            if let Some(ids) = self.by_ref.get_mut(&key)
                && ids.remove(id)
            {
                self.by_ref.remove(&key);
            }
        }
        Some(obj)
    }

    /// Parses the stored text of a slot that has no parsed copy.
    fn decode(&self, id: &str, slot: &Slot) -> Obj {
        match &slot.at {
            At::Hot(p) => Obj::from_text(id, p.unpack().as_deref().map_err(|e| e.to_string())),
            At::Cold { block, pos } => {
                let mut cache = self.last_block.borrow_mut();
                if cache.as_ref().is_none_or(|(b, _)| b != block) {
                    *cache = None;
                    match self.block(*block).map(|b| b.text.unpack()) {
                        Some(Ok(text)) => *cache = Some((*block, text)),
                        _ => return Obj::from_text(id, Err("sealed block is unreadable".into())),
                    }
                }
                let member = match (cache.as_ref(), self.block(*block)) {
                    (Some((_, text)), Some(b)) => b.member(text, *pos),
                    _ => Err("sealed block is missing".into()),
                };
                Obj::from_text(id, member)
            }
            // A changed object always has its parsed copy, which callers use instead.
            At::Changed => Obj::from_text(id, Err("changed object without its parsed copy".into())),
        }
    }

    fn block(&self, n: u32) -> Option<&Block> {
        self.blocks
            .get(n as usize)
            .and_then(Option::as_ref)
            .map(|e| &*e.block)
    }

    /// The parsed copy, made on first use.
    fn thaw<'a>(&'a self, id: &str, slot: &'a Slot) -> &'a Obj {
        slot.live.get_or_init(|| Box::new(self.decode(id, slot)))
    }

    /// The parsed copy for changing: the text at rest is stale from now on.
    fn thaw_mut(&mut self, id: &Arc<str>) -> Option<&mut Obj> {
        let slot = self.map.get(id)?;
        self.thaw(id, slot);
        let slot = self.map.get_mut(id)?;
        if let At::Cold { block, pos } = std::mem::replace(&mut slot.at, At::Changed) {
            self.release(block, pos);
        }
        self.map.get_mut(id)?.live.get_mut().map(|o| &mut **o)
    }

    /// Drops the parsed copy of `id`, packing it first if it changed.
    fn freeze(&mut self, id: &Arc<str>) {
        let Some(slot) = self.map.get_mut(id) else {
            return;
        };
        let Some(obj) = slot.live.take() else {
            return;
        };
        if matches!(slot.at, At::Changed) {
            slot.at = At::Hot(obj.pack());
            self.hot.push_back(id.clone());
        }
    }

    /// Member `pos` of `block` is no longer its object's text. An empty block is freed; a
    /// mostly empty one gives its remaining members back to the hot set, to be sealed again
    /// with newer objects, so blocks never hold mostly dead text.
    fn release(&mut self, block: u32, pos: u16) {
        let Some(entry) = self.blocks.get_mut(block as usize).and_then(Option::as_mut) else {
            return;
        };
        entry.live &= !(1u64 << pos);
        if entry.live.count_ones() as usize * 4 >= entry.block.ends.len() {
            return;
        }
        let Some(entry) = self.blocks[block as usize].take() else {
            return;
        };
        let mut cache = self.last_block.borrow_mut();
        if cache.as_ref().is_some_and(|(b, _)| *b == block) {
            *cache = None;
        }
        drop(cache);
        if entry.live == 0 {
            return;
        }
        let Ok(text) = entry.block.text.unpack() else {
            tracing::error!(block, "stripe-sim: sealed block is unreadable");
            return;
        };
        for (id, member) in entry.block.live_members(&text, entry.live).flatten() {
            if let Some((key, _)) = self.map.get_key_value(&*id) {
                let key = key.clone();
                if let Some(slot) = self.map.get_mut(&key) {
                    slot.at = At::Hot(Packed::pack(member));
                }
                self.hot.push_back(key);
            }
        }
    }

    /// Seals the oldest hot objects into blocks while there are more than `hot_limit`, at
    /// most `max_blocks` of them.
    fn seal(&mut self, max_blocks: usize) {
        let mut sealed = 0;
        while sealed < max_blocks && self.hot.len() >= self.hot_limit + BLOCK_OBJECTS {
            let mut members: Vec<Arc<str>> = Vec::with_capacity(BLOCK_OBJECTS);
            let mut text = String::new();
            let mut ends = Vec::with_capacity(BLOCK_OBJECTS);
            while members.len() < BLOCK_OBJECTS
                && let Some(id) = self.hot.pop_front()
            {
                let Some(slot) = self.map.get(&id) else {
                    continue;
                };
                let At::Hot(packed) = &slot.at else {
                    continue;
                };
                if members.iter().any(|m| Arc::ptr_eq(m, &id)) {
                    continue;
                }
                let Ok(t) = packed.unpack() else {
                    continue;
                };
                text.push_str(&t);
                ends.push(text.len() as u32);
                members.push(id);
            }
            if members.is_empty() {
                break;
            }
            let n = self.blocks.len() as u32;
            self.blocks.push(Some(BlockEntry {
                block: Arc::new(Block {
                    text: Packed::pack_dense(&text),
                    ends: ends.into(),
                }),
                live: u64::MAX >> (64 - members.len()),
            }));
            for (pos, id) in members.iter().enumerate() {
                if let Some(slot) = self.map.get_mut(id) {
                    slot.at = At::Cold {
                        block: n,
                        pos: pos as u16,
                    };
                }
            }
            sealed += 1;
        }
    }

    /// Sets how many recent objects stay packed one by one, sealing the excess now.
    pub fn set_hot_limit(&mut self, limit: usize) {
        self.hot_limit = limit;
        self.seal(usize::MAX);
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Objects not sealed into a block.
    pub fn hot_count(&self) -> usize {
        self.map
            .values()
            .filter(|s| !matches!(s.at, At::Cold { .. }))
            .count()
    }

    pub fn block_count(&self) -> usize {
        self.blocks.iter().flatten().count()
    }

    /// Every object's text at rest: the snapshot writer's view.
    pub fn stored(&self) -> Stored {
        let mut out = Stored::default();
        for (id, slot) in &self.map {
            match (&slot.at, slot.live.get()) {
                (At::Hot(p), _) => out.hot.push((id.clone(), p.clone())),
                // Listed once, with their block.
                (At::Cold { .. }, _) => {}
                (At::Changed, Some(obj)) => out.hot.push((id.clone(), obj.pack())),
                (At::Changed, None) => {}
            }
        }
        out.cold = self
            .blocks
            .iter()
            .flatten()
            .map(|e| (e.block.clone(), e.live))
            .collect();
        out
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Secret key (`sk_test_…`) → platform account id.
    pub platforms_by_key: HashMap<String, String>,
    pub objects: Objects,
    /// (account, Idempotency-Key) digest → stored idempotent result.
    pub idempotency: HashMap<RecordKey, IdemRecord>,
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
    /// Account id → running sums of its balance transactions (see `resources::balance`);
    /// rebuilt on first use after a load.
    #[serde(skip)]
    pub balance_sums: RefCell<HashMap<String, crate::resources::balance::Sums>>,
}

impl std::fmt::Debug for Objects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Objects({} stored)", self.map.len())
    }
}

pub fn index_key(owner: &str, kind: &str) -> String {
    format!("{owner}|{kind}")
}

/// Fields naming another object that lists filter on, as (kind, field). Without an index a
/// list such as `GET /v1/balance_transactions?source=ch_…` read every balance transaction of
/// the account to find the one or two that match (the app asks it for every charge and fee it
/// records), so its cost grew with the account's history. Each field must be set when the
/// object is inserted and never change.
///
/// Only the filters a marketplace asks for each payment are indexed: an entry costs ~50 bytes
/// per object, and the seven candidate fields together added 37 MB (23%) to a store of 486k
/// objects. The other filters (charges by payment intent, disputes by charge…) read the
/// account's objects of that kind, as before.
pub const REFERENCES: &[(&str, &str)] = &[
    ("balance_transaction", "source"),
    ("refund", "charge"),
    ("fee_refund", "fee"),
];

/// The ids under one reference. Nearly always one object (a charge has one balance transaction),
/// kept inline: a vector per entry took ~150 bytes per indexed object, a fifth of the store.
enum RefIds {
    One(Arc<str>),
    /// Oldest first.
    Many(Vec<Arc<str>>),
}

impl RefIds {
    fn push(&mut self, id: Arc<str>) {
        match self {
            RefIds::One(first) => *self = RefIds::Many(vec![first.clone(), id]),
            RefIds::Many(ids) => ids.push(id),
        }
    }

    /// Drops `id`; answers whether none is left.
    fn remove(&mut self, id: &str) -> bool {
        match self {
            RefIds::One(only) => **only == *id,
            RefIds::Many(ids) => {
                ids.retain(|x| **x != *id);
                ids.is_empty()
            }
        }
    }

    fn as_slice(&self) -> &[Arc<str>] {
        match self {
            RefIds::One(id) => std::slice::from_ref(id),
            RefIds::Many(ids) => ids,
        }
    }
}

fn ref_key(owner: &str, kind: &str, field: &str, value: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    // Fixed keys: the same input gives the same key for the life of the process.
    let mut h = std::hash::DefaultHasher::new();
    (owner, kind, field, value).hash(&mut h);
    h.finish()
}

fn ref_keys(obj: &Obj) -> impl Iterator<Item = u64> + '_ {
    REFERENCES
        .iter()
        .filter(|(kind, _)| *kind == obj.kind)
        .filter_map(|(kind, field)| {
            let value = obj.json.get(*field)?.as_str()?;
            Some(ref_key(&obj.owner, kind, field, value))
        })
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
        self.objects.thaw_mut(&key).expect("just inserted")
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
        Some(self.objects.thaw(key, slot))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Obj> {
        let key = self.slot(id)?.0.clone();
        self.objects.thaw_mut(&key)
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
            None => Cow::Owned(self.objects.decode(key, slot)),
        })
    }

    /// Every object of `kind` on every account, oldest first per account, read with `peek`.
    pub fn scan<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = Cow<'a, Obj>> + 'a {
        self.objects
            .index
            .iter()
            .filter(move |(k, _)| k.rsplit_once('|').is_some_and(|(_, kd)| kd == kind))
            .flat_map(|(_, list)| list.ids.iter())
            .filter_map(|id| self.peek(id))
    }

    /// Accounts that hold at least one object of `kind`.
    pub fn owners_of(&self, kind: &str) -> Vec<String> {
        let mut owners: Vec<String> = self
            .objects
            .index
            .iter()
            .filter(|(_, list)| !list.ids.is_empty())
            .filter_map(|(k, _)| k.rsplit_once('|'))
            .filter(|(_, kd)| *kd == kind)
            .map(|(owner, _)| owner.to_string())
            .collect();
        owners.sort();
        owners
    }

    /// Packs the objects changed since the last call, drops every parsed copy, and seals
    /// older objects into blocks when enough have accumulated.
    pub fn freeze_touched(&mut self) {
        let ids = std::mem::take(self.touched.get_mut());
        for id in ids {
            self.objects.freeze(&id);
        }
        self.objects.seal(SEALS_PER_REQUEST);
    }

    /// How many objects are parsed right now (0 between requests).
    #[cfg(test)]
    fn thawed_count(&self) -> usize {
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
            .map(|l| l.ids.as_slice())
            .unwrap_or(&[])
    }

    /// Ids of `owner`'s objects of `kind` whose `field` (one of [`REFERENCES`]) is `value`,
    /// oldest first: a subsequence of [`State::ids_of`]. May hold a few other objects (hash
    /// collisions), so callers check each object they read.
    pub fn ids_by_ref(&self, owner: &str, kind: &str, field: &str, value: &str) -> &[Arc<str>] {
        debug_assert!(
            REFERENCES.contains(&(kind, field)),
            "{kind}.{field} is not indexed"
        );
        self.objects
            .by_ref
            .get(&ref_key(owner, kind, field, value))
            .map(RefIds::as_slice)
            .unwrap_or(&[])
    }

    /// Whether `ids_of(owner, kind)` is also in `created` order, which lets lists walk it from
    /// the newest end and stop after a page instead of reading and sorting every object.
    pub fn ids_in_created_order(&self, owner: &str, kind: &str) -> bool {
        self.objects
            .index
            .get(&index_key(owner, kind))
            .is_none_or(|l| !l.out_of_order)
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

    /// The text at rest of `id`, as the snapshot writer would read it.
    fn at_rest(st: &State, id: &str) -> Option<String> {
        let mut found = None;
        let walked = st.objects.stored().for_each(|k, text| {
            if k == id {
                found = Some(text.to_string());
            }
            Ok::<(), Unreadable>(())
        });
        walked.ok().and(found)
    }

    fn is_cold(st: &State, id: &str) -> bool {
        matches!(st.objects.map.get(id).map(|s| &s.at), Some(At::Cold { .. }))
    }

    fn add_charges(st: &mut State, owner: &str, n: usize) -> Vec<String> {
        let ids: Vec<String> = (0..n).map(|i| format!("ch_{owner}_{i}")).collect();
        for id in &ids {
            st.insert(
                owner,
                json!({"id": id, "object": "charge", "created": 1, "amount": 100}),
                Map::new(),
            );
            st.freeze_touched();
        }
        ids
    }

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
        // Reading thaws; freezing an unmodified object keeps the same text.
        let before = at_rest(&st, "cus_1");
        assert_eq!(st.get("cus_1").map(|o| o.json["n"].clone()), Some(json!(1)));
        assert_eq!(st.thawed_count(), 1);
        st.freeze_touched();
        assert_eq!(at_rest(&st, "cus_1"), before);
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
    fn the_reference_index_follows_inserts_and_removals_and_is_rebuilt_at_load() {
        let mut st = State::default();
        let txns = [
            ("acct_1", "txn_1", "ch_a"),
            ("acct_1", "txn_2", "ch_b"),
            ("acct_2", "txn_3", "ch_a"),
            ("acct_1", "txn_4", "ch_a"),
            ("acct_1", "txn_5", "ch_a"),
        ];
        for (owner, id, source) in txns {
            st.insert(
                owner,
                json!({"id": id, "object": "balance_transaction", "created": 1, "source": source}),
                Map::new(),
            );
        }
        st.freeze_touched();
        let by = |st: &State, owner: &str, source: &str| -> Vec<String> {
            st.ids_by_ref(owner, "balance_transaction", "source", source)
                .iter()
                .map(|i| i.to_string())
                .collect()
        };
        assert_eq!(by(&st, "acct_1", "ch_a"), ["txn_1", "txn_4", "txn_5"]);
        assert_eq!(by(&st, "acct_2", "ch_a"), ["txn_3"]);
        assert!(by(&st, "acct_1", "ch_c").is_empty());

        st.remove("txn_4");
        let back: State = serde_json::from_str(&serde_json::to_string(&st).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(by(&back, "acct_1", "ch_a"), ["txn_1", "txn_5"]);
        assert_eq!(by(&back, "acct_1", "ch_b"), ["txn_2"]);
        // Replaced under the same id with another source: indexed once, under the new one.
        let mut back = back;
        back.insert(
            "acct_1",
            json!({"id": "txn_1", "object": "balance_transaction", "created": 1, "source": "ch_b"}),
            Map::new(),
        );
        assert_eq!(by(&back, "acct_1", "ch_a"), ["txn_5"]);
        assert_eq!(by(&back, "acct_1", "ch_b"), ["txn_2", "txn_1"]);
    }

    #[test]
    fn an_object_created_before_an_older_one_marks_its_list_out_of_order() {
        let mut st = State::default();
        for (id, created) in [("ch_1", 10), ("ch_2", 10), ("ch_3", 11)] {
            st.insert(
                "acct_1",
                json!({"id": id, "object": "charge", "created": created}),
                Map::new(),
            );
        }
        assert!(st.ids_in_created_order("acct_1", "charge"));
        st.insert(
            "acct_1",
            json!({"id": "ch_4", "object": "charge", "created": 9}),
            Map::new(),
        );
        st.freeze_touched();
        assert!(!st.ids_in_created_order("acct_1", "charge"));
        assert!(st.ids_in_created_order("acct_2", "charge"));
        // Rebuilt at load from `seq` and `created`.
        let back: State = serde_json::from_str(&serde_json::to_string(&st).unwrap_or_default())
            .unwrap_or_default();
        assert!(!back.ids_in_created_order("acct_1", "charge"));
        let ids: Vec<&str> = back
            .ids_of("acct_1", "charge")
            .iter()
            .map(|i| &**i)
            .collect();
        assert_eq!(ids, ["ch_1", "ch_2", "ch_3", "ch_4"]);
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
        let before = at_rest(&st, "pi_1");
        assert!(st.find_mut("acct_2", "payment_intent", "pi_1").is_none());
        st.freeze_touched();
        assert_eq!(at_rest(&st, "pi_1"), before);
    }

    #[test]
    fn older_objects_are_sealed_into_blocks_and_read_back_unchanged() {
        let mut st = State::default();
        st.objects.set_hot_limit(8);
        let ids = add_charges(&mut st, "acct_1", 200);
        // Only the newest stay hot (at most the limit plus a block not yet full).
        let hot = ids.iter().filter(|id| !is_cold(&st, id)).count();
        assert!((8..8 + BLOCK_OBJECTS).contains(&hot), "{hot} hot");
        assert!(is_cold(&st, &ids[0]));
        for id in &ids {
            let o = st.find("acct_1", "charge", id).expect("readable");
            assert_eq!(o.id, *id);
            assert_eq!(o.json["amount"], json!(100));
        }
        st.freeze_touched();
        // Lists read every member in creation order.
        let listed: Vec<String> = st
            .ids_of("acct_1", "charge")
            .iter()
            .map(|i| i.to_string())
            .collect();
        assert_eq!(listed, ids);
        assert_eq!(st.scan("charge").count(), 200);
    }

    #[test]
    fn a_sealed_object_that_changes_leaves_its_block_and_is_sealed_again_later() {
        let mut st = State::default();
        st.objects.set_hot_limit(0);
        let ids = add_charges(&mut st, "acct_1", 64);
        assert!(is_cold(&st, &ids[3]));
        if let Some(o) = st.find_mut("acct_1", "charge", &ids[3]) {
            o.json["amount"] = json!(42);
        }
        st.freeze_touched();
        assert_eq!(
            st.peek(&ids[3]).map(|o| o.json["amount"].clone()),
            Some(json!(42))
        );
        // Its old copy is dead; its block neighbours still read from the block.
        assert!(is_cold(&st, &ids[4]));
        assert_eq!(
            st.peek(&ids[4]).map(|o| o.json["amount"].clone()),
            Some(json!(100))
        );
        // After a restart the change is there too.
        let back: State = serde_json::from_str(&serde_json::to_string(&st).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(
            back.peek(&ids[3]).map(|o| o.json["amount"].clone()),
            Some(json!(42))
        );
        assert_eq!(back.objects.len(), 64);
    }

    #[test]
    fn a_mostly_dead_block_returns_its_survivors_and_is_freed() {
        let mut st = State::default();
        st.objects.set_hot_limit(1000);
        let ids = add_charges(&mut st, "acct_1", BLOCK_OBJECTS);
        st.objects.set_hot_limit(0);
        assert!(ids.iter().all(|id| is_cold(&st, id)));
        assert_eq!(st.objects.blocks.iter().flatten().count(), 1);
        // Remove three quarters of the members and change one more: the block goes.
        for id in &ids[..BLOCK_OBJECTS * 3 / 4] {
            assert!(st.remove(id).is_some());
        }
        if let Some(o) = st.get_mut(&ids[BLOCK_OBJECTS - 1]) {
            o.json["amount"] = json!(7);
        }
        st.freeze_touched();
        let survivors = &ids[BLOCK_OBJECTS * 3 / 4..];
        for id in survivors {
            assert!(st.find("acct_1", "charge", id).is_some(), "{id} lost");
        }
        st.freeze_touched();
        assert_eq!(st.objects.len(), survivors.len());
        assert_eq!(
            st.peek(&ids[BLOCK_OBJECTS - 1])
                .map(|o| o.json["amount"].clone()),
            Some(json!(7))
        );
        // Nothing but the survivors is kept: no block holds dead members only.
        let blocks: Vec<u64> = st.objects.blocks.iter().flatten().map(|e| e.live).collect();
        assert!(blocks.iter().all(|live| *live != 0), "{blocks:?}");
        assert_eq!(st.objects.stored().len(), survivors.len());
    }

    #[test]
    fn removing_every_member_frees_the_block() {
        let mut st = State::default();
        st.objects.set_hot_limit(0);
        let ids = add_charges(&mut st, "acct_1", BLOCK_OBJECTS);
        assert_eq!(st.objects.blocks.iter().flatten().count(), 1);
        for id in &ids {
            assert!(st.remove(id).is_some());
        }
        assert_eq!(st.objects.blocks.iter().flatten().count(), 0);
        assert!(st.objects.is_empty());
    }
}
