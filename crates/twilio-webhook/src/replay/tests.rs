use super::*;
use std::time::Instant;

/// The method of the requests these tests deliver.
const POST: &http::Method = &http::Method::POST;

fn key(n: u32) -> ReplayKey {
    ReplayKey::new("primary", &n.to_string())
}

#[test]
fn keys_depend_on_secret_and_signature_and_hide_both() {
    let a = ReplayKey::new("primary", "sig=");
    assert_eq!(a, ReplayKey::new("primary", "sig="));
    assert_ne!(a, ReplayKey::new("secondary", "sig="));
    assert_ne!(a, ReplayKey::new("primary", "sig2"));
    // No boundary shift between name and signature.
    assert_ne!(ReplayKey::new("ab", "c"), ReplayKey::new("a", "bc"));
    let hex = a.to_hex();
    assert_eq!(hex.len(), 32);
    assert!(!hex.contains("sig") && !format!("{a:?}").contains("primary"));
}

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

#[derive(Debug)]
struct Down;

impl ReplayStore for Down {
    fn check_and_mark<'a>(
        &'a self,
        _: &'a ReplayKey,
        _: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        Box::pin(async { Err(StoreError("connection refused".into())) })
    }

    fn release<'a>(&'a self, _: &'a ReplayKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async { Err(StoreError("connection refused".into())) })
    }
}

pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    // The guard's futures never wait on anything but the store: a no-op waker drives them.
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn the_setting_turns_the_guard_on_or_is_an_error() {
    assert!(block_on(ReplayGuard::from_setting(None)).unwrap().is_none());
    assert!(
        block_on(ReplayGuard::from_setting(Some(" off ")))
            .unwrap()
            .is_none()
    );
    let memory = block_on(ReplayGuard::from_setting(Some("memory")))
        .unwrap()
        .unwrap();
    assert_eq!(memory.replay_window(), DEFAULT_REPLAY_WINDOW);
    let bad = block_on(ReplayGuard::from_setting(Some("mem"))).unwrap_err();
    assert!(
        bad.contains("TWILIO_REPLAY") && bad.contains("neither") && !bad.contains("mem\""),
        "{bad}"
    );
    // A scheme that is not a store's: named as the fault, the value (and its password) never shown.
    let bad = block_on(ReplayGuard::from_setting(Some("memcache://:hunter2@h:1"))).unwrap_err();
    assert!(
        bad.contains("TWILIO_REPLAY") && bad.contains("scheme") && !bad.contains("hunter2"),
        "{bad}"
    );
}

#[test]
fn schemes_are_read_in_any_case() {
    assert_eq!(
        scheme_lowercased("Redis://:Pw@Host:1/0"),
        "redis://:Pw@Host:1/0"
    );
    assert_eq!(
        scheme_lowercased("REDISS-CLUSTER://h:1"),
        "rediss-cluster://h:1"
    );
    assert_eq!(scheme_lowercased("memory"), "memory");
}

/// A guard in answer mode over a memory store, its lease `lease`, a duplicate waiting up to 5 s.
fn leased(store: Arc<MemoryStore>, lease: Duration) -> ReplayGuard {
    ReplayGuard::shared(store)
        .duplicates(Duplicates::Answer {
            max_body: 16,
            wait: Duration::from_secs(5),
        })
        .lease(lease)
}

#[test]
fn in_answer_mode_a_request_in_flight_holds_a_lease_under_twilios_time_out() {
    let answer = |wait| {
        ReplayGuard::new(MemoryStore::new()).duplicates(Duplicates::Answer { max_body: 1, wait })
    };
    // By default the duplicates' wait (the guard's upstream time-out), at most 10 s.
    assert_eq!(ReplayGuard::MAX_LEASE, Duration::from_secs(10));
    assert_eq!(
        ReplayGuard::new(MemoryStore::new())
            .duplicates(Duplicates::answer())
            .in_flight_lease(),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        answer(Duration::from_secs(30)).in_flight_lease(),
        Some(Duration::from_secs(10))
    );
    assert_eq!(
        answer(Duration::from_secs(3)).in_flight_lease(),
        Some(Duration::from_secs(3))
    );
    assert_eq!(
        answer(Duration::from_secs(3))
            .lease(Duration::from_secs(60))
            .in_flight_lease(),
        Some(Duration::from_secs(10)),
        "capped below Twilio's 15 s"
    );
    // Reject mode, and a store that keeps no answers (no kept answer would end a lease): none.
    assert_eq!(ReplayGuard::new(MemoryStore::new()).in_flight_lease(), None);
    assert_eq!(
        ReplayGuard::new(KeysOnly(MemoryStore::new()))
            .duplicates(Duplicates::answer())
            .in_flight_lease(),
        None
    );
}

