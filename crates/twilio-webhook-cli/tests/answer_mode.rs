//! Issue 28 ("Trust, round two"): `--replay memory --replay-duplicates answer` against the real guard,
//! in front of the echo upstream, each answer read byte for byte as a client reads it. Only `GET` and
//! `POST` are verified (a `HEAD` carried a `GET`'s URL-only signature and took its answer); a kept
//! `204` or `304` has no `Content-Length`, and no body.

mod support;

use support::{Echo, Guard, TWIML, exchange, head_of, signed};

fn guard(echo: &Echo) -> Guard {
    Guard::start(
        &echo.url(),
        &["--replay", "memory", "--replay-duplicates", "answer"],
    )
}

/// An answer as the client read it on a connection the guard then closed.
struct Answer {
    status: u16,
    /// The values of its `Content-Length` fields.
    lengths: Vec<String>,
    /// Every byte after its head.
    rest: String,
    /// The whole answer, for messages.
    text: String,
}

/// Sends `method` on `target`, signed (URL alone) for the guard, and reads the whole answer.
fn send(guard: &Guard, method: &'static str, target: &str) -> Answer {
    let mut request = signed(guard.port, target, "text/plain", b"", &[]);
    request.method = method;
    let (text, _) = exchange(guard.port, &head_of(&request, "Connection: close\r\n"), b"");
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let lengths = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().to_string())
        .collect();
    Answer {
        status,
        lengths,
        rest: rest.to_string(),
        text: text.clone(),
    }
}

fn twiml_length() -> Vec<String> {
    vec![TWIML.len().to_string()]
}

/// Findings 1 and 2: a `HEAD` raced in first (after a `502` released the key while Twilio retries)
/// kept its empty answer, and Twilio's `GET` then got `200` without a body; that answer to `HEAD` had
/// two `Content-Length` fields. Then the outside attack of the third session: the method is not
/// signed, so a captured `GET`'s URL-only signature verified a `DELETE`, `PUT` or `PROPFIND` of its
/// URL (forwarded, `200`). Now every method but `GET` and `POST` is `405` before anything, never
/// forwarded, its refusal to `HEAD` ending at its one-length head; Twilio's `GET` is then the first
/// delivery, and its duplicates get its answer.
#[test]
fn issue_28_only_get_and_post_are_verified_and_a_head_never_takes_a_gets_answer() {
    let echo = Echo::start();
    let guard = guard(&echo);
    let head = send(&guard, "HEAD", "/twiml?CallSid=CA1");
    assert_eq!(
        (head.status, head.rest.as_str(), head.lengths.len()),
        (405, "", 1),
        "{}",
        head.text
    );
    for method in ["DELETE", "PUT", "PATCH", "OPTIONS", "PROPFIND", "get"] {
        let answer = send(&guard, method, "/twiml?CallSid=CA1");
        assert_eq!(answer.status, 405, "{method}: {}", answer.text);
        assert!(
            answer.text.contains("method_not_allowed"),
            "{}",
            answer.text
        );
    }
    assert_eq!(echo.hits(), 0, "no other method reached the app");
    for attempt in ["first", "duplicate"] {
        let get = send(&guard, "GET", "/twiml?CallSid=CA1");
        assert_eq!(
            (get.status, get.rest.as_bytes()),
            (200, TWIML),
            "{attempt}: {}",
            get.text
        );
        assert_eq!(get.lengths, twiml_length(), "{}", get.text);
    }
    assert_eq!(echo.hits(), 1, "the duplicate never reached the app");
}

/// Finding 3: a kept `204` or `304` was written with `content-length: 0`, on the first delivery and
/// to every duplicate (RFC 9110 §8.6: never in a `204`; a `304` has no body). Now both are framed as a
/// fresh answer with that status is: no `Content-Length`, no body.
#[test]
fn issue_28_a_kept_204_or_304_has_no_length_and_no_body() {
    let echo = Echo::start();
    let guard = guard(&echo);
    for status in [204, 304] {
        let target = format!("/status/{status}?CallSid=CA4");
        for attempt in ["first", "duplicate"] {
            let answer = send(&guard, "GET", &target);
            assert_eq!(answer.status, status, "{attempt}: {}", answer.text);
            assert!(
                answer.lengths.is_empty() && answer.rest.is_empty(),
                "{attempt}: {:?}",
                answer.text
            );
        }
    }
    assert_eq!(echo.hits(), 2, "the duplicates were answered by the guard");
}

