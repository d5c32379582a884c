//! Chunk extensions and trailers as RFC 9112 §7.1.1 and §7.1.2 give them: taken when well-formed,
//! refused otherwise, and the trailer section bounded as a head is.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::super::MAX_HEAD;
use super::{Chunked, Step};

/// Runs a whole chunked body through the decoder: its data, or the first error.
fn dechunk(input: &[u8]) -> Result<Vec<u8>, &'static str> {
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
    Ok(data)
}

#[test]
fn well_formed_extensions_and_trailers_are_taken() {
    for ext in [
        "",
        ";a",
        ";a=b",
        " ; a = b",
        "\t;\ta\t=\tb",
        ";a=b;c;d=e",
        ";name=\"quoted; \\\"value\\\"\"",
        ";a=\"\"",
        ";!#$%&'*+-.^_`|~09azAZ=x",
    ] {
        let body = format!("5{ext}\r\nhello\r\n0{ext}\r\n\r\n");
        assert_eq!(dechunk(body.as_bytes()), Ok(b"hello".to_vec()), "{ext:?}");
    }
    for trailers in ["", "X: 1\r\n", "X:\r\n", "X:  a b\t\r\nY-Z: \u{e9}\r\n"] {
        let body = format!("1\r\na\r\n0\r\n{trailers}\r\n");
        assert_eq!(dechunk(body.as_bytes()), Ok(b"a".to_vec()), "{trailers:?}");
    }
}

#[test]
fn malformed_extensions_are_refused() {
    for ext in [
        &b" "[..],
        b";a\0",
        b";",
        b";=b",
        b";a=",
        b";a=b c",
        b";a b",
        b";a=\"unterminated",
        b";a=\"x\"y",
        b";a=\"\x7f\"",
        b";a=\"\\\x01\"",
        b";a=b;",
        b";a=b=c",
        b";a@=b",
    ] {
        let mut body = b"5".to_vec();
        body.extend_from_slice(ext);
        body.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
        assert_eq!(
            dechunk(&body),
            Err("a bad chunk extension"),
            "{:?}",
            String::from_utf8_lossy(ext)
        );
    }
    // What follows the size is an extension or nothing: the case from the issue (a CR inside the
    // size line), a NUL, a control, a letter.
    for line in [&b"5\r\r;x"[..], b"5\r;x", b"5\0", b"5\x01", b"5x", b"0\r;x"] {
        let mut body = line.to_vec();
        body.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
        assert_eq!(
            dechunk(&body),
            Err("a bad chunk size"),
            "{:?}",
            String::from_utf8_lossy(line)
        );
    }
}

#[test]
fn malformed_trailer_lines_are_refused() {
    for trailer in [
        &b"no colon"[..],
        b": no name",
        b"X : space before the colon",
        b" X: folded",
        b"\tX: folded",
        b"X: a\rb",
        b"X: a\0b",
        b"X: \x7f",
        b"X: \x01",
        b"X\0: a",
        b"X@Y: a",
        b"\r",
    ] {
        let mut body = b"0\r\n".to_vec();
        body.extend_from_slice(trailer);
        body.extend_from_slice(b"\r\n\r\n");
        assert_eq!(
            dechunk(&body),
            Err("a bad trailer field"),
            "{:?}",
            String::from_utf8_lossy(trailer)
        );
    }
}

#[test]
fn the_trailer_section_is_bounded_as_a_head_is() {
    // Lines of legal trailers, 64 KiB in all and then more: refused once past the bound, whether
    // the lines have all arrived or one is still coming.
    let line = b"X-T: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
    let mut body = b"0\r\n".to_vec();
    let mut fits = body.clone();
    while fits.len() - 3 + line.len() + 2 <= MAX_HEAD {
        fits.extend_from_slice(line);
    }
    fits.extend_from_slice(b"\r\n");
    assert_eq!(dechunk(&fits), Ok(Vec::new()), "up to the bound");
    while body.len() < 2 * MAX_HEAD {
        body.extend_from_slice(line);
    }
    body.extend_from_slice(b"\r\n");
    assert_eq!(dechunk(&body), Err("trailers too long"));
    let mut state = Chunked::Trailers(MAX_HEAD - 10);
    assert_eq!(state.step(b"X-T: aaaa"), Ok(Step::More));
    assert_eq!(state.step(b"X-T: aaaaaaaaaa"), Err("trailers too long"));
}

#[test]
fn a_trailer_section_of_exactly_the_bound_is_taken() {
    // A section whose lines come to exactly `MAX_HEAD` bytes, its final CRLF included: the bound is
    // inclusive, as a head's is.
    let line = |n: usize| format!("X-T: {}\r\n", "a".repeat(n - 7));
    let mut trailers = String::new();
    while MAX_HEAD - 2 - trailers.len() > 100 {
        trailers.push_str(&line(64));
    }
    trailers.push_str(&line(MAX_HEAD - 2 - trailers.len()));
    let body = format!("1\r\na\r\n0\r\n{trailers}\r\n");
    assert_eq!(trailers.len() + 2, MAX_HEAD);
    assert_eq!(dechunk(body.as_bytes()), Ok(b"a".to_vec()));
    // One byte more is refused.
    let body = format!("1\r\na\r\n0\r\nX{trailers}\r\n");
    assert_eq!(dechunk(body.as_bytes()), Err("trailers too long"));
    // A line still arriving that would reach the bound exactly waits for more; one past it is refused.
    let mut state = Chunked::Trailers(MAX_HEAD - 9);
    assert_eq!(state.step(b"X-T: aaaa"), Ok(Step::More));
    let mut state = Chunked::Trailers(MAX_HEAD - 8);
    assert_eq!(state.step(b"X-T: aaaa"), Err("trailers too long"));
}
