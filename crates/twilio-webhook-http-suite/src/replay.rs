//! The replay contract of the example servers, with the memory store and with a real Redis shared by
//! two instances.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::server::{Config, Server, free_port, spawn_example_with, wait_for};
use crate::{RawRequest, send};

/// A `redis-server` of its own on a free loopback port, without persistence; stopped when dropped.
pub struct RedisServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts `redis-server` (from `PATH`; `.ci/run` installs Debian's `redis-server` when missing).
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server; .ci/run does)");
        wait_for(port);
        RedisServer {
            port,
            child: Some(child),
        }
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server now (an outage) and waits until the port refuses connections.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(start.elapsed() < Duration::from_secs(10), "redis still up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

const HOST_ONLY: Config = Config {
    name: "replay",
    public_url: None,
    trusted_proxies: None,
};

/// A signed SMS to `server`, distinct per `n`.
pub fn signed_sms(server: &Server, n: usize) -> RawRequest {
    let body = format!("MessageSid=SM{n:032}&From=%2B15551234567&Body=replay+test");
    signed_form(server, "/sms", body.as_bytes())
}

/// A form POST of `body` to `path` on `server`, signed for the URL it sees (`http://` + its Host).
pub fn signed_form(server: &Server, path: &str, body: &[u8]) -> RawRequest {
    let host = format!("127.0.0.1:{}", server.port);
    crate::form(path, &host, &format!("http://{host}{path}"), body, &[])
}

fn status(port: u16, request: &RawRequest) -> (u16, String) {
    let r = send(port, request).unwrap_or_else(|e| panic!("request to {port}: {e}"));
    (r.status, r.text())
}

/// Sends `request` from `n` threads at once, spread over `ports`; returns the statuses.
fn at_once(ports: &[u16], request: &RawRequest, n: usize) -> Vec<u16> {
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let request = request.clone();
            let port = ports[i % ports.len()];
            std::thread::spawn(move || {
                barrier.wait();
                status(port, &request).0
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("sender"))
        .collect()
}

fn assert_exactly_one_accepted(statuses: &[u16], what: &str) {
    let accepted = statuses.iter().filter(|&&s| s == 200).count();
    let replays = statuses.iter().filter(|&&s| s == 409).count();
    assert_eq!(
        (accepted, replays),
        (1, statuses.len() - 1),
        "{what}: {statuses:?}"
    );
}

/// The example server `name` refuses replays: with `TWILIO_REPLAY=memory` in one instance, and with
/// `TWILIO_REPLAY=redis://…` across two instances sharing one Redis, which fail closed (`503`) when
/// Redis stops.
pub fn replay_contract(name: &str) {
    let memory = spawn_example_with(name, &HOST_ONLY, &[("TWILIO_REPLAY", "memory".into())]);
    let first = signed_sms(&memory, 1);
    assert_eq!(
        status(memory.port, &first).0,
        200,
        "{name} memory: first delivery"
    );
    let (code, text) = status(memory.port, &first);
    assert_eq!(
        (code, text.contains("replayed")),
        (409, true),
        "{name} memory: replay: {text}"
    );
    assert_eq!(
        status(memory.port, &signed_sms(&memory, 2)).0,
        200,
        "{name} memory: another request"
    );
    assert_exactly_one_accepted(
        &at_once(&[memory.port], &signed_sms(&memory, 3), 8),
        "memory, concurrent",
    );
    // Replay protection is off when TWILIO_REPLAY is unset: the same request twice is fine.
    let off = spawn_example_with(name, &HOST_ONLY, &[]);
    let twice = signed_sms(&off, 4);
    assert_eq!(
        (status(off.port, &twice).0, status(off.port, &twice).0),
        (200, 200)
    );

    let mut redis = RedisServer::start();
    let env = [("TWILIO_REPLAY", redis.url())];
    let a = spawn_example_with(name, &HOST_ONLY, &env);
    let b = spawn_example_with(name, &HOST_ONLY, &env);
    // Requests are signed for the URL each instance sees; Host decides it, so send A's request to B
    // with A's Host header: the same signed request reaching another instance.
    let shared = signed_sms(&a, 5);
    assert_eq!(
        status(a.port, &shared).0,
        200,
        "{name} redis: first delivery, instance A"
    );
    let (code, text) = status(b.port, &shared);
    assert_eq!(
        (code, text.contains("replayed")),
        (409, true),
        "{name} redis: replay to instance B: {text}"
    );
    assert_exactly_one_accepted(
        &at_once(&[a.port, b.port], &signed_sms(&a, 6), 16),
        "redis, two instances",
    );
    redis.stop();
    let (code, text) = status(a.port, &signed_sms(&a, 7));
    assert_eq!(
        (code, text.contains("replay_store_unavailable")),
        (503, true),
        "{name} redis down: fail closed: {text}"
    );
}

/// Report-only mode of a server whose `/sms` answers `verified` or `unverified`: a genuine request is
/// verified, a forged and an unsigned one pass unverified (two that enforcement would refuse), and a
/// body over 1 MiB is still refused (`413`).
pub fn report_only_contract(server: &Server) {
    let send = |r: &RawRequest| status(server.port, r);
    assert_eq!(send(&signed_sms(server, 1)), (200, "verified".to_string()));
    let mut forged = signed_sms(server, 2);
    forged.body.extend_from_slice(b"&Extra=1");
    assert_eq!(send(&forged), (200, "unverified".to_string()));
    let mut unsigned = signed_sms(server, 3);
    unsigned
        .headers
        .retain(|(name, _)| name != "X-Twilio-Signature");
    assert_eq!(send(&unsigned), (200, "unverified".to_string()));
    let mut huge = signed_sms(server, 4);
    huge.body = vec![b'a'; 1024 * 1024 + 1];
    assert_eq!(send(&huge).0, 413);
    // Report-only passes failed signatures and replays, nothing else: a request whose shape makes
    // the app see something other than what was checked is refused as when enforcing.
    let mut charset = signed_sms(server, 5);
    for (name, value) in &mut charset.headers {
        if name.eq_ignore_ascii_case("content-type") {
            *value = "application/x-www-form-urlencoded; charset=utf-7".to_string();
        }
    }
    assert_eq!(send(&charset).0, 400, "a charset other than UTF-8");
    let mut get_with_body = signed_sms(server, 6);
    get_with_body.method = "GET";
    assert_eq!(send(&get_with_body).0, 400, "a body on a GET");
    let mut two_hosts = signed_sms(server, 7);
    two_hosts
        .headers
        .push(("Host".to_string(), "admin.internal".to_string()));
    assert_eq!(send(&two_hosts).0, 400, "two Host fields");
}

/// Answer mode with a 300 ms lease, against a handler that counts its calls in `calls`, answers
/// `201` "answer N" (N its call count), and takes a second: first slowly itself (`Body=slow-handler`),
/// then by sending its answer slowly (`Body=slow-body`). A duplicate sent 600 ms in, after the lease
/// would have lapsed unrenewed, gets the first answer, and the handler runs once per request (issue
/// 28, F7).
pub fn lease_renewal_contract(server: &Server, calls: &std::sync::atomic::AtomicUsize) {
    for (n, body) in [(1, &b"Body=slow-handler"[..]), (2, b"Body=slow-body")] {
        let request = signed_form(server, "/sms", body);
        let first = {
            let (request, port) = (request.clone(), server.port);
            std::thread::spawn(move || send(port, &request).expect("first"))
        };
        std::thread::sleep(Duration::from_millis(600));
        let duplicate = send(server.port, &request).expect("duplicate");
        let first = first.join().expect("first");
        let answer = (201, format!("answer {n}"));
        assert_eq!((first.status, first.text()), answer);
        assert_eq!((duplicate.status, duplicate.text()), answer, "{body:?}");
        let ran = calls.load(std::sync::atomic::Ordering::SeqCst);
        assert_eq!(ran, n, "the handler ran once");
    }
}
