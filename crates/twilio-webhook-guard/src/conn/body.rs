//! A request's body as the core's sequence reads it ([`BodyReader`]): straight from the client's
//! connection, unframed as its head says, before a deadline, each chunk charged to the process-wide
//! budget of body bytes before the core buffers it. How much of it is read, and whether it
//! is read at all, is the core's decision (`WebhookVerifier::read_and_verify`, `read_passed`).

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite as _;
use tokio::time::{Instant, Sleep};
use twilio_webhook::{BodyError, BodyReader};

use super::super::memory::Reservation;
use super::super::slots::{Wait, Waiters, Waiting};
use super::super::wire::{Body, Wire};

/// What a client that sent `Expect: 100-continue` waits for before it sends the body.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// The body of the request whose head was just read from `wire`.
pub(crate) struct ClientBody<'c, 'm> {
    wire: &'c mut Wire,
    /// The request's share of the body budget: each chunk is charged to it before it is given to the
    /// core; one that does not fit ends the body (the request is then refused with `503`).
    reserved: &'c mut Reservation<'m>,
    body: Body,
    /// Ends the read: the client time-out from the start of the request.
    deadline: Pin<&'c mut Sleep>,
    /// What is left to write of the go-ahead (`100 Continue`), written before the first read.
    go_ahead: &'static [u8],
    /// The connections waiting for bytes, and when this request's head ended: once a read finds
    /// nothing, the listener may close this one for a new connection (`slots`), and the body ends
    /// as too slow.
    waiters: (&'c Arc<Waiters>, Instant),
    waiting: Option<Wait>,
}

impl<'c, 'm> ClientBody<'c, 'm> {
    /// The body framed by `body`, charged to `reserved`; `expects_continue` when the client waits
    /// for a go-ahead, which is then written when the core first asks for the body (never when it is
    /// refused before, by its declared length), unless the client already sent some of it.
    pub(crate) fn new(
        wire: &'c mut Wire,
        body: Body,
        expects_continue: bool,
        (deadline, waiters): (Pin<&'c mut Sleep>, (&'c Arc<Waiters>, Instant)),
        reserved: &'c mut Reservation<'m>,
    ) -> Self {
        let go_ahead = if expects_continue && wire.buffered().is_empty() && !body.is_done() {
            CONTINUE
        } else {
            &[]
        };
        ClientBody {
            wire,
            reserved,
            body,
            deadline,
            go_ahead,
            waiters,
            waiting: None,
        }
    }

    /// Writes what is left of the go-ahead.
    fn poll_go_ahead(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BodyError>> {
        while !self.go_ahead.is_empty() {
            match Pin::new(&mut self.wire.stream).poll_write(cx, self.go_ahead) {
                Poll::Ready(Ok(n)) if n > 0 => {
                    self.go_ahead = self.go_ahead.get(n..).unwrap_or_default();
                }
                Poll::Ready(_) => return Poll::Ready(Err(BodyError::Unreadable)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl BodyReader for ClientBody<'_, '_> {
    type Chunk = Vec<u8>;

    fn poll_chunk(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Vec<u8>, BodyError>>> {
        let this = &mut *self;
        if this.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(BodyError::TimedOut)));
        }
        // Closed for a new connection while every place is taken: too slow, as at the deadline;
        // unless bytes the runtime has not heard of yet are in the socket, in which case it waits
        // afresh, at the back of the line.
        if this
            .waiting
            .as_mut()
            .is_some_and(|w| w.poll_shed(cx).is_ready())
        {
            this.waiting = None;
            if !this.wire.has_bytes_now() {
                return Poll::Ready(Some(Err(BodyError::TimedOut)));
            }
            this.waiters.1 = tokio::time::Instant::now();
        }
        if let Err(e) = std::task::ready!(this.poll_go_ahead(cx)) {
            return Poll::Ready(Some(Err(e)));
        }
        let mut chunk = Vec::new();
        let read = match this.body.poll_read(this.wire, &mut chunk, cx) {
            Poll::Ready(read) => read,
            Poll::Pending => {
                if this.waiting.is_none() {
                    let (waiters, since) = this.waiters;
                    let mut wait = waiters.wait(Waiting::PartOfABody, since);
                    // Polled once, so that being shed wakes this reader.
                    if wait.poll_shed(cx).is_ready() {
                        return Poll::Ready(Some(Err(BodyError::TimedOut)));
                    }
                    this.waiting = Some(wait);
                }
                return Poll::Pending;
            }
        };
        // Bytes came (or the end): counted afresh at the next read that finds nothing.
        this.waiting = None;
        // Broken chunked coding, or a connection that ended before its body did (a client that
        // half-closed still reads the answer).
        match read {
            Err(_) => Poll::Ready(Some(Err(BodyError::Unreadable))),
            // Over the budget: the chunk goes (it is at most what one read brought), and so does the
            // request (`Reservation::refused`).
            Ok(_) if !chunk.is_empty() && !this.reserved.grow(chunk.len()) => {
                Poll::Ready(Some(Err(BodyError::Unreadable)))
            }
            Ok(_) if !chunk.is_empty() => Poll::Ready(Some(Ok(chunk))),
            Ok(_) => Poll::Ready(None),
        }
    }
}
