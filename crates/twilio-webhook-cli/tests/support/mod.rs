//! What the guard's test binaries share: an echo upstream, the guard as a process, signed requests.

#![allow(dead_code)] // each test binary uses part of it

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use twilio_webhook::{Algorithm, Signer};
use twilio_webhook_http_suite as suite;

pub mod redis;

pub const TOKEN: &str = "guard-test-token";
pub const FORM: &str = "application/x-www-form-urlencoded";

/// An upstream that answers with the exact body it received, the request line and headers in
/// `x-echo` (JSON), and sleeps 1.5 s first on `/slow` (`<ms>` on `/sleep/<ms>`); on `/twiml` its body is [`TWIML`] whatever the
/// method (hyper answers a `HEAD` with its length alone), and on `/status/<code>` the status is
/// `<code>` (a `204` or `304` as hyper frames it: no length, no body). It counts the requests it saw.
pub struct Echo {
    pub port: u16,
    hits: Arc<AtomicUsize>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    pub fn start() -> Echo {
        Echo::start_on(suite::free_port())
    }

    /// An echo on `port` (to bring one back where a guard expects it).
    pub fn start_on(port: u16) -> Echo {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Runtime::new().expect("runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                    .await
                    .expect("bind");
                let mut rx = rx;
                loop {
                    tokio::select! {
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let counter = Arc::clone(&counter);
                            let service = hyper::service::service_fn(move |req| {
                                counter.fetch_add(1, Ordering::SeqCst);
                                echo(req)
                            });
                            tokio::spawn(hyper::server::conn::http1::Builder::new()
                                .serve_connection(hyper_util::rt::TokioIo::new(stream), service));
                        }
                        _ = &mut rx => break,
                    }
                }
            });
        });
        suite::wait_for(port);
        Echo {
            port,
            hits,
            stop: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests reached it.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn kill(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn echo(
    req: http::Request<hyper::body::Incoming>,
) -> Result<http::Response<http_body_util::Full<bytes::Bytes>>, std::convert::Infallible> {
    use http_body_util::BodyExt as _;
    let (parts, body) = req.into_parts();
    let delay = match parts.uri.path() {
        "/slow" => Some(1500),
        path => path
            .strip_prefix("/sleep/")
            .and_then(|ms| ms.parse::<u64>().ok()),
    };
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let bytes = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(n, v)| {
            (
                n.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let echo = serde_json::json!({"method": parts.method.as_str(), "target": parts.uri.to_string(), "headers": headers});
    let path = parts.uri.path();
    let bytes = if path == "/twiml" {
        bytes::Bytes::from_static(TWIML)
    } else {
        bytes
    };
    let mut response = http::Response::new(http_body_util::Full::new(bytes));
    if let Some(status) = path
        .strip_prefix("/status/")
        .and_then(|code| http::StatusCode::from_bytes(code.as_bytes()).ok())
    {
        *response.status_mut() = status;
    }
    response.headers_mut().insert(
        "x-echo",
        http::HeaderValue::from_str(&echo.to_string()).expect("ascii"),
    );
    Ok(response)
}

/// What the echo answers on `/twiml`.
pub const TWIML: &[u8] = b"<Response><Say>hi</Say></Response>";

/// The guard as a process on a free loopback port; killed when dropped.
pub struct Guard {
    pub port: u16,
    pub child: Child,
}

impl Guard {
    pub fn start(upstream: &str, extra: &[&str]) -> Guard {
        Guard::start_with(upstream, extra, Stdio::null(), |_| {})
    }

    /// [`start`](Self::start) with `setup` applied to the command (environment, or a wrapper that
    /// replaces it), then its stderr sent to `stderr`.
    pub fn start_with(
        upstream: &str,
        extra: &[&str],
        stderr: Stdio,
        setup: impl FnOnce(&mut Command),
    ) -> Guard {
        let port = suite::free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"));
        command
            .args([
                "guard",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--upstream",
                upstream,
            ])
            .args(extra)
            .env("TWILIO_AUTH_TOKEN", TOKEN)
            .env_remove("TWILIO_REPLAY")
            .env_remove("TWILIO_PUBLIC_URL")
            .env_remove("TWILIO_TRUSTED_PROXIES");
        setup(&mut command);
        command.stdout(Stdio::null()).stderr(stderr);
        let child = command.spawn().expect("guard starts");
        suite::wait_for(port);
        Guard { port, child }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request to `target` on the guard at `port`, signed for `http://127.0.0.1:<port><target>`: a form
/// body's parameters, or (any other content type) the URL alone.
pub fn signed(
    port: u16,
    target: &str,
    content_type: &str,
    body: &[u8],
    extra: &[(&str, &str)],
) -> suite::RawRequest {
    let host = format!("127.0.0.1:{port}");
    let url = format!("http://{host}{target}");
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).expect("signer");
    let signature = if content_type.starts_with("application/x-www-form-urlencoded") {
        signer.sign_form_body(&url, body).expect("form")
    } else {
        signer.sign_form(&url, std::iter::empty::<(&str, &str)>())
    };
    let mut headers = vec![
        ("Host".to_string(), host),
        ("Content-Type".to_string(), content_type.to_string()),
        ("X-Twilio-Signature".to_string(), signature),
    ];
    headers.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    suite::RawRequest {
        method: "POST",
        target: target.to_string(),
        headers,
        body: body.to_vec(),
    }
}

/// Sends `request` to the guard on `port` and returns the answer's status and text.
pub fn status(port: u16, request: &suite::RawRequest) -> (u16, String) {
    let r = suite::send(port, request).expect("an answer");
    (r.status, r.text())
}

/// The public URL the guards of the replay tests are started with (`--public-url`).
pub const PUBLIC: &str = "https://hooks.example.com";

/// A form POST of `body` to `path`, signed for [`PUBLIC`]`<path>` as Twilio would send it to a guard
/// started with `--public-url` (its `Host` is then irrelevant): the same request for every guard.
pub fn signed_public(path: &str, body: &[u8]) -> suite::RawRequest {
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).expect("signer");
    let signature = signer
        .sign_form_body(&format!("{PUBLIC}{path}"), body)
        .expect("form");
    suite::RawRequest {
        method: "POST",
        target: path.into(),
        headers: vec![
            ("Host".into(), "internal".into()),
            ("Content-Type".into(), FORM.into()),
            ("X-Twilio-Signature".into(), signature),
        ],
        body: body.to_vec(),
    }
}

/// The same request without its signature.
pub fn unsigned(mut request: suite::RawRequest) -> suite::RawRequest {
    request
        .headers
        .retain(|(n, _)| !n.eq_ignore_ascii_case("x-twilio-signature"));
    request
}

/// A JSON-mode request: `bodySHA256` of `body` appended to `path`, the URL alone signed.
pub fn signed_body(port: u16, path: &str, body: &[u8]) -> suite::RawRequest {
    let target = format!(
        "{path}?bodySHA256={}",
        twilio_webhook::body_sha256_hex(body)
    );
    signed(port, &target, "application/octet-stream", body, &[])
}

/// The head of `request` as HTTP/1.1 text: its request line and headers, then `framing` (header lines
/// such as `Content-Length`, each ending in CRLF), then the empty line.
pub fn head_of(request: &suite::RawRequest, framing: &str) -> String {
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (n, v) in &request.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str(framing);
    head.push_str("\r\n");
    head
}

/// Sends `request` on a raw socket and returns the upstream's view of the headers (the echo's
/// `x-echo` response header).
pub fn raw_headers(port: u16, request: &suite::RawRequest) -> Vec<(String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let framing = format!(
        "Content-Length: {}\r\nConnection: close\r\n",
        request.body.len()
    );
    stream
        .write_all(head_of(request, &framing).as_bytes())
        .expect("write");
    stream.write_all(&request.body).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let echo = response
        .lines()
        .find_map(|l| l.strip_prefix("x-echo: "))
        .unwrap_or_else(|| panic!("no x-echo header: {response}"));
    let value: serde_json::Value = serde_json::from_str(echo).expect("echo JSON");
    value["headers"]
        .as_array()
        .expect("headers")
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap_or("").to_string(),
                p[1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Writes `head` and `body` on a fresh connection and reads the whole answer (the guard closes it).
pub fn exchange(port: u16, head: &str, body: &[u8]) -> (String, Duration) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let start = Instant::now();
    stream.write_all(head.as_bytes()).expect("head");
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    (
        String::from_utf8_lossy(&answer).into_owned(),
        start.elapsed(),
    )
}

/// What the guard's admin listener on `admin` answers on `/metrics`.
pub fn metrics(admin: u16) -> String {
    let request = suite::RawRequest {
        method: "GET",
        target: "/metrics".into(),
        headers: vec![("Host".into(), "admin".into())],
        body: vec![],
    };
    suite::send(admin, &request).expect("admin answers").text()
}
