//! The guard's connections to the upstream, against an upstream written byte by byte: idle ones are
//! reused, one the upstream closed is not, a streamed answer arrives whole (chunked, or ended by the
//! end of the connection), an answer framed two ways is never relayed, and the request target and
//! `Host` are what the upstream's URL says.

mod support;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::{FORM, Guard, exchange, head_of, signed};
use twilio_webhook_http_suite as suite;

/// How the upstream ends an answer.
#[derive(Clone, Copy)]
enum Ending {
    /// `Content-Length`, then waits for the next request on the same connection.
    KeepAlive,
    /// `Content-Length`, then closes the connection without having said so.
    Close,
    /// `Connection: close`, then closes.
    SaysClose,
    /// A 1 MiB chunked body, then waits for the next request.
    Chunked,
    /// The 1 MiB body without a length: it ends when the connection does.
    UntilClose,
    /// Two different lengths: two servers could read it two ways.
    TwoLengths,
    /// The head and half the body, a pause, then the rest, framed as said.
    Paused(Pause),
    /// `100 Continue` first, then the answer.
    Interim,
    /// `101 Switching Protocols`, which nobody asked for.
    Switch,
}

/// How a paused answer's body is framed.
#[derive(Clone, Copy, Debug)]
enum Pause {
    Length,
    Chunked,
    UntilClose,
}

/// How long a paused answer waits between its halves.
const PAUSE: Duration = Duration::from_millis(1500);

/// An upstream that counts its connections and keeps the head of every request it read.
struct Upstream {
    port: u16,
    connections: Arc<Mutex<usize>>,
    heads: Arc<Mutex<Vec<String>>>,
}

/// The chunked answer's body.
fn big_body() -> Vec<u8> {
    (0..1 << 20).map(|i| b"0123456789abcdef"[i % 16]).collect()
}

impl Upstream {
    fn start(ending: Ending) -> Upstream {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let connections = Arc::new(Mutex::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (count, seen) = (Arc::clone(&connections), Arc::clone(&heads));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                *count.lock().expect("count") += 1;
                let seen = Arc::clone(&seen);
                std::thread::spawn(move || serve(stream, ending, &seen));
            }
        });
        Upstream {
            port,
            connections,
            heads,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn connections(&self) -> usize {
        *self.connections.lock().expect("count")
    }

    fn last_head(&self) -> String {
        self.heads
            .lock()
            .expect("heads")
            .last()
            .cloned()
            .unwrap_or_default()
    }
}

/// Answers requests on `stream` until the client closes it or `ending` says to.
fn serve(stream: TcpStream, ending: Ending, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut stream = stream;
    loop {
        let mut head = String::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            if let Some(value) = line
                .to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(str::trim)
            {
                length = value.parse().expect("length");
            }
            head.push_str(&line);
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        seen.lock().expect("heads").push(head);
        let answer: Vec<u8> = match ending {
            Ending::KeepAlive | Ending::Close => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n<Response/>".to_vec()
            }
            Ending::SaysClose => {
                b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 11\r\n\r\n<Response/>"
                    .to_vec()
            }
            Ending::Chunked => {
                let mut answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
                for chunk in big_body().chunks(10_000) {
                    answer.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                    answer.extend_from_slice(chunk);
                    answer.extend_from_slice(b"\r\n");
                }
                answer.extend_from_slice(b"0\r\n\r\n");
                answer
            }
            Ending::UntilClose => {
                let mut answer = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec();
                answer.extend_from_slice(&big_body());
                answer
            }
            Ending::TwoLengths => {
                b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\nContent-Length: 5\r\n\r\n<Response/>"
                    .to_vec()
            }
            Ending::Paused(_) => Vec::new(),
            Ending::Interim => {
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n<Response/>"
                    .to_vec()
            }
            Ending::Switch => {
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"
                    .to_vec()
            }
        };
        if let Ending::Paused(pause) = ending {
            let (first, second): (&[u8], &[u8]) = match pause {
                Pause::Length => (
                    b"HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\nfirst-half",
                    b"secondhalf",
                ),
                Pause::Chunked => (
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\nfirst-half\r\n",
                    b"a\r\nsecondhalf\r\n0\r\n\r\n",
                ),
                Pause::UntilClose => (b"HTTP/1.1 200 OK\r\n\r\nfirst-half", b"secondhalf"),
            };
            let _ = stream.write_all(first);
            std::thread::sleep(PAUSE);
            let _ = stream.write_all(second);
            return;
        }
        if stream.write_all(&answer).is_err() {
            return;
        }
        if matches!(
            ending,
            Ending::Close
                | Ending::SaysClose
                | Ending::UntilClose
                | Ending::TwoLengths
                | Ending::Switch
        ) {
            return;
        }
    }
}

