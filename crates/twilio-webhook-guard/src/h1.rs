//! HTTP/1.1 as the guard reads and writes it, on both sides: the heads tokenised by `httparse` (the
//! parser hyper uses), the framing decided here, strictly. Anything a server and the app behind it
//! could read two ways is refused, never guessed at: `Transfer-Encoding` with `Content-Length`, a
//! transfer coding other than `chunked` alone, a length that is not plain digits or given twice, a
//! chunk size that is not plain hex, a chunk extension or trailer line outside RFC 9112's grammar, a
//! line ended by a bare LF (in the head too, where `httparse` would take it), obsolete line folding.
//! A request has one `Host` (none allowed in HTTP/1.0 only: RFC 9112 §3.2, `bad_host`) and at most
//! one `Content-Type`, `X-Twilio-Signature` and signature settings (`duplicate_header`): the core
//! reads the first, and the app must not find another.
//!
//! Work and memory are bounded by bytes: a head's end is looked for in the bytes read since the last
//! read only ([`HeadScan`]), and a request body's chunked framing by the body limit
//! (`wire::Body::request`).
//!
//! The guard always forwards a request body with a `Content-Length` (it has read it whole), so what
//! the upstream receives has one framing only, the one the guard verified.

use std::mem::MaybeUninit;

use bytes::Bytes;

use http::header::{
    CONNECTION, CONTENT_LENGTH, EXPECT, HOST, HeaderMap, HeaderName, HeaderValue, TRANSFER_ENCODING,
};
use http::{Method, StatusCode};

/// The most header fields in a head (as hyper's default).
pub(crate) const MAX_HEADERS: usize = 100;
/// How many fields the guard may add to an answer it relays: `Date`, its framing
/// (`Content-Length` or `Transfer-Encoding`) and `Connection`.
const ANSWER_ADDED_FIELDS: usize = 3;
/// The longest head, in bytes.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// How a body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Exactly this many bytes (0 for none).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Until the connection closes (an answer only).
    UntilClose,
}

/// Why a request head is refused: the status it gets, and the code named in its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bad(pub(crate) StatusCode, pub(crate) &'static str);

impl Bad {
    const fn new(status: StatusCode, code: &'static str) -> Self {
        Bad(status, code)
    }
}

const MALFORMED: Bad = Bad::new(StatusCode::BAD_REQUEST, "malformed_request");
const AMBIGUOUS_LENGTH: Bad = Bad::new(StatusCode::BAD_REQUEST, "ambiguous_length");
const TOO_LARGE_HEAD: Bad = Bad::new(
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    "head_too_large",
);
const CODING: Bad = Bad::new(StatusCode::NOT_IMPLEMENTED, "unsupported_transfer_coding");
const VERSION: Bad = Bad::new(
    StatusCode::HTTP_VERSION_NOT_SUPPORTED,
    "unsupported_version",
);
const BAD_HOST: Bad = Bad::new(StatusCode::BAD_REQUEST, "bad_host");
const DUPLICATE: Bad = Bad::new(StatusCode::BAD_REQUEST, "duplicate_header");

/// A request head, parsed.
#[derive(Debug)]
pub(crate) struct RequestHead {
    pub(crate) method: Method,
    /// The request target as sent.
    pub(crate) target: String,
    /// HTTP/1.0 (else 1.1).
    pub(crate) http10: bool,
    pub(crate) headers: HeaderMap,
    pub(crate) framing: Framing,
    /// Whether the client keeps the connection after this exchange.
    pub(crate) keep_alive: bool,
    /// `Expect: 100-continue` (HTTP/1.1): the client waits for a go-ahead before its body.
    pub(crate) expects_continue: bool,
}

/// Parses a request head at the start of `buf`: `Ok(None)` when more bytes are needed, else the head
/// and its length in bytes.
pub(crate) fn parse_request(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, Bad> {
    // Left uninitialised until parsed: zeroing 100 fields costs more than parsing a small head.
    let mut fields = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Ok(None),
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            return Err(TOO_LARGE_HEAD);
        }
        Err(httparse::Error::Version) => return Err(VERSION),
        Err(_) => return Err(MALFORMED),
    };
    if len > MAX_HEAD {
        return Err(TOO_LARGE_HEAD);
    }
    if has_bare_lf(buf.get(..len).unwrap_or_default()) {
        return Err(MALFORMED);
    }
    let http10 = match req.version {
        Some(1) => false,
        Some(0) => true,
        _ => return Err(VERSION),
    };
    let method = req
        .method
        .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
        .ok_or(MALFORMED)?;
    let target = req.path.ok_or(MALFORMED)?.to_string();
    let headers = header_map(buf, len, req.headers).ok_or(MALFORMED)?;
    let framing = request_framing(&headers, http10)?;
    // RFC 9112 §3.2: exactly one `Host` in HTTP/1.1, at most one in HTTP/1.0.
    match headers.get_all(HOST).iter().count() {
        0 if http10 => {}
        1 => {}
        _ => return Err(BAD_HOST),
    }
    if twilio_webhook::SINGLE_FIELDS
        .iter()
        .any(|name| headers.get_all(*name).iter().nth(1).is_some())
    {
        return Err(DUPLICATE);
    }
    let tokens = connection_tokens(values(&headers, CONNECTION));
    let keep_alive = if http10 {
        tokens.keep_alive && !tokens.close
    } else {
        !tokens.close
    };
    let expects_continue = !http10
        && headers
            .get(EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let head = RequestHead {
        method,
        target,
        http10,
        headers,
        framing,
        keep_alive,
        expects_continue,
    };
    Ok(Some((head, len)))
}

