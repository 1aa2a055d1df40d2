//! A short-lived in-process cache of what the storefront reads (product pages and listing
//! pages), so a busy shop window does not cost a database round trip per visitor.
//!
//! Why it is safe: nothing is ever *sold* from it. Adding to the cart and checking out read
//! the database (and reserve stock atomically), so a stale page can at worst show a product
//! or a stock figure that checkout then refuses with a clear message. Staleness is bounded
//! two ways:
//! - every entry lives at most `CATALOG_CACHE_MS` (1 s by default; 0 turns the cache off),
//!   which bounds what other app instances' writes take to show;
//! - a write of this process to products or sellers (`db::catalog::invalidate`) drops every
//!   entry at once, so a seller sees their own change on the next page load.
//!
//! Why it matters: through sqlx's SQLite driver each row of a result is handed from the
//! connection's thread to ours, and a 25-product page cost ~150 µs of hand-offs; a hit is a
//! hash lookup (`scripts/bench`, README "Performance").

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::db::catalog::{self, Cursor, Listing};
use crate::db::{Db, DbError};

/// Distinct entries kept per kind: bounds memory against crawlers and random searches.
const MAX_ENTRIES: usize = 2048;

/// One page of a listing: the products and where the next page starts.
#[derive(Debug)]
pub struct ListingPage {
    pub products: Vec<Listing>,
    pub next: Option<Cursor>,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct PageKey {
    seller_id: Option<String>,
    words: Vec<String>,
    after: Option<(i64, String)>,
    limit: i64,
}

struct Entry<V> {
    stored_at: Instant,
    generation: u64,
    value: V,
}

/// Entries of one kind, valid while younger than the TTL and stored under the current
/// catalog generation.
struct Shelf<K, V> {
    map: RwLock<HashMap<K, Entry<V>>>,
}

impl<K: Eq + Hash, V: Clone> Shelf<K, V> {
    fn new() -> Self {
        Shelf {
            map: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, key: &K, ttl: Duration, generation: u64) -> Option<V> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|e| e.generation == generation && e.stored_at.elapsed() < ttl)
            .map(|e| e.value.clone())
    }

    fn put(&self, key: K, value: V, ttl: Duration, generation: u64) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, e| e.generation == generation && e.stored_at.elapsed() < ttl);
            if map.len() >= MAX_ENTRIES {
                // Still full of live entries (a crawl): serve uncached rather than grow.
                return;
            }
        }
        map.insert(
            key,
            Entry {
                stored_at: Instant::now(),
                generation,
                value,
            },
        );
    }
}

pub struct CatalogCache {
    ttl: Duration,
    pages: Shelf<PageKey, Arc<ListingPage>>,
    products: Shelf<String, Option<Arc<Listing>>>,
}

impl CatalogCache {
    /// A cache whose entries live `ttl`; `Duration::ZERO` reads the database every time.
    pub fn new(ttl: Duration) -> CatalogCache {
        CatalogCache {
            ttl,
            pages: Shelf::new(),
            products: Shelf::new(),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// [`catalog::list`], through the cache.
    pub async fn list(&self, db: &Db, q: &catalog::Query<'_>) -> Result<Arc<ListingPage>, DbError> {
        // Read before the query: a write landing during it moves the generation on, and
        // what we read is then stored under the old one, never served again.
        let generation = catalog::generation();
        let key = PageKey {
            seller_id: q.seller_id.map(str::to_owned),
            words: q.words.to_vec(),
            after: q.after.map(|c| (c.created_at, c.id.clone())),
            limit: q.limit,
        };
        if self.enabled()
            && let Some(hit) = self.pages.get(&key, self.ttl, generation)
        {
            return Ok(hit);
        }
        let (products, next) = catalog::list(db, q).await?;
        let page = Arc::new(ListingPage { products, next });
        if self.enabled() {
            self.pages.put(key, page.clone(), self.ttl, generation);
        }
        Ok(page)
    }

    /// [`catalog::find_sellable`], through the cache (a missing product is cached too).
    pub async fn product(&self, db: &Db, id: &str) -> Result<Option<Arc<Listing>>, DbError> {
        let generation = catalog::generation();
        if self.enabled()
            && let Some(hit) = self.products.get(&id.to_owned(), self.ttl, generation)
        {
            return Ok(hit);
        }
        let found = catalog::find_sellable(db, id).await?.map(Arc::new);
        if self.enabled() {
            self.products
                .put(id.to_owned(), found.clone(), self.ttl, generation);
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_and_a_new_generation_hides_them() {
        let shelf: Shelf<&str, u32> = Shelf::new();
        let ttl = Duration::from_secs(60);
        shelf.put("a", 1, ttl, 7);
        assert_eq!(shelf.get(&"a", ttl, 7), Some(1));
        assert_eq!(
            shelf.get(&"a", ttl, 8),
            None,
            "a write moved the generation on"
        );
        assert_eq!(shelf.get(&"a", Duration::ZERO, 7), None, "expired");
        assert_eq!(shelf.get(&"b", ttl, 7), None);
    }

    #[test]
    fn a_full_shelf_drops_dead_entries_and_never_grows_past_its_bound() {
        let shelf: Shelf<usize, usize> = Shelf::new();
        let ttl = Duration::from_secs(60);
        for i in 0..MAX_ENTRIES {
            shelf.put(i, i, ttl, 1);
        }
        // All live: the next one is not stored.
        shelf.put(MAX_ENTRIES, 0, ttl, 1);
        assert_eq!(shelf.get(&MAX_ENTRIES, ttl, 1), None);
        assert_eq!(shelf.map.read().unwrap().len(), MAX_ENTRIES);
        // Under a new generation every old entry is dead and makes room.
        shelf.put(MAX_ENTRIES, 5, ttl, 2);
        assert_eq!(shelf.get(&MAX_ENTRIES, ttl, 2), Some(5));
        assert_eq!(shelf.map.read().unwrap().len(), 1);
    }
}
