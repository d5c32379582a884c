//! Issue 28, finding 3: actix verified "whatever payload is left". Each attack runs against a real
//! actix-web server: a body another extractor took first, a body whose length differs from its
//! `Content-Length`, and a WebSocket handshake whose "payload" is the rest of the connection. And the
//! LOW: an inner extractor that refuses a verified body no longer spends its replay key.

use actix_web::{App, web};
use twilio_webhook::RequestValidator;
use twilio_webhook_actix::{TwilioWebhook, TwilioWebhookMiddleware};
use twilio_webhook_http_suite as suite;

#[macro_use]
mod support;

use suite::exchange;

/// The signature of `path` on the server at `port`, over `params`.
fn sign(port: u16, path: &str, params: &[(&str, &str)]) -> String {
    let url = format!("http://127.0.0.1:{port}{path}");
    RequestValidator::new(suite::TOKEN).compute_signature(&url, params.iter().copied())
}

/// A form POST of `body` to `path`, with `framing` (`Content-Length: …` or more) and `signature`.
fn post(port: u16, path: &str, framing: &str, signature: &str, body: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\
         {framing}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    request.extend_from_slice(body);
    request
}

/// A handler that takes the body itself, then the verifying extractor: the body is gone by the time
/// it verifies. Before the fix, a signature over the URL alone verified, and the handler got
/// `Body=evil`, unverified.
#[test]
fn a_body_another_extractor_took_first_is_refused_not_verified_as_empty() {
    let verifier = suite::CONFIGS[0].verifier();
    let server = serve_app!(move || App::new().app_data(verifier.clone()).route(
        "/sms",
        web::post().to(|body: web::Bytes, _: TwilioWebhook<()>| async move { body }),
    ));
    let port = server.port;
    let url_only = sign(port, "/sms", &[]);
    let answer = exchange(
        port,
        &post(port, "/sms", "Content-Length: 9", &url_only, b"Body=evil"),
        false,
    );
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
    assert!(answer.contains("body_taken"), "{answer}");
    assert!(!answer.contains("Body=evil"), "{answer}");
    // Chunked: the same.
    let chunked = post(
        port,
        "/sms",
        "Transfer-Encoding: chunked",
        &url_only,
        b"9\r\nBody=evil\r\n0\r\n\r\n",
    );
    let answer = exchange(port, &chunked, false);
    assert!(answer.starts_with("HTTP/1.1 500"), "{answer}");
}

/// The control: the verifying extractor as the body extractor verifies the body and hands it on.
#[test]
fn the_verifying_extractor_as_the_body_extractor_hands_on_what_it_verified() {
    let verifier = suite::CONFIGS[0].verifier();
    let server = serve_app!(move || App::new().app_data(verifier.clone()).route(
        "/sms",
        web::post().to(|TwilioWebhook(body, _): TwilioWebhook<web::Bytes>| async move { body }),
    ));
    let port = server.port;
    let signed = sign(port, "/sms", &[("Body", "fine")]);
    let request = post(port, "/sms", "Content-Length: 9", &signed, b"Body=fine");
    let answer = exchange(port, &request, false);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("Body=fine"), "{answer}");
    let url_only = sign(port, "/sms", &[]);
    let forged = post(port, "/sms", "Content-Length: 9", &url_only, b"Body=evil");
    let answer = exchange(port, &forged, false);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
}

