//! Properties of the guard's HTTP/1.1 code, for the workspace's fuzz targets (`fuzz/`): each function
//! takes arbitrary bytes, runs the guard's own code on them, and panics when a property does not
//! hold. Not a stable API: it exists so that the fuzz targets exercise the code the guard runs, not
//! a copy of it.

// A property that does not hold is a panic: that is what a fuzzer finds.
#![allow(clippy::panic)]

use http::Method;

use crate::conn::relay_framing;
use crate::h1::{self, Chunked, Framing, HeadScan, RequestHead, Step};
use crate::proxy::{VERIFIED, fits_when_forwarded, set_routing, strip_client_headers};
use crate::upstream::Target;

/// Where `data` is cut into pieces as it arrives: at every `step` bytes (at least 1).
fn pieces(len: usize, step: usize) -> impl Iterator<Item = usize> {
    let step = step.max(1);
    (1..=len.div_ceil(step)).map(move |i| (i * step).min(len))
}

/// What a parse of a request head came to, comparable.
fn summary(parsed: &Result<Option<(RequestHead, usize)>, h1::Bad>) -> String {
    format!("{parsed:?}")
}

/// The request-head parser: the head scanned as its bytes arrive (`step` bytes at a time, as the
/// guard reads a client) is the head parsed at once, or the same refusal; a head has a method, a
/// target and one framing, and ends within the bytes and the size limit.
#[doc(hidden)]
pub fn request_head(data: &[u8], step: usize) {
    let at_once = h1::parse_request(data);
    let mut scan = HeadScan::default();
    let mut scanned = Ok(None);
    for end in pieces(data.len(), step) {
        scanned = scan.parse(data.get(..end).unwrap_or_default());
        if !matches!(scanned, Ok(None)) {
            break;
        }
    }
    if let Ok(Some((head, len))) = &scanned {
        assert!(*len <= data.len() && *len <= h1::MAX_HEAD);
        assert!(!head.target.is_empty());
        assert!(!(head.http10 && head.framing == Framing::Chunked));
        assert!(head.framing != Framing::UntilClose);
        // The head the scan found is the one a parse of exactly its bytes finds.
        let again = h1::parse_request(data.get(..*len).unwrap_or_default());
        assert_eq!(summary(&scanned), summary(&again));
    }
    // A head the scan finds is the head a parse of all the bytes finds, and both refuse alike; the
    // scan may refuse a head a parse reads (it is the stricter about what ends a head).
    match (&at_once, &scanned) {
        (_, Ok(Some(_))) | (Err(_), Err(_)) => assert_eq!(summary(&at_once), summary(&scanned)),
        (Ok(Some(_)), Ok(None)) => panic!("the scan missed a head: {at_once:?}"),
        _ => {}
    }
}

/// Decodes a chunked body from `data` fed `step` bytes at a time, as the guard reads it: the data
/// bytes, and how many bytes of `data` the body took (`None` while it has not ended).
fn decode(data: &[u8], step: usize) -> Result<(Vec<u8>, Option<usize>), &'static str> {
    let mut state = Chunked::Size;
    let mut body = Vec::new();
    let mut pos = 0;
    for end in pieces(data.len(), step) {
        while state != Chunked::Done {
            let input = data.get(pos..end).unwrap_or_default();
            match state.step(input)? {
                Step::Framing(n) => pos += n,
                Step::Data(n) => {
                    body.extend_from_slice(input.get(..n).unwrap_or_default());
                    pos += n;
                }
                Step::More => break,
            }
            assert!(pos <= end);
        }
        if state == Chunked::Done {
            return Ok((body, Some(pos)));
        }
    }
    Ok((body, None))
}

