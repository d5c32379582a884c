//! Issue 28 ("Trust, round two"), findings F3 and F6, against the real guard in front of an echo
//! upstream on loopback.
//!
//! F3: the guard forwarded the client's routing headers (`X-Original-URL`, `X-Forwarded-Host`,
//! `Forwarded`, method overrides…) as sent. An app that routes or builds URLs on them (Symfony and
//! IIS `X-Original-URL`, Express `method-override`, Django `USE_X_FORWARDED_HOST`) ran a protected
//! handler for an unsigned request on a `--pass` route, or saw a verified request as sent to another
//! host or scheme than the one verified. Now every client copy goes, in every spelling a server folds
//! to it, and the guard says itself where the request was sent.
//!
//! F6: with a trusted proxy, a client's `Forwarded: host=` (passed through by the proxy) won over the
//! proxy's own `X-Forwarded-Host`. Now the two disagreeing is `400 bad_host`, before any HMAC.

use twilio_webhook::{Algorithm, Signer};
use twilio_webhook_http_suite as suite;

mod support;
use support::{Echo, FORM, Guard, PUBLIC, TOKEN, raw_headers, signed, signed_public, unsigned};

/// The client's routing headers, each in a spelling a server folds to it (PHP and CGI read `.` and
/// `_` as `-`, any case).
const FORGED: &[(&str, &str)] = &[
    ("X-Original-URL", "/twilio/sms"),
    ("X_Original_URL", "/twilio/sms"),
    ("X-Rewrite-URL", "/twilio/sms"),
    ("x.rewrite.url", "/twilio/sms"),
    ("X-HTTP-Method-Override", "DELETE"),
    ("X-HTTP-Method", "DELETE"),
    ("X-Method-Override", "DELETE"),
    ("X-Forwarded-Host", "admin.internal"),
    ("X.Forwarded.Host", "admin.internal"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Port", "8443"),
    ("X-Forwarded-Prefix", "/admin"),
    ("Forwarded", "host=admin.internal;proto=https"),
    ("X-Forwarded-For", "10.9.8.7"),
    ("X-Real-IP", "10.9.8.7"),
    // Found by the third outside attack: the Flask `ReverseProxied` recipe's `X-Script-Name` ran
    // `/twilio/sms` for an unsigned `/health/twilio/sms`; gunicorn trusts `X-Forwarded-Protocol`.
    ("X-Script-Name", "/health"),
    ("Script-Name", "/health"),
    ("X-Scheme", "https"),
    ("X-Forwarded-Protocol", "https"),
    ("X-Original-Path", "/twilio/sms"),
    ("X-Envoy-Original-Path", "/twilio/sms"),
    ("X-Request-Uri", "/twilio/sms"),
    ("X-Ms-Original-Url", "/twilio/sms"),
    ("X-HTTP-Host-Override", "admin.internal"),
    ("Client-IP", "10.9.8.7"),
    // Sixth outside attack (A5-F11): `Proxy` is a CGI app's `HTTP_PROXY` ("httpoxy"), and CloudFront's
    // and IIS ARR's scheme headers are read as the scheme by Django recipes and ASP.NET.
    ("Proxy", "http://evil.example:3128"),
    ("CloudFront-Forwarded-Proto", "https"),
    ("X-ARR-SSL", "1"),
];

/// The values the upstream saw for headers that fold to `name` (letters and digits in any case,
/// every other character alike).
fn seen_as<'s>(seen: &'s [(String, String)], name: &str) -> Vec<&'s str> {
    let fold = |n: &str| -> String {
        n.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    };
    seen.iter()
        .filter(|(n, _)| fold(n) == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// What the upstream saw of every routing header the tests forge.
fn routing_seen(seen: &[(String, String)]) -> Vec<(String, Vec<&str>)> {
    let mut names: Vec<String> = FORGED.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    names
        .iter_mut()
        .for_each(|n| *n = n.replace(['.', '_'], "-"));
    names.dedup();
    names
        .into_iter()
        .map(|n| {
            let values = seen_as(seen, &n);
            (n, values)
        })
        .filter(|(_, values)| !values.is_empty())
        .collect()
}

/// F3 on a `--pass` route: an unsigned request carrying `X-Original-URL: /twilio/sms` (and the other
/// routing headers) reached the upstream with them, so an app routing on them ran its protected
/// handler. Now none reaches it; the upstream is told the request's own host and scheme, and the
/// guard's peer as `X-Forwarded-For`.
#[test]
fn issue_28_f3_a_passed_request_carries_no_client_routing_header() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/", "--require", "/twilio"]);
    let request = unsigned(signed(guard.port, "/public", FORM, b"Body=hi", FORGED));
    let seen = raw_headers(guard.port, &request);
    let host = format!("127.0.0.1:{}", guard.port);
    assert_eq!(
        routing_seen(&seen),
        [
            ("x-forwarded-host".to_string(), vec![host.as_str()]),
            ("x-forwarded-proto".to_string(), vec!["http"]),
            ("x-forwarded-for".to_string(), vec!["127.0.0.1"]),
        ],
        "{seen:?}"
    );
    assert_eq!(echo.hits(), 1);
    // The same request to the route it names is verified, and refused unsigned.
    let request = unsigned(signed(guard.port, "/twilio/sms", FORM, b"Body=hi", FORGED));
    let answer = suite::send(guard.port, &request).expect("an answer");
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(echo.hits(), 1);
}

