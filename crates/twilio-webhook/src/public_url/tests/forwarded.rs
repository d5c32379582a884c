//! `Forwarded` (RFC 7239) and `X-Forwarded-*`: honoured from trusted proxies only, the nearest
//! proxy speaking, the two disagreeing refused, and values that cannot be in a URL ignored.

use super::*;

#[test]
fn forwarded_headers_count_only_from_trusted_proxies() {
    let policy = PublicUrl::from_host()
        .trust_proxy("10.0.0.0/8")
        .and_then(|p| p.trust_proxy("::1"))
        .unwrap();
    let xf = [
        ("host", "app:3000"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "public.example.com"),
        ("x-forwarded-prefix", "/twilio/"),
    ];
    assert_eq!(
        urls(&policy, "/sms", &xf, PROXY),
        ["https://public.example.com/twilio/sms"]
    );
    assert_eq!(
        urls(&policy, "/sms", &xf, Some("::1")),
        ["https://public.example.com/twilio/sms"]
    );
    // From anyone else, or when the peer is unknown, they are ignored.
    assert_eq!(
        urls(&policy, "/sms", &xf, STRANGER),
        ["http://app:3000/sms"]
    );
    assert_eq!(urls(&policy, "/sms", &xf, None), ["http://app:3000/sms"]);
    // Nothing is trusted by default.
    assert_eq!(
        urls(&PublicUrl::from_host(), "/sms", &xf, PROXY),
        ["http://app:3000/sms"]
    );
}

