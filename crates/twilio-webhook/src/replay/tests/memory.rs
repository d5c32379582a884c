//! The memory store's own rules: a key refused for its window and no longer, a bounded number of
//! keys and of answer bytes, one first delivery among concurrent ones.

use super::*;

#[test]
fn memory_store_refuses_a_second_delivery_until_the_window_passes() {
    let store = MemoryStore::new();
    let t0 = Instant::now();
    let w = Duration::from_secs(300);
    assert_eq!(store.record(key(1), w, t0), Seen::First);
    assert_eq!(
        store.record(key(1), w, t0 + Duration::from_secs(299)),
        Seen::Replay
    );
    assert_eq!(
        store.record(key(2), w, t0 + Duration::from_secs(1)),
        Seen::First
    );
    // Expired: accepted again, and the expired key no longer takes room.
    assert_eq!(
        store.record(key(1), w, t0 + Duration::from_secs(300)),
        Seen::First
    );
    assert_eq!(store.len(), 2);
    assert_eq!(
        store.record(key(3), w, t0 + Duration::from_secs(302)),
        Seen::First
    );
    assert_eq!(store.len(), 2, "key 2 expired at 301 s");
    assert_eq!(store.evictions(), 0);
}

#[test]
fn a_flood_of_distinct_keys_stays_within_the_bound_and_is_counted() {
    let store = MemoryStore::with_max_entries(1000);
    let now = Instant::now();
    let w = Duration::from_secs(300);
    for n in 0..10_000 {
        assert_eq!(store.record(key(n), w, now), Seen::First);
        assert!(store.len() <= 1000);
    }
    assert_eq!(store.len(), 1000);
    assert_eq!(store.evictions(), 9000);
    // The newest keys are the ones kept: a replay of them is still refused.
    assert_eq!(store.record(key(9_999), w, now), Seen::Replay);
    assert_eq!(
        store.record(key(0), w, now),
        Seen::First,
        "the oldest was evicted"
    );
    let state = store.lock();
    assert!(state.order.len() <= 1000 && state.expiries.len() <= 1000);
}

#[test]
fn concurrent_deliveries_of_one_request_are_accepted_once() {
    let store = Arc::new(MemoryStore::new());
    for round in 0..50 {
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let store = Arc::clone(&store);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    barrier.wait();
                    store.record(key(round), Duration::from_secs(60), Instant::now())
                })
            })
            .collect();
        let firsts = threads
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|s| *s == Seen::First)
            .count();
        assert_eq!(firsts, 1, "round {round}");
    }
}

/// Mutation testing found the window's edges and `is_empty` unchecked.
#[test]
fn a_key_expires_exactly_at_the_end_of_its_window() {
    let store = MemoryStore::with_max_entries(1);
    assert!(store.is_empty());
    let (w, t0) = (Duration::from_secs(10), Instant::now());
    assert_eq!(store.record(key(1), w, t0), Seen::First);
    assert!(!store.is_empty());
    assert_eq!(
        store.record(key(1), w, t0 + w - Duration::from_nanos(1)),
        Seen::Replay
    );
    // At the end of the window the key is gone: the same request is new again, and another key takes
    // its place without evicting anything.
    assert_eq!(store.record(key(1), w, t0 + w), Seen::First);
    assert_eq!(store.record(key(2), w, t0 + w + w), Seen::First);
    assert_eq!(store.evictions(), 0);
    // Behind a key with a longer window, a shorter one still ends exactly at its window's end.
    let store = MemoryStore::new();
    assert_eq!(
        store.record(key(1), Duration::from_secs(20), t0),
        Seen::First
    );
    assert_eq!(
        store.record(key(2), Duration::from_secs(5), t0),
        Seen::First
    );
    assert_eq!(
        store.record(key(2), Duration::from_secs(5), t0 + Duration::from_secs(5)),
        Seen::First
    );
}

#[test]
fn kept_answers_stay_within_the_memory_budget() {
    let store = MemoryStore::new();
    let w = Duration::from_secs(300);
    let now = Instant::now();
    // Two fit beside a few small marks, three do not.
    let big = vec![b'x'; MemoryStore::ANSWER_BYTES / 2 - 64];
    for n in 0..3 {
        assert_eq!(store.record(key(n), w, now), Seen::First);
        block_on(store.keep(&key(n), big.clone(), w)).unwrap();
    }
    let kept = |n| block_on(store.value(&key(n))).unwrap().unwrap();
    // Two fit; the third is marked "not kept" instead of growing past the budget.
    assert_eq!((kept(0).len(), kept(1).len()), (big.len(), big.len()));
    assert_eq!(Entry::from_value(&kept(2)), Entry::NotKept);
    // A released key gives its bytes back.
    block_on(store.release(&key(0))).unwrap();
    assert_eq!(store.record(key(3), w, now), Seen::First);
    block_on(store.keep(&key(3), big.clone(), w)).unwrap();
    assert_eq!(kept(3).len(), big.len());
}

/// Mutation testing found `MemoryStore::keep`'s room-making unchecked: keeping the answer of a key
/// already held evicts nothing, and keeping a new key in a full store evicts the oldest one.
#[test]
fn keeping_an_answer_evicts_only_to_make_room_for_a_new_key() {
    let store = MemoryStore::with_max_entries(2);
    let (w, now) = (Duration::from_secs(60), Instant::now());
    assert_eq!(store.record(key(1), w, now), Seen::First);
    assert_eq!(store.record(key(2), w, now), Seen::First);
    block_on(store.keep(&key(2), b"answer".to_vec(), w)).unwrap();
    assert_eq!((store.len(), store.evictions()), (2, 0));
    assert_eq!(store.record(key(1), w, now), Seen::Replay, "still held");
    block_on(store.keep(&key(3), b"answer".to_vec(), w)).unwrap();
    assert_eq!((store.len(), store.evictions()), (2, 1));
    assert_eq!(store.record(key(3), w, now), Seen::Replay);
}
