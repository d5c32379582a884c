//! The places of `--max-connections`, and the connections that may lose theirs: those waiting for a
//! request head. When every place is taken and a connection arrives, the listener closes the one
//! that has waited longest (issue 28, F4: idle connections, connected and silent, held every place
//! and a genuine request waited in the backlog until they timed out), as nginx reuses its idle
//! keep-alive connections when it runs out.
//!
//! The order in which they go: first the connections with no byte of a head (new ones that sent
//! nothing, and kept-alive ones between requests), then those partway through a head, then those
//! partway through a body (refused as too slow, `408`); within each,
//! the one that began to wait first. A connection counts as waiting only once a read found nothing
//! to read (one whose request is already in its socket is read, never shed), and goes only after it
//! has waited [`MIN_WAIT`]: a client gets that long after its connection is accepted to send its
//! first bytes, however fast others connect.

use std::collections::BTreeMap;
use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::time::Instant;

/// How long the listener waits for the place of a connection it closed before it closes another: the
/// connection's worker may be busy (verifying a large body), and a place must come in bounded time.
const SHED_GRACE: Duration = Duration::from_millis(250);

/// How long a connection waits for a head at least before the listener may close it: time for a
/// client to send its request once connected, however fast others connect. It bounds how often a
/// place can change hands (`--max-connections` per `MIN_WAIT`: 1024 places, 20 000 a second).
const MIN_WAIT: Duration = Duration::from_millis(50);

/// What a waiting connection has received of its next head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Waiting {
    /// Nothing: a new connection, or a kept-alive one between requests. These go first.
    Idle,
    /// Part of a head.
    PartOfAHead,
    /// A whole head and part of its body: these go last (the request is refused as too slow).
    PartOfABody,
}

/// Where a waiting connection stands in the order of those to close: what it has received, when it
/// began to wait, and a number that tells apart two that began at the same instant.
type Key = (Waiting, Instant, u64);

/// What the listener's attempt to close a waiting connection did.
#[derive(Debug, PartialEq, Eq)]
enum Shed {
    /// It told one to close.
    Told,
    /// None is waiting.
    NoneWaiting,
    /// None has waited [`MIN_WAIT`] yet: the first will have at this instant.
    NotBefore(Instant),
}

/// The connections waiting for a head, in the order the listener closes them.
#[derive(Default)]
pub(crate) struct Waiters {
    inner: Mutex<Inner>,
    /// Tells the listener, while it waits for a place, that a connection began to wait.
    began: Notify,
}

#[derive(Default)]
struct Inner {
    next: u64,
    /// In the order they go: with no byte of a head, then partway through one.
    idle: BTreeMap<Key, oneshot::Sender<()>>,
    partial: BTreeMap<Key, oneshot::Sender<()>>,
    body: BTreeMap<Key, oneshot::Sender<()>>,
}

impl Inner {
    fn of(&mut self, what: Waiting) -> &mut BTreeMap<Key, oneshot::Sender<()>> {
        match what {
            Waiting::Idle => &mut self.idle,
            Waiting::PartOfAHead => &mut self.partial,
            Waiting::PartOfABody => &mut self.body,
        }
    }
}

impl Waiters {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a connection as waiting (`what` received, since `since`) until the returned [`Wait`]
    /// is dropped; the listener may close it meanwhile ([`Wait::shed`]).
    pub(crate) fn wait(self: &Arc<Self>, what: Waiting, since: Instant) -> Wait {
        let (tell, shed) = oneshot::channel();
        let key = {
            let mut inner = self.lock();
            let key = (what, since, inner.next);
            inner.next = inner.next.wrapping_add(1);
            inner.of(what).insert(key, tell);
            key
        };
        self.began.notify_one();
        Wait {
            waiters: Arc::clone(self),
            key,
            shed,
        }
    }

