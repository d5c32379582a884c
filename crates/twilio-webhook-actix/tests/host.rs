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
        "host={} xfh={} xfp={} fwd={} info={} url={}",
        header(&req, "host"),
        header(&req, "x-forwarded-host"),
        header(&req, "x-forwarded-proto"),
        header(&req, "forwarded"),
        req.connection_info().host(),
        req.full_url()
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
    let verifier = WebhookVerifier::new(RequestValidator::new(suite::TOKEN))
        .public_url(PublicUrl::base("https://hooks.example.com").expect("a base URL"));
    // Fifth outside attack, A4-F2: an access log outside the middleware reads `connection_info()`
    // first, and actix caches it; the app then read the client's host from the cache.
    let server = serve_app!(move || App::new()
        .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
        .wrap(actix_web::middleware::Logger::new("%a %{Host}i"))
        .route("/sms", web::post().to(origin)));
    for (case, request) in suite::handed_over_origin_requests() {
        let answer = suite::exchange(server.port, request.as_bytes(), false);
        assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
        assert!(
            answer.contains("host=hooks.example.com") && answer.contains("info=hooks.example.com"),
            "{case}: {answer}"
        );
        // (The scheme is the connection's unless a forwarded one was rewritten: not the client's.)
        assert!(
            answer.contains("://hooks.example.com/sms"),
            "{case}: {answer}"
        );
        assert!(
            !answer.contains("admin.internal") && !answer.contains("victim"),
            "{case}: {answer}"
        );
    }
}

/// Every header the handler reads, `name=value` one a line, and actix's `connection_info()`.
async fn every_header(req: HttpRequest) -> String {
    let mut read = format!(
        "info={} {}\n",
        req.connection_info().host(),
        req.connection_info().scheme()
    );
    for (name, value) in req.headers() {
        read.push_str(&format!("{name}={}\n", value.to_str().unwrap_or("?")));
    }
    read
}

/// Sixth outside attack: the client's `X-HTTP-Method-Override`, `X-Forwarded-Prefix`,
/// `X-Original-URL` (…, in every spelling) reached the app behind the middleware, verified. The
/// middleware now hands the request over with only the verified origin, path and method.
#[test]
fn behind_the_middleware_the_app_reads_no_clients_routing_header() {
    let verifier = WebhookVerifier::new(RequestValidator::new(suite::TOKEN))
        .public_url(PublicUrl::base("https://hooks.example.com").expect("a base URL"));
    let server = serve_app!(move || App::new()
        .wrap(TwilioWebhookMiddleware::new(verifier.clone()))
        .route("/sms", web::post().to(every_header)));
    for (case, request) in suite::handed_over_routing_requests() {
        let answer = suite::exchange(server.port, request.as_bytes(), false);
        suite::assert_routing_handed_over(&case, &answer);
    }
}
