//! The framing rules, one case each: what is taken, and what is refused with which status.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

fn request(text: &str) -> Result<Option<(RequestHead, usize)>, Bad> {
    parse_request(text.as_bytes())
}

fn head(text: &str) -> RequestHead {
    request(text).unwrap().unwrap().0
}

fn refused(text: &str) -> (u16, &'static str) {
    match request(text) {
        Err(Bad(status, code)) => (status.as_u16(), code),
        Ok(h) => panic!("taken: {h:?}"),
    }
}

#[test]
fn a_request_head_is_taken_with_its_framing_and_persistence() {
    let text = "POST /sms?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\nX-Twilio-Signature: s\r\n\r\nBody=Hi";
    let (h, len) = request(text).unwrap().unwrap();
    assert_eq!(len, text.len() - 7, "the head ends before the body");
    assert_eq!((h.method.as_str(), h.target.as_str()), ("POST", "/sms?a=1"));
    assert_eq!(h.framing, Framing::Length(7));
    assert!(h.keep_alive && !h.http10 && !h.expects_continue);
    assert_eq!(h.headers["x-twilio-signature"], "s");
    assert_eq!(
        request("POST /sms HTTP/1.1\r\nHost: x\r\n")
            .unwrap()
            .map(|_| ()),
        None
    );
    let get = head("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(get.framing, Framing::Length(0), "no length, no body");
    assert!(!head("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive);
    assert!(
        !head("GET / HTTP/1.0\r\n\r\n").keep_alive,
        "1.0 closes by default"
    );
    assert!(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").keep_alive);
    let chunked = head("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n");
    assert_eq!(chunked.framing, Framing::Chunked);
    let expects =
        head("POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n");
    assert!(expects.expects_continue);
}

#[test]
fn what_two_servers_could_frame_two_ways_is_refused() {
    for (text, want) in [
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            (400, "ambiguous_length"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            (400, "ambiguous_length"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\n",
            (400, "ambiguous_length"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n",
            (400, "ambiguous_length"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x5\r\n\r\n",
            (400, "ambiguous_length"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            (400, "ambiguous_length"),
        ),
        (
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            (400, "ambiguous_length"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            (501, "unsupported_transfer_coding"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            (501, "unsupported_transfer_coding"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n",
            (501, "unsupported_transfer_coding"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",
            (400, "malformed_request"),
        ),
        ("POST / HTTP/2.0\r\n\r\n", (505, "unsupported_version")),
        (
            "POST  / HTTP/1.1\r\nHost: x\r\n\r\n",
            (400, "malformed_request"),
        ),
        (
            "POST / HTTP/1.1\r\nHost: x\r\nX A: 1\r\n\r\n",
            (400, "malformed_request"),
        ),
    ] {
        assert_eq!(refused(text), want, "{text:?}");
    }
}

#[test]
fn heads_too_large_are_refused_and_not_buffered_without_end() {
    let many: String = (0..MAX_HEADERS + 1)
        .map(|i| format!("X-{i}: v\r\n"))
        .collect();
    let text = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    assert_eq!(refused(&text), (431, "head_too_large"));
    let endless = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Long: {}",
        "a".repeat(MAX_HEAD)
    );
    assert_eq!(refused(&endless), (431, "head_too_large"));
}

/// Runs a whole chunked body through the decoder: the data, or the first error.
fn dechunk(input: &[u8]) -> Result<(Vec<u8>, usize), &'static str> {
    let mut state = Chunked::Size;
    let (mut at, mut data) = (0, Vec::new());
    while state != Chunked::Done {
        let rest = &input[at..];
        match state.step(rest)? {
            Step::Framing(n) => at += n,
            Step::Data(n) => {
                data.extend_from_slice(&rest[..n]);
                at += n;
            }
            Step::More => return Err("more"),
        }
    }
    Ok((data, at))
}

#[test]
fn chunked_coding_is_decoded_strictly() {
    let body =
        b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
    let (data, used) = dechunk(body).unwrap();
    assert_eq!(data, b"helloabcdefghijklmnopqrstuvwxyz");
    assert_eq!(&body[used..], b"NEXT", "the next request is left alone");
    for (bad, why) in [
        (&b"5\nhello\r\n0\r\n\r\n"[..], "a bare LF in chunked coding"),
        (b"5\r\nhelloX\r\n0\r\n\r\n", "no CRLF after a chunk"),
        (b"-5\r\nhello\r\n0\r\n\r\n", "a bad chunk size"),
        (b" 5\r\nhello\r\n0\r\n\r\n", "a bad chunk size"),
        (b"0x5\r\nhello\r\n0\r\n\r\n", "a bad chunk size"),
        (b"\r\nhello\r\n0\r\n\r\n", "a bad chunk size"),
        (b"1000000000000000\r\n", "a bad chunk size"),
    ] {
        assert_eq!(dechunk(bad), Err(why), "{:?}", String::from_utf8_lossy(bad));
    }
    assert_eq!(
        dechunk(b"5\r\nhel"),
        Err("more"),
        "a body cut short waits for more"
    );
}

fn response(text: &str, method: &Method) -> Result<(ResponseHead, String), &'static str> {
    let mut lines = Vec::new();
    let (head, _) = parse_response(text.as_bytes(), method, &mut lines)?.unwrap();
    Ok((head, String::from_utf8(lines).unwrap()))
}

#[test]
fn an_answer_keeps_its_end_to_end_headers_and_loses_its_framing() {
    let text = "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: x-private\r\nX-Private: 1\r\nKeep-Alive: timeout=5\r\nContent-Length: 11\r\nDate: d\r\n\r\n";
    let (head, lines) = response(text, &Method::POST).unwrap();
    assert_eq!(lines, "Content-Type: text/xml\r\nDate: d\r\n");
    assert_eq!(
        (head.framing, head.keep_alive, head.has_date),
        (Framing::Length(11), true, true)
    );
    assert_eq!(
        fields(lines.as_bytes()).collect::<Vec<_>>(),
        [("Content-Type", &b"text/xml"[..]), ("Date", b"d")]
    );
    // To HEAD: no body, and its length is relayed as it is.
    let (head, lines) = response(
        "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n",
        &Method::HEAD,
    )
    .unwrap();
    assert!(head.bodiless);
    assert_eq!(lines, "Content-Length: 11\r\n");
    let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
    let (head, lines) = response(chunked, &Method::POST).unwrap();
    assert_eq!((head.framing, lines.as_str()), (Framing::Chunked, ""));
    let (head, _) = response("HTTP/1.0 200 OK\r\n\r\n", &Method::POST).unwrap();
    assert_eq!(
        (head.framing, head.keep_alive),
        (Framing::UntilClose, false)
    );
    for bad in [
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
    ] {
        assert!(response(bad, &Method::POST).is_err(), "{bad:?}");
    }
}

#[test]
fn heads_are_written_with_the_guards_own_framing() {
    let mut out = Vec::new();
    let lines = b"content-type: text/plain\r\n";
    write_response_head(
        &mut out,
        false,
        StatusCode::FORBIDDEN,
        (lines, false),
        Some(Framing::Length(3)),
        Some("close"),
    );
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ndate: "));
    assert!(
        text.ends_with(" GMT\r\ncontent-length: 3\r\nconnection: close\r\n\r\n"),
        "{text}"
    );
    let mut headers = HeaderMap::new();
    headers.insert("content-length", HeaderValue::from_static("999"));
    headers.insert("expect", HeaderValue::from_static("100-continue"));
    headers.insert("x-a", HeaderValue::from_static("1"));
    let mut out = Vec::new();
    write_request_head(&mut out, &Method::POST, "/base/sms", &headers, 2);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "POST /base/sms HTTP/1.1\r\nx-a: 1\r\ncontent-length: 2\r\n\r\n"
    );
}

/// A small deterministic generator (xorshift), for the property below.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn chunked_coding_fed_in_pieces_of_any_size_decodes_to_what_was_encoded() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for _ in 0..500 {
        let data: Vec<u8> = (0..rng.below(300)).map(|_| rng.below(256) as u8).collect();
        let mut encoded = Vec::new();
        let mut rest = &data[..];
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len().min(40));
            let ext = if rng.below(3) == 0 { ";a=b" } else { "" };
            encoded.extend(format!("{n:X}{ext}\r\n").into_bytes());
            encoded.extend_from_slice(&rest[..n]);
            encoded.extend_from_slice(b"\r\n");
            rest = &rest[n..];
        }
        encoded.extend_from_slice(b"0\r\n");
        if rng.below(2) == 0 {
            encoded.extend_from_slice(b"T: 1\r\n");
        }
        encoded.extend_from_slice(b"\r\n");
        // Fed as a connection would deliver it: in pieces, each step seeing only what has arrived.
        let (mut state, mut decoded) = (Chunked::Size, Vec::new());
        let (mut arrived, mut at) = (0, 0);
        while state != Chunked::Done {
            match state.step(&encoded[at..arrived]).unwrap() {
                Step::Framing(n) => at += n,
                Step::Data(n) => {
                    decoded.extend_from_slice(&encoded[at..at + n]);
                    at += n;
                }
                Step::More => {
                    assert!(arrived < encoded.len(), "asked for more after the end");
                    arrived = (arrived + 1 + rng.below(16)).min(encoded.len());
                }
            }
        }
        assert_eq!(at, encoded.len(), "all of it used, nothing more");
        assert_eq!(decoded, data);
    }
}

#[test]
fn no_input_makes_the_parsers_panic() {
    let mut rng = Rng(7);
    let alphabet = b"0123456789abcdefABCDEF;:= \t\r\n,chunkedxPOST/HTTP1.";
    for _ in 0..5_000 {
        let input: Vec<u8> = (0..rng.below(80))
            .map(|_| alphabet[rng.below(alphabet.len())])
            .collect();
        let _ = parse_request(&input);
        let _ = parse_response(&input, &Method::GET, &mut Vec::new());
        let mut state = Chunked::Size;
        let mut at = 0;
        while let Ok(Step::Framing(n) | Step::Data(n)) = state.step(&input[at..]) {
            if n == 0 {
                break;
            }
            at += n;
        }
    }
}

/// A head of exactly `n` bytes.
fn head_of_len(n: usize) -> String {
    let fixed = "GET / HTTP/1.1\r\nHost: x\r\nX: \r\n\r\n".len();
    format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(n - fixed)
    )
}

#[test]
fn the_limits_hold_at_their_edges() {
    assert_eq!(MAX_HEAD, 64 * 1024, "the limit SECURITY.md states");
    assert!(request(&head_of_len(MAX_HEAD)).unwrap().is_some());
    assert_eq!(refused(&head_of_len(MAX_HEAD + 1)), (431, "head_too_large"));
    let unfinished = head_of_len(MAX_HEAD + 10);
    assert!(request(&unfinished[..MAX_HEAD - 1]).unwrap().is_none());
    assert_eq!(refused(&unfinished[..MAX_HEAD]), (431, "head_too_large"));
    let length =
        |digits: &str| format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {digits}\r\n\r\n");
    assert_eq!(
        head(&length("000000000000000012")).framing,
        Framing::Length(12),
        "18 digits"
    );
    assert_eq!(
        refused(&length("0000000000000000012")),
        (400, "ambiguous_length")
    );
    assert_eq!(
        dechunk(b"000000000000005\r\nhello\r\n0\r\n\r\n").unwrap().0,
        b"hello"
    );
    // A chunk line that never ends is refused once past the head limit, not waited for.
    let endless = vec![b'0'; MAX_HEAD + 1];
    assert_eq!(Chunked::Size.step(&endless[..MAX_HEAD]), Ok(Step::More));
    assert_eq!(Chunked::Size.step(&endless), Err("a chunk line too long"));
}

#[test]
fn answers_without_a_body_and_answers_that_keep_their_connection() {
    for status in ["204 No Content", "304 Not Modified", "103 Early Hints"] {
        let text = format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\n");
        let (head, lines) = response(&text, &Method::POST).unwrap();
        assert!(head.bodiless, "{status}");
        // Relayed without its length (RFC 9110 §8.6), and its connection not used again: the
        // body it announced may follow.
        assert_eq!((head.framing, lines.as_str()), (Framing::Length(0), ""));
        assert!(!head.keep_alive, "{status}");
        let text = format!("HTTP/1.1 {status}\r\nContent-Length: 0\r\n\r\n");
        assert!(response(&text, &Method::POST).unwrap().0.keep_alive);
    }
    let (head, _) = response(
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
        &Method::POST,
    )
    .unwrap();
    assert!(!head.bodiless);
    for (text, kept) in [
        ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", true),
        (
            "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            false,
        ),
        ("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", false),
        (
            "HTTP/1.0 200 OK\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n",
            true,
        ),
        ("HTTP/1.1 200 OK\r\n\r\n", false),
    ] {
        assert_eq!(
            response(text, &Method::POST).unwrap().0.keep_alive,
            kept,
            "{text:?}"
        );
    }
    let chunked10 = "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert!(response(chunked10, &Method::POST).is_err());
    let mut lines = Vec::new();
    let big = head_of_len(MAX_HEAD + 1).replacen("GET / HTTP/1.1", "HTTP/1.1 200 OK", 1);
    assert!(parse_response(big.as_bytes(), &Method::GET, &mut lines).is_err());
    let unfinished = &big.as_bytes()[..MAX_HEAD];
    assert!(parse_response(unfinished, &Method::GET, &mut lines).is_err());
    let (head, _) = (&big.as_bytes()[..MAX_HEAD - 1], ());
    assert_eq!(
        parse_response(head, &Method::GET, &mut lines).map(|h| h.is_none()),
        Ok(true)
    );
}

#[test]
fn a_request_announces_its_length_when_it_has_a_body_or_a_method_that_expects_one() {
    let written = |method: Method, length: usize| {
        let mut out = Vec::new();
        write_request_head(&mut out, &method, "/", &HeaderMap::new(), length);
        String::from_utf8(out).unwrap()
    };
    assert_eq!(written(Method::GET, 0), "GET / HTTP/1.1\r\n\r\n");
    assert_eq!(
        written(Method::POST, 0),
        "POST / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
    );
    assert_eq!(
        written(Method::PUT, 0),
        "PUT / HTTP/1.1\r\ncontent-length: 0\r\n\r\n"
    );
    assert_eq!(
        written(Method::DELETE, 3),
        "DELETE / HTTP/1.1\r\ncontent-length: 3\r\n\r\n"
    );
}