/// Whether a line of `head` ends in a bare LF (one without its CR), which `httparse` takes and
/// some servers do not: refused, so the head has one reading only.
fn has_bare_lf(head: &[u8]) -> bool {
    let mut prev = 0u8;
    head.iter().any(|&b| {
        let bare = b == b'\n' && prev != b'\r';
        prev = b;
        bare
    })
}

/// The fields as a header map (`None` if a name or value is not one). The values share one copy of
/// the head (`buf`'s first `len` bytes): a value costs no allocation of its own.
fn header_map(buf: &[u8], len: usize, fields: &[httparse::Header<'_>]) -> Option<HeaderMap> {
    let head = Bytes::copy_from_slice(buf.get(..len)?);
    // Room for the two the guard may add (`Host`, the verified header).
    let mut headers = HeaderMap::with_capacity(fields.len() + 2);
    for field in fields {
        let name = HeaderName::from_bytes(field.name.as_bytes()).ok()?;
        let start = (field.value.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)?;
        let end = start.checked_add(field.value.len())?;
        if end > len {
            return None;
        }
        let value = HeaderValue::from_maybe_shared(head.slice(start..end)).ok()?;
        headers.append(name, value);
    }
    Some(headers)
}

/// A request's framing (RFC 9112 §6), refusing whatever is ambiguous.
fn request_framing(headers: &HeaderMap, http10: bool) -> Result<Framing, Bad> {
    let has_coding = headers.contains_key(TRANSFER_ENCODING);
    if has_coding {
        if http10 {
            return Err(AMBIGUOUS_LENGTH);
        }
        if headers.contains_key(CONTENT_LENGTH) {
            return Err(AMBIGUOUS_LENGTH);
        }
        return match coding(values(headers, TRANSFER_ENCODING)) {
            Coding::Chunked => Ok(Framing::Chunked),
            Coding::Other => Err(CODING),
        };
    }
    match content_length(values(headers, CONTENT_LENGTH)) {
        Ok(Some(n)) => Ok(Framing::Length(n)),
        Ok(None) => Ok(Framing::Length(0)),
        Err(()) => Err(AMBIGUOUS_LENGTH),
    }
}

enum Coding {
    /// `chunked`, alone.
    Chunked,
    Other,
}

/// The values of `name` in `headers`, as bytes.
fn values<'a>(headers: &'a HeaderMap, name: HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
    headers.get_all(name).into_iter().map(HeaderValue::as_bytes)
}

/// The transfer codings: `chunked` alone is the one the guard takes (in requests) or follows (in
/// answers); any other list is `Other`.
fn coding<'a>(values: impl Iterator<Item = &'a [u8]>) -> Coding {
    let mut codings = values
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|c| !c.is_empty());
    match (codings.next(), codings.next()) {
        (Some(only), None) if only.eq_ignore_ascii_case(b"chunked") => Coding::Chunked,
        _ => Coding::Other,
    }
}

/// The `Content-Length`: `Ok(None)` when absent; an error unless there is exactly one, of 1 to 18
/// plain digits.
fn content_length<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Result<Option<u64>, ()> {
    let Some(digits) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    if digits.is_empty() || digits.len() > 18 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(());
    }
    Ok(Some(
        digits
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')),
    ))
}

#[derive(Default)]
struct Tokens {
    close: bool,
    keep_alive: bool,
}

