//! The head's end found by scanning new bytes only, and the rules of a request head that are not
//! framing: one `Host`, one signature and content type, CRLF line ends.

#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::super::{Bad, MAX_HEAD, RequestHead, parse_request};
use super::HeadScan;

/// Feeds `text` to a scan `piece` bytes at a time, as reads would deliver it: the result once the
/// scan gives one, and how many times the head was parsed.
fn fed(text: &[u8], piece: usize) -> (Result<Option<(RequestHead, usize)>, Bad>, usize) {
    let mut scan = HeadScan::default();
    let mut arrived = 0;
    loop {
        arrived = (arrived + piece).min(text.len());
        match scan.parse(&text[..arrived]) {
            Ok(None) if arrived < text.len() => {}
            other => return (other, scan.parses),
        }
    }
}

#[test]
fn a_head_dribbled_byte_by_byte_is_parsed_twice_at_most() {
    let big = format!(
        "POST /sms HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\nNEXT",
        "a".repeat(MAX_HEAD - 100)
    );
    let (head, parses) = fed(big.as_bytes(), 1);
    let (head, len) = head.unwrap().unwrap();
    assert_eq!(head.target, "/sms");
    assert_eq!(len, big.len() - 4, "the head ends before what follows");
    // Once when the request line ended (to refuse a bad one at once), once at the end.
    assert_eq!(parses, 2);
    // Sent at once: parsed once.
    let (head, parses) = fed(big.as_bytes(), big.len());
    assert!(head.unwrap().is_some());
    assert_eq!(parses, 1);
    // Many short lines, dribbled: still two parses, not one per line or per byte.
    let many: String = (0..90).map(|i| format!("X-{i}: v\r\n")).collect();
    let text = format!("GET / HTTP/1.1\r\nHost: x\r\n{many}\r\n");
    let (head, parses) = fed(text.as_bytes(), 3);
    assert!(head.unwrap().is_some());
    assert_eq!(parses, 2);
}

#[test]
fn the_scan_agrees_with_the_parser_and_refuses_early_and_at_the_limit() {
    // Empty lines before the request line are skipped, as `httparse` does.
    let (head, _) = fed(b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    assert_eq!(head.unwrap().unwrap().1, 29);
    // A bad request line is refused when it ends, before any header arrives.
    let mut scan = HeadScan::default();
    assert_eq!(
        scan.parse(b"GET / HTTP/2.0\r\nHost").unwrap_err().1,
        "unsupported_version"
    );
    // A head that never ends is refused at the limit, and not before.
    let endless = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(MAX_HEAD));
    let mut scan = HeadScan::default();
    assert!(
        scan.parse(&endless.as_bytes()[..MAX_HEAD - 1])
            .unwrap()
            .is_none()
    );
    let err = scan.parse(&endless.as_bytes()[..MAX_HEAD]).unwrap_err();
    assert_eq!((err.0.as_u16(), err.1), (431, "head_too_large"));
    // Leading empty lines up to the limit: refused, not parsed line by line.
    let (head, parses) = fed("\r\n".repeat(MAX_HEAD).as_bytes(), 2);
    assert_eq!(head.unwrap_err().1, "head_too_large");
    assert_eq!(parses, 1);
    // A line of CRs alone ends the head to the scan, not to the parser: refused.
    let (head, _) = fed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\r\n", 1);
    assert_eq!(head.unwrap_err().1, "malformed_request");
}

fn refused(text: &str) -> (u16, &'static str) {
    match parse_request(text.as_bytes()) {
        Err(Bad(status, code)) => (status.as_u16(), code),
        Ok(h) => panic!("taken: {text:?} {h:?}"),
    }
}

#[test]
fn one_host_in_http_1_1_and_at_most_one_in_http_1_0() {
    assert_eq!(refused("GET / HTTP/1.1\r\n\r\n"), (400, "bad_host"));
    assert_eq!(
        refused("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
        (400, "bad_host")
    );
    assert_eq!(
        refused("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"),
        (400, "bad_host")
    );
    assert!(parse_request(b"GET / HTTP/1.0\r\n\r\n").unwrap().is_some());
    assert!(
        parse_request(b"GET / HTTP/1.1\r\nHOST: a\r\n\r\n")
            .unwrap()
            .is_some()
    );
}

#[test]
fn a_signature_settings_or_content_type_given_twice_is_refused() {
    for name in [
        "X-Twilio-Signature",
        "x-twilio-webhooks-signature-settings",
        "Content-Type",
    ] {
        let text = format!("POST / HTTP/1.1\r\nHost: x\r\n{name}: a\r\n{name}: b\r\n\r\n");
        assert_eq!(refused(&text), (400, "duplicate_header"), "{name}");
        let once = format!("POST / HTTP/1.1\r\nHost: x\r\n{name}: a\r\n\r\n");
        assert!(parse_request(once.as_bytes()).unwrap().is_some(), "{name}");
    }
    // Other fields may repeat.
    let text = "POST / HTTP/1.1\r\nHost: x\r\nAccept: a\r\nAccept: b\r\n\r\n";
    assert!(parse_request(text.as_bytes()).unwrap().is_some());
}

#[test]
fn a_head_with_a_bare_lf_is_refused_wherever_it_is() {
    for text in [
        "GET / HTTP/1.1\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\n",
        "GET / HTTP/1.1\nHost: x\n\n",
        "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(refused(text), (400, "malformed_request"), "{text:?}");
        let (head, _) = fed(text.as_bytes(), 1);
        assert!(head.is_err(), "{text:?}");
    }
    for text in [
        "GET / HTTP/1.1\r\nHost: x\rX: 1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\0\r\n\r\n",
    ] {
        assert_eq!(refused(text), (400, "malformed_request"), "{text:?}");
    }
}
