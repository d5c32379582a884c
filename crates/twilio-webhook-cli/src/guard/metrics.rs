//! Prometheus metrics: requests by verdict and reason, and latency histograms for verification and
//! the upstream.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// A latency histogram with fixed buckets (seconds).
#[derive(Default)]
pub(crate) struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub(crate) fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            if seconds <= *bound {
                count.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_nanos.fetch_add(
            u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, count) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// Everything the admin listener reports: each request is counted once, by its outcome. Forwarded and
/// passed-through requests are counted without a lock; refusals and failures by reason under one.
#[derive(Default)]
pub(crate) struct Metrics {
    forwarded: AtomicU64,
    passed_through: AtomicU64,
    rejected: ByReason,
    /// Duplicates of a delivered request (`--replay`), by how they were answered.
    duplicates: ByReason,
    upstream_failed: ByReason,
    open_connections: AtomicU64,
    /// Time to read and verify a request, for every verified or refused request.
    pub(crate) verify: Histogram,
    pub(crate) upstream: Histogram,
}

/// Counts, by reason and cause.
type ByReason = Mutex<BTreeMap<(&'static str, &'static str), u64>>;

fn count(map: &ByReason, reason: &'static str, cause: &'static str) {
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    *map.entry((reason, cause)).or_insert(0) += 1;
}

impl Metrics {
    /// Counts a verified request the upstream answered.
    pub(crate) fn forwarded(&self) {
        self.forwarded.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request on a route that is not verified, which the upstream answered.
    pub(crate) fn passed_through(&self) {
        self.passed_through.fetch_add(1, Ordering::Relaxed);
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

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::from(
            "# HELP twilio_guard_requests_total Requests by verdict and reason.\n# TYPE twilio_guard_requests_total counter\n",
        );
        let mut line = |verdict: &str, (reason, cause): (&str, &str), n: u64| {
            let _ = writeln!(
                out,
                "twilio_guard_requests_total{{verdict=\"{verdict}\",reason=\"{reason}\",cause=\"{cause}\"}} {n}"
            );
        };
        line(
            "forwarded",
            ("", ""),
            self.forwarded.load(Ordering::Relaxed),
        );
        line(
            "passed_through",
            ("", ""),
            self.passed_through.load(Ordering::Relaxed),
        );
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
        self.verify.render(
            "twilio_guard_verify_seconds",
            "Time to read and verify a request.",
            &mut out,
        );
        self.upstream.render(
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
        let m = Metrics::default();
        m.rejected("signature_mismatch", Some("scheme"));
        m.rejected("signature_mismatch", Some("scheme"));
        m.rejected("signature_mismatch", None);
        m.upstream_failed("upstream_timeout");
        m.duplicate("answered");
        m.forwarded();
        m.connection(true);
        m.connection(true);
        m.connection(false);
        m.verify.observe(Duration::from_micros(300));
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
            ) && text.contains("twilio_guard_open_connections 1"),
            "{text}"
        );
        assert!(
            text.contains(
                "twilio_guard_requests_total{verdict=\"duplicate\",reason=\"answered\",cause=\"\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("twilio_guard_verify_seconds_bucket{le=\"0.00025\"} 0"),
            "{text}"
        );
        assert!(
            text.contains("twilio_guard_verify_seconds_bucket{le=\"0.0005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("twilio_guard_verify_seconds_count 1")
                && text.contains("twilio_guard_upstream_seconds_count 0")
        );
    }
}