/// `n` signed requests to `/sms`, one after the other, each on a connection of its own; the
/// bodies of their answers.
fn send_signed(guard: &Guard, n: usize, pause: Duration) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            std::thread::sleep(pause);
            let body = format!("Body=message+{i}");
            let r = suite::send(
                guard.port,
                &signed(guard.port, "/sms", FORM, body.as_bytes(), &[]),
            )
            .expect("answer");
            assert_eq!(r.status, 200, "request {i}: {}", r.text());
            r.body
        })
        .collect()
}

#[test]
fn an_idle_upstream_connection_is_reused() {
    let upstream = Upstream::start(Ending::KeepAlive);
    let guard = Guard::start(&upstream.url(), &["--workers", "1"]);
    let bodies = send_signed(&guard, 10, Duration::ZERO);
    assert!(bodies.iter().all(|b| b == b"<Response/>"));
    assert_eq!(upstream.connections(), 1, "ten requests, one connection");
}

#[test]
fn a_connection_the_upstream_closed_is_not_used_again() {
    // Closed without a word: the guard sees the end of the connection and opens a new one.
    let upstream = Upstream::start(Ending::Close);
    let guard = Guard::start(&upstream.url(), &["--workers", "1"]);
    send_signed(&guard, 5, Duration::from_millis(100));
    assert_eq!(upstream.connections(), 5);
    // Closed as announced: not even a pause is needed.
    let upstream = Upstream::start(Ending::SaysClose);
    let guard = Guard::start(&upstream.url(), &["--workers", "1"]);
    send_signed(&guard, 5, Duration::ZERO);
    assert_eq!(upstream.connections(), 5);
}

#[test]
fn a_streamed_answer_arrives_whole_and_its_connection_is_reused_after() {
    let upstream = Upstream::start(Ending::Chunked);
    let guard = Guard::start(&upstream.url(), &["--workers", "1"]);
    let bodies = send_signed(&guard, 3, Duration::ZERO);
    let want = big_body();
    assert!(
        bodies.iter().all(|b| *b == want),
        "a body was cut or changed"
    );
    assert_eq!(upstream.connections(), 1);
}

#[test]
fn the_upstream_sees_its_own_path_prefix_and_a_host_when_the_client_sent_none() {
    let upstream = Upstream::start(Ending::KeepAlive);
    let guard = Guard::start(&format!("{}/base/", upstream.url()), &["--pass", "/health"]);
    let (answer, _) = exchange(guard.port, "GET /health?x=1 HTTP/1.0\r\n\r\n", b"");
    assert!(answer.starts_with("HTTP/1.0 200"), "{answer}");
    let head = upstream.last_head();
    assert!(
        head.starts_with("GET /base/health?x=1 HTTP/1.1\r\n"),
        "{head}"
    );
    let host = format!("host: 127.0.0.1:{}\r\n", upstream.port);
    assert!(head.to_ascii_lowercase().contains(&host), "{head}");
    // A client's own Host is kept.
    let r = suite::send(
        guard.port,
        &suite::RawRequest {
            method: "GET",
            target: "/health".into(),
            headers: vec![("Host".into(), "public.example.com".into())],
            body: Vec::new(),
        },
    )
    .expect("answer");
    assert_eq!(r.status, 200);
    assert!(
        upstream
            .last_head()
            .to_ascii_lowercase()
            .contains("host: public.example.com\r\n")
    );
}

