//! The library against an independent model of spec §2–§4, written differently: the model builds the
//! string to sign with ordered sets and its candidate URLs by splitting strings (the port variants, then
//! both again without the fragment, §4.4), signs one candidate with HMAC-SHA1 directly, and the library
//! must accept exactly that (and reject a near miss).
#![no_main]

use std::collections::{BTreeMap, BTreeSet};

use arbitrary::Arbitrary;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use libfuzzer_sys::fuzz_target;
use sha1::Sha1;
use twilio_webhook::{Rejection, RequestValidator, SignatureHeaders};

#[path = "model/body_mode.rs"]
mod body_mode;
#[path = "model/fragment.rs"]
mod fragment;

const TOKEN: &str = "model-token";

#[derive(Debug, Arbitrary)]
struct Input {
    scheme: u8,
    userinfo: Option<String>,
    host: String,
    port: Option<String>,
    rest: String,
    params: Vec<(String, String)>,
    pick: u8,
}

/// `P`: distinct keys in byte order, each with its distinct values in byte order.
fn model_p(params: &[(String, String)]) -> String {
    let mut map: BTreeMap<&[u8], BTreeSet<&[u8]>> = BTreeMap::new();
    for (k, v) in params {
        map.entry(k.as_bytes()).or_default().insert(v.as_bytes());
    }
    let mut out = Vec::new();
    for (k, values) in map {
        for v in values {
            out.extend_from_slice(k);
            out.extend_from_slice(v);
        }
    }
    String::from_utf8(out).expect("concatenated UTF-8")
}

fn model_candidates(
    scheme: &str,
    userinfo: &str,
    host: &str,
    port: Option<&str>,
    rest: &str,
) -> Vec<String> {
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => Some("443"),
        "http" | "ws" => Some("80"),
        _ => None,
    };
    let base = |p: Option<&str>| match p {
        Some(p) => format!("{scheme}://{userinfo}{host}:{p}{rest}"),
        None => format!("{scheme}://{userinfo}{host}{rest}"),
    };
    let mut out = vec![base(port)];
    match (port, default) {
        (Some(_), _) => out.push(base(None)),
        (None, Some(d)) => out.push(base(Some(d))),
        (None, None) => {}
    }
    // Spec §4.4: an empty or overrides-only fragment is cut. Only `rest` can hold a '#' here.
    if let Some(hash) = rest.find('#') {
        if fragment::cuttable(&rest[hash + 1..]) {
            out.extend(model_candidates(
                scheme,
                userinfo,
                host,
                port,
                &rest[..hash],
            ));
        }
    }
    out
}

fn sign(s: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(TOKEN.as_bytes()).expect("key");
    mac.update(s.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fuzz_target!(|input: Input| {
    let scheme = ["https", "http", "wss", "ws", "HTTPS", "ftp"][usize::from(input.scheme) % 6];
    // Keep the generated parts inside their URL component, so the model's split is the true one.
    let clean = |s: &str, banned: &[char]| {
        s.chars()
            .filter(|c| !banned.contains(c))
            .collect::<String>()
    };
    let userinfo = input
        .userinfo
        .map(|u| format!("{}@", clean(&u, &['/', '?', '#', '@'])));
    let userinfo = userinfo.unwrap_or_default();
    let host = clean(&input.host, &['/', '?', '#', '@', ':', '[', ']']);
    let port = input.port.map(|p| clean(&p, &['/', '?', '#', '@', ':']));
    let rest = clean(&input.rest, &[]);
    if !rest.is_empty() && !rest.starts_with(['/', '?', '#']) {
        return;
    }
    let received = model_candidates(scheme, &userinfo, &host, port.as_deref(), &rest);
    let url = &received[0];
    let p = model_p(&input.params);
    let signed_url = &received[usize::from(input.pick) % received.len()];
    let validator = RequestValidator::new(TOKEN);

    let sig = sign(&format!("{signed_url}{p}"));
    let verdict = validator.verify_form(url, &input.params, SignatureHeaders::new(&sig));
    if body_mode::is_body_mode(url) {
        assert_eq!(verdict.err(), Some(Rejection::BodyNotHashed), "url {url:?}");
        return;
    }
    let matched = verdict.as_ref().map(|v| v.matched_url(url));
    assert_eq!(matched.as_deref(), Ok(signed_url.as_str()), "url {url:?}");

    // A string that is no candidate must not validate.
    let near_miss = sign(&format!("{signed_url}{p}x"));
    let verdict = validator.verify_form(url, &input.params, SignatureHeaders::new(&near_miss));
    assert_eq!(verdict.err(), Some(Rejection::SignatureMismatch));
});
