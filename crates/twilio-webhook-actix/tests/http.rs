//! The shared HTTP suite against real actix-web servers on 127.0.0.1: the example (the extractor) and
//! an app protected by the middleware.

use actix_web::{App, web};
use twilio_webhook_actix::{TwilioWebhookMiddleware, VerifiedRequest};
use twilio_webhook_http_suite as suite;

#[macro_use]
mod support;

#[test]
fn the_example_server_keeps_its_contract() {
    let cases = suite::example_contract("actix");
    assert!(cases >= 25, "{cases} cases");
}

async fn sms(
    verified: web::ReqData<VerifiedRequest>,
    web::Form(params): web::Form<Vec<(String, String)>>,
) -> String {
    // The middleware's verdict reaches the handler.
    assert!(verified.url().contains("/sms"));
    format!(
        "<Response><Message>Verified: {} parameters</Message></Response>",
        params.len()
    )
}

/// An app like the example's, protected by the middleware (or not, with `protect` false).
fn serve(config: &suite::Config, protect: bool) -> suite::Server {
    let verifier = config.verifier();
    serve_app!(move || {
        let routes = web::scope("")
            .route("/sms", web::post().to(sms))
            .route(
                "/events",
                web::post().to(|body: String| async move { body }),
            )
            .route(
                "/ws",
                web::get().to(|| async { "WebSocket handshake verified" }),
            )
            .service(web::scope("/nested").route("/sms", web::post().to(sms)));
        let middleware = actix_web::middleware::Condition::new(
            protect,
            TwilioWebhookMiddleware::new(verifier.clone()),
        );
        App::new().service(routes.wrap(middleware))
    })
}

#[test]
fn the_middleware_passes_the_suite() {
    let cases = suite::run("actix middleware", |config| serve(config, true));
    assert!(cases >= 25, "{cases} cases");
}

/// The suite can fail: the same app without the middleware answers what must be refused.
#[test]
fn an_unprotected_app_fails_the_suite() {
    let outcome =
        std::panic::catch_unwind(|| suite::run("unprotected", |config| serve(config, false)));
    let message = outcome
        .err()
        .and_then(|e| e.downcast::<String>().ok())
        .expect("the suite fails");
    assert!(message.contains("wrong signature"), "{message}");
}

#[test]
fn the_example_refuses_replays_with_memory_and_redis() {
    suite::replay_contract("actix");
}

/// Report-only: what enforcement would refuse reaches the handler unverified, and is counted; a body
/// over the limit is still refused.
#[test]
fn report_only_passes_and_counts_what_enforcement_would_refuse() {
    let middleware =
        TwilioWebhookMiddleware::new(suite::CONFIGS[0].verifier()).report_only_without_enforcing();
    let app_middleware = middleware.clone();
    let server = serve_app!(move || {
        App::new().wrap(app_middleware.clone()).route(
            "/sms",
            web::post().to(
                |verified: Option<web::ReqData<VerifiedRequest>>| async move {
                    if verified.is_some() {
                        "verified"
                    } else {
                        "unverified"
                    }
                },
            ),
        )
    });
    suite::report_only_contract(&server);
    assert_eq!(middleware.would_reject(), 2);
}

/// A typed payload as the extractor's inner type, through a real server.
#[test]
fn typed_payloads_work_as_the_inner_extractor() {
    use twilio_webhook::payload::IncomingMessage;
    use twilio_webhook_actix::TwilioWebhook;
    async fn mms(
        TwilioWebhook(web::Form(m), _): TwilioWebhook<web::Form<IncomingMessage>>,
    ) -> String {
        suite::describe_message(&m)
    }
    let verifier = suite::CONFIGS[0].verifier();
    let server = serve_app!(move || App::new()
        .app_data(verifier.clone())
        .route("/sms", web::post().to(mms)));
    let request = suite::signed_form(&server, "/sms", suite::MMS_BODY);
    let response = suite::send(server.port, &request).expect("response");
    assert_eq!(
        (response.status, response.text()),
        (200, suite::MMS_DESCRIPTION.to_string())
    );
    // Verified but not a message: the inner extractor's own refusal (400), after verification.
    let call = suite::signed_form(&server, "/sms", b"CallSid=CA1&AccountSid=AC1");
    assert_eq!(
        suite::send(server.port, &call).expect("response").status,
        400
    );
}

