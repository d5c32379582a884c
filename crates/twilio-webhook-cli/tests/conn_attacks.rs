//! Issue 28, finding 10: the guard's connection handling attacked from outside, against the real guard
//! process in front of a real upstream on loopback. Each of these got through before its fix: clients
//! that never read held every slot, a refusal to `HEAD` carried a body, a `--pass` route forwarded a
//! body that the app would read as a second request, the client's `Host` reached the upstream marked
//! verified, and dotted spellings of the verified header were forwarded.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use twilio_webhook::{Algorithm, Signer};
use twilio_webhook_http_suite as suite;

mod support;
use support::{Echo, FORM, Guard, PUBLIC, TOKEN, exchange, raw_headers, signed};

/// The size of the answer the slow clients never read: more than a loopback connection buffers.
const BIG: usize = 8 << 20;

/// An upstream that answers every request with [`BIG`] bytes and counts the connections it saw end
/// (closed or broken by the guard).
struct BigUpstream {
    port: u16,
    ended: Arc<AtomicUsize>,
}

impl BigUpstream {
    fn start() -> BigUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let ended = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&ended);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let count = Arc::clone(&count);
                std::thread::spawn(move || {
                    answer_big(stream);
                    count.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        BigUpstream { port, ended }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn ended(&self) -> usize {
        self.ended.load(Ordering::SeqCst)
    }
}

/// Answers the requests on `stream` (bodiless ones) until it ends or breaks.
fn answer_big(stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    let body = vec![b'x'; BIG];
    loop {
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if line == "\r\n" {
                break;
            }
        }
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {BIG}\r\n\r\n");
        if stream.write_all(head.as_bytes()).is_err() || stream.write_all(&body).is_err() {
            return;
        }
    }
}

/// Four clients that never read an 8 MiB answer held all four places of `--max-connections 4`,
/// and their upstream connections, for ever: nothing bounded a write to a client. Now each write must
/// make progress within `--send-timeout`.
#[test]
fn issue_28_clients_that_never_read_let_go_after_the_send_timeout() {
    let upstream = BigUpstream::start();
    let guard = Guard::start(
        &upstream.url(),
        &[
            "--max-connections",
            "4",
            "--send-timeout",
            "1",
            "--pass",
            "/big",
        ],
    );
    let stuck: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
            s.write_all(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("write");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    // A fifth client waits in the backlog until a place frees, then gets the whole answer.
    let start = Instant::now();
    let mut fifth = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    fifth
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    fifth
        .write_all(b"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = fifth.read_to_end(&mut answer);
    let head = String::from_utf8_lossy(answer.get(..answer.len().min(200)).unwrap_or_default())
        .into_owned();
    assert!(head.starts_with("HTTP/1.1 200"), "never served: {head:?}");
    assert!(answer.len() > BIG, "cut short: {} bytes", answer.len());
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    // The stuck clients' upstream connections were closed with them.
    let deadline = Instant::now() + Duration::from_secs(5);
    while upstream.ended() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(upstream.ended(), 4, "upstream connections still held");
    drop(stuck);
}

/// A request signed (URL alone) for `http://127.0.0.1:<port><target>` with `method`, as raw text.
fn signed_head(port: u16, method: &str, target: &str, extra: &str) -> String {
    let url = format!("http://127.0.0.1:{port}{target}");
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form(&url, std::iter::empty::<(&str, &str)>());
    format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Twilio-Signature: {signature}\r\n\
         {extra}Connection: close\r\n\r\n"
    )
}

/// A `HEAD` with a body on a passed route.
const PASSED_HEAD_WITH_BODY: &str =
    "HEAD /health HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

/// The guard's own refusals to `HEAD` carried their text: a client or front proxy reusing the
/// connection read it as the next answer. Now they end at their head (with the length they'd have).
#[test]
fn issue_28_refusals_to_head_end_at_their_head() {
    let echo = Echo::start();
    let guard = Guard::start(
        &echo.url(),
        &[
            "--replay",
            "memory",
            "--pass",
            "/health",
            "--max-body",
            "1KiB",
        ],
    );
    let port = guard.port;
    // A HEAD on a verified route is `405` whatever it carries (Twilio never sends one); the other
    // refusals come before the method is looked at.
    let genuine = signed_head(port, "HEAD", "/sms", "");
    let forged = signed_head(port, "HEAD", "/sms?x=1", "").replace("/sms?x=1 ", "/sms?x=2 ");
    let cases = [
        (
            "405",
            format!("HEAD /sms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"),
        ),
        ("405", forged),
        ("405", genuine),
        (
            "413",
            signed_head(port, "HEAD", "/sms", "Content-Length: 2000\r\n"),
        ),
        ("400", PASSED_HEAD_WITH_BODY.to_string()),
    ];
    for (status, request) in cases {
        let (head, body) = request.split_once("\r\n\r\n").expect("a head");
        let (answer, _) = exchange(port, &format!("{head}\r\n\r\n"), body.as_bytes());
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{request}: {answer}"
        );
        assert!(
            answer.to_ascii_lowercase().contains("content-length: "),
            "{answer}"
        );
        assert!(
            answer.ends_with("\r\n\r\n"),
            "a body after the head: {answer:?}"
        );
    }
    assert_eq!(echo.hits(), 0, "no HEAD reached the upstream");
}

