//! A verified delivery dropped unfinished says so: its replay key stays marked until the window ends,
//! and Twilio's retry is refused. One `ERROR` line for it, none for a delivery that was finished or
//! had no replay guard.
//!
//! Its own test binary with one test, as `logging.rs`: tracing caches each log site's interest
//! process-wide.

use twilio_webhook::{
    Algorithm, Incoming, MemoryStore, ReplayGuard, RequestValidator, Signer, WebhookVerifier,
};

#[path = "support/captured_log.rs"]
mod captured_log;
#[path = "support/whole_body.rs"]
mod whole_body;
use captured_log::Captured;
use whole_body::{Whole, block_on};

const TOKEN: &str = "delivery-log-test-token";

#[test]
fn a_delivery_dropped_unfinished_is_logged_once() {
    let captured = Captured::install();
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

    let log = captured.text();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(
        lines[0].contains("ERROR") && lines[0].contains("dropped unfinished"),
        "{log}"
    );
}
