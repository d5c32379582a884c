//! `twilio-webhook guard` as a real process on loopback, in front of an echo upstream: byte-exact
//! forwarding, every refusal and its status, the forged verified header, replays (memory, and Redis
//! shared by two guards), the upstream killed or slow, a slow client, and SIGTERM during a request.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use twilio_webhook::{Algorithm, Signer};
use twilio_webhook_http_suite as suite;

mod support;
use support::{Echo, FORM, Guard, TOKEN, exchange, raw_headers, signed, signed_body};

#[test]
fn verified_requests_are_forwarded_byte_exact_and_refusals_never_reach_the_upstream() {
    let echo = Echo::start();
    let guard = Guard::start(
        &echo.url(),
        &[
            "--max-body",
            "64KiB",
            "--replay",
            "memory",
            "--pass",
            "/health",
        ],
    );
    let send = |r: &suite::RawRequest| suite::send(guard.port, r).expect("answer");
    // Form, with a query kept byte for byte.
    let form = b"Body=Hello+there&From=%2B15551234567&MediaUrl=a&MediaUrl=b";
    let r = send(&signed(
        guard.port,
        "/sms?name=O%27Brien&q=a+b",
        FORM,
        form,
        &[],
    ));
    assert_eq!((r.status, r.body.as_slice()), (200, &form[..]));
    // A binary body in JSON mode, exactly at the limit.
    let binary: Vec<u8> = (0..64 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let r = send(&signed_body(guard.port, "/events", &binary));
    assert_eq!(r.status, 200);
    assert!(r.body == binary, "the binary body changed on the way");
    let over: Vec<u8> = vec![1; 64 * 1024 + 1];
    assert_eq!(send(&signed_body(guard.port, "/events", &over)).status, 413);
    // Refusals.
    let mut unsigned = signed(guard.port, "/sms", FORM, form, &[]);
    unsigned.headers.retain(|(n, _)| n != "X-Twilio-Signature");
    assert_eq!(send(&unsigned).status, 400);
    let mut forged = signed(guard.port, "/sms", FORM, form, &[]);
    forged.body.extend_from_slice(b"&Extra=1");
    assert_eq!(send(&forged).status, 403);
    let mut stripped = signed_body(guard.port, "/events", b"{\"a\":1}");
    stripped.body.clear();
    let r = send(&stripped);
    assert_eq!(
        (r.status, r.text().contains("body_hash_mismatch")),
        (403, true),
        "{}",
        r.text()
    );
    let replayed = signed(guard.port, "/sms", FORM, b"Body=once", &[]);
    assert_eq!((send(&replayed).status, send(&replayed).status), (200, 409));
    // Pass-through routes skip verification.
    let mut health = signed(guard.port, "/health", FORM, b"", &[]);
    health.headers.retain(|(n, _)| n != "X-Twilio-Signature");
    assert_eq!(send(&health).status, 200);
}

#[test]
fn the_verified_header_comes_only_from_the_guard() {
    let echo = Echo::start();
    let guard = Guard::start(&echo.url(), &["--pass", "/open"]);
    // Two forged copies, in two spellings: the upstream sees one, the guard's.
    let forged = [
        ("X-Twilio-Webhook-Verified", "admin"),
        ("x-twilio-webhook-verified", "root"),
    ];
    let request = signed(guard.port, "/sms", FORM, b"Body=hi", &forged);
    let headers = raw_headers(guard.port, &request);
    let verified: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n == "x-twilio-webhook-verified")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(verified, ["primary"], "{headers:?}");
    // A pass-through request never carries it, whatever the client sent.
    let mut open = signed(guard.port, "/open", FORM, b"", &forged);
    open.headers.retain(|(n, _)| n != "X-Twilio-Signature");
    let headers = raw_headers(guard.port, &open);
    assert!(
        headers
            .iter()
            .all(|(n, _)| n != "x-twilio-webhook-verified"),
        "{headers:?}"
    );
    // Hop-by-hop headers are not forwarded.
    let hop = signed(
        guard.port,
        "/sms",
        FORM,
        b"Body=hop",
        &[
            ("Keep-Alive", "timeout=5"),
            ("Proxy-Authorization", "secret"),
        ],
    );
    let headers = raw_headers(guard.port, &hop);
    assert!(
        headers
            .iter()
            .all(|(n, _)| n != "keep-alive" && n != "proxy-authorization"),
        "{headers:?}"
    );
}

