//! The cost of a diagnosis, counted in bytes hashed where each HMAC is computed.

use super::super::*;
use super::{MAX_DIAGNOSED_BODY, MAX_DIAGNOSIS_BYTES, forged_form, take_hashed};
use crate::{RequestValidator, SignatureHeaders};

const TOKEN: &str = "cost-test-token";

/// A signature no configured secret made.
fn forged_signature() -> String {
    RequestValidator::new("another-token").compute_signature("https://a.com/sms", [("Body", "x")])
}

#[test]
fn a_forged_1000_kib_form_hashes_no_more_than_one_diagnosis_may() {
    let body = forged_form(1000 * 1024);
    let signature = forged_signature();
    let validator = RequestValidator::new(TOKEN);
    take_hashed();
    let d = validator.diagnose(&Suspect::new(
        "https://a.com/sms",
        Payload::FormBody(&body),
        &signature,
    ));
    let hashed = take_hashed();
    assert!(
        hashed <= MAX_DIAGNOSIS_BYTES as u64,
        "{hashed} bytes hashed in one diagnosis"
    );
    assert!(hashed > 0, "the URL alone is still tried");
    assert_eq!(d.bytes() as u64, hashed);
    assert_eq!(d.signed_url(), None);
    assert!(d.body_too_large() && !d.exhausted(), "{d:?}");
    let summary = d.summary("https://a.com/sms");
    assert!(
        summary.contains(
            "of the URL alone: diagnosis skipped the body, 1024000 bytes, too large to diagnose"
        ),
        "{summary}"
    );
    assert!(
        d.causes()[0].fix().contains("too large to diagnose"),
        "{d:?}"
    );
    // Still refused: a diagnosis only explains.
    let verdict = validator.verify_form_body(
        "https://a.com/sms",
        &body,
        SignatureHeaders::new(&signature),
    );
    assert!(verdict.is_err());
}

#[test]
fn a_large_body_whose_url_alone_was_signed_is_still_explained() {
    let body = forged_form(1000 * 1024);
    let validator = RequestValidator::new(TOKEN);
    let url_only =
        validator.compute_signature("https://a.com/sms", std::iter::empty::<(&str, &str)>());
    let d = validator.diagnose(&Suspect::new(
        "http://a.com/sms",
        Payload::FormBody(&body),
        &url_only,
    ));
    let codes: Vec<_> = d.causes().iter().map(|c| c.code()).collect();
    assert_eq!(codes, [CauseCode::Scheme, CauseCode::BodyMode], "{d:?}");
    assert!(d.body_too_large());
}

#[test]
fn a_large_raw_body_whose_url_was_signed_is_explained_without_a_body_mode() {
    // A raw body is checked by its hash in the URL: the URL alone is its signed text, so when it is
    // too large to diagnose, the URL alone is not another body mode, only the scheme differs.
    let body = vec![b'x'; 1000 * 1024];
    let url = format!(
        "https://a.com/hook?bodySHA256={}",
        crate::signature::body_sha256_hex(&body)
    );
    let validator = RequestValidator::new(TOKEN);
    let signed = validator.compute_signature(&url, std::iter::empty::<(&str, &str)>());
    let checked = url.replacen("https:", "http:", 1);
    let d = validator.diagnose(&Suspect::new(&checked, Payload::Body(&body), &signed));
    let codes: Vec<_> = d.causes().iter().map(|c| c.code()).collect();
    assert_eq!(codes, [CauseCode::Scheme], "{d:?}");
    assert!(d.body_too_large());
}

#[test]
fn a_body_a_diagnosis_may_decode_is_tried_until_the_bytes_run_out() {
    // At the size limit, a genuine form checked at the wrong scheme is found.
    let body = forged_form(MAX_DIAGNOSED_BODY);
    let validator = RequestValidator::new(TOKEN);
    let genuine = crate::Signer::new(TOKEN, crate::Algorithm::HmacSha1)
        .expect("a signer")
        .sign_form_body("https://a.com/sms", &body)
        .expect("a signature");
    let d = validator.diagnose(&Suspect::new(
        "http://a.com/sms",
        Payload::FormBody(&body),
        &genuine,
    ));
    assert_eq!(d.signed_url(), Some("https://a.com/sms"), "{d:?}");
    assert!(!d.body_too_large());
    // Forged: the body is hashed until the budget is spent, then the URL alone goes on being tried.
    take_hashed();
    let d = validator.diagnose(&Suspect::new(
        "https://a.com/sms",
        Payload::FormBody(&body),
        &forged_signature(),
    ));
    let hashed = take_hashed();
    assert!(
        hashed <= MAX_DIAGNOSIS_BYTES as u64
            && hashed > (MAX_DIAGNOSIS_BYTES - MAX_DIAGNOSED_BODY - 64) as u64,
        "{hashed}"
    );
    assert!(d.exhausted() && !d.body_too_large(), "{d:?}");
    assert!(
        d.causes()[0].fix().contains("limit of bytes hashed"),
        "{d:?}"
    );
    // One byte more, and the body is not decoded at all: each HMAC covers a URL alone.
    let over = forged_form(MAX_DIAGNOSED_BODY + 1);
    let d = validator.diagnose(&Suspect::new(
        "https://a.com/sms",
        Payload::FormBody(&over),
        &genuine,
    ));
    assert!(d.body_too_large() && d.bytes() < d.hmacs() * 64, "{d:?}");
}

#[test]
fn decoded_parameters_count_their_bytes_too() {
    let big = "x".repeat(MAX_DIAGNOSED_BODY);
    let params = [("Body".to_string(), big)];
    let d = RequestValidator::new(TOKEN).diagnose(&Suspect::new(
        "https://a.com/sms",
        Payload::Params(&params),
        &forged_signature(),
    ));
    assert!(d.body_too_large(), "4 bytes of name past the limit");
    let small = [("Body".to_string(), "x".repeat(MAX_DIAGNOSED_BODY - 4))];
    let d = RequestValidator::new(TOKEN).diagnose(&Suspect::new(
        "https://a.com/sms",
        Payload::Params(&small),
        &forged_signature(),
    ));
    assert!(
        !d.body_too_large() && d.bytes() > MAX_DIAGNOSED_BODY,
        "{d:?}"
    );
}

#[test]
fn a_form_of_up_to_16_kib_is_diagnosed_with_its_body() {
    // The documented size (16 KiB) as a number, not the constant: a form of 15 KiB, far above what
    // Twilio sends, is still decoded and hashed, so a genuine one checked at the wrong scheme is found.
    let body = forged_form(15 * 1024);
    let validator = RequestValidator::new(TOKEN);
    let genuine = crate::Signer::new(TOKEN, crate::Algorithm::HmacSha1)
        .expect("a signer")
        .sign_form_body("https://a.com/sms", &body)
        .expect("a signature");
    let d = validator.diagnose(&Suspect::new(
        "http://a.com/sms",
        Payload::FormBody(&body),
        &genuine,
    ));
    assert!(!d.body_too_large(), "{d:?}");
    assert_eq!(d.signed_url(), Some("https://a.com/sms"), "{d:?}");
}
