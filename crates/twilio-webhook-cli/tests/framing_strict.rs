//! The guard's HTTP/1.1 held to RFC 9112 where a laxer reading let requests through (issue 28, "guard,
//! HTTP framing"), each against the real process: chunk extensions and trailers are checked, chunked
//! framing counts against `--max-body`, one `Host` (HTTP/1.1), one signature and content type, CRLF
//! line ends only, and a `204` or `304` relayed without a length.

mod support;

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use support::{Echo, FORM, Guard, head_of, signed};

/// Writes `head` and `body` on a fresh connection from another thread while the answer is read (the
/// guard may answer and close before it has read everything), and returns the whole answer.
fn send_raw(port: u16, head: &str, body: Vec<u8>) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend(body);
    let sender = std::thread::spawn(move || {
        let _ = writer.write_all(&bytes);
    });
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let _ = sender.join();
    String::from_utf8_lossy(&answer).into_owned()
}

/// A signed form request to `/sms` sent chunked: `chunks` (each line with its CRLF) as the body.
fn chunked_sms(guard: &Guard, chunks: &[u8]) -> String {
    let request = signed(guard.port, "/sms", FORM, b"Body=Hi", &[]);
    let head = head_of(
        &request,
        "Transfer-Encoding: chunked\r\nConnection: close\r\n",
    );
    send_raw(guard.port, &head, chunks.to_vec())
}

/// A chunked `POST` to the unverified `/open` route.
fn chunked_open(guard: &Guard, chunks: Vec<u8>) -> String {
    let head =
        "POST /open HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    send_raw(guard.port, head, chunks)
}

fn assert_unreadable(answer: &str, case: &str) {
    assert!(answer.starts_with("HTTP/1.1 400 "), "{case}: {answer}");
    assert!(answer.contains("body_unreadable"), "{case}: {answer}");
    assert!(answer.contains("connection: close\r\n"), "{case}: {answer}");
}

#[test]
fn malformed_chunk_extensions_and_trailers_are_refused_and_never_forwarded() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    for body in [
        &b"7\r\r;x\r\nBody=Hi\r\n0\r\n\r\n"[..],
        b"7;a\rb\r\nBody=Hi\r\n0\r\n\r\n",
        b"7;a\0\r\nBody=Hi\r\n0\r\n\r\n",
        b"7;a=b c\r\nBody=Hi\r\n0\r\n\r\n",
        b"7 \r\nBody=Hi\r\n0\r\n\r\n",
        b"7\r\nBody=Hi\r\n0\r\nno colon\r\n\r\n",
        b"7\r\nBody=Hi\r\n0\r\nX: a\0b\r\n\r\n",
        b"7\r\nBody=Hi\r\n0\r\nX: a\rb\r\n\r\n",
        b"7\r\nBody=Hi\r\n0\r\n folded: x\r\n\r\n",
        b"7\r\nBody=Hi\r\n0;\x01\r\n\r\n",
    ] {
        let case = String::from_utf8_lossy(body).into_owned();
        // A genuine signature on a verified route, and a route that passes unverified.
        assert_unreadable(&chunked_sms(&guard, body), &case);
        assert_unreadable(&chunked_open(&guard, body.to_vec()), &case);
    }
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
    // Well-formed extensions and trailers still pass.
    let answer = chunked_sms(
        &guard,
        b"7 ; a = \"b;c\"\r\nBody=Hi\r\n0;z\r\nX-T: 1\r\n\r\n",
    );
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert_eq!(echo.hits(), 1);
}

#[test]
fn chunked_framing_and_trailers_count_against_the_body_limit() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open", "--max-body", "1KiB"]);
    // Trailer lines without end: 4 MiB of them, then the end.
    let mut flood = b"0\r\n".to_vec();
    while flood.len() < 4 * 1024 * 1024 {
        flood.extend_from_slice(b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    flood.extend_from_slice(b"\r\n");
    assert_unreadable(&chunked_open(&guard, flood), "trailers");
    // 200 bytes of data (under the 1 KiB limit), each in its chunk with a 1000-byte extension.
    let ext = "e".repeat(1000);
    let mut chunks = Vec::new();
    for _ in 0..200 {
        chunks.extend(format!("1;{ext}\r\nx\r\n").into_bytes());
    }
    chunks.extend_from_slice(b"0\r\n\r\n");
    assert_unreadable(&chunked_open(&guard, chunks), "extensions");
    assert_eq!(echo.hits(), 0);
    // Framing within the bound passes.
    let answer = chunked_open(&guard, b"3;a=b\r\nabc\r\n0\r\nX: y\r\n\r\n".to_vec());
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("abc"), "{answer}");
}

