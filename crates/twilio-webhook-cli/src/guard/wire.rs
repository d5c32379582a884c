//! A connection with its read buffer (the client's, or one to the upstream), and a body read from it
//! by its framing. (The crate's `wire` module is another thing: the test client `send` uses.)

use std::io;

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use super::h1::{Chunked, Framing, Step};

/// How much a read asks for at least.
const READ_SIZE: usize = 16 * 1024;

/// A TCP connection and the bytes read from it but not yet used.
#[derive(Debug)]
pub(crate) struct Wire {
    pub(crate) stream: TcpStream,
    buf: Vec<u8>,
    /// Where the unused bytes start in `buf`.
    pos: usize,
}

impl Wire {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Wire {
            stream,
            buf: Vec::with_capacity(READ_SIZE),
            pos: 0,
        }
    }

    /// The bytes read and not yet used.
    pub(crate) fn buffered(&self) -> &[u8] {
        self.buf.get(self.pos..).unwrap_or_default()
    }

    /// Marks the first `n` buffered bytes as used.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Reads more bytes after those buffered; the number read (0 at the end of the stream).
    pub(crate) async fn fill(&mut self) -> io::Result<usize> {
        if self.pos > 0 && self.buf.capacity() - self.buf.len() < READ_SIZE / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.reserve(READ_SIZE);
        self.stream.read_buf(&mut self.buf).await
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
        Body { state }
    }

    /// Whether the body has been read to its end.
    pub(crate) fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Appends to `out` the body bytes buffered in `wire` (reading once from it when none are),
    /// without framing; `Ok(false)` once the body has ended. A connection that ends before the body
    /// does is an `UnexpectedEof`, a broken chunked coding `InvalidData`.
    pub(crate) async fn read(&mut self, wire: &mut Wire, out: &mut Vec<u8>) -> io::Result<bool> {
        loop {
            if self.take(wire, out)? {
                return Ok(!self.is_done());
            }
            if self.is_done() {
                return Ok(false);
            }
            if wire.fill().await? == 0 {
                return match self.state {
                    State::UntilClose => {
                        self.state = State::Done;
                        Ok(false)
                    }
                    _ => Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the connection ended before the body",
                    )),
                };
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
}