#[test]
fn replays_are_refused_across_two_guards_sharing_redis() {
    let echo = Echo::start();
    let redis = suite::RedisServer::start();
    let a = Guard::start(
        &echo.url(),
        &[
            "--replay",
            &redis.url(),
            "--public-url",
            "https://hooks.example.com",
        ],
    );
    let b = Guard::start(
        &echo.url(),
        &[
            "--replay",
            &redis.url(),
            "--public-url",
            "https://hooks.example.com",
        ],
    );
    let request = support::signed_public("/sms", b"Body=shared");
    assert_eq!(suite::send(a.port, &request).expect("a").status, 200);
    let second = suite::send(b.port, &request).expect("b");
    assert_eq!(
        (second.status, second.text().contains("replayed")),
        (409, true)
    );
}

#[test]
fn upstream_down_slow_and_a_slow_client() {
    let mut echo = Echo::start();
    let guard = Guard::start(
        &echo.url(),
        &["--upstream-timeout", "300ms", "--client-timeout", "500ms"],
    );
    let r = suite::send(
        guard.port,
        &signed(guard.port, "/slow", FORM, b"Body=slow", &[]),
    )
    .expect("answer");
    assert_eq!(r.status, 504, "{}", r.text());
    // A slowloris body: the headers promise 100 bytes, 10 arrive, then nothing.
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    let request = signed(guard.port, "/sms", FORM, &[b'a'; 100], &[]);
    let mut head = "POST /sms HTTP/1.1\r\n".to_string();
    for (n, v) in &request.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("Content-Length: 100\r\n\r\naaaaaaaaaa");
    stream.write_all(head.as_bytes()).expect("write");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let start = Instant::now();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(start.elapsed() < Duration::from_secs(3));
    // Slow headers: the connection is closed after the client timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    slow.write_all(b"POST /sms HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    slow.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let start = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "the connection stayed open"
    );
    // The upstream killed mid-run: 502.
    echo.kill();
    let r = suite::send(
        guard.port,
        &signed(guard.port, "/sms", FORM, b"Body=down", &[]),
    )
    .expect("answer");
    assert_eq!(r.status, 502, "{}", r.text());
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let echo = Echo::start();
    let mut guard = Guard::start(&echo.url(), &["--upstream-timeout", "5s"]);
    let port = guard.port;
    let in_flight = std::thread::spawn(move || {
        suite::send(port, &signed(port, "/slow", FORM, b"Body=drain", &[]))
    });
    std::thread::sleep(Duration::from_millis(300));
    let pid = guard.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let answer = in_flight.join().expect("sender").expect("an answer");
    assert_eq!(
        (answer.status, answer.body.as_slice()),
        (200, &b"Body=drain"[..])
    );
    let status = guard.child.wait().expect("exits");
    assert!(status.success(), "{status}");
    // It no longer accepts connections.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

