//! All emulator state. Everything here is `Serialize + Deserialize` so the whole store can be
//! snapshotted to a file and reloaded (ids stay valid across restarts).
//!
//! Objects are kept as the exact JSON Stripe would return (`json`), plus private fields the API
//! never shows (`internal`, e.g. the test card's behaviour). Every object has an `owner`: the
//! account (platform or connected) it lives on; reads from any other account get a 404.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::idempotency::IdemRecord;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Obj {
    pub id: String,
    /// Account id the object lives on.
    pub owner: String,
    /// Resource kind: "customer", "payment_intent", … (the JSON `object` value).
    pub kind: String,
    /// Global creation order; breaks ties between objects created in the same second.
    pub seq: u64,
    pub created: i64,
    pub json: Value,
    #[serde(default)]
    pub internal: Map<String, Value>,
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
    /// Refunds of the refund-fail test card that will fail: (account, refund id, due at).
    pub due_refund_failures: Vec<(String, String, i64)>,
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
            json,
            internal,
        };
        self.objects.insert(id.clone(), obj);
        self.objects.get_mut(&id).expect("just inserted")
    }

    pub fn get(&self, id: &str) -> Option<&Obj> {
        self.objects.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Obj> {
        self.objects.get_mut(id)
    }

    /// The object if it lives on `owner` and is of `kind`.
    pub fn find(&self, owner: &str, kind: &str, id: &str) -> Option<&Obj> {
        self.objects
            .get(id)
            .filter(|o| o.owner == owner && o.kind == kind)
    }

    pub fn find_mut(&mut self, owner: &str, kind: &str, id: &str) -> Option<&mut Obj> {
        self.objects
            .get_mut(id)
            .filter(|o| o.owner == owner && o.kind == kind)
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
