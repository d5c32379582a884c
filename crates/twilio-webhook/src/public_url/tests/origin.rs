//! Issue 28, F17: the origin a handler can read from a verified request, against the one verified
//! (`PublicUrl::other_origin`, `WebhookVerifier::check_origin`).

use super::*;
use crate::{Algorithm, RequestValidator, Signer, WebhookVerifier};

const TOKEN: &str = "origin-test-token";

/// A request to `target` with `h` (and a form signed for `signed_for`), from `peer`, with the URI
/// authority `authority`: verified with `policy`, then what [`PublicUrl::other_origin`] finds, as
/// `(field, value)`.
fn other(
    policy: &PublicUrl,
    signed_for: &str,
    h: &[(&str, &str)],
    peer: Option<&str>,
    authority: Option<&str>,
) -> Option<(&'static str, String)> {
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_form(signed_for, [("Body", "Hi")]);
    let mut map = headers(h);
    map.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    map.insert("x-twilio-signature", signature.parse().unwrap());
    let request = Incoming {
        method: &http::Method::POST,
        target: "/sms",
        headers: &map,
        peer: peer.map(|p| p.parse().unwrap()),
        scheme: None,
        authority,
    };
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).public_url(policy.clone());
    let verified = verifier
        .verify(&request, b"Body=Hi")
        .expect("the request verifies");
    policy
        .other_origin(&verified, &request)
        .map(|o| (o.field, o.value.into_owned()))
}

fn public() -> PublicUrl {
    PublicUrl::base("https://hooks.example.com")
        .and_then(|p| p.trust_proxy("10.1.2.3"))
        .unwrap()
}

const SIGNED: &str = "https://hooks.example.com/sms";

fn host_said(value: &str) -> Option<(&'static str, String)> {
    Some(("Host", value.to_string()))
}

#[test]
fn the_host_names_the_verified_authority_in_any_case_and_with_or_without_the_default_port() {
    for host in [
        "hooks.example.com",
        "HOOKS.Example.COM",
        "hooks.example.com:443",
    ] {
        assert_eq!(
            other(&public(), SIGNED, &[("host", host)], STRANGER, None),
            None,
            "{host}"
        );
    }
    for host in [
        "admin.internal",
        "hooks.example.com:8443",
        "hooks.example.com:80",
        "hooks.example.com.evil",
        "hooks.example.co",
    ] {
        assert_eq!(
            other(&public(), SIGNED, &[("host", host)], STRANGER, None),
            host_said(host),
            "{host}"
        );
    }
    // A base URL with its default port is the same origin as one without.
    let with_port = PublicUrl::base("http://hooks.example.com:80").unwrap();
    let signed = "http://hooks.example.com:80/sms";
    for host in ["hooks.example.com", "hooks.example.com:80"] {
        assert_eq!(
            other(&with_port, signed, &[("host", host)], STRANGER, None),
            None
        );
    }
    assert_eq!(
        other(
            &with_port,
            signed,
            &[("host", "hooks.example.com:443")],
            STRANGER,
            None
        ),
        host_said("hooks.example.com:443"),
        "443 is not http's default"
    );
}

#[test]
fn every_host_field_and_the_uri_authority_count_and_no_peer_is_no_trusted_proxy() {
    let two = [("host", "hooks.example.com"), ("host", "admin.internal")];
    assert_eq!(
        other(&public(), SIGNED, &two, STRANGER, None),
        host_said("admin.internal")
    );
    let host = [("host", "hooks.example.com")];
    assert_eq!(
        other(&public(), SIGNED, &host, None, Some("admin.internal")),
        Some(("the request URI's authority", "admin.internal".to_string()))
    );
    assert_eq!(
        other(
            &public(),
            SIGNED,
            &host,
            None,
            Some("HOOKS.example.com:443")
        ),
        None
    );
    // No `Host` and no authority (HTTP/1.0): nothing names another origin.
    assert_eq!(other(&public(), SIGNED, &[], None, None), None);
    let other_host = [("host", "admin.internal")];
    assert_eq!(
        other(&public(), SIGNED, &other_host, None, None),
        host_said("admin.internal"),
        "without a peer address, no proxy is trusted"
    );
}

