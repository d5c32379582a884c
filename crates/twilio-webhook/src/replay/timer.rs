//! Pauses for the core's own waits (a duplicate waiting for the first delivery's answer), under any
//! executor: the core depends on none. One timer thread for the whole process keeps every pending
//! pause in deadline order and wakes each task when its time comes.
//!
//! A thread per pause was the first design, and an attacker replaying one captured webhook 800 times
//! while its first delivery was with a slow app made 800 threads (sixth outside attack, A5-F3); under
//! a task limit (systemd `TasksMax`, a container's `pids.max`) spawning failed, the guard panicked, and
//! duplicates, Twilio's retries among them, went unanswered. Now the pauses cost one thread in all,
//! and a process that cannot start it gets pauses that end at once, logged.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// One pending pause: set done by the timer thread, with the waker of the task that waits.
#[derive(Default)]
struct Slot {
    done: bool,
    waker: Option<Waker>,
}

/// The pauses in deadline order (a sequence number breaks ties), and the thread's signal.
#[derive(Default)]
struct Timer {
    pending: Mutex<Pending>,
    changed: Condvar,
}

#[derive(Default)]
struct Pending {
    next: u64,
    slots: BTreeMap<Key, Arc<Mutex<Slot>>>,
}

/// A pause's place in the timer: its deadline, then the order pauses were registered in.
type Key = (Instant, u64);

/// The process's timer, its thread started on first use; `None` when the thread could not start.
fn timer() -> Option<&'static Timer> {
    static TIMER: OnceLock<Option<&'static Timer>> = OnceLock::new();
    *TIMER.get_or_init(|| {
        let timer: &'static Timer = Box::leak(Box::default());
        let started = std::thread::Builder::new()
            .name("twilio-webhook-timer".into())
            .spawn(move || run(timer));
        match started {
            Ok(_) => Some(timer),
            Err(e) => {
                tracing::error!(target: "twilio_webhook", error = %e, "could not start the timer thread: a duplicate waiting for an answer is refused at once");
                None
            }
        }
    })
}

/// The timer thread: wakes each pause whose deadline has passed, then sleeps until the next one.
fn run(timer: &'static Timer) {
    let mut pending = lock(&timer.pending);
    loop {
        let now = Instant::now();
        while let Some(entry) = pending.slots.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let slot = entry.remove();
            let mut slot = lock(&slot);
            slot.done = true;
            if let Some(waker) = slot.waker.take() {
                waker.wake();
            }
        }
        pending = match pending.slots.keys().next().map(|(at, _)| *at) {
            Some(at) => {
                let wait = at.saturating_duration_since(Instant::now());
                timer
                    .changed
                    .wait_timeout(pending, wait)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|p| p.into_inner().0)
            }
            None => timer
                .changed
                .wait(pending)
                .unwrap_or_else(|p| p.into_inner()),
        };
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether pauses can be timed: the timer thread runs (started now if it was not).
pub(crate) fn available() -> bool {
    timer().is_some()
}

/// A pause of `duration`, ended by the process's timer thread (at once when there is none: see
/// [`available`]).
pub(crate) fn sleep_for(duration: Duration) -> impl Future<Output = ()> {
    Sleep {
        duration,
        registered: None,
    }
}

