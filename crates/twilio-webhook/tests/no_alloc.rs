//! Validating a typical webhook performs no heap allocation once the validator exists.
//!
//! This binary counts every allocation made by the thread under test with a counting global allocator;
//! it is its own test binary so that no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// The only unsafe code in the workspace: a counting wrapper that forwards to the system allocator.
// The library and the CLI forbid unsafe code outright.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations_during(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

#[path = "support/sms.rs"]
mod sms;
use sms::sms_params;

const URL: &str = "https://example.com:443/twilio/sms?tenant=acme";

#[test]
fn counting_allocator_sees_allocations() {
    // Guards the test itself: if counting were broken every assertion below would pass vacuously.
    assert!(allocations_during(|| drop(std::hint::black_box(vec![1u8; 16]))) >= 1);
}

#[test]
fn validating_an_sms_webhook_does_not_allocate() {
    let validator = RequestValidator::builder()
        .auth_token("primary", "12345")
        .auth_token("secondary", "67890")
        .build()
        .unwrap();
    let params = sms_params();
    let signer = Signer::new("12345", Algorithm::HmacSha1).unwrap();
    // Signed over the URL without its port, so the second candidate is the one that matches.
    let signature = signer.sign_form("https://example.com/twilio/sms?tenant=acme", &params);
    let body: String = form_urlencoded_body(&params);
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";

    let mut results = Vec::with_capacity(8);
    let n = allocations_during(|| {
        results.push(validator.validate(URL, &params, &signature));
        results.push(
            validator
                .verify_form(URL, &params, SignatureHeaders::new(&signature))
                .is_ok(),
        );
        results.push(
            validator
                .verify_form_body(URL, body.as_bytes(), SignatureHeaders::new(&signature))
                .is_ok(),
        );
        results.push(
            validator
                .verify_request(
                    URL,
                    Some("application/x-www-form-urlencoded; charset=UTF-8"),
                    body.as_bytes(),
                    SignatureHeaders::new(&signature),
                )
                .is_ok(),
        );
        // A rejection (every secret, every candidate) does not allocate either.
        results.push(validator.validate(URL, &params, wrong));
    });
    assert_eq!(results, [true, true, true, true, false]);
    assert_eq!(n, 0, "validation allocated {n} times");
}

#[test]
fn validating_a_json_webhook_does_not_allocate() {
    let validator = RequestValidator::new("12345");
    let body = br#"{"AccountSid":"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","Body":"hello"}"#;
    let signed = Signer::new("12345", Algorithm::HmacSha1)
        .unwrap()
        .sign_body(URL, body)
        .unwrap();
    let headers = SignatureHeaders::new(&signed.signature);
    let mut results = Vec::with_capacity(4);
    let n = allocations_during(|| {
        results.push(validator.verify_body(&signed.url, body, headers).is_ok());
        let json = Some("application/json");
        results.push(
            validator
                .verify_request(&signed.url, json, body, headers)
                .is_ok(),
        );
        // The replay without its body is rejected without allocating too.
        results.push(
            validator
                .verify_form(&signed.url, [("", ""); 0], headers)
                .is_ok(),
        );
    });
    assert_eq!(results, [true, true, false]);
    assert_eq!(n, 0, "validation allocated {n} times");
}

/// `n` parameters, the `i`th made by `pair(i)`.
fn numbered(n: usize, pair: impl Fn(usize) -> (String, String)) -> Vec<(String, String)> {
    (0..n).map(pair).collect()
}

fn as_strs(owned: &[(String, String)]) -> Vec<(&str, &str)> {
    owned
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn form_urlencoded_body(params: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Up to 128 parameters stay on the stack; above, the inline buffers spill to the heap once each, with
/// room for 256: a small, fixed number of allocations, not one per parameter.
#[test]
fn a_form_allocates_nothing_up_to_128_parameters_then_a_fixed_small_number_of_times() {
    let validator = RequestValidator::new("12345");
    let signer = Signer::new("12345", Algorithm::HmacSha1).unwrap();
    for (n, expected) in [
        (65usize, 0),
        (100, 0),
        (128, 0),
        (129, 2),
        (200, 2),
        (256, 2),
    ] {
        let owned = numbered(n, |i| {
            (format!("Param{:03}", (i * 37) % n), format!("v{i}"))
        });
        let params = as_strs(&owned);
        let signature = signer.sign_form(URL, &params);
        let mut ok = false;
        let count = allocations_during(|| ok = validator.validate(URL, &params, &signature));
        assert!(ok, "{n} params");
        assert_eq!(
            count, expected,
            "{n} params: nothing inline, or the parameters and their sort keys spill once each"
        );
    }
}

/// The stack space is picked per request (32 fields' worth when there are at most 32, else 128), from
/// the parameter iterator's length or the raw body's separators: no count on either side of the
/// boundary allocates.
#[test]
fn the_stack_space_fits_the_request_on_both_sides_of_32_fields() {
    let validator = RequestValidator::new("12345");
    let signer = Signer::new("12345", Algorithm::HmacSha1).unwrap();
    for n in [31usize, 32, 33, 34, 100, 128] {
        let owned = numbered(n, |i| (format!("K{:03}", (i * 7) % n), format!("v+{i}")));
        let params = as_strs(&owned);
        let body = form_urlencoded_body(&params);
        let signature = signer.sign_form(URL, &params);
        let headers = SignatureHeaders::new(&signature);
        let mut ok = [false; 2];
        let count = allocations_during(|| {
            ok = [
                validator.validate(URL, &params, &signature),
                validator
                    .verify_form_body(URL, body.as_bytes(), headers)
                    .is_ok(),
            ];
        });
        assert_eq!(ok, [true, true], "{n} fields");
        assert_eq!(count, 0, "{n} fields allocated {count} times");
    }
}

/// The opt-in URL variants rewrite the URL into new strings: a rejection that tries them allocates,
/// the strict default does not.
#[test]
fn the_opt_in_variants_allocate_when_they_are_tried() {
    let strict = RequestValidator::new("12345");
    let lenient = RequestValidator::builder()
        .auth_token("primary", "12345")
        .allow_trailing_slash_variant()
        .allow_query_reencoding()
        .build()
        .unwrap();
    let params = sms_params();
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let strict_count = allocations_during(|| assert!(!strict.validate(URL, &params, wrong)));
    let lenient_count = allocations_during(|| assert!(!lenient.validate(URL, &params, wrong)));
    assert_eq!(strict_count, 0);
    assert!(
        (1..=8).contains(&lenient_count),
        "the variants allocated {lenient_count} times"
    );
    println!("a rejection with both opt-in variants: {lenient_count} allocations");
}
