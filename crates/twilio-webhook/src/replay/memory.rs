//! The in-memory replay store: one process's keys (and, in answer mode, their answers), bounded.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::{BoxFuture, LeaseToken, ReplayKey, ReplayStore, Seen, StoreError};

/// An in-memory store for one process: bounded, expiring, safe under concurrency.
///
/// At most `max_entries` keys are held (16-byte keys and their expiry instants). A key expires after its
/// window. When a new key arrives and the store is full, the oldest key is evicted early (and counted
/// in [`evictions`](Self::evictions)): a replay of an evicted request would pass, so size the bound for
/// your traffic (requests per second × window) and watch the counter.
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
    max_entries: usize,
    evictions: AtomicU64,
}

#[derive(Debug, Default)]
pub(super) struct MemoryState {
    pub(super) expiries: HashMap<ReplayKey, Instant>,
    pub(super) order: VecDeque<(ReplayKey, Instant)>,
    /// Answer mode: what a delivered key holds, dropped with the key.
    values: HashMap<ReplayKey, Vec<u8>>,
    /// The bytes `values` holds, kept under [`MemoryStore::ANSWER_BYTES`].
    value_bytes: usize,
    /// Answer mode: the token of the delivery that holds a key in flight, dropped with its lease.
    holders: HashMap<ReplayKey, LeaseToken>,
}

impl MemoryState {
    fn forget(&mut self, key: &ReplayKey) {
        self.expiries.remove(key);
        self.drop_value(key);
        self.holders.remove(key);
    }

    fn drop_value(&mut self, key: &ReplayKey) {
        if let Some(old) = self.values.remove(key) {
            self.value_bytes = self.value_bytes.saturating_sub(old.len());
        }
    }

    /// Keeps `value` for `key`, or, past the budget, the mark that its answer was not kept (its
    /// duplicates are then refused, as in reject mode).
    fn set_value(&mut self, key: ReplayKey, value: Vec<u8>) {
        self.drop_value(&key);
        let value = if self.value_bytes + value.len() > MemoryStore::ANSWER_BYTES {
            super::answer::Entry::value_for(None)
        } else {
            value
        };
        self.value_bytes += value.len();
        self.values.insert(key, value);
    }
}

impl MemoryStore {
    /// The default bound: 100,000 keys (about 330 requests a second over a 5-minute window).
    pub const DEFAULT_MAX_ENTRIES: usize = 100_000;

    /// Answer mode: the most bytes of kept answers held at once, 64 MiB. Past it, an answer is not
    /// kept, and its duplicates are refused as in reject mode.
    pub const ANSWER_BYTES: usize = 64 * 1024 * 1024;

    /// A store holding at most [`DEFAULT_MAX_ENTRIES`](Self::DEFAULT_MAX_ENTRIES) keys.
    pub fn new() -> Self {
        MemoryStore::with_max_entries(Self::DEFAULT_MAX_ENTRIES)
    }

    /// A store holding at most `max_entries` keys (at least one).
    pub fn with_max_entries(max_entries: usize) -> Self {
        MemoryStore {
            state: Mutex::new(MemoryState::default()),
            max_entries: max_entries.max(1),
            evictions: AtomicU64::new(0),
        }
    }

    /// How many unexpired keys were evicted to make room.
    pub fn evictions(&self) -> u64 {
        self.evictions.load(Ordering::Relaxed)
    }

    /// How many keys are held now.
    pub fn len(&self) -> usize {
        self.lock().expiries.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound.
    pub fn max_entries(&self) -> usize {
        self.max_entries
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, MemoryState> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that admits a
        // replay: at worst a key is missing from `order`, and it still expires through `expiries`.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Evicts the oldest keys until there is room for one more.
    fn evict_oldest(&self, state: &mut MemoryState) {
        while state.expiries.len() >= self.max_entries {
            let Some((old, expiry)) = state.order.pop_front() else {
                break;
            };
            if state.expiries.get(&old) == Some(&expiry) {
                state.forget(&old);
                self.evictions.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The atomic step, under the lock.
    pub(super) fn record(&self, key: ReplayKey, window: Duration, now: Instant) -> Seen {
        self.record_held(key, window, now, None)
    }

    /// [`record`](Self::record) for a delivery that takes a lease with `holder`, its token.
    fn record_held(
        &self,
        key: ReplayKey,
        window: Duration,
        now: Instant,
        holder: Option<&LeaseToken>,
    ) -> Seen {
        let mut state = self.lock();
        // Expire from the front. `order` is in insertion order; an entry whose key was re-recorded later
        // (after expiring) is skipped by comparing instants.
        while let Some(&(old, expiry)) = state.order.front() {
            if expiry > now {
                break;
            }
            state.order.pop_front();
            if state.expiries.get(&old) == Some(&expiry) {
                state.forget(&old);
            }
        }
        if state.expiries.get(&key).is_some_and(|&expiry| expiry > now) {
            return Seen::Replay;
        }
        if state.expiries.len() >= self.max_entries {
            self.evict_oldest(&mut state);
        }
        let expiry = now + window;
        state.drop_value(&key);
        match holder {
            Some(token) => state.holders.insert(key, token.clone()),
            None => state.holders.remove(&key),
        };
        state.expiries.insert(key, expiry);
        state.order.push_back((key, expiry));
        Seen::First
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl ReplayStore for MemoryStore {
    fn check_and_mark<'a>(
        &'a self,
        key: &'a ReplayKey,
        window: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        let seen = self.record(*key, window, Instant::now());
        Box::pin(async move { Ok(seen) })
    }

    fn check_and_lease<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a LeaseToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        let seen = self.record_held(*key, lease, Instant::now(), Some(token));
        Box::pin(async move { Ok(seen) })
    }

    fn renews_leases(&self) -> bool {
        true
    }

    fn renew<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a LeaseToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        let now = Instant::now();
        let mut state = self.lock();
        // Still in flight (unexpired, no answer or "not kept" mark) and held by this token.
        let ours = state.expiries.get(key).is_some_and(|&e| e > now)
            && !state.values.contains_key(key)
            && state.holders.get(key) == Some(token);
        if ours {
            let expiry = now + lease;
            state.expiries.insert(*key, expiry);
            state.order.push_back((*key, expiry));
        }
        Box::pin(async move { Ok(ours) })
    }

    fn release<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<(), StoreError>> {
        // Its entry in `order` stays until it expires there; it no longer matches `expiries`.
        self.lock().forget(key);
        Box::pin(async move { Ok(()) })
    }

    fn keep<'a>(
        &'a self,
        key: &'a ReplayKey,
        value: Vec<u8>,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        // Recorded again for the window from now: the in-flight lease ends here, and a lease that
        // lapsed during a slow delivery does not leave the request open to replays.
        let expiry = Instant::now() + window;
        let mut state = self.lock();
        if !state.expiries.contains_key(key) && state.expiries.len() >= self.max_entries {
            self.evict_oldest(&mut state);
        }
        state.expiries.insert(*key, expiry);
        state.order.push_back((*key, expiry));
        state.holders.remove(key);
        state.set_value(*key, value);
        Box::pin(async move { Ok(()) })
    }

    fn keeps_answers(&self) -> bool {
        true
    }

    fn value<'a>(
        &'a self,
        key: &'a ReplayKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        let state = self.lock();
        let value = state
            .expiries
            .get(key)
            .filter(|&&e| e > Instant::now())
            // In flight: any value that is not an answer or the "not kept" mark.
            .map(|_| state.values.get(key).cloned().unwrap_or_default());
        Box::pin(async move { Ok(value) })
    }
}