/// Issue 28, F7 (fourth outside attack): with an app that takes 12 s, a duplicate sent 11 s after the
/// first delivery (Twilio's retry, or anyone replaying a captured webhook) found the 10 s lease lapsed
/// while the first delivery was still running on a live guard, and was delivered a second time (both
/// `200`). The guard now renews the lease while the upstream works: the duplicate waits for the first
/// answer and gets it, and the app sees one delivery.
#[test]
fn issue_28_a_duplicate_sent_after_the_lease_of_a_slow_delivery_waits_for_its_answer() {
    use std::time::{Duration, Instant};
    use twilio_webhook_http_suite as suite;
    let echo = Echo::start();
    let guard = guard(&echo);
    let body = b"Body=slow&CallSid=CA7";
    let request = signed(guard.port, "/sleep/12000", support::FORM, body, &[]);
    let first = {
        let (request, port) = (request.clone(), guard.port);
        std::thread::spawn(move || suite::send(port, &request).expect("first answer"))
    };
    let start = Instant::now();
    // Past the 10 s lease (the most a lease is), before the app answers.
    std::thread::sleep(Duration::from_secs(11));
    let duplicate = suite::send(guard.port, &request).expect("duplicate answer");
    let answered = start.elapsed();
    let first = first.join().expect("first");
    assert_eq!(
        (first.status, first.text()),
        (200, String::from_utf8_lossy(body).into_owned())
    );
    assert_eq!(
        (duplicate.status, duplicate.text()),
        (first.status, first.text()),
        "the duplicate got the first answer"
    );
    assert!(answered >= Duration::from_secs(12), "{answered:?}");
    assert_eq!(echo.hits(), 1, "the app saw one delivery");
}

