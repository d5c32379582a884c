//! Third outside attack (F5, in the Rust adapters): with one public URL configured the client's
//! `Host` decides nothing in the verification, and the app read it after: a request signed for the
//! public host reached the handler with `Host: admin.internal` (and any `X-Forwarded-Host` or
//! `Forwarded: host=` the client chose). Behind the layer the app now reads the verified origin.
//! Behind the extractor, which cannot change what the handler's other extractors read, such a request
//! is refused (F17, `400 bad_host`): the http-suite's origin contract.

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use twilio_webhook::{PublicUrl, RequestValidator, WebhookVerifier};
use twilio_webhook_axum::{TwilioWebhook, TwilioWebhookLayer};
use twilio_webhook_http_suite as suite;

mod support;

fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_string()
}

async fn origin(
    headers: HeaderMap,
    uri: axum::http::Uri,
    axum::extract::OriginalUri(original): axum::extract::OriginalUri,
) -> String {
    format!(
        "host={} xfh={} xfp={} fwd={} uri={uri} original={original}",
        header(&headers, "host"),
        header(&headers, "x-forwarded-host"),
        header(&headers, "x-forwarded-proto"),
        header(&headers, "forwarded")
    )
}

/// The origin contract's handler: what a handler behind the extractor reads with `HeaderMap`, taken
/// before the extractor.
async fn read_origin(headers: HeaderMap, _: TwilioWebhook<String>) -> String {
    format!(
        "host={} xfh={}",
        header(&headers, "host"),
        header(&headers, "x-forwarded-host")
    )
}

#[test]
fn behind_the_extractor_a_request_that_names_another_origin_is_refused() {
    suite::extractor_origin_contract("axum extractor", |verifier| {
        support::serve(
            Router::new()
                .route("/sms", post(read_origin))
                .with_state(verifier),
        )
    });
}

#[test]
fn behind_the_layer_the_app_reads_the_verified_origin() {
    let verifier = WebhookVerifier::new(RequestValidator::new(suite::TOKEN))
        .public_url(PublicUrl::base("https://hooks.example.com").expect("a base URL"));
    let server = support::serve(
        Router::new()
            .route("/sms", post(origin))
            .layer(TwilioWebhookLayer::new(verifier)),
    );
    for (case, request) in suite::handed_over_origin_requests() {
        let answer = suite::exchange(server.port, request.as_bytes(), false);
        assert!(answer.starts_with("HTTP/1.1 200"), "{case}: {answer}");
        assert!(
            answer.contains("host=hooks.example.com"),
            "{case}: {answer}"
        );
        // The router's `OriginalUri` is handed over too (fifth outside attack, A4-F6).
        assert!(
            !answer.contains("admin.internal") && !answer.contains("victim"),
            "{case}: {answer}"
        );
    }
}

/// Every header the handler reads, `name=value` one a line.
async fn every_header(headers: HeaderMap) -> String {
    let mut read = String::new();
    for (name, value) in &headers {
        read.push_str(&format!("{name}={}\n", value.to_str().unwrap_or("?")));
    }
    read
}

/// Sixth outside attack: the client's `X-HTTP-Method-Override`, `X-Forwarded-Prefix`,
/// `X-Original-URL` (…, in every spelling) reached the app behind the layer, verified. The layer now
/// hands the request over with only the verified origin, path and method.
#[test]
fn behind_the_layer_the_app_reads_no_clients_routing_header() {
    let verifier = WebhookVerifier::new(RequestValidator::new(suite::TOKEN))
        .public_url(PublicUrl::base("https://hooks.example.com").expect("a base URL"));
    let server = support::serve(
        Router::new()
            .route("/sms", post(every_header))
            .layer(TwilioWebhookLayer::new(verifier)),
    );
    for (case, request) in suite::handed_over_routing_requests() {
        let answer = suite::exchange(server.port, request.as_bytes(), false);
        suite::assert_routing_handed_over(&case, &answer);
    }
}
