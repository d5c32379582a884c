//! Answer mode: a delivery in flight holds a lease, a duplicate waits for the first delivery's
//! answer and gets it, and what cannot be answered is refused.

use super::*;

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

/// A store that keeps answers but cannot renew leases (a third-party store written before renewals).
#[derive(Debug)]
struct NoRenewal(MemoryStore);

impl ReplayStore for NoRenewal {
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

    fn keep<'a>(
        &'a self,
        key: &'a ReplayKey,
        value: Vec<u8>,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.0.keep(key, value, window)
    }

    fn keeps_answers(&self) -> bool {
        true
    }

    fn value<'a>(
        &'a self,
        key: &'a ReplayKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        self.0.value(key)
    }
}

/// Issue 28, F7: a store that cannot renew a lease gets none (fail closed): a request in flight is
/// marked for the whole window, so a slow delivery is never delivered twice.
#[test]
fn a_store_that_cannot_renew_leases_marks_a_request_in_flight_for_the_window() {
    let token = LeaseToken::unique();
    assert!(
        block_on(NoRenewal(MemoryStore::new()).renew(&key(1), &token, Duration::from_secs(1)))
            .is_err(),
        "the trait's default renews nothing"
    );
    let guard = ReplayGuard::new(NoRenewal(MemoryStore::new()))
        .duplicates(Duplicates::Answer {
            max_body: 16,
            wait: Duration::from_millis(400),
        })
        .lease(Duration::from_millis(100));
    assert_eq!(guard.in_flight_lease(), None);
    assert_eq!(block_on(guard.check_leased(&key(1), POST)), Ok(None));
    // Long after the lease would have lapsed, the duplicate waited for an answer and is refused.
    assert_eq!(
        block_on(guard.check(&key(1), POST)),
        Err(ReplayRefusal::Replayed)
    );
}

/// Issue 28, F7: a lease is renewed only by the delivery holding it, and only while it is in flight.
#[test]
fn the_memory_store_renews_a_lease_only_for_its_holder_while_in_flight() {
    let store = MemoryStore::new();
    let (ours, theirs) = (LeaseToken::unique(), LeaseToken::unique());
    assert_ne!(ours, theirs);
    let lease = Duration::from_millis(100);
    let renew = |token: &LeaseToken| block_on(store.renew(&key(1), token, lease)).unwrap();
    assert!(!renew(&ours), "absent");
    assert_eq!(
        block_on(store.check_and_lease(&key(1), &ours, lease)),
        Ok(Seen::First)
    );
    assert!(!renew(&theirs), "another delivery's lease");
    // Renewed past the first lease, it holds the key: a second delivery cannot take it.
    for _ in 0..4 {
        std::thread::sleep(Duration::from_millis(50));
        assert!(renew(&ours));
    }
    assert_eq!(
        block_on(store.check_and_lease(&key(1), &theirs, lease)),
        Ok(Seen::Replay)
    );
    // Lapsed, then taken by another delivery: the first renews nothing, and not the other's lease.
    std::thread::sleep(Duration::from_millis(150));
    assert!(!renew(&ours), "lapsed");
    assert_eq!(
        block_on(store.check_and_lease(&key(1), &theirs, lease)),
        Ok(Seen::First)
    );
    assert!(!renew(&ours), "re-taken");
    assert!(renew(&theirs));
    // Answered: no lease is renewed any more (the answer lasts its window).
    block_on(store.keep(&key(1), Entry::value_for(None), Duration::from_secs(60))).unwrap();
    assert!(!renew(&theirs), "answered");
    // Released, or marked without a lease: nothing to renew.
    assert_eq!(
        block_on(store.check_and_lease(&key(2), &ours, lease)),
        Ok(Seen::First)
    );
    block_on(store.release(&key(2))).unwrap();
    assert!(
        !block_on(store.renew(&key(2), &ours, lease)).unwrap(),
        "released"
    );
    assert_eq!(
        block_on(store.check_and_mark(&key(3), lease)),
        Ok(Seen::First)
    );
    assert!(!block_on(store.renew(&key(3), &ours, lease)).unwrap());
}