#[test]
fn admin_health_and_metrics() {
    let echo = Echo::start();
    let admin = suite::free_port();
    let guard = Guard::start(
        &echo.url(),
        &[
            "--admin-listen",
            &format!("127.0.0.1:{admin}"),
            "--replay",
            "memory",
        ],
    );
    suite::wait_for(admin);
    assert_eq!(
        suite::send(
            guard.port,
            &signed(guard.port, "/sms", FORM, b"Body=m", &[])
        )
        .expect("ok")
        .status,
        200
    );
    let replayed = signed(guard.port, "/sms", FORM, b"Body=m", &[]);
    assert_eq!(
        suite::send(guard.port, &replayed).expect("answer").status,
        409
    );
    let mut bad = signed(guard.port, "/sms", FORM, b"Body=m", &[]);
    bad.body.push(b'!');
    assert_eq!(suite::send(guard.port, &bad).expect("answer").status, 403);
    let get = |path: &str| {
        let request = suite::RawRequest {
            method: "GET",
            target: path.into(),
            headers: vec![("Host".into(), "admin".into())],
            body: vec![],
        };
        suite::send(admin, &request).expect("admin answers")
    };
    assert_eq!(
        (get("/healthz").status, get("/healthz").text()),
        (200, "ok\n".to_string())
    );
    let metrics = get("/metrics").text();
    assert!(
        metrics.contains(
            "twilio_guard_requests_total{verdict=\"forwarded\",reason=\"\",cause=\"\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "twilio_guard_requests_total{verdict=\"rejected\",reason=\"signature_mismatch\",cause=\"unexplained\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            "twilio_guard_requests_total{verdict=\"duplicate\",reason=\"refused\",cause=\"\"} 1"
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains("twilio_guard_upstream_seconds_count 1"),
        "{metrics}"
    );
}

/// Issue 19: behind a tunnel with no public URL, the guard's own log says at the first refused webhook
/// what Twilio signed and the setting to change, and the metrics count the cause; the response stays
/// the terse reason.
#[test]
fn a_refusal_explains_itself_in_the_log_and_the_metrics() {
    let echo = Echo::start();
    let admin = suite::free_port();
    let log = std::env::temp_dir().join(format!("guard-explain-{}.log", std::process::id()));
    let file = std::fs::File::create(&log).expect("log file");
    let guard = Guard::start_with(
        &echo.url(),
        &["--admin-listen", &format!("127.0.0.1:{admin}")],
        std::process::Stdio::from(file),
        |_| {},
    );
    suite::wait_for(admin);
    let body = b"Body=Hello";
    let signature = Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form_body("https://abc123.ngrok-free.app/sms", body)
        .expect("form");
    let request = suite::RawRequest {
        method: "POST",
        target: "/sms".into(),
        headers: vec![
            ("Host".into(), "abc123.ngrok-free.app".into()),
            ("Content-Type".into(), FORM.into()),
            ("X-Forwarded-Proto".into(), "https".into()),
            ("X-Twilio-Signature".into(), signature),
        ],
        body: body.to_vec(),
    };
    let r = suite::send(guard.port, &request).expect("answer");
    assert_eq!(
        (r.status, r.text()),
        (
            403,
            "Twilio webhook rejected: signature_mismatch\n".to_string()
        )
    );
    let metrics = support::metrics(admin);
    assert!(
        metrics.contains(
            "twilio_guard_requests_total{verdict=\"rejected\",reason=\"signature_mismatch\",cause=\"scheme\"} 1"
        ),
        "{metrics}"
    );
    drop(guard);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    for expected in [
        "rejected POST /sms (signature_mismatch): Twilio signed https://abc123.ngrok-free.app/sms; this server checked http://abc123.ngrok-free.app/sms (scheme)",
        "Fix: set TWILIO_PUBLIC_URL=https://abc123.ngrok-free.app",
        "TWILIO_TRUSTED_PROXIES=127.0.0.1",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert_eq!(echo.hits(), 0);
}

#[test]
fn a_pass_route_streams_its_body_under_the_limit_and_the_client_timeout() {
    let echo = Echo::start();
    let guard = Guard::start(
        &echo.url(),
        &[
            "--pass",
            "/health",
            "--max-body",
            "1KiB",
            "--client-timeout",
            "500ms",
        ],
    );
    let chunked = |size: usize| {
        let mut body = format!("{size:x}\r\n").into_bytes();
        body.extend(std::iter::repeat_n(b'a', size));
        body.extend_from_slice(b"\r\n0\r\n\r\n");
        body
    };
    let head = "POST /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    // Under the limit, unverified (a pass route), the body reaches the upstream whole.
    let (answer, _) = exchange(guard.port, head, &chunked(1000));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(&"a".repeat(1000)), "{answer}");
    // Past it, without a declared length: only streaming finds it out, and the answer is 413.
    let (answer, _) = exchange(guard.port, head, &chunked(2000));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("body_too_large"), "{answer}");
    // A body that stops coming: 408 at the client timeout, not the upstream's.
    let (answer, took) = exchange(
        guard.port,
        "POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\n",
        b"0123456789",
    );
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("client_timeout"), "{answer}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}
