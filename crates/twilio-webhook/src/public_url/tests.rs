use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn urls(policy: &PublicUrl, target: &str, h: &[(&str, &str)], peer: Option<&str>) -> Vec<String> {
    urls_with(policy, http::Method::POST, target, h, peer)
}

fn urls_with(
    policy: &PublicUrl,
    method: http::Method,
    target: &str,
    h: &[(&str, &str)],
    peer: Option<&str>,
) -> Vec<String> {
    let map = headers(h);
    let request = Incoming {
        method: &method,
        target,
        headers: &map,
        peer: peer.map(|p| p.parse().unwrap()),
        scheme: None,
        authority: None,
    };
    policy.urls(&request)
}

const PROXY: Option<&str> = Some("10.1.2.3");
const STRANGER: Option<&str> = Some("203.0.113.9");

#[test]
fn a_base_url_is_joined_with_the_target_byte_for_byte() {
    let policy = PublicUrl::base("https://example.com/").unwrap();
    let target = "/sms?name=O%27Brien&q=a+b&x=%2f&empty=";
    assert_eq!(
        urls(&policy, target, &[("host", "internal:8080")], None),
        [format!("https://example.com{target}")]
    );
    // A prefix (an ingress that strips it), without doubling the slash.
    let policy = PublicUrl::base("HTTPS://example.com:8443/app/").unwrap();
    assert_eq!(
        urls(&policy, "/sms", &[], None),
        ["https://example.com:8443/app/sms"]
    );
    // Forwarded headers play no part once a base is configured, even from a trusted proxy.
    let policy = policy.trust_proxy("10.0.0.0/8").unwrap();
    let forged = [
        ("x-forwarded-host", "evil.com"),
        ("forwarded", "host=evil.com"),
    ];
    assert_eq!(
        urls(&policy, "/sms", &forged, PROXY),
        ["https://example.com:8443/app/sms"]
    );
}

#[test]
fn several_bases_are_tried_in_order() {
    let policy = PublicUrl::base("https://a.example.com")
        .and_then(|p| p.also_base("http://b.example.com:8080/x"))
        .unwrap();
    assert_eq!(
        urls(&policy, "/sms?x=1", &[], None),
        [
            "https://a.example.com/sms?x=1",
            "http://b.example.com:8080/x/sms?x=1"
        ]
    );
    // A `Host` naming one base's host: that base alone (a request signed for `a` never reaches an
    // app that reads `b` from `Host`); a `Host` naming none, or a bad one, changes nothing.
    assert_eq!(
        urls(&policy, "/sms", &[("host", "B.example.com:8080")], None),
        ["http://b.example.com:8080/x/sms"]
    );
    for host in ["app:3000", "b.example.com", "a b"] {
        assert_eq!(
            urls(&policy, "/sms", &[("host", host)], None).len(),
            2,
            "{host}"
        );
    }
    let both = PublicUrl::base("https://a.example.com")
        .and_then(|p| p.also_base("http://a.example.com"))
        .and_then(|p| p.also_base("https://b.example.com"))
        .unwrap();
    assert_eq!(
        urls(&both, "/sms", &[("host", "a.example.com")], None),
        ["https://a.example.com/sms", "http://a.example.com/sms"]
    );
}

#[test]
fn bad_base_urls_and_proxies_are_errors() {
    for bad in [
        "example.com",
        "ftp://example.com",
        "https://",
        "https://ex ample.com",
        "https://user@example.com",
        "https://example.com/a?x=1",
        "https://example.com/a#f",
        "https://example.com/a b",
    ] {
        assert!(
            matches!(PublicUrl::base(bad), Err(PublicUrlError::InvalidBaseUrl(_))),
            "{bad}"
        );
    }
    for bad in ["", "10.0.0.0/33", "example.com", "10.0.0"] {
        assert_eq!(
            PublicUrl::from_host().trust_proxy(bad).err(),
            Some(PublicUrlError::InvalidProxy),
            "{bad}"
        );
    }
    // What is wrong, never the value: a base URL may carry a password.
    let e = PublicUrl::base("ftp://x").unwrap_err().to_string();
    assert!(e.contains("http or https") && !e.contains("ftp://x"), "{e}");
    let e = PublicUrl::base("https://user:hunter2@example.com").unwrap_err();
    assert!(!format!("{e} {e:?}").contains("hunter2"), "{e:?}");
}

