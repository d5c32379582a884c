//! What a diagnosis costs, against one validation of the same request: a tunnel's `https` found at once,
//! a difference in three parts found after a search, a forged signature that nothing explains (every
//! variant of a plain URL tried), and the worst case: a URL with every part to vary, forwarded headers
//! and three secrets, stopped at the [`MAX_HMACS`] ceiling.
//!
//! Run with `cargo bench -p twilio-webhook-bench --bench diagnose`; compare medians within one run.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use twilio_webhook::{Hints, MAX_HMACS, Payload, RequestValidator, SignatureHeaders, Suspect};

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
    let plain = diagnose(&forged);
    assert!(
        plain.signed_url().is_none() && !plain.exhausted(),
        "{}",
        plain.hmacs()
    );
    println!("forged, plain URL: {} HMACs", plain.hmacs());
    // The worst case: every part of the URL to vary, forwarded hosts, port and prefix, three secrets.
    let mut headers = http::HeaderMap::new();
    for (name, value) in [
        ("host", "h1.example:81"),
        ("x-forwarded-host", "h2.example, h3.example"),
        ("x-forwarded-port", "9999"),
        ("x-forwarded-prefix", "/p"),
    ] {
        headers.insert(name, value.parse().expect("a header value"));
    }
    let hints = Hints::from_headers(&headers);
    let three = RequestValidator::builder()
        .auth_token("a", TOKEN)
        .auth_token("b", "another")
        .auth_token("c", "a third")
        .build()
        .expect("three tokens");
    let busy_url = "https://a.com:1/x/y/z/?a=%20'+b#c";
    let busy = || {
        three.diagnose(
            &Suspect::new(
                black_box(busy_url),
                Payload::Params(black_box(&params)),
                black_box(&forged),
            )
            .hints(hints.clone()),
        )
    };
    let full = busy();
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
    g.bench_function("forged, plain URL: nothing matches", |b| {
        b.iter(|| diagnose(&forged))
    });
    g.bench_function("worst case: the 4,096-HMAC ceiling", |b| b.iter(busy));
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
