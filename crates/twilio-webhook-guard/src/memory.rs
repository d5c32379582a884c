//! The process-wide budget of buffered request-body bytes (`--max-body-memory`): every worker's
//! connections draw on it as a body arrives, and give back what they took when its buffer is freed.
//!
//! `--max-connections` × `--max-body` is not a bound anyone can afford (1024 × 1 MiB by default):
//! slow clients each sending most of a body, and holding its last byte back until the client
//! time-out, made the guard hold all of it at once. With a budget, what the bodies being read hold is
//! bounded whatever the number of connections, and a body that would go over it is refused (`503`)
//! instead of read.
//!
//! A request is charged for the body bytes it has been sent, as they arrive, not for the length it
//! declares: a client that declares 1 MiB and sends nothing takes nothing from the others, so taking
//! the budget costs as many bytes sent as it holds (within each client time-out). The counter is one
//! atomic: no lock, so none is ever held across an `await`.

use std::sync::atomic::{AtomicUsize, Ordering};

/// The bytes that the bodies being read, verified and forwarded may hold together.
#[derive(Debug)]
pub(crate) struct BodyMemory {
    limit: usize,
    used: AtomicUsize,
}

impl BodyMemory {
    /// A budget of `limit` bytes, none of them taken.
    pub(crate) fn new(limit: usize) -> Self {
        BodyMemory {
            limit,
            used: AtomicUsize::new(0),
        }
    }

    /// A request's share, empty until it [`grow`](Reservation::grow)s.
    pub(crate) fn reservation(&self) -> Reservation<'_> {
        Reservation {
            memory: self,
            held: 0,
            refused: false,
        }
    }

    /// The bytes taken now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `n` bytes if they fit under the limit.
    fn take(&self, n: usize) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(n).filter(|&total| total <= self.limit)
            })
            .is_ok()
    }

    fn give_back(&self, n: usize) {
        self.used.fetch_sub(n, Ordering::AcqRel);
    }
}

/// What one request holds of the budget: given back when it is dropped, after the body it counts
/// (so that no path, a refusal, an error or a cancelled task, keeps it).
#[derive(Debug)]
pub(crate) struct Reservation<'m> {
    memory: &'m BodyMemory,
    held: usize,
    /// A [`grow`](Self::grow) did not fit: the request is to be refused with `503`.
    refused: bool,
}

impl Reservation<'_> {
    /// Takes `n` more bytes for the request's body: `false` (and nothing taken) when they would go
    /// over the budget, which the request then remembers ([`refused`](Self::refused)).
    pub(crate) fn grow(&mut self, n: usize) -> bool {
        if self.memory.take(n) {
            self.held += n;
            true
        } else {
            self.refused = true;
            false
        }
    }

    /// Whether a body chunk did not fit: the request is refused with `503`, never forwarded.
    pub(crate) fn refused(&self) -> bool {
        self.refused
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.memory.give_back(self.held);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_takes_what_fits_and_gives_it_back_when_dropped() {
        let memory = BodyMemory::new(100);
        let mut first = memory.reservation();
        assert!(first.grow(60) && first.grow(40));
        assert_eq!(memory.used(), 100);
        let mut second = memory.reservation();
        assert!(!second.grow(1), "the budget is spent");
        assert!(second.refused() && !first.refused());
        assert_eq!(memory.used(), 100, "a refused grow takes nothing");
        drop(first);
        assert_eq!(memory.used(), 0);
        assert!(second.grow(100), "what was given back is there again");
        drop(second);
        assert_eq!(memory.used(), 0);
    }

    #[test]
    fn a_grow_that_does_not_fit_takes_nothing_of_what_is_left() {
        let memory = BodyMemory::new(100);
        let mut small = memory.reservation();
        assert!(small.grow(30));
        let mut big = memory.reservation();
        assert!(!big.grow(71));
        assert!(!big.grow(usize::MAX), "no overflow");
        assert_eq!(memory.used(), 30);
        let mut third = memory.reservation();
        assert!(third.grow(70), "the 70 bytes left are all there");
        drop((small, big, third));
        assert_eq!(memory.used(), 0);
    }

    #[test]
    fn many_threads_never_take_more_than_the_budget() {
        let memory = BodyMemory::new(1000);
        let peak = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        let mut r = memory.reservation();
                        if r.grow(300) {
                            peak.fetch_max(memory.used(), Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert!(peak.load(Ordering::Relaxed) <= 1000);
        assert!(peak.load(Ordering::Relaxed) >= 300);
        assert_eq!(memory.used(), 0, "every reservation gave back what it took");
    }
}