#[test]
fn forwarded_rfc7239_and_x_forwarded_combine_and_the_nearest_proxy_speaks() {
    let policy = PublicUrl::from_host().trust_proxy("10.1.2.3").unwrap();
    let h = [
        ("host", "app"),
        (
            "forwarded",
            r#"for=1.2.3.4;host=spoofed.com;proto=http, for=5.6.7.8;Proto=HTTPS;host="a.com:8443""#,
        ),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "A.com:8443"),
    ];
    assert_eq!(urls(&policy, "/s", &h, PROXY), ["https://a.com:8443/s"]);
    // Each says what the other does not.
    let h = [
        ("host", "app"),
        ("forwarded", "for=5.6.7.8;proto=https"),
        ("x-forwarded-host", "b.com"),
    ];
    assert_eq!(urls(&policy, "/s", &h, PROXY), ["https://b.com/s"]);
    let h = [
        ("host", "app"),
        ("forwarded", "host=c.com"),
        ("x-forwarded-proto", "https"),
    ];
    assert_eq!(urls(&policy, "/s", &h, PROXY), ["https://c.com/s"]);
    // A comma inside a quoted string does not split elements.
    let h = [
        ("host", "app"),
        ("forwarded", r#"for="x,y";host=c.com;proto=https"#),
    ];
    assert_eq!(urls(&policy, "/s", &h, PROXY), ["https://c.com/s"]);
    // X-Forwarded-* lists: the last (nearest) entry; the port replaces the host's.
    let h = [
        ("host", "app"),
        ("x-forwarded-proto", "http, https"),
        ("x-forwarded-host", "evil.com, d.com:1"),
        ("x-forwarded-port", "8443"),
    ];
    assert_eq!(urls(&policy, "/s", &h, PROXY), ["https://d.com:8443/s"]);
    let h = [
        ("host", "[2001:db8::1]:80"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ];
    assert_eq!(
        urls(&policy, "/s", &h, PROXY),
        ["https://[2001:db8::1]:443/s"]
    );
    // A scheme, port or prefix that cannot be part of a URL is ignored.
    let h = [
        ("host", "app"),
        ("x-forwarded-proto", "javascript"),
        ("x-forwarded-port", "99999x"),
        ("x-forwarded-prefix", "no-slash"),
    ];
    assert_eq!(urls(&policy, "/s", &h, PROXY), ["http://app/s"]);
    // A forwarded host that is not a plain authority gives no URL (spec §4.5: refused as bad_host),
    // not the proxy's own Host.
    let h = [("host", "app"), ("x-forwarded-host", "a.com/evil?")];
    assert!(urls(&policy, "/s", &h, PROXY).is_empty());
}

/// Issue 28, F6: a trusted proxy that sets `X-Forwarded-Host` (or `-Proto`) but passes a client's
/// `Forwarded` through let the client choose the host, since `Forwarded` won. Both present and
/// different is now `BadHost` (refused before any HMAC), whichever the client wrote.
#[test]
fn forwarded_and_x_forwarded_that_disagree_are_a_bad_host() {
    let policy = PublicUrl::from_host().trust_proxy("10.0.0.0/8").unwrap();
    let try_urls = |h: &[(&str, &str)], peer: Option<&str>| {
        let map = headers(h);
        let incoming = Incoming::new(&http::Method::POST, "/sms", &map)
            .with_peer(peer.map(|p| p.parse().unwrap()));
        policy.try_urls(&incoming)
    };
    for disagreeing in [
        [
            ("forwarded", "host=evil.example"),
            ("x-forwarded-host", "hooks.example.com"),
        ],
        [
            ("forwarded", "for=1.2.3.4;host=\"evil.example\""),
            ("x-forwarded-host", "hooks.example.com"),
        ],
        // The nearest entries disagree, whatever the earlier ones say.
        [
            ("forwarded", "host=hooks.example.com, host=evil.example"),
            ("x-forwarded-host", "evil.example, hooks.example.com"),
        ],
        [
            ("forwarded", "host=hooks.example.com:8443"),
            ("x-forwarded-host", "hooks.example.com"),
        ],
        [("forwarded", "proto=http"), ("x-forwarded-proto", "https")],
        [("forwarded", "proto=https"), ("x-forwarded-proto", "http")],
        [
            ("forwarded", "proto=https"),
            ("x-forwarded-proto", "javascript"),
        ],
    ] {
        let mut h = vec![("host", "app")];
        h.extend(disagreeing);
        assert_eq!(try_urls(&h, PROXY), Err(BadHost), "{h:?}");
        // From a peer that is not trusted, neither counts: the URL is Host's.
        assert_eq!(
            try_urls(&h, STRANGER),
            Ok(vec!["http://app/sms".to_string()]),
            "{h:?}"
        );
    }
    // Agreeing (ignoring case) is no conflict.
    let h = [
        ("host", "app"),
        ("forwarded", "host=Hooks.Example.com;proto=HTTPS"),
        ("x-forwarded-host", "hooks.example.com"),
        ("x-forwarded-proto", "https"),
    ];
    assert_eq!(
        try_urls(&h, PROXY),
        Ok(vec!["https://Hooks.Example.com/sms".to_string()])
    );
}

/// Mutation testing found the quoted-string parser of `Forwarded` unchecked: each case below tells a
/// correct split from a wrong one by the URL it gives.
#[test]
fn forwarded_quoted_strings_and_escapes_split_where_rfc_7239_says() {
    let policy = PublicUrl::from_host().trust_proxy("10.0.0.0/8").unwrap();
    let url = |forwarded: &str| {
        urls(
            &policy,
            "/x",
            &[("host", "internal"), ("forwarded", forwarded)],
            PROXY,
        )
    };
    // A comma inside quotes does not end the element.
    assert_eq!(
        url(r#"for="1.2.3.4, proto=http";host=pub.example;proto=https"#),
        ["https://pub.example/x"]
    );
    // An escaped quote inside quotes does not close them.
    assert_eq!(
        url(r#"proto=https;host=pub.example;for="a\",b""#),
        ["https://pub.example/x"]
    );
    // A backslash outside quotes escapes nothing: the comma ends the element.
    assert_eq!(
        url(r#"proto=https;host=pub.example;for=a\,b"#),
        ["http://internal/x"]
    );
    // Unquoted commas separate proxies: the nearest (last) one speaks.
    assert_eq!(
        url("for=1.2.3.4;proto=https;host=pub.example, for=5.6.7.8;proto=http;host=last.example"),
        ["http://last.example/x"]
    );
}

#[test]
fn forwarded_ports_and_prefixes_that_cannot_be_in_a_url_are_ignored() {
    let policy = PublicUrl::from_host().trust_proxy("10.0.0.0/8").unwrap();
    let with = |extra: (&str, &str)| urls(&policy, "/x", &[("host", "a.com"), extra], PROXY);
    assert_eq!(with(("x-forwarded-port", "8443")), ["http://a.com:8443/x"]);
    for port in ["123456", "8a", "-1"] {
        assert_eq!(
            with(("x-forwarded-port", port)),
            ["http://a.com/x"],
            "{port}"
        );
    }
    assert_eq!(with(("x-forwarded-prefix", "/p/")), ["http://a.com/p/x"]);
    for prefix in ["p", "/p?x", "/p#x", "/p q"] {
        assert_eq!(
            with(("x-forwarded-prefix", prefix)),
            ["http://a.com/x"],
            "{prefix}"
        );
    }
}
