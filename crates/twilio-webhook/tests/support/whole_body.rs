//! A body given whole, and a loop that drives a future on this thread: what the delivery tests need
//! without a runtime.

#![allow(dead_code)] // each test binary uses part of it

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use twilio_webhook::{BodyError, BodyReader};

/// A body given whole, in one chunk.
pub struct Whole(pub VecDeque<Vec<u8>>);

impl BodyReader for Whole {
    type Chunk = Vec<u8>;

    fn poll_chunk(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Vec<u8>, BodyError>>> {
        Poll::Ready(self.0.pop_front().map(Ok))
    }
}

/// Drives a future by polling it until it is ready (its waits are timers that poll the clock, or the
/// in-memory store, never pending for long).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
