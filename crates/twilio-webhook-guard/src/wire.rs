//! A connection with its read buffer (the client's, or one to the upstream), and a body read from it
//! by its framing. (The crate's `wire` module is another thing: the test client `send` uses.)

use std::future::Future as _;
use std::io;
use std::pin::pin;
use std::task::{Context, Poll, ready};

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use super::h1::{self, Chunked, Framing, HeadScan, RequestHead, Step};

/// How much a read asks for at least.
const READ_SIZE: usize = 16 * 1024;

/// The most a buffer keeps between requests: one that grew past it for a large request is given
/// back, so that an idle connection holds no more than this per buffer.
pub(crate) const KEPT_CAPACITY: usize = 64 * 1024;

/// Empties `bufs`, and gives back the memory of each one that grew past [`KEPT_CAPACITY`].
pub(crate) fn shrink<const N: usize>(bufs: [&mut Vec<u8>; N]) {
    for buf in bufs {
        buf.clear();
        if buf.capacity() > KEPT_CAPACITY {
            buf.shrink_to(READ_SIZE);
        }
    }
}

/// A TCP connection and the bytes read from it but not yet used.
#[derive(Debug)]
pub(crate) struct Wire {
    pub(crate) stream: TcpStream,
    buf: Vec<u8>,
    /// Where the unused bytes start in `buf`.
    pos: usize,
    /// How far the next request head has been scanned.
    head: HeadScan,
}

impl Wire {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Wire {
            stream,
            buf: Vec::with_capacity(READ_SIZE),
            pos: 0,
            head: HeadScan::default(),
        }
    }

    /// The bytes read and not yet used.
    pub(crate) fn buffered(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Marks the first `n` buffered bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        self.head = HeadScan::default();
        if self.pos == self.buf.len() {
            self.pos = 0;
            shrink([&mut self.buf]);
        }
    }

    /// The request head at the start of the buffered bytes, consumed: `Ok(None)` while it has not
    /// ended. Only the bytes read since the last call are scanned for its end.
    pub(crate) fn request_head(&mut self) -> Result<Option<RequestHead>, h1::Bad> {
        let buffered = self.buf.get(self.pos..).unwrap_or_default();
        let Some((head, len)) = self.head.parse(buffered)? else {
            return Ok(None);
        };
        self.consume(len);
        Ok(Some(head))
    }

    /// Reads what is already in the socket into the buffer, now: a syscall whatever the runtime last
    /// heard of the socket (under load its readiness can lag behind bytes the kernel holds). A
    /// connection about to be closed for waiting too long is closed only if it truly has nothing
    /// (fourth outside attack: a genuine request already sent was closed unread). `Ok(0)`: the peer
    /// closed; `Err` of kind `WouldBlock`: nothing there.
    pub(crate) fn read_now(&mut self) -> io::Result<usize> {
        let mut chunk = [0u8; 4096];
        let n = recv_now(&self.stream, &mut chunk, false)?;
        self.buf
            .extend_from_slice(chunk.get(..n).unwrap_or_default());
        Ok(n)
    }

    /// Whether bytes are already in the socket, unread (see [`read_now`](Self::read_now)).
    pub(crate) fn has_bytes_now(&self) -> bool {
        let mut one = [0u8; 1];
        matches!(recv_now(&self.stream, &mut one, true), Ok(n) if n > 0)
    }

    /// The capacity of the read buffer (for the tests).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Reads more bytes after those buffered; the number read (0 at the end of the stream).
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        core::future::poll_fn(|cx| self.poll_fill(cx)).await
    }

    /// [`fill`](Self::fill), polled: a read of the stream, dropped when pending (a read is
    /// cancel-safe), so that a poll-based reader ([`ClientBody`](super::conn::ClientBody)) can use it.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.pos > 0 && self.buf.capacity() - self.buf.len() < READ_SIZE / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(READ_SIZE);
        pin!(self.stream.read_buf(&mut self.buf)).poll(cx)
    }

    /// Whether an idle connection is still usable: nothing to read and not closed (a peer that
    /// closed it, or sent bytes nobody asked for, makes it unusable).
    pub(crate) fn is_idle_and_open(&self) -> bool {
        if !self.buffered().is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// A body being read by its framing.
#[derive(Debug)]
pub(crate) struct Body {
    state: State,
    /// How many more bytes of chunked framing (sizes, extensions, CRLFs, trailers) may be read.
    framing_left: usize,
}

#[derive(Debug)]
enum State {
    Length(u64),
    Chunked(Chunked),
    UntilClose,
    Done,
}

/// A body that is not valid chunked coding, or a connection that ended before its body did.
fn broken(why: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

impl Body {
    pub(crate) fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunked::Size),
            Framing::UntilClose => State::UntilClose,
        };
        Body {
            state,
            framing_left: usize::MAX,
        }
    }

    /// A request's body, whose data the caller bounds by `limit`: its chunked framing is bounded
    /// too, by the same number of bytes (by [`MAX_HEAD`](h1::MAX_HEAD) if that is more), so one
    /// body never takes more than about twice the limit to read.
    pub(crate) fn request(framing: Framing, limit: usize) -> Self {
        Body {
            framing_left: limit.max(h1::MAX_HEAD),
            ..Body::new(framing)
        }
    }

    /// Whether the body has been read to its end.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Appends to `out` the body bytes buffered in `wire` (reading once from it when none are),
    /// without framing; `Ok(false)` once the body has ended. A connection that ends before the body
    /// does is an `UnexpectedEof`, a broken chunked coding `InvalidData`.
    pub(crate) async fn read(&mut self, wire: &mut Wire, out: &mut Vec<u8>) -> io::Result<bool> {
        core::future::poll_fn(|cx| self.poll_read(wire, out, cx)).await
    }

    /// [`read`](Self::read), polled.
    pub(crate) fn poll_read(
        &mut self,
        wire: &mut Wire,
        out: &mut Vec<u8>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<bool>> {
        loop {
            if self.take(wire, out)? {
                return Poll::Ready(Ok(!self.is_done()));
            }
            if self.is_done() {
                return Poll::Ready(Ok(false));
            }
            if ready!(wire.poll_fill(cx))? == 0 {
                return Poll::Ready(match self.state {
                    State::UntilClose => {
                        self.state = State::Done;
                        Ok(false)
                    }
                    _ => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection ended before the body",
                    )),
                });
            }
        }
    }

    /// Takes what `wire` has buffered of the body into `out`: whether any data or the end was found.
    fn take(&mut self, wire: &mut Wire, out: &mut Vec<u8>) -> io::Result<bool> {
        let start = out.len();
        loop {
            let input = wire.buffered();
            match &mut self.state {
                State::Done => return Ok(true),
                State::Length(left) => {
                    if input.is_empty() {
                        return Ok(out.len() > start);
                    }
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    out.extend_from_slice(input.get(..n).unwrap_or_default());
                    *left -= n as u64;
                    if *left == 0 {
                        self.state = State::Done;
                    }
                    wire.consume(n);
                }
                State::UntilClose => {
                    if input.is_empty() {
                        return Ok(out.len() > start);
                    }
                    let n = input.len();
                    out.extend_from_slice(input);
                    wire.consume(n);
                }
                State::Chunked(chunked) => match chunked.step(input).map_err(broken)? {
                    Step::Framing(n) => {
                        self.framing_left = self
                            .framing_left
                            .checked_sub(n)
                            .ok_or_else(|| broken("chunked framing over its bound"))?;
                        wire.consume(n);
                        if *chunked == Chunked::Done {
                            self.state = State::Done;
                        }
                    }
                    Step::Data(n) => {
                        out.extend_from_slice(input.get(..n).unwrap_or_default());
                        wire.consume(n);
                    }
                    Step::More => return Ok(out.len() > start),
                },
            }
        }
    }
}