#[test]
fn a_duplicate_of_a_delivery_that_never_ended_is_delivered_once_its_lease_lapses() {
    let store = Arc::new(MemoryStore::new());
    let guard = leased(store.clone(), Duration::from_millis(300));
    // The first delivery is marked in flight, then its process "crashes": never delivered.
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    // Twilio's retry waits for the lease, not for the whole window, and takes it.
    let start = Instant::now();
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    // Taken: a third delivery waits for the retry's answer and gets it.
    let twiml = StoredAnswer::new(200, [], b"<R/>".to_vec());
    let first = guard.clone();
    let kept = twiml.clone();
    let app = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        block_on(first.delivered(&key(1), POST, 200, Some(&kept)));
    });
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Answered(Arc::new(twiml.kept_for(POST))))
    );
    app.join().unwrap();
    // The kept answer lasts the window, far past the lease.
    std::thread::sleep(Duration::from_millis(400));
    assert!(matches!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Answered(_))
    ));
    // Reject mode never leases: a key whose delivery never ended is refused for the window.
    let reject = ReplayGuard::new(MemoryStore::new()).window(Duration::from_secs(60));
    assert_eq!(block_on(reject.check(&key(2), POST)), Ok(()));
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        block_on(reject.check(&key(2), POST)),
        Err(ReplayRefusal::Replayed)
    );
}

#[test]
fn a_delivery_slower_than_its_lease_is_still_recorded_for_the_window() {
    let store = Arc::new(MemoryStore::with_max_entries(8));
    let guard = leased(store.clone(), Duration::from_millis(50));
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    std::thread::sleep(Duration::from_millis(100));
    // The lease lapsed and no duplicate came: the answer, kept late, still records the key.
    block_on(guard.delivered(&key(1), POST, 200, None));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Replayed)
    );
    assert_eq!(store.len(), 1);
    // Keeping answers never grows the store past its bound.
    for n in 2..20 {
        assert_eq!(block_on(guard.check(&key(n), POST)), Ok(()));
        block_on(guard.delivered(&key(n), POST, 200, None));
        assert!(store.len() <= 8, "{}", store.len());
    }
}

#[test]
fn an_unavailable_store_fails_closed_unless_told_otherwise_by_name() {
    let closed = ReplayGuard::new(Down);
    assert_eq!(
        block_on(closed.check(&key(1), POST)),
        Err(ReplayRefusal::StoreUnavailable)
    );
    let open = ReplayGuard::new(Down).on_store_error(OnStoreError::AllowUncheckedDuringOutage);
    assert_eq!(block_on(open.check(&key(1), POST)), Ok(()));
    let guard = ReplayGuard::new(MemoryStore::new()).window(Duration::from_millis(1));
    assert_eq!(guard.replay_window(), Duration::from_millis(1));
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    std::thread::sleep(Duration::from_millis(5));
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Ok(()),
        "expired after its window"
    );
    let guard = ReplayGuard::new(MemoryStore::new());
    assert_eq!(block_on(guard.check(&key(2), POST)), Ok(()));
    assert_eq!(
        block_on(guard.check(&key(2), POST)),
        Err(ReplayRefusal::Replayed)
    );
}

#[test]
fn a_released_key_lets_the_retry_through_and_nothing_else_changes() {
    let store = Arc::new(MemoryStore::with_max_entries(4));
    let guard = ReplayGuard::shared(Arc::clone(&store) as Arc<dyn ReplayStore>);
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    assert_eq!(block_on(guard.check(&key(2), POST)), Ok(()));
    block_on(guard.release(&key(1)));
    assert_eq!(store.len(), 1, "only the released key is gone");
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Ok(()),
        "the retry passes"
    );
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Replayed)
    );
    assert_eq!(
        block_on(guard.check(&key(2), POST)),
        Err(ReplayRefusal::Replayed)
    );
    // The released key's stale place in the expiry order never evicts its newer record.
    for k in 3..=4 {
        assert_eq!(block_on(guard.check(&key(k), POST)), Ok(()));
    }
    assert_eq!(store.evictions(), 0);
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Replayed)
    );
    // A store that cannot release keeps the key, and says so in the log (no panic, no error out).
    block_on(ReplayGuard::new(Down).release(&key(1)));
}