/// The chunked decoder: the same body, end and refusals whether the bytes come at once or `step` at
/// a time; and a body written as the guard writes chunks decodes to itself.
#[doc(hidden)]
pub fn chunked(data: &[u8], step: usize) {
    let at_once = decode(data, data.len().max(1));
    let piecewise = decode(data, step);
    match (&at_once, &piecewise) {
        (Ok((a, Some(n))), Ok((b, Some(m)))) => assert!(a == b && n == m),
        (Ok((a, None)), Ok((b, None))) => assert_eq!(a, b),
        (Err(_), Err(_)) => {}
        // A refusal may come only once the bytes it needs have come; a body that ended never is.
        (Ok((_, None)), Err(_)) | (Err(_), Ok((_, None))) => {}
        _ => panic!("at once {at_once:?}, piecewise {piecewise:?}"),
    }
    let mut written = Vec::new();
    for part in data.chunks(step.max(1)) {
        h1::write_chunk(&mut written, part, false);
    }
    h1::write_chunk(&mut written, b"", true);
    assert_eq!(
        decode(&written, step),
        Ok((data.to_vec(), Some(written.len())))
    );
}

/// The method of a request, from a byte.
fn method(byte: u8) -> Method {
    match byte % 4 {
        0 => Method::GET,
        1 => Method::HEAD,
        2 => Method::POST,
        _ => Method::PUT,
    }
}

/// The answer framing: an upstream's answer (`data`, to a request with the method `method_byte`
/// picks) that the guard relays gets a head that a client reads back with the status, the header
/// lines and the framing the guard chose: one framing, and a connection that goes on only when the
/// answer's end is known; its body, relayed in chunks, reads back as itself.
#[doc(hidden)]
pub fn answer(data: &[u8], method_byte: u8, http10: bool, keep_alive: bool) {
    let method = method(method_byte);
    let mut lines = Vec::new();
    let Ok(Some((answer, len))) = h1::parse_response(data, &method, &mut lines) else {
        return;
    };
    assert!(len <= data.len());
    if !h1::fits_when_relayed(&lines) {
        return;
    }
    let (framing, shown, goes_on) = relay_framing(&answer, http10, keep_alive);
    let connection = match (goes_on, http10) {
        (false, _) => Some("close"),
        (true, true) => Some("keep-alive"),
        (true, false) => None,
    };
    let mut out = Vec::new();
    h1::write_response_head(
        &mut out,
        http10,
        answer.status,
        (&lines, answer.has_date),
        shown,
        connection,
    );
    let mut lines_again = Vec::new();
    let (again, end) = match h1::parse_response(&out, &method, &mut lines_again) {
        Ok(Some(read)) => read,
        other => panic!(
            "the guard wrote an answer head it cannot read back ({other:?}): {:?}",
            String::from_utf8_lossy(&out)
        ),
    };
    assert_eq!(end, out.len());
    assert_eq!(again.status, answer.status);
    assert!(lines_again.starts_with(&lines));
    assert_eq!(again.bodiless, answer.bodiless);
    if !answer.bodiless {
        assert_eq!(again.framing, framing);
    }
    assert!(
        goes_on || !again.keep_alive,
        "a connection goes on only when the guard says so"
    );
    if goes_on {
        assert!(framing != Framing::UntilClose);
    }
    let body = data.get(len..).unwrap_or_default();
    if framing == Framing::Chunked {
        let mut relayed = Vec::new();
        h1::write_chunk(&mut relayed, body, true);
        assert_eq!(
            decode(&relayed, 7),
            Ok((body.to_vec(), Some(relayed.len())))
        );
    }
}