#[test]
fn a_trusted_proxy_may_set_an_internal_host_but_not_forwarded_fields() {
    let internal = [("host", "app:3000")];
    assert_eq!(other(&public(), SIGNED, &internal, PROXY, None), None);
    assert_eq!(
        other(&public(), SIGNED, &internal, PROXY, Some("app:3000")),
        None
    );
    assert_eq!(
        other(&public(), SIGNED, &internal, STRANGER, None),
        host_said("app:3000")
    );
    // The forwarded fields name the public origin, from the proxy too.
    let told = [
        ("host", "app:3000"),
        ("x-forwarded-host", "hooks.example.com"),
        ("x-forwarded-proto", "https"),
        (
            "forwarded",
            "for=1.2.3.4;host=hooks.example.com;proto=https",
        ),
    ];
    assert_eq!(other(&public(), SIGNED, &told, PROXY, None), None);
    let forged = [("host", "app:3000"), ("x-forwarded-host", "admin.internal")];
    assert_eq!(
        other(&public(), SIGNED, &forged, PROXY, None),
        Some(("X-Forwarded-Host", "admin.internal".to_string()))
    );
}

#[test]
fn every_forwarded_element_and_every_x_forwarded_element_must_name_the_verified_origin() {
    let host = ("host", "hooks.example.com");
    let said = |field, value: &str| Some((field, value.to_string()));
    for (h, want) in [
        (
            ("x-forwarded-host", "hooks.example.com, admin.internal"),
            said("X-Forwarded-Host", "admin.internal"),
        ),
        (
            ("x-forwarded-host", "hooks.example.com,"),
            said("X-Forwarded-Host", ""),
        ),
        (("x-forwarded-host", "Hooks.Example.com:443"), None),
        (
            (
                "forwarded",
                "for=1.2.3.4;host=hooks.example.com, for=10.0.0.1;HOST=admin.internal",
            ),
            said("Forwarded (host=)", "admin.internal"),
        ),
        (
            ("forwarded", "for=1.2.3.4;host=\"hooks.example.com:443\""),
            None,
        ),
        (
            ("forwarded", "for=\"[2001:db8::1]\";host=\"a\\\"b\""),
            said("Forwarded (host=)", ""),
        ),
        (("forwarded", "for=1.2.3.4;by=10.0.0.1"), None),
        // Fifth outside attack, A4-F7: actix splits at every `;` and `,`, inside quotes too, and
        // trims quotes from either end; A4-F3: a name with spaces around it.
        (
            ("forwarded", "for=\"x;host=admin.internal\""),
            said("Forwarded (host=)", "admin.internal"),
        ),
        (
            ("forwarded", "for=x\";host=admin.internal"),
            said("Forwarded (host=)", "admin.internal"),
        ),
        (
            ("forwarded", "for=\"x,host=admin.internal\""),
            said("Forwarded (host=)", "admin.internal"),
        ),
        (
            ("forwarded", "host =admin.internal"),
            said("Forwarded (host=)", "admin.internal"),
        ),
        (
            (
                "forwarded",
                "for=\"[2001:db8::1]:443\";host=hooks.example.com;proto=https",
            ),
            None,
        ),
    ] {
        assert_eq!(
            other(&public(), SIGNED, &[host, h], STRANGER, None),
            want,
            "{h:?}"
        );
    }
    // Several `Forwarded` fields: the second one's host counts too.
    let fields = [
        host,
        ("forwarded", "host=hooks.example.com"),
        ("forwarded", "host=admin.internal"),
    ];
    assert_eq!(
        other(&public(), SIGNED, &fields, STRANGER, None),
        said("Forwarded (host=)", "admin.internal")
    );
}

#[test]
fn a_forwarded_scheme_other_than_the_verified_one_is_another_origin() {
    let host = ("host", "hooks.example.com");
    let said = |field, value: &str| Some((field, value.to_string()));
    for (h, want) in [
        (("x-forwarded-proto", "HTTPS"), None),
        (("x-forwarded-proto", "wss"), None),
        (
            ("x-forwarded-proto", "http"),
            said("X-Forwarded-Proto", "http"),
        ),
        (
            ("x-forwarded-proto", "https, http"),
            said("X-Forwarded-Proto", "http"),
        ),
        (
            ("x-forwarded-proto", "ftp"),
            said("X-Forwarded-Proto", "ftp"),
        ),
        (
            ("forwarded", "proto=https, proto=http"),
            said("Forwarded (proto=)", "http"),
        ),
    ] {
        assert_eq!(
            other(&public(), SIGNED, &[host, h], STRANGER, None),
            want,
            "{h:?}"
        );
    }
}

