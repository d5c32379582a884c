//! A verified delivery dropped unfinished says so: its replay key stays marked until the window ends,
//! and Twilio's retry is refused. One `ERROR` line for it, none for a delivery that was finished or
//! had no replay guard.
//!
//! Its own test binary with one test, as `logging.rs`: tracing caches each log site's interest
//! process-wide.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use twilio_webhook::{
    Algorithm, BodyError, BodyReader, Incoming, MemoryStore, ReplayGuard, RequestValidator, Signer,
    WebhookVerifier,
};

const TOKEN: &str = "delivery-log-test-token";

/// What the subscriber writes, kept for the test to read.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A body given whole, in one chunk.
struct Whole(VecDeque<Vec<u8>>);

impl BodyReader for Whole {
    type Chunk = Vec<u8>;

    fn poll_chunk(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Vec<u8>, BodyError>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}

/// Drives a future whose only waits are on the in-memory store (never pending for long).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn a_delivery_dropped_unfinished_is_logged_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).expect("signer");
    let delivery = |verifier: &WebhookVerifier, body: &str| {
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
    };
    let guarded = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .replay_guard(ReplayGuard::new(MemoryStore::new()));
    block_on(delivery(&guarded, "Body=finished").finish(http::StatusCode::OK));
    block_on(delivery(&guarded, "Body=again").finish(http::StatusCode::NO_CONTENT));
    drop(delivery(
        &WebhookVerifier::new(RequestValidator::new(TOKEN)),
        "Body=unguarded",
    ));
    drop(delivery(&guarded, "Body=dropped"));

    let log = String::from_utf8(captured.0.lock().expect("log buffer").clone()).expect("UTF-8");
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("ERROR") && lines[0].contains("dropped unfinished"),
        "{log}"
    );
}