/// F3 on a verified route: a forged `X-Forwarded-Host` (and scheme, port, prefix, `Forwarded`)
/// reached the upstream beside the verified request, so an app building URLs or choosing a tenant on
/// them saw another host than the one signed. Now the upstream is told the verified URL's authority
/// and scheme.
#[test]
fn issue_28_f3_a_verified_request_is_told_the_verified_host_and_scheme() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let request = signed(guard.port, "/sms", FORM, b"Body=hi", FORGED);
    let seen = raw_headers(guard.port, &request);
    let host = format!("127.0.0.1:{}", guard.port);
    assert_eq!(
        routing_seen(&seen),
        [
            ("x-forwarded-host".to_string(), vec![host.as_str()]),
            ("x-forwarded-proto".to_string(), vec!["http"]),
            ("x-forwarded-for".to_string(), vec!["127.0.0.1"]),
        ],
        "{seen:?}"
    );
    assert_eq!(seen_as(&seen, "x-twilio-webhook-verified"), ["primary"]);
    // With a public URL: its scheme and authority, whatever the client's Host and headers said.
    let guard = Guard::start(&echo.url(), &["--public-url", PUBLIC]);
    let mut request = signed_public("/sms", b"Body=hi");
    request
        .headers
        .extend(FORGED.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    let seen = raw_headers(guard.port, &request);
    assert_eq!(
        routing_seen(&seen),
        [
            ("x-forwarded-host".to_string(), vec!["hooks.example.com"]),
            ("x-forwarded-proto".to_string(), vec!["https"]),
            ("x-forwarded-for".to_string(), vec!["127.0.0.1"]),
        ],
        "{seen:?}"
    );
    assert_eq!(seen_as(&seen, "host"), ["hooks.example.com"]);
}

/// Behind a trusted proxy, its forwarded headers still rebuild the public URL (read before they go),
/// the upstream is told that URL's host and scheme, and the proxy's `X-Forwarded-For` list is kept
/// with the proxy's own address appended (nginx's `$proxy_add_x_forwarded_for`), with its
/// `X-Real-IP`.
#[test]
fn issue_28_f3_a_trusted_proxy_still_rebuilds_the_url_and_its_list_is_appended_to() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--trusted-proxy", "127.0.0.1"]);
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form_body("https://hooks.example.com/sms", b"Body=hi")
        .expect("form");
    let request = suite::RawRequest {
        method: "POST",
        target: "/sms".into(),
        headers: vec![
            ("Host".into(), "app:3000".into()),
            ("Content-Type".into(), FORM.into()),
            ("X-Twilio-Signature".into(), signature),
            ("X-Forwarded-Host".into(), "hooks.example.com".into()),
            ("X-Forwarded-Proto".into(), "https".into()),
            ("X-Forwarded-Port".into(), "443".into()),
            ("X-Forwarded-For".into(), "203.0.113.7".into()),
            ("X-Real-IP".into(), "203.0.113.7".into()),
            ("X-Original-URL".into(), "/admin".into()),
        ],
        body: b"Body=hi".to_vec(),
    };
    let seen = raw_headers(guard.port, &request);
    assert_eq!(
        routing_seen(&seen),
        [
            // The proxy's port 443 is not in the URL Twilio signed (F12: the authority that
            // verified).
            ("x-forwarded-host".to_string(), vec!["hooks.example.com"]),
            ("x-forwarded-proto".to_string(), vec!["https"]),
            (
                "x-forwarded-for".to_string(),
                vec!["203.0.113.7, 127.0.0.1"]
            ),
            ("x-real-ip".to_string(), vec!["203.0.113.7"]),
        ],
        "{seen:?}"
    );
    assert_eq!(seen_as(&seen, "host"), ["hooks.example.com"]);
}

