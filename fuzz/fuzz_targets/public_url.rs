//! The public-URL policy on arbitrary headers and targets: no panic; forwarded headers count only from
//! a trusted peer (from anyone else the URL is what Host alone gives); every URL ends with the target
//! exactly as received.
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
    let Ok(policy) = PublicUrl::from_host().trust_proxy("10.0.0.0/8") else { return };
    let peer = if input.from_proxy { "10.1.2.3" } else { "203.0.113.9" };
    let request = Incoming {
        target: input.target,
        headers: &headers,
        peer: peer.parse().ok(),
        scheme: None,
        authority: None,
    };
    let urls = policy.urls(&request);
    let target = if input.target.starts_with('/') { input.target } else { "/" };
    for url in &urls {
        assert!(url.ends_with(target), "{url:?} lost the target {target:?}");
        assert!(["http://", "https://", "ws://", "wss://"].iter().any(|s| url.starts_with(s)), "{url:?}");
    }
    if !input.from_proxy {
        // From an untrusted peer, the forwarded headers change nothing.
        let mut bare = headers.clone();
        for name in ["forwarded", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-port", "x-forwarded-prefix"] {
            bare.remove(name);
        }
        let without = policy.urls(&Incoming { headers: &bare, ..request });
        assert_eq!(urls, without);
    }
    if let Some(base) = input.base.and_then(|b| PublicUrl::base(b).ok()) {
        for url in base.urls(&request) {
            assert!(url.ends_with(target), "{url:?}");
        }
    }
});