/// A `--pass` route forwarded a body on `GET` (and `HEAD`, `OPTIONS`, `DELETE`), and `CONNECT` and
/// `TRACE` at all: an app that leaves a GET body unread parses it as a second request, here one that
/// carries the verified header. Now such a body is refused (400), and the two methods everywhere (405).
#[test]
fn issue_28_a_pass_route_forwards_no_body_where_the_method_has_none() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/health"]);
    let smuggled = b"POST /sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Webhook-Verified: primary\r\nContent-Length: 0\r\n\r\n";
    let chunked = format!(
        "{:x}\r\n{}\r\n0\r\n\r\n",
        smuggled.len(),
        String::from_utf8_lossy(smuggled)
    );
    // Every method but POST, PUT and PATCH, in any spelling: an upstream that upper-cases `Get` (as
    // WSGI frameworks do) or ignores the body of a method it does not know parses the body as a
    // second request (found by an outside attack on the first fix, which listed five methods).
    for method in [
        "GET", "HEAD", "OPTIONS", "DELETE", "Get", "get", "PROPFIND", "QUERY", "FOO",
    ] {
        for (framing, body) in [
            (
                format!("Content-Length: {}\r\n", smuggled.len()),
                smuggled.to_vec(),
            ),
            (
                "Transfer-Encoding: chunked\r\n".to_string(),
                chunked.clone().into_bytes(),
            ),
        ] {
            let head = format!("{method} /health HTTP/1.1\r\nHost: x\r\n{framing}\r\n");
            let (answer, _) = exchange(guard.port, &head, &body);
            assert!(answer.starts_with("HTTP/1.1 400"), "{head}: {answer}");
            if method != "HEAD" {
                assert!(answer.contains("body_not_allowed"), "{answer}");
            }
        }
    }
    for head in [
        "TRACE /health HTTP/1.1\r\nHost: x\r\n\r\n",
        "TRACE /sms HTTP/1.1\r\nHost: x\r\n\r\n",
        "CONNECT admin.internal:443 HTTP/1.1\r\nHost: admin.internal:443\r\n\r\n",
        "CONNECT /health HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let (answer, _) = exchange(guard.port, head, b"");
        assert!(answer.starts_with("HTTP/1.1 405"), "{head}: {answer}");
        assert!(answer.to_ascii_lowercase().contains("allow: "), "{answer}");
    }
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
    // Without a body, or with an empty one, these pass as before; so does a POST's body.
    for head in [
        "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "DELETE /health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    ] {
        let (head, body) = head.split_once("\r\n\r\n").expect("a head");
        let (answer, _) = exchange(guard.port, &format!("{head}\r\n\r\n"), body.as_bytes());
        assert!(answer.starts_with("HTTP/1.1 200"), "{head}: {answer}");
    }
    assert_eq!(echo.hits(), 3);
}

