//! Heads as the guard writes them: an answer's to the client, a request's to the upstream, each with
//! the framing the guard chose.

use std::fmt::Write as _;

use http::header::{CONTENT_LENGTH, EXPECT, HeaderMap};
use http::{Method, StatusCode};

use super::Framing;

/// Writes an answer's head: the status line (in HTTP/1.0 to an HTTP/1.0 client, as hyper does), the
/// header `lines` (with `has_date` if they hold a
/// `Date`), then the framing (`None`: the lines' own `Content-Length`, for an answer without a body)
/// and the `Connection` header the guard sets itself.
pub(crate) fn write_response_head(
    out: &mut Vec<u8>,
    http10: bool,
    status: StatusCode,
    (lines, has_date): (&[u8], bool),
    framing: Option<Framing>,
    connection: Option<&str>,
) {
    let _ = write!(
        Writer(out),
        "HTTP/1.{} {} {}\r\n",
        u8::from(!http10),
        status.as_str(),
        status.canonical_reason().unwrap_or("")
    );
    out.extend_from_slice(lines);
    if !has_date {
        out.extend_from_slice(b"date: ");
        date::now(out);
        out.extend_from_slice(b"\r\n");
    }
    match framing {
        Some(Framing::Length(n)) => {
            let _ = write!(Writer(out), "content-length: {n}\r\n");
        }
        Some(Framing::Chunked) => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        Some(Framing::UntilClose) | None => {}
    }
    if let Some(connection) = connection {
        let _ = write!(Writer(out), "connection: {connection}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes a request's head for the upstream: `target` after the method, the headers, and the body's
/// length.
pub(crate) fn write_request_head(
    out: &mut Vec<u8>,
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    length: usize,
) {
    out.extend_from_slice(method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        // The length is the body's as read (the body goes with a length, never chunked), and the
        // guard has answered `Expect` itself.
        if name == CONTENT_LENGTH || name == http::header::TRANSFER_ENCODING || name == EXPECT {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if length > 0 || method_expects_body(method) {
        let _ = write!(Writer(out), "content-length: {length}\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// Writes `data` as one chunk of a chunked body (nothing when it is empty), then, when `last`, the
/// last chunk, with no trailers.
pub(crate) fn write_chunk(out: &mut Vec<u8>, data: &[u8], last: bool) {
    if !data.is_empty() {
        let _ = write!(Writer(out), "{:x}\r\n", data.len());
        out.extend_from_slice(data);
        out.extend_from_slice(b"\r\n");
    }
    if last {
        out.extend_from_slice(b"0\r\n\r\n");
    }
}

/// Methods whose requests announce a length even when empty (as hyper does).
fn method_expects_body(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET
            | Method::HEAD
            | Method::DELETE
            | Method::OPTIONS
            | Method::CONNECT
            | Method::TRACE
    )
}

/// `fmt::Write` into bytes.
struct Writer<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The `Date` header's value, formatted once a second per thread.
mod date {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};

    thread_local! {
        static CACHED: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }

    pub(super) fn now(out: &mut Vec<u8>) {
        let now = SystemTime::now();
        let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        CACHED.with_borrow_mut(|(at, text)| {
            if *at != second {
                *at = second;
                *text = httpdate::fmt_http_date(now);
            }
            out.extend_from_slice(text.as_bytes());
        });
    }
}