/// Whether `Connection` (its `values`) says `close` or `keep-alive`.
fn connection_tokens<'a>(values: impl Iterator<Item = &'a [u8]>) -> Tokens {
    let mut tokens = Tokens::default();
    for token in values
        .flat_map(|v| v.split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
    {
        tokens.close |= token.eq_ignore_ascii_case(b"close");
        tokens.keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
    }
    tokens
}

/// An answer head from the upstream, parsed.
#[derive(Debug)]
pub(crate) struct ResponseHead {
    pub(crate) status: StatusCode,
    pub(crate) framing: Framing,
    /// Whether the upstream keeps the connection after this answer.
    pub(crate) keep_alive: bool,
    /// An answer without a body whatever its headers say (to `HEAD`, `1xx`, `204`, `304`). Its
    /// `Content-Length` is relayed as it is in an answer to `HEAD` only: a `1xx`, `204` or `304`
    /// goes without one, so that no client waits for a body that never comes.
    pub(crate) bodiless: bool,
    /// Whether it has a `Date`.
    pub(crate) has_date: bool,
}

/// Parses an answer at the start of `buf` to a request with `method`: `Ok(None)` when more bytes
/// are needed; `Err` for an answer that cannot be relayed safely. The header lines to relay go to
/// `lines` (`name: value` and CRLF each): all but the hop-by-hop ones, those `Connection` names, and
/// the framing, which the guard sets itself.
pub(crate) fn parse_response(
    buf: &[u8],
    method: &Method,
    lines: &mut Vec<u8>,
) -> Result<Option<(ResponseHead, usize)>, &'static str> {
    let mut fields = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut res = httparse::Response::new(&mut []);
    let config = httparse::ParserConfig::default();
    let len = match config.parse_response_with_uninit_headers(&mut res, buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Ok(None),
        _ => return Err("a malformed answer"),
    };
    let status = res
        .code
        .and_then(|c| StatusCode::from_u16(c).ok())
        .ok_or("a malformed status")?;
    let http10 = res.version == Some(0);
    let fields: &[httparse::Header<'_>] = res.headers;
    let named = |name: &'static str| {
        fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value)
    };
    let no_content = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let bodiless = method == Method::HEAD || no_content;
    let framing = if bodiless {
        Framing::Length(0)
    } else if named("transfer-encoding").next().is_some() {
        match coding(named("transfer-encoding")) {
            Coding::Chunked if !http10 => Framing::Chunked,
            _ => return Err("an unsupported transfer coding"),
        }
    } else {
        match content_length(named("content-length")) {
            Ok(Some(n)) => Framing::Length(n),
            Ok(None) => Framing::UntilClose,
            Err(()) => return Err("an ambiguous Content-Length"),
        }
    };
    let tokens = connection_tokens(named("connection"));
    // A `204` or `304` that announces a body may send one: the connection is not used again.
    let announces_body = named("transfer-encoding").next().is_some()
        || named("content-length").any(|v| v.iter().any(|&d| d != b'0'));
    let keep_alive = framing != Framing::UntilClose
        && !tokens.close
        && (!http10 || tokens.keep_alive)
        && !(no_content && announces_body);
    lines.clear();
    let mut has_date = false;
    for field in fields {
        let name = field.name.as_bytes();
        // The guard frames what it relays; only an answer to `HEAD` keeps the length it announces
        // for a `GET` (RFC 9110 §8.6: a `1xx`, `204` or `304` has none to give).
        let framed =
            name.eq_ignore_ascii_case(b"content-length") && (method != Method::HEAD || no_content);
        if framed || is_hop_by_hop(name, named("connection")) {
            continue;
        }
        if HeaderName::from_bytes(name).is_err() || HeaderValue::from_bytes(field.value).is_err() {
            return Err("a malformed header");
        }
        has_date |= name.eq_ignore_ascii_case(b"date");
        push_line(lines, name, field.value);
    }
    let head = ResponseHead {
        status,
        framing,
        keep_alive,
        bodiless,
        has_date,
    };
    Ok(Some((head, len)))
}

/// Whether an answer whose relayed header `lines` are these ([`parse_response`]'s) is relayed within
/// the field limit that the guard and hyper read a head with ([`MAX_HEADERS`]), with the fields the
/// guard adds: else a client could not read it.
pub(crate) fn fits_when_relayed(lines: &[u8]) -> bool {
    let relayed = lines.iter().filter(|&&b| b == b'\n').count();
    relayed + ANSWER_ADDED_FIELDS <= MAX_HEADERS
}

/// The hop-by-hop header names (RFC 9110 §7.6.1, and `Keep-Alive`, `Proxy-Authenticate`,
/// `Proxy-Authorization`, `TE`, `Trailer`, `Upgrade` as proxies drop them).
pub(crate) const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a header is hop-by-hop: one of [`HOP_BY_HOP`], or named by `connection` (the values of the
/// `Connection` headers).
pub(crate) fn is_hop_by_hop<'a>(name: &[u8], connection: impl Iterator<Item = &'a [u8]>) -> bool {
    HOP_BY_HOP
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h.as_bytes()))
        || connection
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|token| name.eq_ignore_ascii_case(token.trim_ascii()))
}

/// Appends the line `name: value` and CRLF.
pub(crate) fn push_line(lines: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    lines.extend_from_slice(name);
    lines.extend_from_slice(b": ");
    lines.extend_from_slice(value);
    lines.extend_from_slice(b"\r\n");
}

/// The fields of header `lines` (as [`parse_response`] and [`push_line`] write them).
pub(crate) fn fields(lines: &[u8]) -> impl Iterator<Item = (&str, &[u8])> {
    lines
        .split(|&b| b == b'\n')
        .filter_map(|line| line.strip_suffix(b"\r"))
        .filter_map(|line| {
            let colon = line.iter().position(|&b| b == b':')?;
            let name = std::str::from_utf8(line.get(..colon)?).ok()?;
            Some((name, line.get(colon + 2..).unwrap_or_default()))
        })
}

#[path = "h1_chunked.rs"]
mod chunked;
#[path = "h1_scan.rs"]
mod scan;
#[path = "h1_write.rs"]
mod write;

pub(crate) use chunked::{Chunked, Step};
pub(crate) use scan::HeadScan;
pub(crate) use write::{write_chunk, write_request_head, write_response_head};

#[cfg(test)]
#[path = "h1_tests.rs"]
mod tests;
