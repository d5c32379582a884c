//! Prometheus metrics: requests by verdict and reason, and latency histograms for verification and
//! the upstream.
//!
//! What every request touches (the forwarded count and both histograms) is kept per worker, on a
//! cache line of its own, and summed when rendered: two cores counting into the same line would
//! pass it back and forth on every request.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The histograms' upper bounds, in seconds as rendered and in nanoseconds as compared.
const BUCKETS: [(&str, u64); 12] = [
    ("0.0001", 100_000),
    ("0.00025", 250_000),
    ("0.0005", 500_000),
    ("0.001", 1_000_000),
    ("0.0025", 2_500_000),
    ("0.005", 5_000_000),
    ("0.01", 10_000_000),
    ("0.025", 25_000_000),
    ("0.05", 50_000_000),
    ("0.1", 100_000_000),
    ("0.5", 500_000_000),
    ("1.0", 1_000_000_000),
];

/// A latency histogram with fixed buckets: one count per bucket (the smallest bound the value is
/// under), made cumulative when rendered.
#[derive(Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        if let Some(bucket) = BUCKETS
            .iter()
            .zip(&self.counts)
            .find_map(|((_, bound), count)| (nanos <= *bound).then_some(count))
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Renders the sum of `histograms` (one per worker).
fn render_histogram<'h>(
    histograms: impl Iterator<Item = &'h Histogram> + Clone,
    name: &str,
    help: &str,
    out: &mut String,
) {
    let total = |read: &dyn Fn(&Histogram) -> u64| histograms.clone().map(read).sum::<u64>();
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let mut cumulative = 0;
    for (i, (bound, _)) in BUCKETS.iter().enumerate() {
        cumulative += total(&|h| h.counts.get(i).map_or(0, |c| c.load(Ordering::Relaxed)));
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
    }
    let count = total(&|h| h.count.load(Ordering::Relaxed));
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
    let sum = total(&|h| h.sum_nanos.load(Ordering::Relaxed)) as f64 / 1e9;
    let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
}

/// A worker's own counts, on a cache line no other worker writes.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct Shard {
    forwarded: AtomicU64,
    passed_through: AtomicU64,
    /// Time to read and verify a request, for every verified or refused request.
    verify: Histogram,
    upstream: Histogram,
}

/// Everything the admin listener reports: each request is counted once, by its outcome. Forwarded and
/// passed-through requests are counted without a lock, per worker; refusals and failures by reason
/// under one.
#[derive(Default)]
pub(crate) struct Metrics {
    shards: Mutex<Vec<Arc<Shard>>>,
    rejected: ByReason,
    /// Duplicates of a delivered request (`--replay`), by how they were answered.
    duplicates: ByReason,
    upstream_failed: ByReason,
    open_connections: AtomicU64,
    /// Connections closed while waiting for a head, to give their place to a new one.
    shed: AtomicU64,
}

/// The metrics as one worker counts into them: its own [`Shard`], and the shared rest.
#[derive(Clone)]
pub(crate) struct WorkerMetrics {
    all: Arc<Metrics>,
    own: Arc<Shard>,
}

impl Deref for WorkerMetrics {
    type Target = Metrics;

    fn deref(&self) -> &Metrics {
        &self.all
    }
}

impl WorkerMetrics {
    /// Counts a verified request the upstream answered.
    pub(crate) fn forwarded(&self) {
        self.own.forwarded.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request on a route that is not verified, which the upstream answered.
    pub(crate) fn passed_through(&self) {
        self.own.passed_through.fetch_add(1, Ordering::Relaxed);
    }

    /// Records how long reading and verifying a request took.
    pub(crate) fn verified_in(&self, elapsed: Duration) {
        self.own.verify.observe(elapsed);
    }

    /// Records how long the upstream took to answer.
    pub(crate) fn upstream_in(&self, elapsed: Duration) {
        self.own.upstream.observe(elapsed);
    }
}

/// Counts, by reason and cause.
type ByReason = Mutex<BTreeMap<(&'static str, &'static str), u64>>;

fn count(map: &ByReason, reason: &'static str, cause: &'static str) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry((reason, cause)).or_insert(0) += 1;
}

impl Metrics {
    /// A new worker's view: a shard of its own.
    pub(crate) fn worker(self: &Arc<Self>) -> WorkerMetrics {
        let own = Arc::new(Shard::default());
        self.lock_shards().push(Arc::clone(&own));
        WorkerMetrics {
            all: Arc::clone(self),
            own,
        }
    }