#[test]
fn without_a_base_host_and_connection_scheme() {
    let policy = PublicUrl::from_host();
    assert_eq!(
        urls(&policy, "/sms", &[("host", "a.com:3000")], None),
        ["http://a.com:3000/sms"]
    );
    let tls = PublicUrl::from_host().connection_scheme("HTTPS");
    assert_eq!(
        urls(&tls, "/sms", &[("host", "a.com")], None),
        ["https://a.com/sms"]
    );
    // No Host (HTTP/1.0) or one that cannot be a host: no URL at all.
    assert!(urls(&policy, "/sms", &[], None).is_empty());
    assert!(urls(&policy, "/sms", &[("host", "a.com/x")], None).is_empty());
    assert!(urls(&policy, "/sms", &[("host", "u@a.com")], None).is_empty());
    // An HTTP/2 authority names the host; a Host field that names another is refused (the app
    // would read Host while the URL was built from the authority).
    for (host, expected) in [
        (Some("b.com"), Some("https://b.com/x")),
        (Some("B.com"), Some("https://b.com/x")),
        (None, Some("https://b.com/x")),
        (Some("a.com"), None),
        (Some("b.com:443"), None),
    ] {
        let map = headers(&host.map(|h| ("host", h)).into_iter().collect::<Vec<_>>());
        let request = Incoming {
            method: &http::Method::POST,
            target: "/x",
            headers: &map,
            peer: None,
            scheme: Some("https"),
            authority: Some("b.com"),
        };
        let expected: Vec<&str> = expected.into_iter().collect();
        assert_eq!(policy.urls(&request), expected, "Host {host:?}");
        assert_eq!(policy.try_urls(&request).is_err(), expected.is_empty());
    }
    // So does an absolute-form target's, when the server does not hand it over as the authority.
    let absolute = "http://hooks.example.com/sms";
    assert_eq!(
        urls(&policy, absolute, &[("host", "hooks.example.com")], None),
        ["http://hooks.example.com/sms"]
    );
    for host in ["admin.internal", "evil.example/voice#"] {
        assert!(urls(&policy, absolute, &[("host", host)], None).is_empty());
    }
}

/// Spec §4.5: a URL rebuilt from a request takes its host from a plain, single authority; anything
/// else is `BadHost`, which the verifier refuses (400) before any HMAC.
#[test]
fn a_rebuilt_url_needs_a_plain_single_host() {
    let policy = PublicUrl::from_host();
    let proxied = PublicUrl::from_host().trust_proxy("10.0.0.0/8").unwrap();
    let try_urls = |policy: &PublicUrl, h: &[(&str, &str)], peer: Option<&str>| {
        let map = headers(h);
        let incoming = Incoming::new(&http::Method::POST, "/sms", &map)
            .with_peer(peer.map(|p| p.parse().unwrap()));
        policy.try_urls(&incoming)
    };
    for good in [
        "a.com",
        "a.com:8080",
        "A-b.c_d~e",
        "192.0.2.1:443",
        "[2001:db8::1]",
        "[2001:db8::1]:8443",
        "[::ffff:192.0.2.1]",
        "localhost",
    ] {
        assert_eq!(
            try_urls(&policy, &[("host", good)], None),
            Ok(vec![format!("http://{good}/sms")]),
            "{good}"
        );
    }
    for bad in [
        "a.com/voice#",
        "a.com/voice",
        "a.com?x",
        "a.com#",
        "u@a.com",
        "u:p@a.com",
        "a.com:",
        "a.com:123456",
        "a.com:8x",
        "a%2ecom",
        "a com",
        "a.com:80:80",
        "[2001:db8::1%25eth0]",
        "[2001:db8::1",
        "[]",
        "[a.com]",
        "[2001:db8::1]x",
        ":80",
        "a,b",
        "a;b",
        "a!b",
    ] {
        assert_eq!(
            try_urls(&policy, &[("host", bad)], None),
            Err(BadHost),
            "{bad}"
        );
        // The same from a trusted proxy's forwarded host, behind a good Host.
        // (X-Forwarded-Host is a list: the nearest proxy's entry, after the last comma, counts.)
        let headers: &[&str] = if bad.contains(',') {
            &["forwarded"]
        } else {
            &["x-forwarded-host", "forwarded"]
        };
        for &header in headers {
            let value = if header == "forwarded" {
                format!("host=\"{bad}\"")
            } else {
                bad.to_string()
            };
            assert_eq!(
                try_urls(&proxied, &[("host", "app"), (header, &value)], PROXY),
                Err(BadHost),
                "{header}: {bad}"
            );
        }
    }
    // Two Host fields, even equal ones (RFC 9112 §3.2).
    assert_eq!(
        try_urls(&policy, &[("host", "a.com"), ("host", "a.com")], None),
        Err(BadHost)
    );
    // No Host at all is not a bad host: there is just no URL (no_public_url).
    assert_eq!(try_urls(&policy, &[], None), Ok(vec![]));
    // A Host that is not text.
    let mut map = HeaderMap::new();
    map.insert("host", http::HeaderValue::from_bytes(b"a\xe9.com").unwrap());
    let incoming = Incoming::new(&http::Method::POST, "/sms", &map);
    assert_eq!(policy.try_urls(&incoming), Err(BadHost));
    // An absolute-form or HTTP/2 authority is held to the same rule, whatever the Host (mutation
    // testing found this check unchecked).
    let map = headers(&[("host", "a.com")]);
    let mut incoming = Incoming::new(&http::Method::POST, "/sms", &map);
    incoming.authority = Some("u@b.com");
    assert_eq!(policy.try_urls(&incoming), Err(BadHost));
    // A plain one names the host, and a Host naming another is refused.
    incoming.authority = Some("b.com");
    assert_eq!(policy.try_urls(&incoming), Err(BadHost));
    let map = headers(&[("host", "b.com")]);
    let mut incoming = Incoming::new(&http::Method::POST, "/sms", &map);
    incoming.authority = Some("b.com");
    assert_eq!(
        policy.try_urls(&incoming),
        Ok(vec!["http://b.com/sms".to_string()])
    );
    // A configured base URL never looks at the Host.
    let base = PublicUrl::base("https://pub.example").unwrap();
    assert_eq!(
        try_urls(&base, &[("host", "a.com/voice#")], None),
        Ok(vec!["https://pub.example/sms".to_string()])
    );
}

