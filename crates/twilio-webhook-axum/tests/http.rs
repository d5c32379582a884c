//! The shared HTTP suite against real axum servers on 127.0.0.1: the example (the extractor) and a
//! router protected by the layer.

use axum::response::IntoResponse as _;
use axum::routing::post;
use axum::{Extension, Form, Router};
use twilio_webhook_axum::{TwilioWebhookLayer, VerifiedRequest};
use twilio_webhook_http_suite as suite;

mod support;

use support::serve;

#[test]
fn the_example_server_keeps_its_contract() {
    let cases = suite::example_contract("axum");
    assert!(cases >= 25, "{cases} cases");
}

async fn sms(
    Extension(verified): Extension<VerifiedRequest>,
    Form(params): Form<Vec<(String, String)>>,
) -> String {
    // The layer's verdict reaches the handler.
    assert!(verified.url().ends_with("sms") || verified.url().contains("sms?"));
    format!(
        "<Response><Message>Verified: {} parameters</Message></Response>",
        params.len()
    )
}

/// A router like the example's, protected by the layer instead of the extractor.
fn layered(config: &suite::Config) -> Router {
    layered_with(config.verifier())
}

fn layered_with(verifier: twilio_webhook_axum::WebhookVerifier) -> Router {
    let sms_router = Router::new().route("/sms", post(sms));
    Router::new()
        .merge(sms_router.clone())
        .route("/events", post(|body: String| async move { body }))
        .route(
            "/ws",
            axum::routing::get(|| async { "WebSocket handshake verified" }),
        )
        .nest("/nested", sms_router)
        .layer(TwilioWebhookLayer::new(verifier))
}

#[test]
fn the_layer_passes_the_suite() {
    let cases = suite::run("axum layer", |config| serve(layered(config)));
    assert!(cases >= 25, "{cases} cases");
}

/// The suite can fail: the same routes without the layer answer 200 to what must be refused.
#[test]
fn an_unprotected_router_fails_the_suite() {
    let unprotected = |_: &suite::Config| {
        let sms = post(|Form(p): Form<Vec<(String, String)>>| async move {
            format!(
                "<Response><Message>Verified: {} parameters</Message></Response>",
                p.len()
            )
        });
        let nested = Router::new().route("/sms", sms.clone());
        serve(
            Router::new()
                .route("/sms", sms)
                .route("/events", post(|body: String| async move { body }))
                .nest("/nested", nested),
        )
    };
    let outcome = std::panic::catch_unwind(|| suite::run("unprotected", unprotected));
    let message = outcome
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .expect("the suite fails");
    for refused in [
        "wrong signature",
        "missing signature",
        "json replayed with the body stripped",
    ] {
        assert!(
            message.contains(refused),
            "{refused} not reported:\n{message}"
        );
    }
}

#[test]
fn the_example_refuses_replays_with_memory_and_redis() {
    suite::replay_contract("axum");
}

/// Redis stopped mid-run: the default fails closed (the examples' test shows `503`); the policy chosen by
/// name lets verified requests through, and still refuses forged ones.
#[test]
fn a_redis_outage_passes_verified_requests_only_when_told_to_by_name() {
    use twilio_webhook::{OnStoreError, RedisStore, ReplayGuard};
    let mut redis = suite::RedisServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let store = runtime
        .block_on(RedisStore::connect(&redis.url()))
        .expect("redis");
    let shown = format!("{store:?}");
    assert!(
        shown.contains(RedisStore::DEFAULT_PREFIX) && !shown.contains(&redis.url()),
        "the prefix, never the URL (it may hold a password): {shown}"
    );
    let guard = ReplayGuard::new(store).on_store_error(OnStoreError::AllowUncheckedDuringOutage);
    let config = &suite::CONFIGS[0];
    let server = serve(layered_with(config.verifier().replay_guard(guard)));
    let request = suite::signed_sms(&server, 1);
    let status = |r: &suite::RawRequest| suite::send(server.port, r).expect("response").status;
    assert_eq!(
        (status(&request), status(&request)),
        (200, 409),
        "Redis up: replay refused"
    );
    redis.stop();
    let during = suite::signed_sms(&server, 2);
    assert_eq!(
        (status(&during), status(&during)),
        (200, 200),
        "Redis down: let through, unchecked"
    );
    let mut forged = suite::signed_sms(&server, 3);
    forged.body.extend_from_slice(b"&Extra=1");
    assert_eq!(status(&forged), 403, "verification still applies");
}

/// Report-only: what enforcement would refuse reaches the handler unverified, and is counted; a body
/// over the limit is still refused.
#[test]
fn report_only_passes_and_counts_what_enforcement_would_refuse() {
    let layer =
        TwilioWebhookLayer::new(suite::CONFIGS[0].verifier()).report_only_without_enforcing();
    let app = Router::new()
        .route(
            "/sms",
            post(|verified: Option<Extension<VerifiedRequest>>| async move {
                if verified.is_some() {
                    "verified"
                } else {
                    "unverified"
                }
            }),
        )
        .layer(layer.clone());
    let server = serve(app);
    suite::report_only_contract(&server);
    assert_eq!(layer.would_reject(), 2);
    assert_eq!(
        TwilioWebhookLayer::new(suite::CONFIGS[0].verifier()).would_reject(),
        0
    );
}