/// actix reads a body with both `Transfer-Encoding: chunked` and a `Content-Length` as chunked: a
/// front proxy that frames by the length sees another request. The body read must be as long as
/// declared, in the extractor and the middleware.
#[test]
fn a_body_whose_length_differs_from_its_content_length_is_refused() {
    let verifier = suite::CONFIGS[0].verifier();
    let extractor = serve_app!(move || App::new().app_data(verifier.clone()).route(
        "/sms",
        web::post().to(|TwilioWebhook(body, _): TwilioWebhook<web::Bytes>| async move { body }),
    ));
    let verifier = suite::CONFIGS[0].verifier();
    let middleware = serve_app!(move || App::new()
        .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
        .route(
            "/sms",
            web::post().to(|body: web::Bytes| async move { body })
        ));
    for port in [extractor.port, middleware.port] {
        let signed = sign(port, "/sms", &[("Body", "evil")]);
        for declared in ["4", "12"] {
            let framing = format!("Content-Length: {declared}\r\nTransfer-Encoding: chunked");
            let body = b"9\r\nBody=evil\r\n0\r\n\r\n";
            let answer = exchange(port, &post(port, "/sms", &framing, &signed, body), false);
            assert!(answer.starts_with("HTTP/1.1 400"), "{declared}: {answer}");
            assert!(answer.contains("body_length_mismatch"), "{answer}");
        }
        // Declared and read agree: verified.
        let framing = "Content-Length: 9\r\nTransfer-Encoding: chunked";
        let body = b"9\r\nBody=evil\r\n0\r\n\r\n";
        let answer = exchange(port, &post(port, "/sms", framing, &signed, body), false);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

/// A real handshake has no body: it is verified without one, and the inner extractor gets none. In
/// actix its payload is the rest of the connection: before the fix, `TwilioWebhook<web::Bytes>` read
/// it and handed the handler bytes no signature covered.
#[test]
fn a_handshake_hands_the_inner_extractor_no_body() {
    let verifier = suite::CONFIGS[0].verifier();
    let server = serve_app!(move || App::new().app_data(verifier.clone()).route(
        "/ws",
        web::get().to(
            |TwilioWebhook(body, _): TwilioWebhook<web::Bytes>| async move {
                format!("body of {} bytes: {:?}", body.len(), body)
            }
        ),
    ));
    let port = server.port;
    let signature = RequestValidator::new(suite::TOKEN)
        .compute_signature(&format!("ws://127.0.0.1:{port}/ws"), [("", ""); 0]);
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         X-Twilio-Signature: {signature}\r\n\r\nBody=evil"
    );
    let answer = exchange(port, request.as_bytes(), true);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("body of 0 bytes"), "{answer}");
    assert!(!answer.contains("evil"), "{answer}");
}

/// The LOW: a verified request that the inner extractor refuses never reached the app, so its replay
/// key is released: Twilio's retry gets the inner extractor's answer again, not `409`. Before the
/// fix, the retry was refused as a replay.
#[test]
fn an_inner_extractor_that_refuses_does_not_spend_the_replay_key() {
    use twilio_webhook::{MemoryStore, ReplayGuard};
    let verifier = suite::CONFIGS[0]
        .verifier()
        .replay_guard(ReplayGuard::new(MemoryStore::new()));
    let server =
        serve_app!(move || App::new().app_data(verifier.clone()).route(
            "/sms",
            web::post().to(
                |TwilioWebhook(web::Form(p), _): TwilioWebhook<
                    web::Form<Vec<(String, String)>>,
                >| async move { format!("{} parameters", p.len()) }
            ),
        ));
    let port = server.port;
    // The core reads an empty body as a form whatever its type; actix's Form wants the form type.
    let signature = sign(port, "/sms", &[]);
    let request = format!(
        "POST /sms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Twilio-Signature: {signature}\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let first = exchange(port, request.as_bytes(), false);
    assert!(first.starts_with("HTTP/1.1 4"), "{first}");
    assert!(!first.starts_with("HTTP/1.1 403"), "verified: {first}");
    let retry = exchange(port, request.as_bytes(), false);
    assert_eq!(
        retry.lines().next(),
        first.lines().next(),
        "the retry is judged afresh: {retry}"
    );
    // A body the inner extractor takes spends the key: its replay is refused.
    let signed = suite::signed_form(&server, "/sms", b"Body=Hi");
    assert_eq!(suite::send(port, &signed).expect("first").status, 200);
    assert_eq!(suite::send(port, &signed).expect("replay").status, 409);
}
