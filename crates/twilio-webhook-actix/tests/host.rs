//! Third outside attack (F5, in the Rust adapters): with one public URL configured the client's
//! `Host` decides nothing in the verification, and the app read it after: a request signed for the
//! public host reached the handler with `Host: admin.internal` (and any `X-Forwarded-Host` or
//! `Forwarded: host=` the client chose). Behind the middleware the app now reads the verified origin.
//! Behind the extractor, which cannot change what the handler reads (its headers, and
//! `connection_info()`, which trusts `X-Forwarded-Host` from any peer), such a request is refused
//! (F17, `400 bad_host`): the http-suite's origin contract.

use actix_web::{App, HttpRequest, web};
use twilio_webhook::{PublicUrl, RequestValidator, WebhookVerifier};
use twilio_webhook_actix::{TwilioWebhook, TwilioWebhookMiddleware};
use twilio_webhook_http_suite as suite;

#[macro_use]
mod support;

fn header(req: &HttpRequest, name: &str) -> String {
    let h = req.headers().get(name);
    h.and_then(|v| v.to_str().ok()).unwrap_or("-").to_string()
}

async fn origin(req: HttpRequest) -> String {
    format!(
        "host={} xfh={} xfp={} fwd={} info={}",
        header(&req, "host"),
        header(&req, "x-forwarded-host"),
        header(&req, "x-forwarded-proto"),
        header(&req, "forwarded"),
        req.connection_info().host()
    )
}

/// The origin contract's handler: what a handler behind the extractor reads.
async fn read_origin(req: HttpRequest, _: TwilioWebhook<String>) -> String {
    format!(
        "host={} xfh={} info={}",
        header(&req, "host"),
        header(&req, "x-forwarded-host"),
        req.connection_info().host()
    )
}

#[test]
fn behind_the_extractor_a_request_that_names_another_origin_is_refused() {
    suite::extractor_origin_contract("actix extractor", |verifier| {
        serve_app!(move || App::new()
            .app_data(verifier.clone())
            .route("/sms", web::post().to(read_origin)))
    });
}

#[test]
fn behind_the_middleware_the_app_reads_the_verified_origin() {
    let public = "https://hooks.example.com";
    let verifier = WebhookVerifier::new(RequestValidator::new(suite::TOKEN))
        .public_url(PublicUrl::base(public).expect("a base URL"));
    let server = serve_app!(move || App::new()
        .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
        .route("/sms", web::post().to(origin)));
    let signature = RequestValidator::new(suite::TOKEN)
        .compute_signature(&format!("{public}/sms"), [("Body", "hi")]);
    let request = format!(
        "POST /sms HTTP/1.1\r\nHost: admin.internal\r\nX-Forwarded-Host: victim.example\r\n\
         X-Forwarded-Proto: http\r\nForwarded: for=10.0.0.1;host=victim.example\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: {signature}\r\n\
         Content-Length: 7\r\nConnection: close\r\n\r\nBody=hi"
    );
    let answer = suite::exchange(server.port, request.as_bytes(), false);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(
            "host=hooks.example.com xfh=hooks.example.com xfp=https fwd=- info=hooks.example.com"
        ),
        "{answer}"
    );
    assert!(
        !answer.contains("admin.internal") && !answer.contains("victim"),
        "{answer}"
    );
}
