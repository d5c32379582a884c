//! The URL candidate builder on arbitrary strings, against a model of spec §4 written from the spec:
//! a signature over the URL as received, over the model's port variant, and over both without the
//! fragment when it is empty or made only of connection overrides (§4.4), must each validate (and with any
//! other fragment, the URL without it must not), and the verdict must name exactly the string that was signed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twilio_webhook::{Algorithm, Rejection, RequestValidator, SignatureHeaders, Signer};

#[path = "model/body_mode.rs"]
mod body_mode;
#[path = "model/fragment.rs"]
mod fragment;

/// The model's one port variant of `url`, if it has one.
fn model_variant(url: &str) -> Option<String> {
    let sep = url.find("://")?;
    let scheme = &url[..sep];
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !valid {
        return None;
    }
    let start = sep + 3;
    let end = start
        + url[start..]
            .find(|c| "/?#".contains(c))
            .unwrap_or(url.len() - start);
    let authority = &url[start..end];
    let host_start = start + authority.rfind('@').map_or(0, |i| i + 1);
    let host_port = &url[host_start..end];
    let colon = if host_port.starts_with('[') {
        let close = host_port.find(']')?;
        host_port[close + 1..]
            .starts_with(':')
            .then_some(host_start + close + 1)
    } else {
        host_port.find(':').map(|i| host_start + i)
    };
    match colon {
        Some(c) => Some(format!("{}{}", &url[..c], &url[end..])),
        None => {
            let port = match scheme.to_ascii_lowercase().as_str() {
                "https" | "wss" => "443",
                "http" | "ws" => "80",
                _ => return None,
            };
            Some(format!("{}:{port}{}", &url[..end], &url[end..]))
        }
    }
}

fuzz_target!(|url: &str| {
    let signer = Signer::new("fuzz-token", Algorithm::HmacSha1).expect("signer");
    let validator = RequestValidator::new("fuzz-token");
    let params = [("A", "1")];
    let mut signed_urls = vec![url.to_string()];
    signed_urls.extend(model_variant(url));
    let mut never = Vec::new();
    if let Some(hash) = url.find('#') {
        let cut = &url[..hash];
        // Spec §4.4: only an empty or overrides-only fragment is cut; any other never is.
        let target = if fragment::cuttable(&url[hash + 1..]) {
            &mut signed_urls
        } else {
            &mut never
        };
        target.push(cut.to_string());
        target.extend(model_variant(cut));
    }
    for signed in never.iter().filter(|n| !signed_urls.contains(n)) {
        let sig = signer.sign_form(signed, params);
        let verdict = validator.verify_form(url, params, SignatureHeaders::new(&sig));
        assert!(verdict.is_err(), "received {url:?}, signed {signed:?}");
    }
    for signed in &signed_urls {
        let sig = signer.sign_form(signed, params);
        let verdict = validator.verify_form(url, params, SignatureHeaders::new(&sig));
        if body_mode::is_body_mode(url) {
            assert_eq!(
                verdict.err(),
                Some(Rejection::BodyNotHashed),
                "received {url:?}"
            );
            continue;
        }
        assert_eq!(
            verdict.map(|v| v.matched_url(url)).as_deref(),
            Ok(signed.as_str()),
            "received {url:?}"
        );
    }
});