#[test]
fn an_answer_ended_by_its_connection_arrives_whole_and_chunked() {
    let upstream = Upstream::start(Ending::UntilClose);
    let guard = Guard::start(&upstream.url(), &["--workers", "1"]);
    for _ in 0..2 {
        let request = signed(guard.port, "/sms", FORM, b"Body=long", &[]);
        let r = suite::send(guard.port, &request).expect("answer");
        assert_eq!(r.status, 200, "{}", r.text());
        assert!(r.body == big_body(), "the body was cut or changed");
    }
    // To an HTTP/1.1 client, the guard frames it itself (chunked); the upstream's connection ends.
    let request = signed(guard.port, "/sms", FORM, b"Body=raw", &[]);
    let framing = "Content-Length: 8\r\nConnection: close\r\n";
    let (answer, _) = exchange(guard.port, &head_of(&request, framing), &request.body);
    let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("transfer-encoding: chunked"), "{head}");
    assert!(body.ends_with("\r\n0\r\n\r\n"), "the last chunk");
    assert_eq!(upstream.connections(), 3);
}

#[test]
fn an_answer_framed_two_ways_is_never_relayed() {
    let upstream = Upstream::start(Ending::TwoLengths);
    let guard = Guard::start(&upstream.url(), &["--workers", "1"]);
    let request = signed(guard.port, "/sms", FORM, b"Body=two", &[]);
    let r = suite::send(guard.port, &request).expect("answer");
    assert_eq!(
        (r.status, r.text().as_str()),
        (502, "upstream unavailable\n")
    );
}

#[test]
fn an_answer_is_relayed_as_it_arrives_whatever_its_framing() {
    for pause in [Pause::Length, Pause::Chunked, Pause::UntilClose] {
        let upstream = Upstream::start(Ending::Paused(pause));
        let guard = Guard::start(&upstream.url(), &[]);
        let request = signed(guard.port, "/sms", FORM, b"Body=wait", &[]);
        let framing = "Content-Length: 9\r\nConnection: close\r\n";
        let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let start = std::time::Instant::now();
        stream
            .write_all(format!("{}Body=wait", head_of(&request, framing)).as_bytes())
            .expect("request");
        let mut seen = Vec::new();
        let mut piece = [0u8; 1024];
        while !String::from_utf8_lossy(&seen).contains("first-half") {
            let n = stream.read(&mut piece).expect("the first half");
            assert!(
                n > 0,
                "{pause:?}: closed early: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&piece[..n]);
        }
        assert!(
            start.elapsed() < PAUSE / 2,
            "{pause:?}: the first half waited for the second ({:?})",
            start.elapsed()
        );
        let _ = stream.read_to_end(&mut seen);
        let text = String::from_utf8_lossy(&seen);
        assert!(text.contains("secondhalf"), "{pause:?}: {text}");
    }
}

#[test]
fn interim_answers_are_skipped_and_a_protocol_switch_is_refused() {
    let upstream = Upstream::start(Ending::Interim);
    let guard = Guard::start(&upstream.url(), &[]);
    let request = signed(guard.port, "/sms", FORM, b"Body=interim", &[]);
    let r = suite::send(guard.port, &request).expect("answer");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"<Response/>"[..]));
    let upstream = Upstream::start(Ending::Switch);
    let guard = Guard::start(&upstream.url(), &[]);
    let request = signed(guard.port, "/sms", FORM, b"Body=switch", &[]);
    assert_eq!(
        suite::send(guard.port, &request).expect("answer").status,
        502
    );
}

#[test]
fn an_http_1_0_client_gets_a_chunked_answer_unchunked_until_the_connection_ends() {
    let upstream = Upstream::start(Ending::Chunked);
    let guard = Guard::start(&upstream.url(), &[]);
    let request = signed(guard.port, "/sms", FORM, b"Body=old", &[]);
    let head = head_of(&request, "Content-Length: 8\r\n").replacen("HTTP/1.1", "HTTP/1.0", 1);
    let mut stream = TcpStream::connect(("127.0.0.1", guard.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .write_all(format!("{head}Body=old").as_bytes())
        .expect("request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a head");
    let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
    assert!(head.starts_with("http/1.0 200"), "{head}");
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(head.contains("connection: close"), "{head}");
    assert!(
        answer[end + 4..] == big_body()[..],
        "the body, without chunk framing"
    );
}
