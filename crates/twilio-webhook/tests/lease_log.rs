//! Answer mode's log about leases (issue 28, F7): a store that keeps answers but cannot renew leases
//! is said once per process, and never in reject mode; a renewal the store does not confirm is said
//! at once, its recovery once, and a lease found lost once (the renewals then end).
//!
//! Its own test binary with one test, as `logging.rs`: tracing caches each log site's interest
//! process-wide, and the "cannot renew" warning is said once per process.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use twilio_webhook::{
    Algorithm, BoxFuture, Delivery, Duplicates, Incoming, LeaseToken, MemoryStore, ReplayGuard,
    ReplayKey, ReplayStore, RequestValidator, Seen, Signer, StoreError, WebhookVerifier,
};

#[path = "support/captured_log.rs"]
mod captured_log;
#[path = "support/whole_body.rs"]
mod whole_body;
use captured_log::Captured;
use whole_body::{Whole, block_on};

const TOKEN: &str = "lease-log-test-token";

/// A timer for [`block_on`]: pending until `duration` has passed.
fn sleep(duration: Duration) -> impl std::future::Future<Output = ()> {
    let until = Instant::now() + duration;
    std::future::poll_fn(move |_| {
        if Instant::now() >= until {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
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

/// A memory store whose first renewal fails (an outage), and which counts them.
#[derive(Debug, Default)]
struct Flaky {
    store: MemoryStore,
    renewals: AtomicUsize,
}

impl ReplayStore for Flaky {
    fn check_and_mark<'a>(
        &'a self,
        key: &'a ReplayKey,
        window: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        self.store.check_and_mark(key, window)
    }

    fn check_and_lease<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a LeaseToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        self.store.check_and_lease(key, token, lease)
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
        if self.renewals.fetch_add(1, Ordering::SeqCst) == 0 {
            return Box::pin(async { Err(StoreError("outage".to_string())) });
        }
        self.store.renew(key, token, lease)
    }

    fn release<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<(), StoreError>> {
        self.store.release(key)
    }

    fn keep<'a>(
        &'a self,
        key: &'a ReplayKey,
        value: Vec<u8>,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.store.keep(key, value, window)
    }

    fn keeps_answers(&self) -> bool {
        true
    }

    fn value<'a>(
        &'a self,
        key: &'a ReplayKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        self.store.value(key)
    }
}

/// A signed form request with `body` (one `name=value`), verified by `verifier`.
fn delivery(verifier: &WebhookVerifier, body: &str) -> Delivery {
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).expect("signer");
    let (name, value) = body.split_once('=').expect("a field");
    let signature = signer.sign_form("http://a.com/sms", [(name, value)]);
    let mut headers = http::HeaderMap::new();
    headers.insert("host", "a.com".parse().expect("host"));
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().expect("type"),
    );
    headers.insert("x-twilio-signature", signature.parse().expect("signature"));
    let request = Incoming::new(&http::Method::POST, "/sms", &headers);
    let mut reader = Whole([body.as_bytes().to_vec()].into());
    block_on(verifier.read_and_verify(&request, &mut reader))
        .expect("read")
        .verdict
        .expect("verified")
}

fn answer_mode(guard: ReplayGuard) -> ReplayGuard {
    guard.duplicates(Duplicates::Answer {
        max_body: 64,
        wait: Duration::from_secs(5),
    })
}

#[test]
fn lease_trouble_is_logged_once_each() {
    let captured = Captured::install();
    const CANNOT_RENEW: &str = "keeps answers but cannot renew leases";

    // Reject mode over a store that keeps answers: no lease is wanted, nothing is said.
    let rejecting = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .replay_guard(ReplayGuard::new(MemoryStore::new()));
    block_on(delivery(&rejecting, "Body=reject1").finish(http::StatusCode::OK));
    block_on(delivery(&rejecting, "Body=reject2").finish(http::StatusCode::OK));
    assert_eq!(captured.count(CANNOT_RENEW), 0, "{}", captured.text());

    // Answer mode over a store that cannot renew: said at the first request, and only then.
    let no_renewal = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .replay_guard(answer_mode(ReplayGuard::new(NoRenewal(MemoryStore::new()))));
    block_on(delivery(&no_renewal, "Body=first").finish(http::StatusCode::OK));
    assert_eq!(captured.count(CANNOT_RENEW), 1, "{}", captured.text());
    block_on(delivery(&no_renewal, "Body=second").finish(http::StatusCode::OK));
    block_on(delivery(&no_renewal, "Body=third").finish(http::StatusCode::OK));
    assert_eq!(captured.count(CANNOT_RENEW), 1, "{}", captured.text());

    // A delivery whose first renewal fails, the next two succeed (the lease has not lapsed: it is
    // three renewal periods), and then its key is released under it (the lease is lost).
    let flaky = Arc::new(Flaky::default());
    let renewing = WebhookVerifier::new(RequestValidator::new(TOKEN)).replay_guard(answer_mode(
        ReplayGuard::shared(flaky.clone()).lease(Duration::from_millis(600)),
    ));
    let slow = delivery(&renewing, "Body=slow");
    let key = *slow.verified().replay_key();
    let renewals = || flaky.renewals.load(Ordering::SeqCst);
    // Waits (at most 10 s, so that a stalled machine fails the test rather than hangs it) until
    // `n` renewals were tried.
    let tried = |n: usize| async move {
        let give_up = Instant::now() + Duration::from_secs(10);
        while renewals() < n && Instant::now() < give_up {
            sleep(Duration::from_millis(1)).await;
        }
    };
    let output = block_on(slow.renewing(
        async {
            tried(3).await;
            block_on(flaky.release(&key)).expect("released");
            tried(4).await;
            // Several renewal periods more: a renewal after the lost lease would be counted.
            sleep(Duration::from_millis(500)).await;
            "done"
        },
        sleep,
    ));
    assert_eq!(output, "done");
    assert_eq!(renewals(), 4, "the renewals end with the lost lease");
    block_on(slow.finish(http::StatusCode::OK));
    let log = captured.text();
    assert_eq!(captured.count("could not be renewed"), 1, "{log}");
    assert_eq!(captured.count("is renewed again"), 1, "{log}");
    assert_eq!(captured.count("was lost"), 1, "{log}");
    assert!(!log.contains(TOKEN), "{log}");
}