    /// Tells the first connection in the order that has waited [`MIN_WAIT`] at `now` to close.
    fn shed_first(&self, now: Instant) -> Shed {
        let mut inner = self.lock();
        let mut not_before: Option<Instant> = None;
        for what in [Waiting::Idle, Waiting::PartOfAHead, Waiting::PartOfABody] {
            let waiting = inner.of(what);
            while let Some(first) = waiting.first_entry() {
                let ripe = first.key().1 + MIN_WAIT;
                if ripe > now {
                    not_before = Some(not_before.map_or(ripe, |n| n.min(ripe)));
                    break;
                }
                // A wait's receiver goes only after its entry (`Wait`'s drop): told, it closes.
                if first.remove().send(()).is_ok() {
                    return Shed::Told;
                }
            }
        }
        not_before.map_or(Shed::NoneWaiting, Shed::NotBefore)
    }

    /// Tells the first connection in the order that has waited [`MIN_WAIT`] to close (the process
    /// is out of descriptors); whether there was one.
    pub(crate) fn shed_one(&self) -> bool {
        self.shed_first(Instant::now()) == Shed::Told
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        let inner = self.lock();
        inner.idle.len() + inner.partial.len() + inner.body.len()
    }
}

/// A connection counted as waiting for a head.
pub(crate) struct Wait {
    waiters: Arc<Waiters>,
    key: Key,
    shed: oneshot::Receiver<()>,
}

impl Wait {
    /// Completes when the listener closes this connection for a new one.
    pub(crate) async fn shed(&mut self) {
        std::future::poll_fn(|cx| self.poll_shed(cx)).await;
    }

    /// [`shed`](Self::shed), polled (for a poll-based body reader).
    pub(crate) fn poll_shed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match Pin::new(&mut self.shed).poll(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(()),
            // Dropped without a word: never, as long as this wait is counted.
            Poll::Ready(Err(_)) | Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.waiters.lock().of(self.key.0).remove(&self.key);
    }
}