#[test]
fn the_default_window_keys_and_errors_print_what_they_are() {
    assert_eq!(DEFAULT_REPLAY_WINDOW, Duration::from_secs(300));
    let k = ReplayKey::new("primary", "sig");
    assert_eq!(format!("{k:?}"), format!("ReplayKey({})", k.to_hex()));
    assert_eq!(k.to_hex().len(), 32);
    assert_eq!(
        StoreError("timed out".into()).to_string(),
        "replay store unavailable: timed out"
    );
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

/// Answer mode with a lease longer than `wait`: a duplicate in flight waits in vain, then is refused.
fn answer_mode(store: Arc<MemoryStore>, wait: Duration) -> ReplayGuard {
    ReplayGuard::shared(store)
        .duplicates(Duplicates::Answer { max_body: 16, wait })
        .lease(ReplayGuard::MAX_LEASE)
}

#[test]
fn answer_mode_gives_a_duplicate_the_first_answer_and_refuses_what_it_cannot_answer() {
    let store = Arc::new(MemoryStore::new());
    let guard = answer_mode(store.clone(), Duration::from_millis(50));
    let twiml = StoredAnswer::new(
        200,
        [("content-type", b"text/xml".as_slice())],
        b"<Response/>".to_vec(),
    );
    // The first delivery goes through; its answer is kept; the duplicate gets it.
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    assert!(guard.keeps_answer(POST, 200, Some(11)));
    block_on(guard.delivered(&key(1), POST, 200, Some(&twiml)));
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Answered(Arc::new(twiml.kept_for(POST))))
    );
    // A body over the limit, or of unknown length, is not kept: its duplicate is refused.
    assert!(!guard.keeps_answer(POST, 200, Some(17)) && !guard.keeps_answer(POST, 200, None));
    assert_eq!(block_on(guard.check(&key(2), POST)), Ok(()));
    block_on(guard.delivered(&key(2), POST, 200, None));
    assert_eq!(
        block_on(guard.check(&key(2), POST)),
        Err(ReplayRefusal::Replayed)
    );
    // An answer whose status is not the delivery's is not kept either.
    assert_eq!(block_on(guard.check(&key(3), POST)), Ok(()));
    block_on(guard.delivered(&key(3), POST, 204, Some(&twiml)));
    assert_eq!(
        block_on(guard.check(&key(3), POST)),
        Err(ReplayRefusal::Replayed)
    );
    // A failed delivery releases the key: the duplicate is delivered, and then answered as any other.
    assert!(!guard.keeps_answer(POST, 502, Some(3)));
    assert_eq!(block_on(guard.check(&key(4), POST)), Ok(()));
    block_on(guard.delivered(&key(4), POST, 502, None));
    assert_eq!(block_on(guard.check(&key(4), POST)), Ok(()));
    block_on(guard.delivered(&key(4), POST, 200, Some(&twiml)));
    assert!(matches!(
        block_on(guard.check(&key(4), POST)),
        Err(ReplayRefusal::Answered(_))
    ));
    // A duplicate of a request still in flight waits for the answer, then is refused when none comes.
    assert_eq!(block_on(guard.check(&key(5), POST)), Ok(()));
    let start = Instant::now();
    assert_eq!(
        block_on(guard.check(&key(5), POST)),
        Err(ReplayRefusal::Replayed)
    );
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "{:?}",
        start.elapsed()
    );
    // Reject mode keeps nothing and refuses at once.
    let reject = ReplayGuard::shared(store.clone());
    assert!(!reject.keeps_answer(POST, 200, Some(1)));
    assert_eq!(
        block_on(reject.check(&key(1), POST)),
        Err(ReplayRefusal::Replayed)
    );
}

#[test]
fn a_duplicate_in_flight_gets_the_answer_when_it_comes() {
    let store = Arc::new(MemoryStore::new());
    let guard = answer_mode(store.clone(), Duration::from_secs(10));
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    let first = guard.clone();
    let answer = StoredAnswer::new(200, [], b"late".to_vec());
    let kept = answer.clone();
    let slow_app = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        block_on(first.delivered(&key(1), POST, 200, Some(&kept)));
    });
    let start = Instant::now();
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Answered(Arc::new(answer.kept_for(POST))))
    );
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    slow_app.join().unwrap();
}

/// A store that keeps no values: the trait's defaults.
#[derive(Debug)]
struct KeysOnly(MemoryStore);

impl ReplayStore for KeysOnly {
    fn check_and_mark<'a>(
        &'a self,
        key: &'a ReplayKey,
        window: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        self.0.check_and_mark(key, window)
    }

    fn release<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<(), StoreError>> {
        self.0.release(key)
    }
}

#[test]
fn a_store_that_cannot_keep_answers_fails_closed_in_answer_mode() {
    let guard = ReplayGuard::new(KeysOnly(MemoryStore::new())).duplicates(Duplicates::answer());
    assert_eq!(block_on(guard.check(&key(1), POST)), Ok(()));
    block_on(guard.delivered(
        &key(1),
        POST,
        200,
        Some(&StoredAnswer::new(200, [], Vec::new())),
    ));
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::StoreUnavailable)
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
