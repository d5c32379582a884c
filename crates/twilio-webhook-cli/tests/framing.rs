//! The guard's own HTTP/1.1, against the real process, from the client's side: a request two servers
//! could frame two ways never reaches the upstream (request smuggling), a chunked body is verified
//! and forwarded with its length, pipelined requests are answered in order, a body is only ever a
//! body, and `Expect: 100-continue` gets its go-ahead only when the body is wanted.

mod support;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use support::{Echo, FORM, Guard, exchange, head_of, signed};

/// The upstream's view of a request, from the echo's `x-echo` header in `answer`.
fn upstream_view(answer: &str) -> serde_json::Value {
    let echo = answer
        .lines()
        .find_map(|l| l.strip_prefix("x-echo: "))
        .unwrap_or_else(|| panic!("no x-echo header: {answer}"));
    serde_json::from_str(echo).expect("echo JSON")
}

/// The names of the headers the upstream saw, lower-case.
fn header_names(view: &serde_json::Value) -> Vec<String> {
    view["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|p| p[0].as_str().unwrap_or("").to_ascii_lowercase())
        .collect()
}

#[test]
fn a_request_framed_two_ways_never_reaches_the_upstream() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    // What a back end that took the other reading would see as a second request.
    let smuggled = "GET /open/admin HTTP/1.1\r\nHost: x\r\n\r\n";
    let body = format!("0\r\n\r\n{smuggled}");
    let n = body.len();
    for (framing, status) in [
        (
            format!("Content-Length: {n}\r\nTransfer-Encoding: chunked\r\n"),
            400,
        ),
        (
            format!("Transfer-Encoding: chunked\r\nContent-Length: {n}\r\n"),
            400,
        ),
        (format!("Content-Length: 5\r\nContent-Length: {n}\r\n"), 400),
        (format!("Content-Length: {n}, {n}\r\n"), 400),
        ("Transfer-Encoding: chunked, identity\r\n".into(), 501),
        (
            "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n".into(),
            501,
        ),
        (
            "Transfer-Encoding: chunked\r\n Transfer-Encoding: x\r\n".into(),
            400,
        ),
    ] {
        // On a verified route and on a route that passes unverified: framing comes first.
        for path in ["/sms", "/open"] {
            let head = format!("POST {path} HTTP/1.1\r\nHost: x\r\n{framing}\r\n");
            let (answer, took) = exchange(guard.port, &head, body.as_bytes());
            assert!(
                answer.starts_with(&format!("HTTP/1.1 {status} ")),
                "{framing:?} to {path}: {answer}"
            );
            assert_eq!(answer.matches("HTTP/1.").count(), 1, "{answer}");
            assert!(took < Duration::from_secs(3), "the connection stayed open");
        }
    }
    let head = "POST /open HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    let (answer, _) = exchange(guard.port, head, body.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
}

#[test]
fn a_chunked_body_is_verified_and_forwarded_with_its_length() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let form = b"Body=Hello+in+chunks&From=%2B15551234567&To=%2B15557654321";
    let request = signed(guard.port, "/sms", FORM, form, &[]);
    let chunked = |form: &[u8]| {
        let mut body = Vec::new();
        for (i, piece) in form.chunks(7).enumerate() {
            body.extend(format!("{:x};piece={i}\r\n", piece.len()).into_bytes());
            body.extend_from_slice(piece);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"0\r\nX-Trailer: t\r\n\r\n");
        body
    };
    let head = head_of(
        &request,
        "Transfer-Encoding: chunked\r\nConnection: close\r\n",
    );
    let (answer, _) = exchange(guard.port, &head, &chunked(form));
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        answer.ends_with(std::str::from_utf8(form).expect("ascii")),
        "{answer}"
    );
    let names = header_names(&upstream_view(&answer));
    assert!(names.contains(&"content-length".to_string()), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n == "transfer-encoding" || n == "x-trailer"),
        "{names:?}"
    );
    // The same request with one byte changed inside a chunk: refused, never forwarded.
    let mut forged = form.to_vec();
    forged[6] = b'J';
    let (answer, _) = exchange(guard.port, &head, &chunked(&forged));
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    // A chunk size that is not plain hex: the body is unreadable.
    let (answer, _) = exchange(guard.port, &head, b"+7\r\nBody=Hi\r\n0\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("body_unreadable"), "{answer}");
    assert_eq!(echo.hits(), 1);
}