#[test]
fn an_http_1_1_request_without_one_host_is_refused() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    for head in [
        "GET /open HTTP/1.1\r\nConnection: close\r\n\r\n",
        "GET /open HTTP/1.1\r\nHost: x\r\nHost: x\r\nConnection: close\r\n\r\n",
        "GET /open HTTP/1.1\r\nHost: public.example.com\r\nhost: admin.internal\r\nConnection: close\r\n\r\n",
        "GET /open HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
    ] {
        let answer = send_raw(guard.port, head, Vec::new());
        assert!(answer.starts_with("HTTP/1.1 400 "), "{head:?}: {answer}");
        assert!(answer.contains("bad_host"), "{head:?}: {answer}");
    }
    assert_eq!(echo.hits(), 0);
    // HTTP/1.0 without a Host is still taken.
    let answer = send_raw(guard.port, "GET /open HTTP/1.0\r\n\r\n", Vec::new());
    assert!(answer.starts_with("HTTP/1.0 200 "), "{answer}");
    assert_eq!(echo.hits(), 1);
}

#[test]
fn a_signature_or_content_type_given_twice_is_refused_and_never_forwarded() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    let form = b"Body=Hi";
    for (path, extra) in [
        ("/sms", "X-Twilio-Signature: forged\r\n"),
        ("/sms", "Content-Type: application/json\r\n"),
        ("/open", "X-Twilio-Signature: forged\r\n"),
        ("/open", "content-type: text/plain\r\n"),
    ] {
        // A genuine request, with the field once more after it.
        let request = signed(guard.port, path, FORM, form, &[]);
        let framing = format!("{extra}Content-Length: 7\r\nConnection: close\r\n");
        let answer = send_raw(guard.port, &head_of(&request, &framing), form.to_vec());
        assert!(answer.starts_with("HTTP/1.1 400 "), "{extra:?}: {answer}");
        assert!(answer.contains("duplicate_header"), "{extra:?}: {answer}");
    }
    assert_eq!(echo.hits(), 0);
}

#[test]
fn a_head_with_bare_lf_line_ends_is_refused() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    for head in [
        "GET /open HTTP/1.1\nHost: x\nConnection: close\n\n",
        "GET /open HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\n",
        "GET /open HTTP/1.1\r\nHost: x\nConnection: close\r\n\r\n",
        "GET /open HTTP/1.1\nHost: x\r\nConnection: close\r\n\r\n",
    ] {
        let answer = send_raw(guard.port, head, Vec::new());
        assert!(answer.starts_with("HTTP/1.1 400 "), "{head:?}: {answer}");
        assert!(answer.contains("malformed_request"), "{head:?}: {answer}");
        assert_eq!(answer.matches("HTTP/1.").count(), 1, "{answer}");
    }
    // `\r\n\n` does not end a head followed by a smuggled one either.
    let smuggle = "GET /open HTTP/1.1\r\nHost: x\r\n\nGET /open/admin HTTP/1.1\r\nHost: x\r\n\r\n";
    let answer = send_raw(guard.port, smuggle, Vec::new());
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(echo.hits(), 0);
}

/// An upstream that answers every request on `/open/<status>` with that status, a
/// `Content-Length: 5` and five bytes after the head, on a kept connection.
fn lying_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                let mut piece = [0u8; 4096];
                loop {
                    let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") else {
                        match stream.read(&mut piece) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&piece[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&seen[..end]).into_owned();
                    seen.drain(..end + 4);
                    let status = if head.contains("/304") {
                        "304 Not Modified"
                    } else {
                        "204 No Content"
                    };
                    let answer = format!("HTTP/1.1 {status}\r\nContent-Length: 5\r\n\r\nhello");
                    if stream.write_all(answer.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// Reads one answer head (up to its empty line) from `stream`.
fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[test]
fn a_204_or_304_with_a_length_is_relayed_without_one() {
    let upstream = lying_upstream();
    let guard = Guard::start(
        &format!("http://127.0.0.1:{upstream}"),
        &["--pass", "/open"],
    );
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    // Two answers on one kept connection: each ends at its head, and the next starts right after.
    for path in ["/open/204", "/open/304", "/open/204"] {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        stream.write_all(request.as_bytes()).expect("request");
        let head = read_head(&mut stream);
        let status = if path.ends_with("304") { 304 } else { 204 };
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status} ")),
            "{path}: {head:?}"
        );
        assert!(
            !head.to_ascii_lowercase().contains("content-length"),
            "{path}: {head:?}"
        );
    }
    // Nothing else was sent: the five bytes the upstream added never reach the client.
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let mut rest = [0u8; 16];
    assert!(
        !matches!(stream.read(&mut rest), Ok(n) if n > 0),
        "bytes after the answers"
    );
}

