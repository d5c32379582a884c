//! Answer mode with the extractor, on a real actix-web server: the extractor never sees the
//! handler's answer, so it finishes each delivery at once (delivered, answer not kept). A duplicate
//! is then refused at once, and still refused after the in-flight lease would have lapsed: an
//! unfinished delivery would let its lease lapse and the duplicate reach the handler again.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, web};
use twilio_webhook::{Duplicates, MemoryStore, ReplayGuard};
use twilio_webhook_actix::TwilioWebhook;
use twilio_webhook_http_suite as suite;

#[macro_use]
mod support;

#[test]
fn the_extractor_in_answer_mode_never_lets_a_duplicate_through_after_the_lease() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let guard = ReplayGuard::new(MemoryStore::new())
        .duplicates(Duplicates::Answer {
            max_body: 1024,
            wait: Duration::from_secs(5),
        })
        .lease(Duration::from_millis(300));
    let verifier = suite::CONFIGS[0].verifier().replay_guard(guard);
    let server = serve_app!(move || {
        let seen = Arc::clone(&seen);
        App::new().app_data(verifier.clone()).route(
            "/sms",
            web::post().to(
                move |TwilioWebhook(web::Form(p), _): TwilioWebhook<
                    web::Form<Vec<(String, String)>>,
                >| {
                    seen.fetch_add(1, Ordering::SeqCst);
                    async move { format!("{} parameters", p.len()) }
                },
            ),
        )
    });
    let request = suite::signed_sms(&server, 1);
    assert_eq!(
        suite::send(server.port, &request).expect("first").status,
        200
    );
    // At once: refused without waiting for an answer that no extractor can keep.
    let start = Instant::now();
    assert_eq!(suite::send(server.port, &request).expect("dup").status, 409);
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    // After the lease: still refused, and the handler ran once.
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(
        suite::send(server.port, &request).expect("later").status,
        409
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
