//! Cost of the path rules (`PathRules::decide`, the guard's `--pass` / `--require`): a short path,
//! on the hot path of every request, and 60 KB paths (the largest a 64 KiB head holds) of segments
//! that have many readings, whose cost must stay linear in their bytes.
//!
//! Past `MAX_RULED_PATH` bytes or `MAX_RULED_SEGMENTS` segments a path is verified unread, so the
//! costliest paths read are those at the caps: 63 segments of each kind, and 4 KiB of segments with
//! every kind of reading.
//!
//! Run with `cargo bench -p twilio-webhook-bench --bench paths`; compare the long paths' medians
//! per byte with the short path's.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use twilio_webhook::{PathDecision, PathRules};

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
    for (name, segment) in LONG {
        let path = format!("/{}", segment.repeat(63));
        // Read to its end, and exempt.
        assert_eq!(rules.decide(&path), Ok(PathDecision::Pass), "{name}");
        g.throughput(Throughput::Bytes(path.len() as u64));
        g.bench_function(format!("63 segments {name}"), |b| {
            b.iter(|| rules.decide(black_box(&path)))
        });
    }
    // 4 KiB in 63 segments of 63 bytes, each with escapes, parameters, dots, a stream and a space.
    let segment = format!("{:x<63}/", "a%2e%25%37%34;b=c:d.php.%20(x)~1.");
    let path = format!("/{}", segment.repeat(63));
    assert_eq!(rules.decide(&path), Ok(PathDecision::Pass));
    g.throughput(Throughput::Bytes(path.len() as u64));
    g.bench_function("4 KiB, 63 segments of every reading", |b| {
        b.iter(|| rules.decide(black_box(&path)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