/// The `Host` the upstream saw, from the echo's view of the request's headers.
fn host_seen(seen: &[(String, String)]) -> Vec<&str> {
    seen.iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The client's `Host` was forwarded: a request signed for `hooks.example.com` reached an upstream
/// virtual host `admin.internal`, marked verified. Now `Host` is the authority of the public URL that
/// verified the request (the first one on a `--pass` route), and without a public URL the client's
/// single plain `Host`.
#[test]
fn issue_28_the_upstream_sees_the_host_that_was_signed() {
    let echo = Echo::start();
    let public = format!("{PUBLIC},https://other.example.com");
    let guard = Guard::start(&echo.url(), &["--public-url", &public, "--pass", "/health"]);
    let mut request = support::signed_public("/sms", b"Body=hi");
    for (n, v) in &mut request.headers {
        if n == "Host" {
            *v = "admin.internal".into();
        }
    }
    let seen = raw_headers(guard.port, &request);
    assert_eq!(host_seen(&seen), ["hooks.example.com"], "{seen:?}");
    // Signed for the second public URL: its own authority.
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form_body("https://other.example.com/sms", b"Body=hi")
        .expect("form");
    for (n, v) in &mut request.headers {
        if n == "X-Twilio-Signature" {
            v.clone_from(&signature);
        }
    }
    let seen = raw_headers(guard.port, &request);
    assert_eq!(host_seen(&seen), ["other.example.com"], "{seen:?}");
    let pass = twilio_webhook_http_suite::RawRequest {
        method: "GET",
        target: "/health".into(),
        headers: vec![("Host".into(), "admin.internal".into())],
        body: Vec::new(),
    };
    let seen = raw_headers(guard.port, &pass);
    assert_eq!(host_seen(&seen), ["hooks.example.com"], "{seen:?}");
    // Without a public URL: the Host that was verified, and on a passed route the client's single
    // plain Host; two, or one that is not an authority, are refused.
    let guard = Guard::start(&echo.url(), &["--pass", "/health"]);
    let hits = echo.hits();
    let form = signed(guard.port, "/sms", FORM, b"Body=hi", &[]);
    let seen = raw_headers(guard.port, &form);
    assert_eq!(host_seen(&seen), [format!("127.0.0.1:{}", guard.port)]);
    let seen = raw_headers(guard.port, &pass);
    assert_eq!(host_seen(&seen), ["admin.internal"], "{seen:?}");
    for hosts in [
        "Host: a.example\r\nHost: admin.internal\r\n",
        "Host: admin.internal/x\r\n",
        "Host: user@admin.internal\r\n",
    ] {
        let head = format!("GET /health HTTP/1.1\r\n{hosts}Connection: close\r\n\r\n");
        let (answer, _) = exchange(guard.port, &head, b"");
        assert!(
            answer.starts_with("HTTP/1.1 400") && answer.contains("bad_host"),
            "{hosts}: {answer}"
        );
    }
    assert_eq!(echo.hits(), hits + 2);
}

/// `X.Twilio.Webhook.Verified: forged` reached the app on a `--pass` route: PHP turns `.` into `_`,
/// so `$_SERVER['HTTP_X_TWILIO_WEBHOOK_VERIFIED']` read `forged`. Now every name that folds to the
/// verified header (letters and digits in any case, every other character alike) is stripped.
#[test]
fn issue_28_no_spelling_of_the_verified_header_reaches_the_app() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/health"]);
    let forged = [
        ("X.Twilio.Webhook.Verified", "forged"),
        ("x~twilio-webhook_verified", "forged"),
        ("X.TWILIO.WEBHOOK.VERIFIED", "forged"),
        ("x!twilio.webhook~verified", "forged"),
    ];
    let folded = |seen: &[(String, String)]| -> Vec<String> {
        seen.iter()
            .filter(|(n, _)| {
                let n: String = n
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() {
                            c.to_ascii_lowercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                n == "x_twilio_webhook_verified"
            })
            .map(|(_, v)| v.clone())
            .collect()
    };
    let pass = signed(guard.port, "/health", FORM, b"Body=hi", &forged);
    let seen = raw_headers(guard.port, &pass);
    assert_eq!(folded(&seen), Vec::<String>::new(), "{seen:?}");
    let verified = signed(guard.port, "/sms", FORM, b"Body=hi", &forged);
    let seen = raw_headers(guard.port, &verified);
    assert_eq!(folded(&seen), ["primary"], "{seen:?}");
}

/// A verified route: a captured POST webhook's signature, with its form re-split so that the raw body
/// is a request, sent as a `GET` with that body. The core built `P` from a GET's body (spec §2: only a
/// POST body is signed), so it verified, and an upstream that leaves a GET body unread ran the smuggled
/// request marked verified. Now a body on any method but POST is `400 body_not_allowed`, on every route.
#[test]
fn issue_28_a_verified_route_takes_a_body_on_post_alone() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &[]);
    let body = b"Body=hi&From=%2B15551234567&To=%2B15557654321";
    let genuine = signed(guard.port, "/sms", FORM, body, &[]);
    for method in [
        "GET", "DELETE", "OPTIONS", "Get", "PUT", "PATCH", "PROPFIND",
    ] {
        let mut request = genuine.clone();
        request.method = method;
        let head = support::head_of(
            &request,
            &format!("Content-Length: {}\r\nConnection: close\r\n", body.len()),
        );
        let (answer, _) = exchange(guard.port, &head, body);
        // Any method but GET and POST is refused first, for itself (`405`).
        let (status, code) = match method {
            "GET" => ("400", "body_not_allowed"),
            _ => ("405", "method_not_allowed"),
        };
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{method}: {answer}"
        );
        assert!(answer.contains(code), "{method}: {answer}");
    }
    // A URL-only signature (a captured GET webhook) with a body under it.
    let head = signed_head(guard.port, "GET", "/sms", "Content-Length: 7\r\n");
    let (answer, _) = exchange(guard.port, &head, b"Body=ev");
    assert!(answer.contains("body_not_allowed"), "{answer}");
    assert_eq!(echo.hits(), 0, "nothing reached the upstream");
    // The same form as a POST, and a bodiless GET under its URL-only signature, are delivered.
    let head = support::head_of(
        &genuine,
        &format!("Content-Length: {}\r\nConnection: close\r\n", body.len()),
    );
    let (answer, _) = exchange(guard.port, &head, body);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let (answer, _) = exchange(guard.port, &signed_head(guard.port, "GET", "/sms", ""), b"");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(echo.hits(), 2);
}