/// Issue 18: the fail-open attacks, against the example (the extractor) and the middleware.
#[test]
fn issue_18_attacks_are_refused_by_the_example_and_the_middleware() {
    let example = suite::spawn_example("actix", &suite::CONFIGS[0]);
    suite::attack_contract("actix example", &example);
    let middleware = serve(&suite::CONFIGS[0], true);
    suite::attack_contract("actix middleware", &middleware);
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
    let verifier = suite::CONFIGS[0]
        .verifier()
        .replay_guard(ReplayGuard::new(MemoryStore::new()));
    let server = serve_app!(move || {
        let seen = Arc::clone(&seen);
        App::new()
            .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
            .route(
                "/sms",
                web::post().to(move || {
                    let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
                    async move {
                        if first {
                            actix_web::HttpResponse::ServiceUnavailable().body("busy")
                        } else {
                            actix_web::HttpResponse::Ok().body("processed")
                        }
                    }
                }),
            )
    });
    let request = suite::signed_sms(&server, 1);
    let status = || suite::send(server.port, &request).expect("response").status;
    assert_eq!(status(), 503, "the app could not take it");
    assert_eq!(status(), 200, "Twilio's retry is delivered");
    assert_eq!(status(), 409, "after a success, a replay is refused");
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// The body limit counts every chunk of a body of unknown length: at the limit it is read, one byte
/// past it (in any number of chunks) it is refused with 413 before verification.
#[test]
fn a_chunked_body_is_read_up_to_the_limit_exactly() {
    use std::io::{Read as _, Write as _};
    const LIMIT: usize = 16;
    let verifier = suite::CONFIGS[0].verifier().body_limit(LIMIT);
    let server = serve_app!(move || {
        App::new().service(
            web::scope("")
                .route("/echo", web::post().to(|body: String| async move { body }))
                .wrap(TwilioWebhookMiddleware::new(verifier.clone())),
        )
    });
    let send = |chunks: &[usize]| {
        let total: usize = chunks.iter().sum();
        let mut body = b"A=".to_vec();
        body.resize(total, b'a');
        let url = format!("http://127.0.0.1:{}/echo", server.port);
        // The form `A=aaa…`: one key and its value.
        let value = String::from_utf8(body.get(2..).unwrap_or_default().to_vec()).expect("ASCII");
        let signature = twilio_webhook::RequestValidator::new(suite::TOKEN)
            .compute_signature(&url, [("A", value.as_str())]);
        let mut request = format!(
            "POST /echo HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             X-Twilio-Signature: {signature}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            server.port
        )
        .into_bytes();
        let mut rest = &body[..];
        for &n in chunks {
            let (chunk, after) = rest.split_at(n);
            rest = after;
            request.extend(format!("{n:x}\r\n").bytes());
            request.extend(chunk);
            request.extend(b"\r\n");
        }
        request.extend(b"0\r\n\r\n");
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
        stream.write_all(&request).expect("write");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    for chunks in [&[16][..], &[8, 8], &[1, 15]] {
        let answer = send(chunks);
        assert!(answer.starts_with("HTTP/1.1 200"), "{chunks:?}: {answer}");
    }
    for chunks in [&[17][..], &[8, 9], &[16, 1], &[4, 4, 4, 4, 1]] {
        let answer = send(chunks);
        assert!(answer.starts_with("HTTP/1.1 413"), "{chunks:?}: {answer}");
    }
}

/// Issue 21: in answer mode, a duplicate gets the first delivery's response (its status and body)
/// without reaching the handler; a streamed answer (length unknown) is not kept, and its
/// duplicate is refused.
#[test]
fn answer_mode_gives_a_duplicate_the_first_answer() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use twilio_webhook::{Duplicates, MemoryStore, ReplayGuard};
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&calls);
    let verifier = suite::CONFIGS[0]
        .verifier()
        .replay_guard(ReplayGuard::new(MemoryStore::new()).duplicates(Duplicates::answer()));
    let server = serve_app!(move || {
        let seen = Arc::clone(&seen);
        App::new()
            .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
            .route(
                "/sms",
                web::post().to(move |body: String| {
                    let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                    async move {
                        if body.contains("stream") {
                            let chunk: Result<web::Bytes, actix_web::Error> =
                                Ok(web::Bytes::from("streamed"));
                            actix_web::HttpResponse::Created()
                                .streaming(futures_util::stream::iter([chunk]))
                        } else {
                            actix_web::HttpResponse::Created()
                                .insert_header(("x-call", n.to_string()))
                                .body(format!("answer {n}"))
                        }
                    }
                }),
            )
    });
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
    delay: std::pin::Pin<Box<actix_web::rt::time::Sleep>>,
    data: Option<web::Bytes>,
}

impl actix_web::body::MessageBody for SlowBody {
    type Error = std::convert::Infallible;

    fn size(&self) -> actix_web::body::BodySize {
        actix_web::body::BodySize::Sized(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<web::Bytes, Self::Error>>> {
        if self.delay.as_mut().poll(cx).is_pending() {
            return std::task::Poll::Pending;
        }
        std::task::Poll::Ready(self.data.take().map(Ok))
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
    let verifier = suite::CONFIGS[0].verifier().replay_guard(
        ReplayGuard::new(MemoryStore::new())
            .duplicates(Duplicates::Answer {
                max_body: 1024,
                wait: Duration::from_secs(5),
            })
            .lease(Duration::from_millis(300)),
    );
    let server = serve_app!(move || {
        let seen = Arc::clone(&seen);
        App::new()
            .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
            .route(
                "/sms",
                web::post().to(move |body: String| {
                    let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
                    async move {
                        let text = web::Bytes::from(format!("answer {n}"));
                        if body.contains("slow-body") {
                            let slow = SlowBody {
                                delay: Box::pin(actix_web::rt::time::sleep(Duration::from_secs(1))),
                                data: Some(text),
                            };
                            return actix_web::HttpResponse::Created().body(slow);
                        }
                        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
                        actix_web::HttpResponse::Created().body(text)
                    }
                }),
            )
    });
    suite::lease_renewal_contract(&server, &calls);
}
