//! The memory replay store's footprint at its bound, measured: live heap bytes with 100,000 keys, and
//! no growth under a flood ten times that size. Its own test binary, so no other test's allocations
//! are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

use twilio_webhook::{MemoryStore, ReplayKey, ReplayStore, Seen};

struct Counting;

thread_local! {
    // Per thread: the test harness's own threads allocate too, and must not be counted.
    static LIVE: Cell<isize> = const { Cell::new(0) };
}

fn live() -> isize {
    LIVE.with(Cell::get)
}

fn add(bytes: isize) {
    // `try_with`: the thread-local may already be gone while a thread is exiting.
    let _ = LIVE.try_with(|c| c.set(c.get() + bytes));
}

// A counting wrapper over the system allocator, as in no_alloc.rs; the library forbids unsafe code.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        add(-(layout.size() as isize));
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size as isize - layout.size() as isize);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn ready<F: Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("the memory store never waits"),
    }
}

#[test]
fn the_memory_store_is_bounded_in_entries_and_bytes() {
    let keys: Vec<ReplayKey> = (0..1_000_000u32)
        .map(|n| ReplayKey::new("primary", &n.to_string()))
        .collect();
    let window = Duration::from_secs(300);
    let before = live();
    let store = MemoryStore::new();
    let bound = store.max_entries();
    assert_eq!(bound, 100_000);
    for key in &keys[..bound] {
        assert_eq!(ready(store.check_and_mark(key, window)), Ok(Seen::First));
    }
    let at_bound = live() - before;
    // Floods of ten times the bound in distinct keys: evicted and counted. The hash map may double
    // once (its deletion markers fill it, and it is over half full); after that it rehashes in place.
    let flood = |keys: &[ReplayKey]| {
        let mut peak = 0;
        for key in keys {
            assert_eq!(ready(store.check_and_mark(key, window)), Ok(Seen::First));
            peak = peak.max(live() - before);
        }
        peak
    };
    let first_peak = flood(&keys[bound..]);
    let settled = live() - before;
    let second_peak = flood(&keys[..]);
    assert_eq!(store.len(), bound);
    assert_eq!(store.evictions(), 1_900_000);
    let per_key = at_bound as f64 / bound as f64;
    assert!(per_key <= 96.0, "{per_key} bytes a key");
    assert!(
        first_peak <= 2 * at_bound,
        "more than one doubling: {at_bound} -> {first_peak}"
    );
    assert!(
        second_peak <= first_peak,
        "grew again under a second flood: {first_peak} -> {second_peak}"
    );
    drop(store);
    assert!(live() - before <= 0, "everything is freed with the store");
    println!(
        "memory store: bound {bound} keys; {at_bound} bytes live at the bound ({per_key:.1} bytes a key); \
         first flood of {} keys: peak {first_peak}, settled {settled}; second flood: peak {second_peak}",
        keys.len() - bound
    );
}