/// Found by the `guard_forward` fuzz target: a request with as many fields as the guard reads (100)
/// was forwarded with the fields the guard adds (`Content-Length`, `Host`, the verified header), past
/// the limit the guard itself and hyper apply, so the upstream could not read the request verified.
/// Now the guard keeps room for its own seven (those three; since issue 28's F3, `X-Forwarded-Host`,
/// `-Proto` and `-For`; since its third outside attack, `Connection: close` on a passed body): a request
/// with more than 93 fields it forwards is refused (431) before anything is decided, and one with 93
/// reaches the upstream whole. The client's routing
/// headers, which the guard removes, do not count.
#[test]
fn a_request_keeps_room_for_the_fields_the_guard_adds() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    let fields = |n: usize| -> String { (0..n).map(|i| format!("X-F{i}: {i}\r\n")).collect() };
    // `Host` and 99 more: 100, within the parser's limit; forwarded with `Content-Length`, 101.
    // `Host` and 93 more: 94, forwarded with the guard's seven, 101.
    for more in [99, 93] {
        let head = format!("POST /open HTTP/1.1\r\nHost: x\r\n{}\r\n", fields(more));
        let answer = send_raw(guard.port, &head, Vec::new());
        assert!(answer.starts_with("HTTP/1.1 431 "), "{more}: {answer}");
        assert!(
            answer.contains("head_too_large"),
            "the guard's own refusal: {answer}"
        );
    }
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
    // `Host` and 92 more: 93, forwarded with `Content-Length` and `X-Forwarded-*`, every field read
    // by the upstream; with five routing fields the guard removes, too (and `Connection`, a hop-by-hop
    // field, which does not count either).
    let routing = "X-Forwarded-Host: a\r\nX-Forwarded-Proto: https\r\nX-Forwarded-For: 1.2.3.4\r\n\
                   Forwarded: host=a\r\nX-Original-URL: /x\r\n";
    for extra in ["", routing] {
        let head = format!(
            "POST /open HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{}{extra}\r\n",
            fields(92)
        );
        let answer = send_raw(guard.port, &head, Vec::new());
        assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
        assert!(answer.contains("x-f91"), "{answer}");
        assert!(answer.contains("x-forwarded-for"), "{answer}");
    }
    assert_eq!(echo.hits(), 2);
}

/// Found by the `guard_answer` fuzz target: an answer with as many fields as the guard reads (100)
/// was relayed with the fields the guard adds (`Date`, its framing, `Connection`), past the limit
/// the guard itself and hyper read a head with, so a client could not read it. Now an answer
/// without room for them is refused (502, logged) and one with 97 fields is relayed whole.
#[test]
fn an_answer_keeps_room_for_the_fields_the_guard_adds() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut seen = Vec::new();
            let mut piece = [0u8; 4096];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut piece) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&piece[..n]),
                }
            }
            // `/many`: 99 fields and `Content-Length`; else 96 and `Content-Length`.
            let n = if seen.starts_with(b"GET /open/many ") {
                99
            } else {
                96
            };
            let fields: String = (0..n).map(|i| format!("X-F{i}: {i}\r\n")).collect();
            let answer = format!("HTTP/1.1 200 OK\r\n{fields}Content-Length: 2\r\n\r\nok");
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    let guard = Guard::start(&format!("http://127.0.0.1:{port}"), &["--pass", "/open"]);
    let ask = |path: &str| {
        let head = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        send_raw(guard.port, &head, Vec::new())
    };
    let answer = ask("/open/many");
    assert!(answer.starts_with("HTTP/1.1 502 "), "{answer}");
    let answer = ask("/open/some");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        answer.contains("X-F95: 95\r\n") && answer.ends_with("\r\n\r\nok"),
        "{answer}"
    );
    let fields = answer
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .lines()
        .count()
        - 1;
    assert!(fields <= 100, "{fields} fields relayed");
}