#[test]
fn websocket_handshakes_use_ws_schemes() {
    let get = |policy: &PublicUrl, target: &str, h: &[(&str, &str)]| {
        urls_with(policy, http::Method::GET, target, h, None)
    };
    let up = [
        ("host", "a.com"),
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
    ];
    assert_eq!(get(&PublicUrl::from_host(), "/ws", &up), ["ws://a.com/ws"]);
    let base = PublicUrl::base("https://a.com").unwrap();
    assert_eq!(get(&base, "/ws?x=1", &up), ["wss://a.com/ws?x=1"]);
    let with = |extra: (&'static str, &'static str)| {
        let mut h = up.to_vec();
        h.push(extra);
        get(&base, "/ws", &h)
    };
    assert_eq!(with(("content-length", "0")), ["wss://a.com/ws"]);
    // Anything that is not a real handshake is a plain request, verified with its body.
    assert_eq!(urls(&base, "/ws", &up, None), ["https://a.com/ws"], "POST");
    assert_eq!(with(("content-length", "5")), ["https://a.com/ws"]);
    assert_eq!(with(("transfer-encoding", "chunked")), ["https://a.com/ws"]);
    let h2c = [
        ("host", "a.com"),
        ("connection", "upgrade"),
        ("upgrade", "h2c"),
    ];
    assert_eq!(get(&base, "/ws", &h2c), ["https://a.com/ws"]);
    let no_connection = [("host", "a.com"), ("upgrade", "websocket")];
    assert_eq!(get(&base, "/ws", &no_connection), ["https://a.com/ws"]);
    let substring = [
        ("host", "a.com"),
        ("connection", "keep-alive, x-upgradeish"),
        ("upgrade", "websocket"),
    ];
    assert_eq!(get(&base, "/ws", &substring), ["https://a.com/ws"]);
}

#[test]
fn absolute_form_targets_count_by_their_path_and_other_forms_by_nothing() {
    let base = PublicUrl::base("https://hooks.example.com").unwrap();
    assert_eq!(
        urls(
            &base,
            "http://hooks.example.com/admin/delete-account",
            &[],
            None
        ),
        ["https://hooks.example.com/admin/delete-account"]
    );
    assert_eq!(
        urls(&base, "http://x?a=1", &[], None),
        ["https://hooks.example.com/?a=1"]
    );
    for bad in ["*", "hooks.example.com:443", "admin", "/sms#x", ""] {
        assert!(urls(&base, bad, &[], None).is_empty(), "{bad:?}");
        assert!(
            urls(&PublicUrl::from_host(), bad, &[("host", "a.com")], None).is_empty(),
            "{bad:?}"
        );
    }
}

#[test]
fn from_parts_takes_the_target_as_received() {
    let request = http::Request::post("/sms?a=%27&b=c+d")
        .header("host", "a.com")
        .body(())
        .unwrap();
    let (parts, ()) = request.into_parts();
    let incoming = Incoming::from_parts(&parts);
    assert_eq!(incoming.target, "/sms?a=%27&b=c+d");
    assert_eq!(
        PublicUrl::from_host().urls(&incoming),
        ["http://a.com/sms?a=%27&b=c+d"]
    );
    let nested = incoming.with_target("/nested/sms?a=%27&b=c+d");
    assert_eq!(
        PublicUrl::from_host().urls(&nested),
        ["http://a.com/nested/sms?a=%27&b=c+d"]
    );
}

/// `Forwarded` and `X-Forwarded-*`: from trusted proxies only, the nearest speaking.
mod forwarded;
mod origin;