/// F6: a trusted proxy that sets `X-Forwarded-Host` but passes the client's `Forwarded` through. A
/// request Twilio signed for another of the operator's hosts (`other.example.com`), replayed with
/// `Forwarded: host=other.example.com`, was verified against that host and forwarded. Now the two
/// disagreeing is `400 bad_host`, and nothing reaches the upstream.
#[test]
fn issue_28_f6_forwarded_and_x_forwarded_host_that_disagree_are_refused() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--trusted-proxy", "127.0.0.1"]);
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form_body("https://other.example.com/sms", b"Body=hi")
        .expect("form");
    let with = |extra: &[(&str, &str)]| {
        let mut headers: Vec<(String, String)> = vec![
            ("Host".into(), "app:3000".into()),
            ("Content-Type".into(), FORM.into()),
            ("X-Twilio-Signature".into(), signature.clone()),
        ];
        headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        suite::RawRequest {
            method: "POST",
            target: "/sms".into(),
            headers,
            body: b"Body=hi".to_vec(),
        }
    };
    for forged in [
        // The hosts disagree.
        [
            ("X-Forwarded-Host", "hooks.example.com"),
            ("X-Forwarded-Proto", "https"),
            ("Forwarded", "host=other.example.com;proto=https"),
        ],
        // The schemes disagree.
        [
            ("X-Forwarded-Host", "other.example.com"),
            ("X-Forwarded-Proto", "http"),
            ("Forwarded", "host=other.example.com;proto=https"),
        ],
    ] {
        let answer = suite::send(guard.port, &with(&forged)).expect("an answer");
        assert_eq!(answer.status, 400, "{forged:?}: {}", answer.text());
        assert!(answer.text().contains("bad_host"), "{}", answer.text());
    }
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
    // The proxy's own headers alone, or agreeing with Forwarded, still verify.
    for agreeing in [
        vec![
            ("X-Forwarded-Host", "other.example.com"),
            ("X-Forwarded-Proto", "https"),
        ],
        vec![
            ("X-Forwarded-Host", "other.example.com"),
            ("X-Forwarded-Proto", "https"),
            ("Forwarded", "host=other.example.com;proto=https"),
        ],
    ] {
        let answer = suite::send(guard.port, &with(&agreeing)).expect("an answer");
        assert_eq!(answer.status, 200, "{agreeing:?}: {}", answer.text());
    }
    assert_eq!(echo.hits(), 2);
}

/// F12: with no public URL, `Host: hooks.example.com:9999` verified a signature made for
/// `http://hooks.example.com/sms` (Twilio's port-removed candidate), and the client's `Host` went on
/// as sent in `Host` and `X-Forwarded-Host`: the app saw a port no signature covered. Now the upstream
/// is told the authority of the URL that verified, as with a public URL; a signature over the URL with
/// its port keeps the port.
#[test]
fn issue_28_f12_the_upstream_gets_the_authority_that_verified_not_the_clients_port() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).expect("signer");
    let with_host = |host: &str, signed_for: &str| suite::RawRequest {
        method: "POST",
        target: "/sms".into(),
        headers: vec![
            ("Host".into(), host.into()),
            ("Content-Type".into(), FORM.into()),
            (
                "X-Twilio-Signature".into(),
                signer
                    .sign_form_body(&format!("http://{signed_for}/sms"), b"Body=hi")
                    .expect("form"),
            ),
        ],
        body: b"Body=hi".to_vec(),
    };
    for host in ["hooks.example.com:9999", "hooks.example.com:080"] {
        let seen = raw_headers(guard.port, &with_host(host, "hooks.example.com"));
        assert_eq!(
            seen_as(&seen, "x-twilio-webhook-verified"),
            ["primary"],
            "{host}"
        );
        assert_eq!(
            seen_as(&seen, "host"),
            ["hooks.example.com"],
            "{host}: {seen:?}"
        );
        assert_eq!(
            seen_as(&seen, "x-forwarded-host"),
            ["hooks.example.com"],
            "{host}"
        );
    }
    // An IPv6 literal loses its port, not its brackets.
    let seen = raw_headers(guard.port, &with_host("[::1]:9999", "[::1]"));
    assert_eq!(seen_as(&seen, "host"), ["[::1]"], "{seen:?}");
    // Signed with the port: the port is what verified, and it stays.
    let host = "hooks.example.com:9999";
    let seen = raw_headers(guard.port, &with_host(host, host));
    assert_eq!(seen_as(&seen, "host"), [host]);
    assert_eq!(seen_as(&seen, "x-forwarded-host"), [host]);
}
