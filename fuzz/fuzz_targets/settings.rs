//! The signature settings header against a model of spec §6 written differently (byte scanning).
#![no_main]

use libfuzzer_sys::fuzz_target;
use twilio_webhook::{Algorithm, Rejection, RequestValidator, SignatureHeaders, Signer};

const URL: &str = "https://example.com/hook";
const ID: &str = "KS1";

/// The first part named exactly `name` with a non-empty value (names and values trimmed).
fn model_part(header: &str, name: &str) -> Option<String> {
    for part in header.split(',') {
        let Some(eq) = part.find('=') else { continue };
        let (n, v) = (part[..eq].trim(), part[eq + 1..].trim());
        if n == name && !v.is_empty() {
            return Some(v.to_string());
        }
    }
    None
}

fuzz_target!(|header: &str| {
    let validator = RequestValidator::builder()
        .auth_token("primary", "auth")
        .shared_key(ID, "shared")
        .build()
        .expect("valid configuration");
    let algorithm = model_part(header, "algorithm").map(|a| a.to_ascii_uppercase());
    let key = model_part(header, "key");
    // What the model says the request should be signed with.
    let expected: Result<(&str, Algorithm), Rejection> =
        match (algorithm.as_deref(), key.as_deref()) {
            (Some(a), _) if a != "HMAC_SHA1" && a != "HMAC_SHA256" => {
                Err(Rejection::UnknownAlgorithm)
            }
            (Some(_), None) => Err(Rejection::UnknownKeyId),
            (Some(_), Some(k)) if k != ID => Err(Rejection::UnknownKeyId),
            (Some("HMAC_SHA256"), Some(_)) => Ok(("shared", Algorithm::HmacSha256)),
            (Some(_), Some(_)) => Ok(("shared", Algorithm::HmacSha1)),
            (None, Some(k)) if k == ID => Ok(("shared", Algorithm::HmacSha1)),
            (None, _) => Ok(("auth", Algorithm::HmacSha1)),
        };
    let params = [("A", "1")];
    // Signed as the model expects; for an expected rejection, with a SharedKey signature it must not accept.
    let (secret, algorithm) = expected.unwrap_or(("shared", Algorithm::HmacSha256));
    let sig = Signer::new(secret, algorithm)
        .expect("signer")
        .sign_form(URL, params);
    let headers = SignatureHeaders::new(&sig).with_settings(Some(header));
    let got = validator.verify_form(URL, params, headers).map(|_| ());
    assert_eq!(got, expected.map(|_| ()), "{header:?}");
});