/// A place for a connection just accepted: at once when one is free; else, the connection that has
/// waited longest for a head is closed and its place taken (`shed` counts each); with none waiting
/// long enough, the first place freed, or the first connection to have waited [`MIN_WAIT`],
/// closed. Every wait is bounded: a closed connection's place comes back as soon as its worker runs
/// it (after [`SHED_GRACE`], another goes), and every connection that holds a place is bounded by
/// the client, upstream and send time-outs. `None` when the places are closed.
pub(crate) async fn place(
    places: &Arc<Semaphore>,
    waiters: &Waiters,
    mut shed: impl FnMut(),
) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = Arc::clone(places).try_acquire_owned() {
        return Some(permit);
    }
    loop {
        let now = Instant::now();
        let (told, wake) = match waiters.shed_first(now) {
            Shed::Told => {
                shed();
                (true, Some(now + SHED_GRACE))
            }
            Shed::NoneWaiting => (false, None),
            Shed::NotBefore(ripe) => (false, Some(ripe)),
        };
        tokio::select! {
            biased;
            permit = Arc::clone(places).acquire_owned() => return permit.ok(),
            () = waiters.began.notified(), if !told => {}
            () = tokio::time::sleep_until(wake.unwrap_or(now)), if wake.is_some() => {}
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// An instant `ago` before now.
    fn ago(ago: Duration) -> Instant {
        Instant::now().checked_sub(ago).unwrap()
    }

    #[tokio::test]
    async fn the_idle_go_first_then_the_oldest() {
        let waiters = Arc::new(Waiters::default());
        let (old, older) = (ago(Duration::from_secs(1)), ago(Duration::from_secs(2)));
        let mut body_older = waiters.wait(Waiting::PartOfABody, older);
        let mut partial_older = waiters.wait(Waiting::PartOfAHead, older);
        let mut idle_old = waiters.wait(Waiting::Idle, old);
        let mut idle_older = waiters.wait(Waiting::Idle, older);
        assert_eq!(waiters.len(), 4);
        for expected in [
            &mut idle_older,
            &mut idle_old,
            &mut partial_older,
            &mut body_older,
        ] {
            assert_eq!(waiters.shed_first(Instant::now()), Shed::Told);
            tokio::time::timeout(Duration::from_secs(5), expected.shed())
                .await
                .unwrap();
        }
        assert_eq!(waiters.shed_first(Instant::now()), Shed::NoneWaiting);
        // A wait that ends is no longer counted.
        drop(waiters.wait(Waiting::Idle, old));
        assert_eq!(waiters.len(), 0);
    }

    /// A connection just accepted has `MIN_WAIT` to send its first bytes; one partway through a
    /// head that has waited longer goes before it.
    #[tokio::test]
    async fn a_connection_that_just_began_to_wait_is_not_closed_yet() {
        let waiters = Arc::new(Waiters::default());
        let now = Instant::now();
        let _young = waiters.wait(Waiting::Idle, now);
        assert_eq!(waiters.shed_first(now), Shed::NotBefore(now + MIN_WAIT));
        let mut partial = waiters.wait(Waiting::PartOfAHead, ago(Duration::from_secs(1)));
        assert_eq!(waiters.shed_first(Instant::now()), Shed::Told);
        tokio::time::timeout(Duration::from_secs(5), partial.shed())
            .await
            .unwrap();
        assert_eq!(waiters.shed_first(now + MIN_WAIT), Shed::Told);
    }

    #[tokio::test]
    async fn a_place_is_taken_from_the_longest_waiting_connection() {
        let places = Arc::new(Semaphore::new(1));
        let waiters = Arc::new(Waiters::default());
        let first = place(&places, &waiters, || {}).await.unwrap();
        // The holder of the one place waits for a head, and lets its place go when it is shed.
        let mut wait = waiters.wait(Waiting::Idle, Instant::now());
        // Closed once it has waited `MIN_WAIT`, not before.
        let holder = tokio::spawn(async move {
            wait.shed().await;
            drop(first);
        });
        let mut shed = 0;
        let second = tokio::time::timeout(
            Duration::from_secs(5),
            place(&places, &waiters, || shed += 1),
        )
        .await
        .unwrap();
        assert!(second.is_some());
        assert_eq!(shed, 1);
        holder.await.unwrap();
    }

    /// Out of descriptors, the listener closes the connection that has waited longest, and learns
    /// whether there was one; one that has not waited `MIN_WAIT` stays (mutation testing, fourth
    /// session: only the accept loop's `EMFILE` branch, which no test provokes, called it).
    #[tokio::test]
    async fn shed_one_closes_a_connection_that_has_waited_and_says_so() {
        let waiters = Arc::new(Waiters::default());
        assert!(!waiters.shed_one());
        let mut old = waiters.wait(Waiting::Idle, ago(Duration::from_secs(1)));
        let _young = waiters.wait(Waiting::Idle, Instant::now() + Duration::from_secs(60));
        assert!(waiters.shed_one());
        tokio::time::timeout(Duration::from_secs(5), old.shed())
            .await
            .unwrap();
        assert!(!waiters.shed_one());
        assert_eq!(waiters.len(), 1);
    }

    /// While no place comes back, a new connection closes one waiting connection per `SHED_GRACE`,
    /// not all of them at once (mutation testing, fourth session: `now - SHED_GRACE` closed them
    /// all, and every test was still served). One more may go if the runtime stalls past the grace.
    #[tokio::test]
    async fn one_waiting_connection_is_closed_per_grace() {
        let places = Arc::new(Semaphore::new(0));
        let waiters = Arc::new(Waiters::default());
        let old = ago(Duration::from_secs(1));
        let _waits: Vec<Wait> = (0..5).map(|_| waiters.wait(Waiting::Idle, old)).collect();
        let mut shed = 0;
        let placed =
            tokio::time::timeout(SHED_GRACE / 5, place(&places, &waiters, || shed += 1)).await;
        assert!(placed.is_err(), "no place came back");
        assert!((1..=2).contains(&shed), "{shed} closed at once");
    }
}
