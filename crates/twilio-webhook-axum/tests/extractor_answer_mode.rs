//! Answer mode with the extractor, on a real axum server: the extractor never sees the handler's
//! answer, so it finishes each delivery at once (delivered, answer not kept). A duplicate is then
//! refused at once, and still refused after the in-flight lease would have lapsed: an unfinished
//! delivery would let its lease lapse and the duplicate reach the handler again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Form, Router};
use twilio_webhook::{Duplicates, MemoryStore, ReplayGuard};
use twilio_webhook_axum::TwilioWebhook;
use twilio_webhook_http_suite as suite;

struct Stop(
    Option<tokio::sync::oneshot::Sender<()>>,
    Option<std::thread::JoinHandle<()>>,
);

impl Drop for Stop {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.1.take() {
            let _ = thread.join();
        }
    }
}

fn serve(app: Router) -> suite::Server {
    let port = suite::free_port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .expect("bind");
            let service = app.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(listener, service)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
    });
    suite::wait_for(port);
    suite::Server::new(port, Box::new(Stop(Some(tx), Some(thread))))
}

#[test]
fn the_extractor_in_answer_mode_never_lets_a_duplicate_through_after_the_lease() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let guard = ReplayGuard::new(MemoryStore::new())
        .duplicates(Duplicates::Answer {
            max_body: 1024,
            wait: Duration::from_secs(5),
        })
        .lease(Duration::from_millis(300));
    let verifier = suite::CONFIGS[0].verifier().replay_guard(guard);
    let app = Router::new()
        .route(
            "/sms",
            post(
                move |TwilioWebhook(Form(p), _): TwilioWebhook<Form<Vec<(String, String)>>>| {
                    let counted = Arc::clone(&counted);
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        format!("{} parameters", p.len())
                    }
                },
            ),
        )
        .with_state(verifier);
    let server = serve(app);
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
