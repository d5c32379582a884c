//! Cost of the path rules (`PathRules::decide`, the guard's `--pass` / `--require`): a short path,
//! on the hot path of every request, and 60 KB paths (the largest a 64 KiB head holds) of segments
//! that have many readings, whose cost must stay linear in their bytes.
//!
//! Run with `cargo bench -p twilio-webhook-bench --bench paths`; compare the long paths' medians
//! per byte with the short path's.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twilio_webhook::PathRules;

/// The auditor's long paths: one segment repeated to 60 KB.
const LONG: &[(&str, &str)] = &[
    ("plain", "abcdefgh/"),
    ("fullwidth+%25", "%EF%BD%94%25%37%34/"),
    ("semicolons", "a;b=c;d/"),
    ("dots", "a.%20./"),
    ("scripts", "(S(a)).php/"),
];

fn bench(c: &mut Criterion) {
    let rules = PathRules::new()
        .pass("/")
        .and_then(|r| r.require("/twilio"))
        .unwrap();
    let mut g = c.benchmark_group("paths");
    for short in ["/twilio/sms?x=1", "/static/css/app.min.css"] {
        g.throughput(Throughput::Bytes(short.len() as u64));
        g.bench_function(format!("short {short}"), |b| {
            b.iter(|| rules.decide(black_box(short)))
        });
    }
    for (name, segment) in LONG {
        let path = format!("/{}", segment.repeat(60_000 / segment.len()));
        g.throughput(Throughput::Bytes(path.len() as u64));
        g.bench_function(format!("60 KB {name}"), |b| {
            b.iter(|| rules.decide(black_box(&path)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