#[test]
fn pipelined_requests_are_answered_in_order_and_a_body_is_only_ever_a_body() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut all = Vec::new();
    for (i, body) in ["Body=one", "Body=two", "Body=three"].iter().enumerate() {
        let request = signed(guard.port, "/sms", FORM, body.as_bytes(), &[]);
        let last = if i == 2 { "Connection: close\r\n" } else { "" };
        let framing = format!("Content-Length: {}\r\n{last}", body.len());
        all.extend(head_of(&request, &framing).into_bytes());
        all.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&all).expect("write all three at once");
    let mut answers = String::new();
    let _ = stream.read_to_string(&mut answers);
    assert_eq!(answers.matches("HTTP/1.1 200 ").count(), 3, "{answers}");
    assert_eq!(
        answers.matches("connection: close\r\n").count(),
        1,
        "the last answer says it closes: {answers}"
    );
    let at = |s: &str| answers.find(s).unwrap_or_else(|| panic!("{s}: {answers}"));
    assert!(at("Body=one") < at("Body=two") && at("Body=two") < at("Body=three"));
    // A body that holds a whole request stays a body: the upstream sees one request, with it.
    let inner = "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
    let head = format!(
        "POST /open HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        inner.len()
    );
    let (answer, _) = exchange(guard.port, &head, inner.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with(inner), "{answer}");
    assert_eq!(upstream_view(&answer)["target"], "/open");
    assert_eq!(echo.hits(), 4);
}

#[test]
fn expect_100_continue_gets_its_go_ahead_only_when_the_body_is_wanted() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--max-body", "1KiB"]);
    let body = b"Body=expected";
    let request = signed(guard.port, "/sms", FORM, body, &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let framing = format!(
        "Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n",
        body.len()
    );
    stream
        .write_all(head_of(&request, &framing).as_bytes())
        .expect("head");
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).expect("the go-ahead");
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body).expect("body");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let names = header_names(&upstream_view(&answer));
    assert!(!names.contains(&"expect".to_string()), "{names:?}");
    // Over the limit as declared: refused at once, no go-ahead, nothing sent upstream.
    let framing = "Content-Length: 4096\r\nExpect: 100-continue\r\nConnection: close\r\n";
    let (answer, _) = exchange(guard.port, &head_of(&request, framing), b"");
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert_eq!(echo.hits(), 1);
}

#[test]
fn a_head_and_a_chunked_body_dribbled_byte_by_byte_arrive_whole() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let form = b"Body=slowly&From=%2B15551234567";
    let request = signed(guard.port, "/sms", FORM, form, &[]);
    let mut bytes = head_of(
        &request,
        "Transfer-Encoding: chunked\r\nConnection: close\r\n",
    )
    .into_bytes();
    for piece in form.chunks(5) {
        bytes.extend(format!("{:x}\r\n", piece.len()).into_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    for byte in &bytes {
        stream
            .write_all(std::slice::from_ref(byte))
            .expect("a byte");
        std::thread::sleep(Duration::from_micros(300));
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        answer.ends_with(std::str::from_utf8(form).expect("ascii")),
        "{answer}"
    );
}

#[test]
fn an_http_1_0_client_is_told_whether_its_connection_is_kept() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let kept = "GET /open HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    stream.write_all(kept.as_bytes()).expect("first");
    let mut piece = [0u8; 4096];
    let n = stream.read(&mut piece).expect("an answer");
    let first = String::from_utf8_lossy(&piece[..n]).into_owned();
    assert!(first.starts_with("HTTP/1.0 200 "), "{first}");
    assert!(first.contains("connection: keep-alive\r\n"), "{first}");
    // The same connection takes a second request, which closes it.
    stream
        .write_all(b"GET /open HTTP/1.0\r\n\r\n")
        .expect("second");
    let mut rest = String::new();
    let _ = stream.read_to_string(&mut rest);
    assert!(rest.starts_with("HTTP/1.0 200 "), "{rest}");
    assert!(rest.contains("connection: close\r\n"), "{rest}");
}

#[test]
fn a_body_cut_short_by_its_client_is_unreadable() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let request = signed(guard.port, "/sms", FORM, b"Body=cut", &[]);
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let head = head_of(&request, "Content-Length: 8\r\n");
    stream
        .write_all(format!("{head}Body").as_bytes())
        .expect("a part of the body");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("body_unreadable"), "{answer}");
    assert_eq!(echo.hits(), 0);
}
