//! What the diagnoses of refused requests cost a process, in bytes hashed (counted where each HMAC is
//! computed), through a verifier as every adapter uses it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::Bucket;
use crate::diagnose::cost::take_hashed;
use crate::diagnose::{DIAGNOSIS_BYTES_PER_SECOND, MAX_DIAGNOSED_BODY, MAX_DIAGNOSIS_BYTES};
use crate::http::WebhookVerifier;
use crate::validator::RequestValidator;

const TOKEN: &str = "cost-test-token";

/// A clock the test moves by hand, in milliseconds.
static NOW_MS: AtomicU64 = AtomicU64::new(5_000);

fn clock() -> Duration {
    Duration::from_millis(NOW_MS.load(Ordering::SeqCst))
}

/// A verifier that may diagnose far more often than the process's bytes allow, with a bucket of bytes
/// of its own (the process's is shared with the other tests of this binary).
fn verifier() -> WebhookVerifier {
    let mut verifier = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .diagnoses_per_second(10_000)
        .clock(clock);
    verifier.explainer.bytes = Box::leak(Box::new(Bucket::new(DIAGNOSIS_BYTES_PER_SECOND)));
    verifier
}

/// A forged form of `size` bytes in at most 256 parameters (past `MAX_FORM_PARTS` parts, a form is
/// refused before any HMAC), each an `F<i>=v…` of equal length.
fn forged_form(size: usize) -> Vec<u8> {
    let each = size.div_ceil(256).max(4);
    let mut body = Vec::with_capacity(size + each);
    let mut i = 0u32;
    while body.len() < size {
        let name = format!("F{i}=");
        body.extend_from_slice(name.as_bytes());
        body.resize(body.len() + each.saturating_sub(name.len() + 1), b'v');
        body.push(b'&');
        i += 1;
    }
    body.truncate(size);
    body
}

/// Sends a forged form to the verifier: the bytes its diagnosis hashed, and the explanation.
fn forge(verifier: &WebhookVerifier, body: &[u8]) -> (u64, String) {
    take_hashed();
    let rejection = forge_err(verifier, body);
    let explanation = rejection.explanation().unwrap_or_default().to_string();
    assert!(
        explanation.starts_with("rejected POST /sms (signature_mismatch)"),
        "{explanation}"
    );
    (take_hashed(), explanation)
}

/// Sends a forged form to the verifier: its refusal.
fn forge_err(verifier: &WebhookVerifier, body: &[u8]) -> crate::WebhookRejection {
    let signature = RequestValidator::new("another-token")
        .compute_signature("http://a.com/sms", [("Body", "x")]);
    let parts = http::Request::post("/sms")
        .header("host", "a.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", signature)
        .body(())
        .map(|r| r.into_parts().0)
        .expect("a request");
    verifier
        .verify_parts(&parts, body)
        .expect_err("a forged request is refused")
}

#[test]
fn a_burst_of_forged_forms_is_bounded_per_diagnosis_and_per_second_across_verifiers() {
    let verifier = verifier();
    let mut total = 0;
    // A form of more parts than `MAX_FORM_PARTS` is refused before any HMAC, diagnosis included.
    let parts = crate::diagnose::cost::forged_form(64 * 1024);
    take_hashed();
    let parts_of = |b: &[u8]| b.iter().filter(|&&c| c == b'&').count();
    assert!(parts_of(&parts) > crate::MAX_FORM_PARTS);
    let refused = forge_err(&verifier, &parts);
    assert_eq!(refused.refusal(), crate::Refusal::AmbiguousForm);
    assert_eq!(take_hashed(), 0);
    // 1000 KiB forms: too large to diagnose, only the URL alone is tried.
    let large = forged_form(1000 * 1024);
    for _ in 0..8 {
        let (hashed, explanation) = forge(&verifier, &large);
        assert!(hashed > 0 && hashed <= 64 * 1024, "{hashed} bytes hashed");
        assert!(
            explanation.contains("too large to diagnose"),
            "{explanation}"
        );
        total += hashed;
    }
    // The largest forms a diagnosis still decodes: each spends up to its whole budget, and the
    // process's bytes run out within the second, for every verifier of the process together.
    let heavy = forged_form(MAX_DIAGNOSED_BODY);
    let mut other = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .diagnoses_per_second(10_000)
        .clock(clock);
    other.explainer.bytes = verifier.explainer.bytes;
    let (mut explained, mut refused) = (0, 0);
    for i in 0..48 {
        let v = if i % 2 == 0 { &verifier } else { &other };
        let (hashed, explanation) = forge(v, &heavy);
        assert!(
            hashed <= MAX_DIAGNOSIS_BYTES as u64,
            "{hashed} bytes hashed"
        );
        total += hashed;
        if explanation.contains("(diagnosis over the process's budget of bytes)") {
            assert_eq!(hashed, 0);
            refused += 1;
        } else {
            assert!(
                hashed > MAX_DIAGNOSED_BODY as u64,
                "{hashed}: {explanation}"
            );
            explained += 1;
        }
    }
    assert!(
        total <= u64::from(DIAGNOSIS_BYTES_PER_SECOND),
        "{total} bytes hashed in one second"
    );
    assert!(
        explained >= 8 && refused >= 8,
        "{explained} explained, {refused} refused"
    );
    // A second later the bytes are back.
    NOW_MS.fetch_add(1_000, Ordering::SeqCst);
    let (hashed, explanation) = forge(&verifier, &heavy);
    assert!(
        hashed > MAX_DIAGNOSED_BODY as u64,
        "{hashed}: {explanation}"
    );
}

/// A clock that never moves, for the test of the search's fixed cost.
fn still() -> Duration {
    Duration::from_secs(60)
}

#[test]
fn each_hmac_costs_the_process_something_even_over_short_urls() {
    let mut verifier = WebhookVerifier::new(RequestValidator::new(TOKEN))
        .diagnoses_per_second(10_000)
        .clock(still);
    verifier.explainer.bytes = Box::leak(Box::new(Bucket::new(DIAGNOSIS_BYTES_PER_SECOND)));
    // A small forged form hashes a few dozen KiB over its 1,280 short URLs; counted by bytes alone,
    // 400 of them a second would pass. Each is charged its HMACs too, so far fewer do.
    let small = forged_form(16);
    let (mut explained, mut total) = (0, 0);
    for _ in 0..64 {
        let (hashed, explanation) = forge(&verifier, &small);
        total += hashed;
        if !explanation.contains("(diagnosis over the process's budget of bytes)") {
            explained += 1;
        }
    }
    assert!(total > 0 && total < 64 * 64 * 1024, "{total}");
    assert!((8..64).contains(&explained), "{explained} explained");
}