/// The future of [`sleep_for`]: registered with the timer on its first poll, removed from it when
/// dropped early (a duplicate whose client went away leaves nothing behind).
struct Sleep {
    duration: Duration,
    registered: Option<(Key, Arc<Mutex<Slot>>)>,
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if let Some((_, slot)) = &self.registered {
            let mut slot = lock(slot);
            if slot.done {
                return Poll::Ready(());
            }
            slot.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let Some(timer) = timer() else {
            return Poll::Ready(());
        };
        let slot = Arc::new(Mutex::new(Slot {
            done: false,
            waker: Some(cx.waker().clone()),
        }));
        let mut pending = lock(&timer.pending);
        let key = (Instant::now() + self.duration, pending.next);
        pending.next += 1;
        let earliest = pending.slots.keys().next().is_none_or(|first| key < *first);
        pending.slots.insert(key, Arc::clone(&slot));
        drop(pending);
        if earliest {
            timer.changed.notify_one();
        }
        self.registered = Some((key, slot));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let (Some((key, _)), Some(timer)) = (&self.registered, timer()) {
            lock(&timer.pending).slots.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wakes a parked thread.
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    /// Polls `future` to completion on this thread, parking between polls.
    fn block_on<F: Future>(future: F) -> F::Output {
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut future = std::pin::pin!(future);
        loop {
            if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
            std::thread::park();
        }
    }

    #[test]
    fn a_pause_lasts_its_duration() {
        let start = Instant::now();
        block_on(sleep_for(Duration::from_millis(60)));
        assert!(start.elapsed() >= Duration::from_millis(60));
    }

    /// Sixth outside attack (A5-F3): many pauses at once share the one timer thread (a thread each
    /// made 200 more here), and none ends before its time.
    #[test]
    fn many_pauses_share_one_thread() {
        let threads_before = thread_count();
        let (started, go) = (
            Arc::new(std::sync::Barrier::new(201)),
            Arc::new(std::sync::Barrier::new(201)),
        );
        let waiters: Vec<_> = (0..200u64)
            .map(|i| {
                let (started, go) = (Arc::clone(&started), Arc::clone(&go));
                let ms = 300 + (i * 37) % 200;
                std::thread::spawn(move || {
                    let begin = Instant::now();
                    let mut pause = Box::pin(sleep_for(Duration::from_millis(ms)));
                    let mut cx = Context::from_waker(Waker::noop());
                    let first = pause.as_mut().poll(&mut cx);
                    started.wait();
                    go.wait();
                    if first.is_pending() {
                        block_on(pause);
                    }
                    begin.elapsed() >= Duration::from_millis(ms)
                })
            })
            .collect();
        // Every pause is registered and none has ended: count the threads now.
        started.wait();
        let during = thread_count();
        go.wait();
        if let (Some(before), Some(during)) = (threads_before, during) {
            assert!(
                during < before + 200 + 100,
                "{before} then {during} threads"
            );
        }
        for waiter in waiters {
            assert!(waiter.join().expect("a waiter"), "a pause ended early");
        }
    }

    /// A pause dropped before its end leaves nothing in the timer.
    #[test]
    fn a_dropped_pause_is_forgotten() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut pause = Box::pin(sleep_for(Duration::from_secs(3600)));
        assert!(pause.as_mut().poll(&mut cx).is_pending());
        let timer = timer().expect("the timer");
        let far = || {
            let later = Instant::now() + Duration::from_secs(3000);
            lock(&timer.pending).slots.keys().any(|(at, _)| *at > later)
        };
        assert!(far());
        drop(pause);
        assert!(!far());
    }

    /// A pause shorter than every pending one ends on time: the timer thread, asleep until the earliest
    /// deadline it knew (an hour here), is woken to wait for the new one instead. Run in a child
    /// process, whose timer no other test's pauses wake.
    #[test]
    fn a_shorter_pause_registered_later_ends_on_time() {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                "replay::timer::tests::shorter_pause_child",
                "--nocapture",
            ])
            .env("TWILIO_WEBHOOK_TIMER_CHILD", "1")
            .output()
            .expect("the child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("RESULT: on time"),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The child of [`a_shorter_pause_registered_later_ends_on_time`].
    #[test]
    fn shorter_pause_child() {
        if std::env::var_os("TWILIO_WEBHOOK_TIMER_CHILD").is_none() {
            return;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut long = Box::pin(sleep_for(Duration::from_secs(3600)));
        assert!(long.as_mut().poll(&mut cx).is_pending());
        // The timer thread now waits for the hour's end.
        std::thread::sleep(Duration::from_millis(200));
        let begin = Instant::now();
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut short = Box::pin(sleep_for(Duration::from_millis(100)));
        while short.as_mut().poll(&mut cx).is_pending() {
            assert!(
                begin.elapsed() < Duration::from_secs(5),
                "a 100 ms pause registered after an hour's did not end in 5 s"
            );
            std::thread::park_timeout(Duration::from_millis(50));
        }
        assert!(begin.elapsed() >= Duration::from_millis(100));
        drop(long);
        println!("RESULT: on time");
    }

    /// Two pauses never share a key, whatever the clock's resolution: a key taken twice would replace
    /// the first pause's slot, and that pause would never end.
    #[test]
    fn pauses_registered_together_have_distinct_keys() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut pauses: Vec<_> = (0..3)
            .map(|_| {
                Box::pin(Sleep {
                    duration: Duration::from_secs(3600),
                    registered: None,
                })
            })
            .collect();
        let mut keys = Vec::new();
        for pause in &mut pauses {
            assert!(pause.as_mut().poll(&mut cx).is_pending());
            keys.extend(pause.registered.as_ref().map(|(key, _)| key.1));
        }
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), 3, "{keys:?}");
    }

    /// The threads of this process, from `/proc` where there is one.
    fn thread_count() -> Option<usize> {
        std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
    }
}
