//! Issue 28, third outside attack (F8): in actix a WebSocket handshake's payload is the rest of the
//! connection. A handshake-shaped `GET` carrying a URL-only signature verified, and a body extractor
//! after the verifying extractor (`(TwilioWebhook<()>, web::Bytes)`), or any handler behind the
//! middleware (`web::Bytes`, `web::Form`), read the bytes after the head as the request's body:
//! unverified parameters. Now the connection is only for `TwilioWebSocket`. Each case runs against a
//! real actix-web server.

use actix_web::{App, web};
use futures_util::StreamExt as _;
use twilio_webhook::RequestValidator;
use twilio_webhook_actix::{TwilioWebSocket, TwilioWebhook, TwilioWebhookMiddleware};
use twilio_webhook_http_suite as suite;

#[macro_use]
mod support;

use suite::exchange;

const SMUGGLED: &str = "Body=UNVERIFIED&From=%2B1666";

/// A real handshake to `path`, signed over its `ws://` URL alone, followed by `after` on the
/// connection (and a form `Content-Type`, so that `web::Form` would parse it).
fn handshake(port: u16, path: &str, after: &str) -> String {
    let signature = RequestValidator::new(suite::TOKEN)
        .compute_signature(&format!("ws://127.0.0.1:{port}{path}"), [("", ""); 0]);
    format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\r\n{after}"
    )
}

async fn bytes(body: web::Bytes) -> String {
    format!("body: {body:?}")
}

async fn form(web::Form(p): web::Form<Vec<(String, String)>>) -> String {
    format!("form: {p:?}")
}

#[test]
fn a_verified_handshake_connection_is_never_read_as_a_body() {
    let verifier = suite::CONFIGS[0].verifier();
    let server = serve_app!(move || App::new()
        .app_data(verifier.clone())
        .route(
            "/after",
            web::get().to(|_: TwilioWebhook<()>, body: web::Bytes| bytes(body)),
        )
        .service(
            web::scope("/mw")
                .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
                .route("/bytes", web::get().to(bytes))
                .route("/form", web::get().to(form)),
        ));
    let port = server.port;
    for path in ["/after", "/mw/bytes", "/mw/form"] {
        let answer = exchange(port, handshake(port, path, SMUGGLED).as_bytes(), true);
        assert!(!answer.contains("UNVERIFIED"), "{path}: {answer}");
        assert!(
            answer.contains("body: b\"\"") || answer.contains("form: []"),
            "{path}: the handler saw no body: {answer}"
        );
    }
}

/// The connection is still there for the WebSocket: `TwilioWebSocket`, as the verifying extractor's
/// inner extractor or behind the middleware, reads what follows the head. Without a verified
/// handshake it refuses.
#[test]
fn the_connection_is_handed_to_twilio_websocket_alone() {
    async fn first_chunk(TwilioWebSocket(mut payload): TwilioWebSocket) -> String {
        match payload.next().await {
            Some(Ok(chunk)) => format!("frames: {chunk:?}"),
            other => format!("no frames: {:?}", other.map(|r| r.map(|_| ()))),
        }
    }
    let verifier = suite::CONFIGS[0].verifier();
    let server = serve_app!(move || App::new()
        .app_data(verifier.clone())
        .route(
            "/ws",
            web::get().to(|TwilioWebhook(ws, _): TwilioWebhook<TwilioWebSocket>| first_chunk(ws)),
        )
        .route("/unverified", web::get().to(first_chunk))
        .service(
            web::scope("/mw")
                .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
                .route("/ws", web::get().to(first_chunk)),
        ));
    let port = server.port;
    for path in ["/ws", "/mw/ws"] {
        let answer = exchange(port, handshake(port, path, "\u{1}frame").as_bytes(), true);
        assert!(answer.starts_with("HTTP/1.1 200"), "{path}: {answer}");
        assert!(
            answer.contains("frames: b\"\\x01frame\""),
            "{path}: {answer}"
        );
    }
    let answer = exchange(port, handshake(port, "/unverified", "x").as_bytes(), true);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(
        answer.contains("no verified WebSocket handshake"),
        "{answer}"
    );
    // A forged handshake is refused before any handler.
    let forged =
        handshake(port, "/ws", "x").replace("X-Twilio-Signature: ", "X-Twilio-Signature: A");
    let answer = exchange(port, forged.as_bytes(), true);
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
}

/// The connection prints as `TwilioWebSocket(..)`, without its bytes (mutation testing, fourth
/// session: no test printed it).
#[actix_web::test]
async fn a_websocket_prints_without_its_connection() {
    use actix_web::FromRequest as _;
    let req = actix_web::test::TestRequest::default().to_http_request();
    let payload = web::Payload::extract(&req).await.expect("payload");
    assert_eq!(
        format!("{:?}", TwilioWebSocket(payload)),
        "TwilioWebSocket(..)"
    );
}
