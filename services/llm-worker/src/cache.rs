//! Short-lived caches of what every prompt reads but rarely changes: the common prompts, character
//! cards, user display names and a conversation's character. Without them each job spends most
//! of its pickup time on these lookups; with them a job's critical path is two queries (the
//! idempotency check and the history). An edit shows up in replies after at most the TTL.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use db::characters::CharacterRow;
use db::lorebooks::BookVersion;
use domain::lorebook::matcher::CompiledBook;
use domain::{CharacterId, ConversationId, UserId};
use llm::tokens::TokenCounter;

/// A map whose entries expire after `ttl`, bounded to about `cap` entries.
pub struct TtlCache<K, V> {
    ttl: Duration,
    cap: usize,
    map: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, cap: usize) -> Self {
        Self {
            ttl,
            cap: cap.max(1),
            map: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // Every critical section is one map operation: a poisoned map is still consistent.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn get(&self, key: &K) -> Option<V> {
        if self.ttl.is_zero() {
            return None;
        }
        let map = self.lock();
        map.get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn put(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut map = self.lock();
        if map.len() >= self.cap {
            let ttl = self.ttl;
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= self.cap {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), value));
    }

    /// The cached value, or `load`'s (cached when it is `Ok`).
    pub fn get_or_try<E>(&self, key: K, load: impl FnOnce() -> Result<V, E>) -> Result<V, E> {
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        let v = load()?;
        self.put(key, v.clone());
        Ok(v)
    }
}

/// The caches one worker process shares between its jobs.
pub struct Caches {
    pub prompts: TtlCache<(), Arc<Vec<String>>>,
    pub characters: TtlCache<CharacterId, Option<Arc<CharacterRow>>>,
    pub user_names: TtlCache<UserId, String>,
    /// The character of an AI conversation (`None`: it has none).
    pub conversations: TtlCache<ConversationId, Option<CharacterId>>,
    /// Compiled lorebooks by version: a book's regexes are compiled once per edit, not per
    /// reply. Keyed by `updated_at`, so an edit is seen at once (no TTL needed).
    pub books: Books,
    /// Token counts of texts every reply of a conversation sends again (history, cards).
    pub tokens: TokenCounter,
}

/// Compiled lorebooks by (id, version), bounded; with the book's name.
pub struct Books {
    map: Mutex<HashMap<BookVersion, (String, Arc<CompiledBook>)>>,
    cap: usize,
}

impl Books {
    pub fn new(cap: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            cap: cap.max(1),
        }
    }

    pub fn get(&self, version: &BookVersion) -> Option<(String, Arc<CompiledBook>)> {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(version).cloned()
    }

    pub fn put(&self, version: BookVersion, name: String, book: Arc<CompiledBook>) {
        let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        // Older versions of the same book are never read again.
        map.retain(|v, _| v.id != version.id);
        if map.len() >= self.cap {
            map.clear();
        }
        map.insert(version, (name, book));
    }
}

impl Caches {
    /// `ttl` zero disables caching.
    pub fn new(ttl: Duration) -> Self {
        Self {
            prompts: TtlCache::new(ttl, 1),
            characters: TtlCache::new(ttl, 10_000),
            user_names: TtlCache::new(ttl, 100_000),
            conversations: TtlCache::new(ttl, 100_000),
            books: Books::new(1_000),
            tokens: TokenCounter::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_bounds_and_disables() {
        let cache = TtlCache::new(Duration::from_millis(30), 2);
        cache.put(1, "a");
        assert_eq!(cache.get(&1), Some("a"));
        cache.put(2, "b");
        cache.put(3, "c");
        assert!(cache.lock().len() <= 2, "bounded");
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&3), None, "expired");
        let loaded: Result<&str, ()> = cache.get_or_try(4, || Ok("d"));
        assert_eq!(loaded, Ok("d"));
        assert_eq!(cache.get_or_try::<()>(4, || Err(())), Ok("d"));
        let off = TtlCache::new(Duration::ZERO, 10);
        off.put(1, 1);
        assert_eq!(off.get(&1), None);
    }
}