/// A typed payload as the extractor's inner type, through a real server.
#[test]
fn typed_payloads_work_as_the_inner_extractor() {
    use twilio_webhook::payload::IncomingMessage;
    use twilio_webhook_axum::TwilioWebhook;
    async fn mms(TwilioWebhook(Form(m), _): TwilioWebhook<Form<IncomingMessage>>) -> String {
        suite::describe_message(&m)
    }
    let app = Router::new()
        .route("/sms", post(mms))
        .with_state(suite::CONFIGS[0].verifier());
    let server = serve(app);
    let request = suite::signed_form(&server, "/sms", suite::MMS_BODY);
    let response = suite::send(server.port, &request).expect("response");
    assert_eq!(
        (response.status, response.text()),
        (200, suite::MMS_DESCRIPTION.to_string())
    );
    // Verified but not a message: the inner extractor's own refusal (422), after verification.
    let call = suite::signed_form(&server, "/sms", b"CallSid=CA1&AccountSid=AC1");
    assert_eq!(
        suite::send(server.port, &call).expect("response").status,
        422
    );
}

/// Issue 18: the fail-open attacks, against the example (the extractor) and the layer.
#[test]
fn issue_18_attacks_are_refused_by_the_example_and_the_layer() {
    let example = suite::spawn_example("axum", &suite::CONFIGS[0]);
    suite::attack_contract("axum example", &example);
    let layer = serve(layered(&suite::CONFIGS[0]));
    suite::attack_contract("axum layer", &layer);
}

/// Issue 18: a delivery that failed (the app answered 503) releases its replay key, so Twilio's retry
/// of it is delivered rather than refused as a replay; a delivery that succeeded keeps it.
#[test]
fn issue_18_a_failed_delivery_does_not_burn_the_replay_key() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use twilio_webhook::{MemoryStore, ReplayGuard};
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/sms",
            post(move || {
                let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
                async move {
                    if first {
                        (http::StatusCode::SERVICE_UNAVAILABLE, "busy")
                    } else {
                        (http::StatusCode::OK, "processed")
                    }
                }
            }),
        )
        .layer(TwilioWebhookLayer::new(
            suite::CONFIGS[0]
                .verifier()
                .replay_guard(ReplayGuard::new(MemoryStore::new())),
        ));
    let server = serve(app);
    let request = suite::signed_sms(&server, 1);
    let status = || suite::send(server.port, &request).expect("response").status;
    assert_eq!(status(), 503, "the app could not take it");
    assert_eq!(status(), 200, "Twilio's retry is delivered");
    assert_eq!(status(), 409, "after a success, a replay is refused");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// Issue 21: in answer mode, a duplicate gets the first delivery's response (its status and body)
/// without reaching the handler; a streamed answer (length unknown) is not kept, and its duplicate is
/// refused.
#[test]
fn answer_mode_gives_a_duplicate_the_first_answer() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use twilio_webhook::{Duplicates, MemoryStore, ReplayGuard};
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/sms",
            post(move |body: String| {
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    if body.contains("stream") {
                        let chunk: Result<bytes::Bytes, std::convert::Infallible> =
                            Ok(bytes::Bytes::from("streamed"));
                        let body =
                            axum::body::Body::from_stream(futures_util::stream::iter([chunk]));
                        (http::StatusCode::CREATED, body).into_response()
                    } else {
                        (http::StatusCode::CREATED, format!("answer {n}")).into_response()
                    }
                }
            }),
        )
        .layer(TwilioWebhookLayer::new(
            suite::CONFIGS[0].verifier().replay_guard(
                ReplayGuard::new(MemoryStore::new()).duplicates(Duplicates::answer()),
            ),
        ));
    let server = serve(app);
    let request = suite::signed_sms(&server, 1);
    let first = suite::send(server.port, &request).expect("first");
    let again = suite::send(server.port, &request).expect("duplicate");
    assert_eq!((first.status, first.text()), (201, "answer 1".to_string()));
    assert_eq!((again.status, again.text()), (201, "answer 1".to_string()));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the duplicate never reached the handler"
    );
    let streamed = suite::signed_form(&server, "/sms", b"Body=stream");
    assert_eq!(
        suite::send(server.port, &streamed).expect("stream").status,
        201
    );
    assert_eq!(
        suite::send(server.port, &streamed).expect("again").status,
        409
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// A response body of known length that gives its bytes only after `delay`: an app's answer read
/// slowly.
struct SlowBody {
    delay: std::pin::Pin<Box<tokio::time::Sleep>>,
    data: Option<bytes::Bytes>,
    length: u64,
}

impl http_body::Body for SlowBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        if self.delay.as_mut().poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(self.data.take().map(|d| Ok(http_body::Frame::data(d))))
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.length)
    }
}

/// Issue 28, F7: in answer mode, a delivery that takes longer than its lease (a handler that takes
/// 1 s, or an answer whose body takes 1 s to read, with a 300 ms lease) renews it: a duplicate sent
/// after the lease would have lapsed waits for the first answer and gets it, and the handler runs
/// once.
#[test]
fn answer_mode_renews_the_lease_of_a_slow_delivery() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use twilio_webhook::{Duplicates, MemoryStore, ReplayGuard};
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let app = Router::new()
        .route(
            "/sms",
            post(move |body: String| {
                let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                async move {
                    let text = bytes::Bytes::from(format!("answer {n}"));
                    if body.contains("slow-body") {
                        let length = text.len() as u64;
                        let slow = SlowBody {
                            delay: Box::pin(tokio::time::sleep(Duration::from_secs(1))),
                            data: Some(text),
                            length,
                        };
                        return (http::StatusCode::CREATED, axum::body::Body::new(slow))
                            .into_response();
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    (http::StatusCode::CREATED, text).into_response()
                }
            }),
        )
        .layer(TwilioWebhookLayer::new(
            suite::CONFIGS[0].verifier().replay_guard(
                ReplayGuard::new(MemoryStore::new())
                    .duplicates(Duplicates::Answer {
                        max_body: 1024,
                        wait: Duration::from_secs(5),
                    })
                    .lease(Duration::from_millis(300)),
            ),
        ));
    let server = serve(app);
    suite::lease_renewal_contract(&server, &calls);
}
