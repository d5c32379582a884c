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

/// The memory store: its window, its bound on keys and on kept answers, under concurrency.
mod memory;

/// Answer mode: leases on deliveries in flight, and duplicates given the first delivery's answer.
mod answer;
