//! What a diagnosis costs, against one validation of the same request: a tunnel's `https` found at once,
//! a difference in three parts found after a search, and a forged signature that nothing explains (the
//! full [`MAX_HMACS`] ceiling).
//!
//! Run with `cargo bench -p twilio-webhook-bench --bench diagnose`; compare medians within one run.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use twilio_webhook::{MAX_HMACS, Payload, RequestValidator, SignatureHeaders, Suspect};

#[path = "../../twilio-webhook/tests/support/sms.rs"]
mod sms;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";

fn bench(c: &mut Criterion) {
    let validator = RequestValidator::new(TOKEN);
    let params: Vec<(String, String)> = sms::sms_params()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let tunnel = validator.compute_signature("https://abc123.ngrok.app/sms", &params);
    let mounted = validator.compute_signature("https://abc123.ngrok.app/twilio/sms", &params);
    let forged =
        RequestValidator::new("another").compute_signature("https://abc123.ngrok.app/sms", &params);
    let checked = "http://abc123.ngrok.app:8080/sms";
    let diagnose = |signature: &str| {
        validator.diagnose(&Suspect::new(
            black_box(checked),
            Payload::Params(black_box(&params)),
            black_box(signature),
        ))
    };
    let full = diagnose(&forged);
    assert!(
        full.exhausted() && full.hmacs() == MAX_HMACS,
        "{}",
        full.hmacs()
    );
    let mut g = c.benchmark_group("diagnose");
    g.bench_function("one validation (rejected, for scale)", |b| {
        b.iter(|| {
            validator.verify_form(black_box(checked), &params, SignatureHeaders::new(&tunnel))
        })
    });
    g.bench_function("scheme and port (found)", |b| b.iter(|| diagnose(&tunnel)));
    g.bench_function("scheme, port and prefix (found)", |b| {
        b.iter(|| diagnose(&mounted))
    });
    g.bench_function("forged: nothing matches (4,096 HMACs)", |b| {
        b.iter(|| diagnose(&forged))
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(30);
    targets = bench
}
criterion_main!(benches);