#[test]
fn ipv6_literals_compare_with_their_brackets_and_ports() {
    let policy = PublicUrl::base("https://[2001:db8::1]:8443").unwrap();
    let signed = "https://[2001:db8::1]:8443/sms";
    assert_eq!(
        other(
            &policy,
            signed,
            &[("host", "[2001:DB8::1]:8443")],
            None,
            None
        ),
        None
    );
    for host in ["[2001:db8::1]", "[2001:db8::2]:8443", "[2001:db8::1]:443"] {
        assert_eq!(
            other(&policy, signed, &[("host", host)], None, None),
            host_said(host)
        );
    }
    let policy = PublicUrl::base("https://[::1]").unwrap();
    assert_eq!(
        other(
            &policy,
            "https://[::1]/sms",
            &[("host", "[::1]:443")],
            None,
            None
        ),
        None
    );
}

#[test]
fn without_a_public_url_the_host_verified_is_the_host_read_with_any_uncovered_port() {
    let policy = PublicUrl::from_host();
    let host = [("host", "hooks.example.com:9999")];
    assert_eq!(
        other(
            &policy,
            "http://hooks.example.com:9999/sms",
            &host,
            None,
            None
        ),
        None
    );
    // The signature matched without the client's port (Twilio signs some URLs so): that port is
    // the one Twilio sent, not another origin; another host still is.
    assert_eq!(
        other(&policy, "http://hooks.example.com/sms", &host, None, None),
        None
    );
    let elsewhere = [
        ("host", "hooks.example.com:9999"),
        ("x-forwarded-host", "admin.internal:9999"),
    ];
    assert_eq!(
        other(
            &policy,
            "http://hooks.example.com/sms",
            &elsewhere,
            None,
            None
        )
        .map(|(field, _)| field),
        Some("X-Forwarded-Host")
    );
    // A trusted proxy's forwarded host and port, joined as the policy joins them.
    let policy = PublicUrl::from_host().trust_proxy("10.1.2.3").unwrap();
    let proxied = [
        ("host", "app:3000"),
        ("x-forwarded-host", "hooks.example.com"),
        ("x-forwarded-port", "8443"),
        ("x-forwarded-proto", "https"),
    ];
    assert_eq!(
        other(
            &policy,
            "https://hooks.example.com:8443/sms",
            &proxied,
            PROXY,
            None
        ),
        None
    );
}

#[test]
fn the_refusal_is_bad_host_with_the_verified_url_and_says_what_to_do_in_bounded_text() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).public_url(public());
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_form(&format!("{SIGNED}?x=1"), [("Body", "Hi")]);
    let long = format!("{}.internal", "a".repeat(20_000));
    for (h, advice) in [
        (("host", long.as_str()), "TWILIO_TRUSTED_PROXIES"),
        (
            ("x-forwarded-host", long.as_str()),
            "must set the public origin",
        ),
    ] {
        let mut map = headers(&[("host", "hooks.example.com"), h]);
        if h.0 == "host" {
            map.insert("host", h.1.parse().unwrap());
        }
        map.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        map.insert("x-twilio-signature", signature.parse().unwrap());
        let request = Incoming::new(&http::Method::POST, "/sms?x=1", &map)
            .with_peer(STRANGER.map(|p| p.parse().unwrap()));
        let verified = verifier.verify(&request, b"Body=Hi").unwrap();
        let refused = verifier.check_origin(&verified, &request).unwrap_err();
        assert_eq!(refused.refusal(), crate::Refusal::BadHost);
        assert_eq!(refused.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(refused.urls_tried(), ["https://hooks.example.com/sms?x=1"]);
        let explanation = refused.explanation().unwrap();
        assert!(
            explanation.starts_with("rejected POST /sms (bad_host): "),
            "{explanation}"
        );
        assert!(explanation.contains("TwilioWebhookLayer"), "{explanation}");
        assert!(explanation.contains(advice), "{explanation}");
        assert!(explanation.len() < 2_000, "{} bytes", explanation.len());
        // The origin named is the verified one: the check passes once the field says it.
        let mut fixed = map.clone();
        fixed.insert(h.0, "hooks.example.com".parse().unwrap());
        let request = Incoming::new(&http::Method::POST, "/sms?x=1", &fixed);
        assert!(verifier.check_origin(&verified, &request).is_ok());
    }
}