    fn lock_shards(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Shard>>> {
        self.shards.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a refused request by its reason code and, when a diagnosis found one, its first cause
    /// (`scheme`, `host`, `path_prefix`, …; empty otherwise).
    pub(crate) fn rejected(&self, reason: &'static str, cause: Option<&'static str>) {
        count(&self.rejected, reason, cause.unwrap_or(""));
    }

    /// Counts a duplicate of a delivered request by how it was answered: `answered` (the first
    /// answer, `--replay-duplicates answer`) or `refused` (`409`).
    pub(crate) fn duplicate(&self, how: &'static str) {
        count(&self.duplicates, how, "");
    }

    /// Counts a request the guard could not deliver (`upstream_unavailable`, `upstream_timeout`), or
    /// whose body failed on the way (`body_too_large`, `client_timeout`).
    pub(crate) fn upstream_failed(&self, reason: &'static str) {
        count(&self.upstream_failed, reason, "");
    }

    /// A client connection opened (`1`) or closed (`-1`).
    pub(crate) fn connection(&self, opened: bool) {
        if opened {
            self.open_connections.fetch_add(1, Ordering::Relaxed);
        } else {
            self.open_connections.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A connection closed while it waited for a head, to give its place to a new one
    /// (`--max-connections` reached).
    pub(crate) fn shed(&self) {
        self.shed.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from(
            "# HELP twilio_guard_requests_total Requests by verdict and reason.\n# TYPE twilio_guard_requests_total counter\n",
        );
        let shards = self.lock_shards().clone();
        let sum = |read: fn(&Shard) -> &AtomicU64| {
            shards
                .iter()
                .map(|s| read(s).load(Ordering::Relaxed))
                .sum::<u64>()
        };
        let mut line = |verdict: &str, (reason, cause): (&str, &str), n: u64| {
            let _ = writeln!(
                out,
                "twilio_guard_requests_total{{verdict=\"{verdict}\",reason=\"{reason}\",cause=\"{cause}\"}} {n}"
            );
        };
        line("forwarded", ("", ""), sum(|s| &s.forwarded));
        line("passed_through", ("", ""), sum(|s| &s.passed_through));
        for (verdict, map) in [
            ("rejected", &self.rejected),
            ("duplicate", &self.duplicates),
            ("upstream_failed", &self.upstream_failed),
        ] {
            let counts = map.lock().unwrap_or_else(|p| p.into_inner()).clone();
            for (labels, n) in counts {
                line(verdict, labels, n);
            }
        }
        let _ = writeln!(
            out,
            "# HELP twilio_guard_open_connections Client connections open now.\n# TYPE twilio_guard_open_connections gauge\ntwilio_guard_open_connections {}",
            self.open_connections.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP twilio_guard_connections_shed_total Connections closed while waiting for a request head, to give their place to a new one (--max-connections reached).\n# TYPE twilio_guard_connections_shed_total counter\ntwilio_guard_connections_shed_total {}",
            self.shed.load(Ordering::Relaxed)
        );
        render_histogram(
            shards.iter().map(|s| &s.verify),
            "twilio_guard_verify_seconds",
            "Time to read and verify a request.",
            &mut out,
        );
        render_histogram(
            shards.iter().map(|s| &s.upstream),
            "twilio_guard_upstream_seconds",
            "Time the upstream took to answer.",
            &mut out,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_counts_and_buckets() {
        let all = Arc::new(Metrics::default());
        let (m, other) = (all.worker(), all.worker());
        m.rejected("signature_mismatch", Some("scheme"));
        m.rejected("signature_mismatch", Some("scheme"));
        m.rejected("signature_mismatch", None);
        m.upstream_failed("upstream_timeout");
        m.duplicate("answered");
        m.forwarded();
        m.connection(true);
        m.connection(true);
        m.connection(false);
        m.shed();
        m.verified_in(Duration::from_micros(300));
        other.verified_in(Duration::from_micros(90));
        other.verified_in(Duration::from_secs(2));
        other.forwarded();
        let text = m.render();
        assert!(
            text.contains(
                "twilio_guard_requests_total{verdict=\"rejected\",reason=\"signature_mismatch\",cause=\"scheme\"} 2"
            ) && text.contains(
                "twilio_guard_requests_total{verdict=\"rejected\",reason=\"signature_mismatch\",cause=\"\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "twilio_guard_requests_total{verdict=\"upstream_failed\",reason=\"upstream_timeout\",cause=\"\"} 1"
            ) && text.contains("twilio_guard_open_connections 1")
                && text.contains("twilio_guard_connections_shed_total 1\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "twilio_guard_requests_total{verdict=\"duplicate\",reason=\"answered\",cause=\"\"} 1"
            ),
            "{text}"
        );
        // Both workers' counts, cumulative: 90 µs, 300 µs, and 2 s past every bound.
        for (bound, n) in [
            ("0.0001", 1),
            ("0.00025", 1),
            ("0.0005", 2),
            ("1.0", 2),
            ("+Inf", 3),
        ] {
            assert!(
                text.contains(&format!(
                    "twilio_guard_verify_seconds_bucket{{le=\"{bound}\"}} {n}\n"
                )),
                "{bound}: {text}"
            );
        }
        assert!(
            text.contains("twilio_guard_verify_seconds_count 3\n")
                && text.contains("twilio_guard_verify_seconds_sum 2.00039\n")
                && text.contains("twilio_guard_upstream_seconds_count 0")
                && text.contains(
                    "twilio_guard_requests_total{verdict=\"forwarded\",reason=\"\",cause=\"\"} 2\n"
                ),
            "{text}"
        );
    }
}