/// Sixth outside attack (A5-F3): each pause of a duplicate waiting for the first delivery's answer
/// started an OS thread. 800 duplicates of one captured SMS, sent while the first delivery was with a
/// slow app, made the guard 805 threads; under a task limit `thread::spawn` panicked and duplicates,
/// Twilio's retries among them, got no answer. The pauses now share one timer thread: the guard's
/// threads stay flat while 150 duplicates wait, and every duplicate gets the first answer.
#[test]
fn issue_28_waiting_duplicates_do_not_each_take_a_thread() {
    use std::time::Duration;
    use twilio_webhook_http_suite as suite;
    let echo = Echo::start();
    let guard = guard(&echo);
    let threads = || {
        std::fs::read_dir(format!("/proc/{}/task", guard.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    let idle = threads();
    let body = b"Body=slow&CallSid=CA8";
    let request = signed(guard.port, "/sleep/3000", support::FORM, body, &[]);
    let send = |request: &suite::RawRequest| {
        let (request, port) = (request.clone(), guard.port);
        std::thread::spawn(move || suite::send(port, &request).expect("an answer"))
    };
    let first = send(&request);
    std::thread::sleep(Duration::from_millis(300));
    let duplicates: Vec<_> = (0..150).map(|_| send(&request)).collect();
    // The duplicates are all waiting (pausing between looks at the store) well before the app answers.
    std::thread::sleep(Duration::from_millis(1500));
    let waiting = threads();
    let first = first.join().expect("first");
    assert_eq!(first.status, 200, "{}", first.text());
    for duplicate in duplicates {
        let duplicate = duplicate.join().expect("duplicate");
        assert_eq!(
            (duplicate.status, duplicate.text()),
            (200, String::from_utf8_lossy(body).into_owned()),
            "a duplicate got the first answer"
        );
    }
    assert!(idle > 0, "the guard's threads could not be read");
    assert!(
        waiting < idle + 20,
        "the guard had {idle} threads idle and {waiting} while 150 duplicates waited"
    );
    assert_eq!(echo.hits(), 1, "the app saw one delivery");
}

/// An upstream that answers each request (one per connection) `200` with its head at once and its
/// ten-byte body one byte every 500 ms, counting the requests that reach it.
struct SlowBody {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl SlowBody {
    fn start() -> SlowBody {
        use std::io::{Read as _, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let hits: std::sync::Arc<std::sync::atomic::AtomicUsize> = std::sync::Arc::default();
        let counter = std::sync::Arc::clone(&hits);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let counter = std::sync::Arc::clone(&counter);
                std::thread::spawn(move || {
                    // The request: its head, then as many body bytes as it declares.
                    let mut request = Vec::new();
                    let mut buf = [0u8; 4096];
                    let complete = |request: &[u8]| {
                        let text = String::from_utf8_lossy(request);
                        let Some((head, body)) = text.split_once("\r\n\r\n") else {
                            return false;
                        };
                        let length = head
                            .lines()
                            .filter_map(|line| line.split_once(':'))
                            .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
                            .and_then(|(_, value)| value.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        body.len() >= length
                    };
                    while !complete(&request) {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(buf.get(..n).unwrap_or_default()),
                        }
                    }
                    counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nConnection: close\r\n\r\n";
                    if stream.write_all(head.as_bytes()).is_err() {
                        return;
                    }
                    for byte in b"slow-body!" {
                        std::thread::sleep(std::time::Duration::from_millis(500));
                        if stream.write_all(&[*byte]).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        SlowBody { port, hits }
    }
}

/// Issue 28, F7 (mutation testing of the lease renewal): the guard renews the lease while it reads
/// the app's answer whole, not only while it waits for its head. With a 3 s lease (the upstream
/// time-out) and an app that sends its head at once and its body over 5 s, a duplicate sent at 4 s,
/// after the lease would have lapsed, waits for the first answer and gets it; the app sees one
/// request. (Unrenewed while the body was read, the duplicate took the lapsed lease and reached the
/// app a second time.)
#[test]
fn issue_28_a_duplicate_sent_while_a_slow_answer_is_read_waits_for_it() {
    use std::time::{Duration, Instant};
    use twilio_webhook_http_suite as suite;
    let upstream = SlowBody::start();
    let guard = Guard::start(
        &format!("http://127.0.0.1:{}", upstream.port),
        &[
            "--replay",
            "memory",
            "--replay-duplicates",
            "answer",
            "--upstream-timeout",
            "3s",
        ],
    );
    let body = b"Body=slow-answer&CallSid=CA8";
    let request = signed(guard.port, "/sms", support::FORM, body, &[]);
    let first = {
        let (request, port) = (request.clone(), guard.port);
        std::thread::spawn(move || suite::send(port, &request).expect("first answer"))
    };
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs(4));
    let duplicate = suite::send(guard.port, &request).expect("duplicate answer");
    let answered = start.elapsed();
    let first = first.join().expect("first");
    assert_eq!(
        (first.status, first.text()),
        (200, "slow-body!".to_string())
    );
    assert_eq!(
        (duplicate.status, duplicate.text()),
        (first.status, first.text()),
        "the duplicate got the first answer"
    );
    assert!(answered >= Duration::from_secs(5), "{answered:?}");
    assert_eq!(
        upstream.hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the app saw one request"
    );
}

/// Mutation testing of the lease renewal (sixth session): in answer mode the guard read the app's
/// answer whole with no time limit, renewing the request's lease all along, so an app that sent its
/// head and then stalled held the key (every retry `409`) for as long as it held the connection. Each
/// read of the answer now waits at most `--upstream-timeout`: the stalled delivery is a `502`, soon,
/// and its key is released, so the retry is delivered.
#[test]
fn issue_28_an_answer_that_stalls_after_its_head_is_a_502_that_frees_the_key() {
    use std::io::{Read as _, Write as _};
    use std::time::{Duration, Instant};
    use twilio_webhook_http_suite as suite;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let hits: std::sync::Arc<std::sync::atomic::AtomicUsize> = std::sync::Arc::default();
    let counter = std::sync::Arc::clone(&hits);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = stream.read(&mut buf);
                let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
                if n == 0 {
                    // The first delivery: its head and one byte, then nothing for 12 s.
                    let _ = stream.write_all(format!("{head}s").as_bytes());
                    std::thread::sleep(Duration::from_secs(12));
                } else {
                    let _ = stream.write_all(format!("{head}fresh").as_bytes());
                }
            });
        }
    });
    let guard = Guard::start(
        &format!("http://127.0.0.1:{port}"),
        &[
            "--replay",
            "memory",
            "--replay-duplicates",
            "answer",
            "--upstream-timeout",
            "2s",
        ],
    );
    let request = signed(
        guard.port,
        "/sms",
        support::FORM,
        b"Body=stall&CallSid=CA9",
        &[],
    );
    let start = Instant::now();
    let first = suite::send(guard.port, &request).expect("first answer");
    let failed_after = start.elapsed();
    assert_eq!(first.status, 502, "{}", first.text());
    assert!(failed_after < Duration::from_secs(6), "{failed_after:?}");
    let retry = suite::send(guard.port, &request).expect("retry answer");
    assert_eq!((retry.status, retry.text()), (200, "fresh".to_string()));
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "the retry was delivered"
    );
}