/// A `recv` that never waits (`MSG_DONTWAIT`, and `MSG_PEEK` when `peek`): bytes already in the
/// socket, `Ok(0)` at its end, `WouldBlock` when there are none.
#[cfg(unix)]
fn recv_now(stream: &TcpStream, buf: &mut [u8], peek: bool) -> io::Result<usize> {
    use rustix::net::RecvFlags;
    let flags = if peek {
        RecvFlags::DONTWAIT | RecvFlags::PEEK
    } else {
        RecvFlags::DONTWAIT
    };
    let (n, _) = rustix::net::recv(stream, buf, flags)?;
    Ok(n)
}

/// Elsewhere nothing is read past the runtime's readiness.
#[cfg(not(unix))]
fn recv_now(_: &TcpStream, _: &mut [u8], _: bool) -> io::Result<usize> {
    Err(io::ErrorKind::WouldBlock.into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use tokio::io::AsyncWriteExt as _;

    use super::*;

    #[tokio::test]
    async fn a_buffer_that_is_never_emptied_stays_bounded() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut writer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let mut wire = Wire::new(listener.accept().await.unwrap().0);
        let sent = tokio::spawn(async move {
            for _ in 0..256 {
                writer.write_all(&[b'x'; 4096]).await.unwrap();
            }
        });
        // Pipelined requests: each read leaves a few bytes for the next one.
        let mut read = 0;
        while read < 256 * 4096 - 64 {
            read += wire.fill().await.unwrap();
            let used = wire.buffered().len().saturating_sub(10);
            wire.consume(used);
            assert!(
                wire.buf.capacity() <= 4 * READ_SIZE,
                "{}",
                wire.buf.capacity()
            );
        }
        sent.await.unwrap();
    }

    /// A connected pair: what is written to the first is read by the second.
    async fn pair() -> (TcpStream, Wire) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let writer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        (writer, Wire::new(listener.accept().await.unwrap().0))
    }

    /// Fourth outside attack: under load the runtime's readiness lagged behind a genuine request the
    /// kernel already held, and the connection was closed unread as idle. `read_now` reads what is
    /// there without the runtime; `has_bytes_now` sees it without reading.
    #[cfg(unix)]
    #[tokio::test]
    async fn bytes_in_the_socket_are_read_now_whatever_the_runtime_heard() {
        let (mut writer, mut wire) = pair().await;
        let nothing = wire.read_now().map_err(|e| e.kind());
        assert_eq!(nothing, Err(io::ErrorKind::WouldBlock));
        assert!(!wire.has_bytes_now());
        writer.write_all(b"POST /sms HTTP/1.1\r\n").await.unwrap();
        writer.flush().await.unwrap();
        // Loopback delivers at once; the wire itself was never polled.
        let mut tries = 0;
        while !wire.has_bytes_now() && tries < 100 {
            std::thread::sleep(std::time::Duration::from_millis(10));
            tries += 1;
        }
        assert!(wire.has_bytes_now(), "the bytes are seen, not taken");
        assert_eq!(wire.read_now().unwrap(), 20);
        assert_eq!(wire.buffered(), b"POST /sms HTTP/1.1\r\n");
        assert!(!wire.has_bytes_now());
        drop(writer);
        let mut tries = 0;
        while wire.read_now().map_err(|e| e.kind()) == Err(io::ErrorKind::WouldBlock) && tries < 100
        {
            std::thread::sleep(std::time::Duration::from_millis(10));
            tries += 1;
        }
        assert_eq!(wire.read_now().unwrap(), 0, "the end of the stream");
    }

    #[tokio::test]
    async fn a_buffer_grown_for_a_large_request_is_given_back_once_used() {
        let (mut writer, mut wire) = pair().await;
        let sent = tokio::spawn(async move {
            writer.write_all(&vec![b'x'; 1024 * 1024]).await.unwrap();
            writer
        });
        // Nothing used until it has all arrived (a pipelined burst, a slow consumer).
        while wire.buffered().len() < 1024 * 1024 {
            wire.fill().await.unwrap();
        }
        assert!(wire.capacity() >= 1024 * 1024);
        wire.consume(1024 * 1024 - 1);
        assert!(wire.capacity() >= 1024 * 1024, "kept while bytes are left");
        wire.consume(1);
        assert!(wire.capacity() <= KEPT_CAPACITY, "{}", wire.capacity());
        drop(sent.await.unwrap());
        // The connection's own buffers (a body, an answer being written) likewise.
        let (mut body, mut out, mut small) = (
            vec![0u8; 1024 * 1024],
            Vec::with_capacity(KEPT_CAPACITY + 1),
            Vec::with_capacity(KEPT_CAPACITY),
        );
        small.push(1);
        shrink([&mut body, &mut out, &mut small]);
        assert!(body.capacity() <= KEPT_CAPACITY && out.capacity() <= KEPT_CAPACITY);
        assert!(body.is_empty() && small.is_empty());
        assert_eq!(
            small.capacity(),
            KEPT_CAPACITY,
            "a small one is kept as it is"
        );
    }

    #[tokio::test]
    async fn a_request_bodys_chunked_framing_is_bounded_by_the_limit() {
        // 100 bytes of data, each in a chunk of its own with a 1000-byte extension: 100 KiB of
        // framing for a body well under the limit.
        let ext = "a".repeat(1000);
        let mut bytes = Vec::new();
        for _ in 0..100 {
            bytes.extend(format!("1;{ext}\r\nx\r\n").into_bytes());
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
        for (limit, taken) in [(h1::MAX_HEAD, false), (2 * bytes.len(), true)] {
            let (mut writer, mut wire) = pair().await;
            writer.write_all(&bytes).await.unwrap();
            let mut body = Body::request(Framing::Chunked, limit);
            let mut data = Vec::new();
            let result = loop {
                match body.read(&mut wire, &mut data).await {
                    Ok(true) => {}
                    other => break other,
                }
            };
            if taken {
                assert!(result.is_ok() && data.len() == 100, "{result:?}");
            } else {
                let err = result.unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::InvalidData);
                assert_eq!(err.to_string(), "chunked framing over its bound");
            }
        }
        // An answer's framing is not bounded by a request's limit.
        let (mut writer, mut wire) = pair().await;
        writer.write_all(&bytes).await.unwrap();
        let mut body = Body::new(Framing::Chunked);
        let mut data = Vec::new();
        while body.read(&mut wire, &mut data).await.unwrap() {}
        assert_eq!(data.len(), 100);
    }
}