/// Issue 28, finding F5: slow clients each sending most of a body under `--max-body` (and holding its
/// last byte back until the client time-out) made the guard hold all of them at once: 800 such
/// clients, 856 MB. Now the bodies being read draw on `--max-body-memory`: once it is spent, a request
/// whose body would go over it gets `503` with a `Retry-After` and is never forwarded, and genuine
/// requests go through again as soon as the slow clients go.
#[test]
fn issue_28_slow_bodies_cannot_take_more_than_the_body_memory_budget() {
    const MAX_BODY: usize = 256 * 1024;
    let echo = Echo::start();
    let admin = suite::free_port();
    let guard = Guard::start(
        &echo.url(),
        &[
            "--max-body",
            "256KiB",
            "--max-body-memory",
            "1MiB",
            "--client-timeout",
            "30s",
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
        ],
    );
    suite::wait_for(admin);
    // Four unsigned clients take the whole budget, each but one byte of its body.
    let slow: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
            let head = format!(
                "POST /sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\
                 Content-Type: {FORM}\r\nContent-Length: {MAX_BODY}\r\n\r\n"
            );
            s.write_all(head.as_bytes()).expect("head");
            s.write_all(&vec![b'a'; MAX_BODY - 1]).expect("body");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let genuine = signed(guard.port, "/sms", FORM, b"Body=hi", &[]);
    let framing = format!(
        "Content-Length: {}\r\nConnection: close\r\n",
        genuine.body.len()
    );
    let head = support::head_of(&genuine, &framing);
    let (answer, _) = exchange(guard.port, &head, &genuine.body);
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let lower = answer.to_ascii_lowercase();
    assert!(
        lower.contains("\r\nretry-after: 30\r\n") && lower.contains("\r\nconnection: close\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("\r\n\r\nservice unavailable: body_memory_exhausted\n"),
        "{answer}"
    );
    assert_eq!(echo.hits(), 0, "a refused body reached the upstream");
    let shown = support::metrics(admin);
    assert!(
        shown.contains(
            "twilio_guard_requests_total{verdict=\"rejected\",reason=\"body_memory_exhausted\",cause=\"\"} 1\n"
        ),
        "{shown}"
    );
    // The slow clients go: what they held is given back, and the same request goes through.
    drop(slow);
    let deadline = Instant::now() + Duration::from_secs(10);
    let answer = loop {
        let (answer, _) = exchange(guard.port, &head, &genuine.body);
        if answer.starts_with("HTTP/1.1 200 ") || Instant::now() > deadline {
            break answer;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.ends_with("\r\n\r\nBody=hi"), "{answer}");
    assert_eq!(echo.hits(), 1);
    // Refused bodies give back what they took: eight forged ones of the whole limit (twice the
    // budget), then a genuine one of the whole limit fits.
    let big = format!("Body={}", "b".repeat(MAX_BODY - 5));
    let request = signed(guard.port, "/sms", FORM, big.as_bytes(), &[]);
    for _ in 0..8 {
        let mut forged = request.clone();
        for (name, value) in &mut forged.headers {
            if name.eq_ignore_ascii_case("x-twilio-signature") {
                *value = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
            }
        }
        let refused = suite::send(guard.port, &forged).expect("answer");
        assert_eq!(refused.status, 403, "{}", refused.text());
    }
    let reply = suite::send(guard.port, &request).expect("answer");
    assert_eq!((reply.status, reply.body.len()), (200, MAX_BODY));
}

/// The body budget holds on `--pass` routes too: a passed body that would go over it is refused with
/// `503 body_memory_exhausted` (not a `400`: the client is told to come back), and never forwarded.
#[test]
fn issue_28_a_passed_body_over_the_body_memory_budget_is_503() {
    const MAX_BODY: usize = 4096;
    let echo = Echo::start();
    let guard = Guard::start(
        &echo.url(),
        &[
            "--pass",
            "/upload",
            "--max-body",
            "4KiB",
            "--max-body-memory",
            "4KiB",
            "--client-timeout",
            "30s",
        ],
    );
    // One slow client holds all of the budget but one byte.
    let mut slow = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    let head = format!(
        "POST /sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\
         Content-Type: {FORM}\r\nContent-Length: {MAX_BODY}\r\n\r\n"
    );
    slow.write_all(head.as_bytes()).expect("head");
    slow.write_all(&vec![b'a'; MAX_BODY - 1]).expect("body");
    std::thread::sleep(Duration::from_millis(500));
    let head =
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n";
    let (answer, _) = exchange(guard.port, head, b"0123456789");
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\nservice unavailable: body_memory_exhausted\n"),
        "{answer}"
    );
    assert_eq!(echo.hits(), 0, "a refused body reached the upstream");
    drop(slow);
}
