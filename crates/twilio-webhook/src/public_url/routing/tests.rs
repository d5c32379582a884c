#![allow(clippy::unwrap_used)]

use super::*;
use crate::http::WebhookVerifier;
use crate::{Algorithm, Incoming, PublicUrl, RequestValidator, Signer};

const TOKEN: &str = "routing-test-token";

/// A request verified by `policy` from `peer`, signed for `signed`, sent to `target` with
/// `headers`: its verdict and the headers it would be handed over with.
fn handed_over(
    policy: PublicUrl,
    peer: &str,
    signed: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> (crate::VerifiedRequest, HeaderMap) {
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_form(signed, [("Body", "Hi")]);
    let mut map = HeaderMap::new();
    map.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    map.insert("x-twilio-signature", signature.parse().unwrap());
    for (name, value) in headers {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).public_url(policy);
    let request =
        Incoming::new(&http::Method::POST, target, &map).with_peer(Some(peer.parse().unwrap()));
    let verified = verifier.verify(&request, b"Body=Hi").unwrap();
    verified.hand_over(&mut map);
    (verified, map)
}

fn names(headers: &HeaderMap) -> Vec<&str> {
    let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
    names.sort_unstable();
    names
}

/// Sixth outside attack, A5-F2, A5-F10 and the method override: with one public URL, every
/// routing header the client sent goes, in every spelling, or names the verified origin.
#[test]
fn a_clients_routing_headers_go_in_every_spelling_or_name_the_verified_origin() {
    let (verified, headers) = handed_over(
        PublicUrl::base("https://hooks.example.com").unwrap(),
        "203.0.113.9",
        "https://hooks.example.com/sms",
        "/sms",
        &[
            ("host", "admin.internal"),
            ("x_forwarded_host", "admin.internal"),
            ("X.Forwarded.Proto", "http"),
            ("x-forwarded-port", "8443"),
            ("x-forwarded-prefix", "/admin"),
            ("x_forwarded_prefix", "/admin"),
            ("x-http-method-override", "DELETE"),
            ("X_HTTP_Method_Override", "DELETE"),
            ("x-original-url", "/admin/sms"),
            ("x-rewrite-url", "/admin/sms"),
            ("x-script-name", "/admin"),
            ("x-forwarded-ssl", "off"),
            ("forwarded", "for=1.2.3.4;proto=http"),
            ("x-forwarded-for", "1.2.3.4"),
            ("x-forwarded-prefix2", "kept"),
        ],
    );
    assert_eq!(verified.prefix(), "");
    assert_eq!(verified.port(), "443");
    assert_eq!(
        names(&headers),
        [
            "content-type",
            "host",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-port",
            "x-forwarded-prefix2",
            "x-forwarded-proto",
            "x-twilio-signature",
        ]
    );
    let get = |n: &str| headers.get(n).unwrap().to_str().unwrap();
    assert_eq!(get("host"), "hooks.example.com");
    assert_eq!(get("x-forwarded-host"), "hooks.example.com");
    assert_eq!(get("x-forwarded-proto"), "https");
    assert_eq!(get("x-forwarded-port"), "443");
    assert_eq!(get("x-forwarded-for"), "1.2.3.4");
    // Removals first, then one field for each name set.
    let changes = verified.hand_over_changes(&headers);
    assert!(changes.iter().all(|c| c.value().is_some()), "{changes:?}");
    assert_eq!(changes.first().unwrap().name(), "host");
}

/// A trusted proxy's prefix and port built the URL verified: they stay, as the policy read
/// them; a base URL's prefix is what a client's `X-Forwarded-Prefix` becomes.
#[test]
fn a_prefix_and_port_the_verified_url_used_are_kept() {
    let (verified, headers) = handed_over(
        PublicUrl::from_host().trust_proxy("10.0.0.7").unwrap(),
        "10.0.0.7",
        "https://hooks.example.com:8443/api/sms",
        "/sms",
        &[
            ("host", "app:3000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "hooks.example.com"),
            ("x-forwarded-port", "8443"),
            ("x-forwarded-prefix", "/api/"),
            ("x-original-url", "/admin"),
        ],
    );
    assert_eq!(verified.url(), "https://hooks.example.com:8443/api/sms");
    assert_eq!(verified.prefix(), "/api");
    let get = |n: &str| headers.get(n).map(|v| v.to_str().unwrap());
    assert_eq!(get("host"), Some("hooks.example.com:8443"));
    assert_eq!(get("x-forwarded-host"), Some("hooks.example.com:8443"));
    assert_eq!(get("x-forwarded-port"), Some("8443"));
    assert_eq!(get("x-forwarded-prefix"), Some("/api"));
    assert_eq!(get("x-original-url"), None);

    // The same headers from a peer the policy does not trust: not the URL verified.
    let (verified, headers) = handed_over(
        PublicUrl::from_host().trust_proxy("10.0.0.7").unwrap(),
        "203.0.113.9",
        "http://app:3000/sms",
        "/sms",
        &[
            ("host", "app:3000"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-port", "8443"),
            ("x-forwarded-prefix", "/api"),
        ],
    );
    assert_eq!(verified.prefix(), "");
    let get = |n: &str| headers.get(n).map(|v| v.to_str().unwrap());
    assert_eq!(get("x-forwarded-proto"), Some("http"));
    assert_eq!(get("x-forwarded-port"), Some("3000"));
    assert_eq!(get("x-forwarded-prefix"), None);

    // A base URL's prefix, with an absolute-form target and a query.
    let (verified, headers) = handed_over(
        PublicUrl::base("http://hooks.example.com/twilio/").unwrap(),
        "203.0.113.9",
        "http://hooks.example.com/twilio/sms?x=/y",
        "http://admin.internal/sms?x=/y",
        &[("x-forwarded-prefix", "/admin")],
    );
    assert_eq!(verified.prefix(), "/twilio");
    assert_eq!(verified.port(), "80");
    assert_eq!(headers.get("x-forwarded-prefix").unwrap(), "/twilio");
}

#[test]
fn routing_names_fold_as_servers_fold_them() {
    for name in [
        "X-HTTP-Method-Override",
        "x_http_method_override",
        "X.Original.URL",
        "x~rewrite~url",
        "Forwarded",
        "X-Forwarded-For",
    ] {
        assert!(is_routing_header(name), "{name}");
    }
    for name in [
        "x-http-method-overrid",
        "xforwarded-host",
        "x-forwarded-host1",
        "host",
    ] {
        assert!(!is_routing_header(name), "{name}");
    }
}
