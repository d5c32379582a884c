//! What a diagnosis may cost, in bytes hashed: per diagnosis, and per second across the process.
//!
//! A diagnosis hashes the URL and what follows it once per variant it tries, so its cost grows with the
//! request's size, and a forged request chooses that size. [`MAX_HMACS`](super::MAX_HMACS) bounds the
//! number of HMACs; the bytes they hash are bounded here:
//!
//! - **Per diagnosis**, at most [`MAX_DIAGNOSIS_BYTES`] bytes are hashed (each HMAC counts the URL and
//!   the form's parameters it covers). An HMAC that would pass the budget is not computed, so the
//!   variants of the URL alone go on being tried.
//! - **A large body is not diagnosed**: a form body (or decoded parameters) larger than
//!   [`MAX_DIAGNOSED_BODY`] is neither decoded nor hashed again; only the URL alone is tried, and the
//!   rejection says that the body was too large to diagnose.
//! - **Per second, across the process**, the diagnoses of refused requests (every adapter, binding and
//!   the guard, all verifiers together) hash at most [`DIAGNOSIS_BYTES_PER_SECOND`], each HMAC
//!   counted 256 bytes more for its fixed cost; past it, a rejection gets its terse line. Each
//!   verifier's own rate (`diagnoses_per_second`) still applies first.
//!
//! A diagnosis never changes a verdict: a request it explains is still rejected.

/// The most bytes one diagnosis hashes, all HMACs together: under a millisecond of HMAC-SHA1 on this
/// project's 2-core VM (2026-12-07, CPU time: 1.4 GB/s over 4 KiB to 1 MiB, 0.75 ms for 1 MiB).
pub const MAX_DIAGNOSIS_BYTES: usize = 1024 * 1024;

/// The largest payload (a form body, or decoded parameters) a diagnosis decodes and hashes. Decoding
/// a form of many short fields costs about 30 ns a byte (2026-12-07: 7.8 ms for 256 KiB), so 16 KiB
/// stay near half a millisecond; Twilio's own forms are a few KiB. Past it, only the URL alone is
/// tried.
pub const MAX_DIAGNOSED_BODY: usize = 16 * 1024;

/// The most bytes the diagnoses of refused requests hash in one second, across the whole process (a
/// token bucket shared by every verifier, in bursts of at most as much; each HMAC is counted 256 bytes
/// more, for its fixed cost): a few percent of one core.
pub const DIAGNOSIS_BYTES_PER_SECOND: u32 = 16 * 1024 * 1024;

/// The bytes a diagnosis hashed, against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Meter {
    pub(super) used: usize,
    /// Whether an HMAC was left out because it did not fit.
    pub(super) short: bool,
}

impl Meter {
    pub(super) fn new() -> Self {
        Meter {
            used: 0,
            short: false,
        }
    }

    /// Counts an HMAC over `len` bytes if it fits in what is left, and says whether it did.
    pub(super) fn charge(&mut self, len: usize) -> bool {
        match self.used.checked_add(len) {
            Some(total) if total <= MAX_DIAGNOSIS_BYTES => {
                self.used = total;
                true
            }
            _ => {
                self.short = true;
                false
            }
        }
    }
}

/// Whether a payload of `len` bytes is small enough to decode and hash in a diagnosis.
pub(super) fn diagnosable(len: usize) -> bool {
    len <= MAX_DIAGNOSED_BODY
}

#[cfg(test)]
thread_local! {
    /// What the diagnoses on this thread fed to HMACs, counted where each HMAC is computed, apart from
    /// the [`Meter`]: the tests read it.
    pub(crate) static HASHED: core::cell::Cell<u64> = const { core::cell::Cell::new(0) };
}

/// The bytes the diagnoses on this thread hashed since the last call (tests only).
#[cfg(test)]
pub(crate) fn take_hashed() -> u64 {
    HASHED.with(|h| h.replace(0))
}

/// A forged form of exactly `size` bytes: many short fields, as cheap to send as they are dear to
/// decode and hash (tests only).
#[cfg(test)]
pub(crate) fn forged_form(size: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(size + 16);
    let mut i = 0u32;
    while body.len() < size {
        body.extend_from_slice(format!("F{i}=v{i}&").as_bytes());
        i += 1;
    }
    body.truncate(size);
    body
}

#[cfg(test)]
mod tests;
