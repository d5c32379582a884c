//! The public-URL policy on arbitrary headers and targets: no panic; forwarded headers count only from
//! a trusted peer (from anyone else the URL is what Host alone gives); every URL ends with the target's
//! path and query exactly as received, and a target that is neither in origin nor in absolute form
//! gives no URL at all; only a real WebSocket handshake gets a ws/wss URL.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twilio_webhook::{Incoming, PublicUrl};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    target: &'a str,
    host: Option<&'a str>,
    forwarded: Option<&'a str>,
    xf_proto: Option<&'a str>,
    xf_host: Option<&'a str>,
    xf_port: Option<&'a str>,
    xf_prefix: Option<&'a str>,
    upgrade: Option<&'a str>,
    connection: Option<&'a str>,
    content_length: Option<&'a str>,
    get: bool,
    from_proxy: bool,
    base: Option<&'a str>,
}

fuzz_target!(|input: Input<'_>| {
    let mut headers = http::HeaderMap::new();
    let mut put = |name: &'static str, value: Option<&str>| {
        if let Some(v) = value.and_then(|v| http::HeaderValue::from_str(v).ok()) {
            headers.append(name, v);
        }
    };
    put("host", input.host);
    put("forwarded", input.forwarded);
    put("x-forwarded-proto", input.xf_proto);
    put("x-forwarded-host", input.xf_host);
    put("x-forwarded-port", input.xf_port);
    put("x-forwarded-prefix", input.xf_prefix);
    put("upgrade", input.upgrade);
    put("connection", input.connection);
    put("content-length", input.content_length);
    let Ok(policy) = PublicUrl::from_host().trust_proxy("10.0.0.0/8") else {
        return;
    };
    let peer = if input.from_proxy {
        "10.1.2.3"
    } else {
        "203.0.113.9"
    };
    let method = if input.get {
        http::Method::GET
    } else {
        http::Method::POST
    };
    let request = Incoming {
        method: &method,
        target: input.target,
        headers: &headers,
        peer: peer.parse().ok(),
        scheme: None,
        authority: None,
    };
    let urls = policy.urls(&request);
    let Ok(target) = twilio_webhook::origin_form(input.target) else {
        assert!(urls.is_empty(), "{:?} gave {urls:?}", input.target);
        return;
    };
    assert!(target.starts_with('/') && !target.contains('#'));
    let websocket = request.is_websocket_handshake();
    assert!(!websocket || input.get, "only a GET is a handshake");
    for url in &urls {
        assert!(
            url.ends_with(&*target),
            "{url:?} lost the target {target:?}"
        );
        let schemes: &[&str] = if websocket {
            &["ws://", "wss://"]
        } else {
            &["http://", "https://"]
        };
        assert!(schemes.iter().any(|s| url.starts_with(s)), "{url:?}");
    }
    if !input.from_proxy {
        // From an untrusted peer, the forwarded headers change nothing.
        let mut bare = headers.clone();
        for name in [
            "forwarded",
            "x-forwarded-proto",
            "x-forwarded-host",
            "x-forwarded-port",
            "x-forwarded-prefix",
        ] {
            bare.remove(name);
        }
        let without = policy.urls(&Incoming {
            headers: &bare,
            ..request
        });
        assert_eq!(urls, without);
    }
    if let Some(base) = input.base.and_then(|b| PublicUrl::base(b).ok()) {
        for url in base.urls(&request) {
            assert!(url.ends_with(&*target), "{url:?}");
        }
    }
});