/// The differential property: the request the guard writes upstream (its head and body, with or
/// without an upstream prefix), parsed again by the guard's own parser, is the request it verified:
/// the same method, target (its origin form, after the prefix), headers (but the framing ones the
/// guard sets itself) and body, and nothing after it.
#[doc(hidden)]
pub fn forward(data: &[u8], prefixed: bool) {
    let Ok(Some((mut head, len))) = h1::parse_request(data) else {
        return;
    };
    let rest = data.get(len..).unwrap_or_default();
    let body = match head.framing {
        Framing::Length(n) => match usize::try_from(n).ok().and_then(|n| rest.get(..n)) {
            Some(body) => body.to_vec(),
            None => return,
        },
        Framing::Chunked => match decode(rest, rest.len().max(1)) {
            Ok((body, Some(_))) => body,
            _ => return,
        },
        Framing::UntilClose => return,
    };
    // As the guard does before deciding and verifying.
    strip_client_headers(&mut head.headers);
    if !fits_when_forwarded(&head.headers) {
        return;
    }
    // And after, for a verified request: every field it may add (a peer trusted or not).
    head.headers
        .insert(VERIFIED, http::HeaderValue::from_static("primary"));
    let peer = std::net::IpAddr::from([127, 0, 0, 1]);
    set_routing(
        &mut head.headers,
        Some(("https", "hooks.example.com")),
        peer,
        prefixed,
    );
    let url = if prefixed {
        "http://127.0.0.1:9/base"
    } else {
        "http://127.0.0.1:9"
    };
    let Ok(target) = Target::parse(url) else {
        panic!("a fixed upstream URL");
    };
    let verified_method = head.method.clone();
    let mut out = Vec::new();
    let Some(()) = target.write_request(&mut head, &body, &mut out) else {
        return;
    };
    // What was verified, as it is forwarded: the headers after `write_request` added a `Host`.
    let Some(expected_target) = target.request_target(&head.target) else {
        panic!("written, so it has an origin form");
    };
    let Ok(Some((again, end))) = h1::parse_request(&out) else {
        panic!("the guard wrote a request its own parser refuses: {out:?}");
    };
    assert_eq!(again.method, verified_method);
    assert_eq!(again.target, expected_target);
    assert!(!again.http10);
    let framing_header = |name: &http::HeaderName| {
        name == http::header::CONTENT_LENGTH
            || name == http::header::TRANSFER_ENCODING
            || name == http::header::EXPECT
    };
    let verified: Vec<_> = head
        .headers
        .iter()
        .filter(|(n, _)| !framing_header(n))
        .collect();
    let forwarded: Vec<_> = again
        .headers
        .iter()
        .filter(|(n, _)| !framing_header(n))
        .collect();
    assert_eq!(verified, forwarded);
    let Framing::Length(n) = again.framing else {
        panic!("forwarded with a length, never chunked");
    };
    assert_eq!(usize::try_from(n).ok(), Some(body.len()));
    assert_eq!(out.get(end..), Some(body.as_slice()));
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUESTS: [&str; 6] = [
        "POST /sms?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nX-Twilio-Signature: s\r\n\r\nBody=Hi",
        "POST /sms HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3;a=b\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        "GET http://example.com/a/../b?x HTTP/1.1\r\nHost: example.com\r\nConnection: close, x-hop\r\nX-Hop: 1\r\nX-Twilio-Webhook-Verified: forged\r\n\r\n",
        "GET / HTTP/1.0\r\n\r\n",
        "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    ];

    const ANSWERS: [&str; 5] = [
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nDate: Mon, 07 Dec 2026 05:00:00 GMT\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive, x-b\r\nX-B: 2\r\n\r\nuntil close",
        "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nETag: \"a\"\r\n\r\n",
    ];

    #[test]
    fn the_properties_hold_on_well_formed_and_refused_messages() {
        for step in [1, 2, 7, 1000] {
            for request in REQUESTS {
                request_head(request.as_bytes(), step);
                forward(request.as_bytes(), step % 2 == 0);
            }
            for body in [
                "3\r\nabc\r\n0\r\n\r\n",
                "3;x=\"y\"\r\nabc\r\n0\r\nA: b\r\n\r\nnext",
                "zz\r\n",
                "",
            ] {
                chunked(body.as_bytes(), step);
            }
            for (flags, answer) in ANSWERS.iter().enumerate() {
                for bits in [0, 4, 8, 12] {
                    super::answer(
                        answer.as_bytes(),
                        flags as u8 | bits,
                        bits & 4 != 0,
                        bits & 8 != 0,
                    );
                }
            }
        }
    }

    #[test]
    fn what_is_forwarded_is_what_was_parsed() {
        let mut out = Vec::new();
        let (mut head, _) = h1::parse_request(REQUESTS[1].as_bytes())
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("a head"));
        let target = Target::parse("http://127.0.0.1:9/base").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(target.write_request(&mut head, b"abc", &mut out), Some(()));
        assert_eq!(
            String::from_utf8_lossy(&out),
            "POST /base/sms HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc"
        );
    }
}
