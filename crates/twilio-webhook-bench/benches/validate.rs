//! Validation cost against the floor: a bare, pre-keyed HMAC-SHA1 + base64 over the same string to sign.
//!
//! Run with `cargo bench -p twilio-webhook-bench --bench validate`; compare medians within one run. It
//! lives here, not in the core, so that building the core (and its quick start) never compiles criterion.

use std::hint::black_box;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};

#[path = "../../twilio-webhook/tests/support/sms.rs"]
mod sms;
use sms::sms_params;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const URL: &str = "https://example.com/twilio/sms?tenant=acme";

/// The string to sign, built once outside the timed loop (for the floor).
fn string_to_sign(url: &str, params: &[(&str, &str)]) -> String {
    let mut sorted = params.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted.iter().fold(url.to_string(), |s, (k, v)| s + k + v)
}

fn bench(c: &mut Criterion) {
    let validator = RequestValidator::new(TOKEN);
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
    let params = sms_params();
    let form_sig = signer.sign_form(URL, &params);
    let form_body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    let json = br#"{"specversion":"1.0","type":"com.twilio.messaging.message.delivered","source":"/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages/SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX.json","id":"EZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","data":{"to":"+15558675310","from":"+15017250604","status":"delivered"}}"#;
    let signed = signer.sign_body(URL, json).unwrap();
    let wrong = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let form_string = string_to_sign(URL, &params);
    let keyed = Hmac::<Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap();

    let mut g = c.benchmark_group("validate");
    g.throughput(Throughput::Elements(1));
    g.bench_function("floor: hmac-sha1+base64 (form string)", |b| {
        b.iter(|| {
            let mut mac = keyed.clone();
            mac.update(black_box(form_string.as_bytes()));
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        })
    });
    g.bench_function("form valid (20 params)", |b| {
        b.iter(|| validator.validate(black_box(URL), black_box(&params), black_box(&form_sig)))
    });
    g.bench_function("form rejected (2 candidates)", |b| {
        b.iter(|| validator.validate(black_box(URL), black_box(&params), black_box(wrong)))
    });
    g.bench_function("form raw body valid", |b| {
        b.iter(|| {
            validator
                .verify_form_body(
                    black_box(URL),
                    black_box(form_body.as_bytes()),
                    SignatureHeaders::new(&form_sig),
                )
                .is_ok()
        })
    });
    g.bench_function("json valid", |b| {
        b.iter(|| {
            validator
                .verify_body(
                    black_box(&signed.url),
                    black_box(json),
                    SignatureHeaders::new(&signed.signature),
                )
                .is_ok()
        })
    });
    g.bench_function("json rejected", |b| {
        b.iter(|| {
            validator
                .verify_body(
                    black_box(&signed.url),
                    black_box(json),
                    SignatureHeaders::new(wrong),
                )
                .is_ok()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