#[test]
fn a_value_that_is_not_text_names_no_verified_origin() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).public_url(public());
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_form(SIGNED, [("Body", "Hi")]);
    for name in ["host", "x-forwarded-host", "x-forwarded-proto", "forwarded"] {
        let mut map = headers(&[
            ("host", "hooks.example.com"),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        map.insert("x-twilio-signature", signature.parse().unwrap());
        let value = http::HeaderValue::from_bytes(b"hooks.example.com\xff").unwrap();
        map.insert(http::HeaderName::from_static(name), value);
        let request = Incoming::new(&http::Method::POST, "/sms", &map);
        let verified = verifier.verify(&request, b"Body=Hi").unwrap();
        let found = public().other_origin(&verified, &request).unwrap();
        assert_eq!(found.value, "(not text)", "{name}");
    }
}

/// Mutation testing (fifth session): a plain `http` origin is named by `http` and `ws` protos; an
/// `X-Forwarded-Host` without a port joins the nearest `X-Forwarded-Port` only to name the verified
/// authority, never to excuse another host.
#[test]
fn an_http_origin_and_a_forwarded_port_are_read_as_the_policy_reads_them() {
    let plain = PublicUrl::base("http://hooks.example.com").unwrap();
    for proto in ["http", "ws", "HTTP"] {
        let h = [("host", "hooks.example.com"), ("x-forwarded-proto", proto)];
        assert_eq!(
            other(&plain, "http://hooks.example.com/sms", &h, None, None),
            None,
            "{proto}"
        );
    }
    let h = [
        ("host", "hooks.example.com"),
        ("x-forwarded-proto", "https"),
    ];
    assert_eq!(
        other(&plain, "http://hooks.example.com/sms", &h, None, None),
        Some(("X-Forwarded-Proto", "https".to_string()))
    );
    let ported = PublicUrl::base("https://hooks.example.com:8443").unwrap();
    let signed = "https://hooks.example.com:8443/sms";
    let joined = [
        ("host", "hooks.example.com:8443"),
        ("x-forwarded-host", "hooks.example.com"),
        ("x-forwarded-port", "8443"),
    ];
    assert_eq!(other(&ported, signed, &joined, None, None), None);
    let elsewhere = [
        ("host", "hooks.example.com:8443"),
        ("x-forwarded-host", "admin.internal"),
        ("x-forwarded-port", "8443"),
    ];
    assert_eq!(
        other(&ported, signed, &elsewhere, None, None),
        Some(("X-Forwarded-Host", "admin.internal".to_string()))
    );
}

/// The advice names the missing peer address when proxies are trusted and the server gives none, and
/// says no proxy is trusted when none is.
#[test]
fn the_refusal_says_why_no_proxy_counted() {
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_form(SIGNED, [("Body", "Hi")]);
    let mut map = headers(&[
        ("host", "admin.internal"),
        ("content-type", "application/x-www-form-urlencoded"),
    ]);
    map.insert("x-twilio-signature", signature.parse().unwrap());
    let request = Incoming::new(&http::Method::POST, "/sms", &map);
    for (policy, said) in [
        (public(), true),
        (PublicUrl::base("https://hooks.example.com").unwrap(), false),
    ] {
        let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN)).public_url(policy);
        let verified = verifier.verify(&request, b"Body=Hi").unwrap();
        let refused = verifier.check_origin(&verified, &request).unwrap_err();
        let explanation = refused.explanation().unwrap();
        assert!(explanation.contains("no proxy is trusted"), "{explanation}");
        assert_eq!(
            explanation.contains("gives no peer address"),
            said,
            "{explanation}"
        );
    }
}
