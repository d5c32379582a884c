//! The upstream as one worker reaches it: HTTP/1.1 connections kept while idle, in a plain list per
//! worker, and reused once the answer on them has been read to the end. The request that uses a
//! connection writes and reads it itself: no task per connection, no hand-over.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use http::header::{HOST, HeaderValue};
use http::{Method, Uri};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use super::h1::{self, RequestHead, ResponseHead};
use super::wire::Wire;

/// Idle connections a worker keeps at most; one more is closed.
const MAX_IDLE: usize = 256;
/// How long an idle connection is kept for reuse.
const IDLE_FOR: Duration = Duration::from_secs(90);

/// Where the upstream is: `--upstream`, parsed once ([`Target::parse`]).
#[derive(Debug, Clone)]
pub struct Target {
    /// What to connect to: `host:port` (a name is resolved at each new connection).
    connect: String,
    /// The `Host` header for a request that came without one.
    host: HeaderValue,
    /// A path the upstream's URL ends with, put before every request target (`""` for none).
    prefix: String,
}

impl Target {
    /// `http://host[:port][/prefix]`: anything else is refused with the reason.
    pub fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("--upstream is not a URL ({e})"))?;
        if uri.scheme_str() != Some("http") {
            // Only the scheme is echoed: the rest may hold a secret (userinfo, a query's key).
            let scheme = uri.scheme_str().unwrap_or("none");
            return Err(format!(
                "--upstream must be an http:// URL (its scheme is {scheme:?})"
            ));
        }
        let Some(authority) = uri.authority() else {
            return Err("--upstream has no host".into());
        };
        if authority.as_str().contains('@') {
            return Err(
                "--upstream must not hold credentials: the guard would not send them".into(),
            );
        }
        if uri.query().is_some() {
            // Not echoed: a query may hold a secret.
            return Err("--upstream must not have a query".into());
        }
        let host = match authority.port_u16() {
            Some(port) if port != 80 => format!("{}:{port}", authority.host()),
            _ => authority.host().to_string(),
        };
        Ok(Target {
            connect: format!(
                "{}:{}",
                authority.host(),
                authority.port_u16().unwrap_or(80)
            ),
            host: HeaderValue::from_str(&host)
                .map_err(|_| "--upstream has a bad host".to_string())?,
            prefix: uri.path().trim_end_matches('/').to_string(),
        })
    }

    /// The request target to send upstream for `target` (as the client sent it): its origin form
    /// (the core's reading of which path it was sent to), after the upstream's prefix. `None` for a
    /// target that has none (`OPTIONS *`, a fragment).
    pub(crate) fn request_target<'a>(&self, target: &'a str) -> Option<Cow<'a, str>> {
        let origin = twilio_webhook::origin_form(target).ok()?;
        if self.prefix.is_empty() {
            return Some(origin);
        }
        Some(Cow::Owned(format!("{}{origin}", self.prefix)))
    }

    /// Writes into `out` (emptied first) the request that goes upstream for `head` and its `body`:
    /// its [`request_target`](Self::request_target), a `Host` for a request that came without one,
    /// the headers, the body's length, then the body. `None` (and nothing written) for a target that
    /// has no origin form.
    pub(crate) fn write_request(
        &self,
        head: &mut RequestHead,
        body: &[u8],
        out: &mut Vec<u8>,
    ) -> Option<()> {
        let target = self.request_target(&head.target)?;
        if !head.headers.contains_key(HOST) {
            head.headers.insert(HOST, self.host.clone());
        }
        out.clear();
        h1::write_request_head(out, &head.method, &target, &head.headers, body.len());
        out.extend_from_slice(body);
        Some(())
    }
}

/// Why a request did not get the upstream's answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection could be made.
    Connect(std::io::Error),
    /// The exchange failed: the connection, or an answer that cannot be relayed safely.
    Exchange(std::io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Connect(e) => write!(f, "cannot connect: {e}"),
            Failure::Exchange(e) => write!(f, "{e}"),
        }
    }
}

/// One worker's connections to the upstream.
pub(crate) struct Upstream {
    target: Target,
    idle: Mutex<VecDeque<(Wire, Instant)>>,
}

impl Upstream {
    pub(crate) fn new(target: Target) -> Self {
        Upstream {
            target,
            idle: Mutex::new(VecDeque::new()),
        }
    }

    /// The upstream's place.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Sends `request` (a whole request, head and body) on an idle connection or a new one, and reads
    /// the head of the answer to it (`method` says whether the answer has a body; the header lines
    /// to relay go to `lines`). A request that an
    /// idle connection could not take is sent again on a new connection. The connection comes back
    /// with the answer, its body still to be read.
    pub(crate) async fn exchange(
        &self,
        request: &[u8],
        method: &Method,
        lines: &mut Vec<u8>,
    ) -> Result<(ResponseHead, Wire), Failure> {
        let (mut wire, reused) = match self.checkout() {
            Some(wire) => (wire, true),
            None => (Box::pin(self.connect()).await?, false),
        };
        if let Err(e) = wire.stream.write_all(request).await {
            if !reused {
                return Err(Failure::Exchange(e));
            }
            wire = Box::pin(self.connect()).await?;
            wire.stream
                .write_all(request)
                .await
                .map_err(Failure::Exchange)?;
        }
        loop {
            match h1::parse_response(wire.buffered(), method, lines) {
                Ok(Some((head, len))) => {
                    wire.consume(len);
                    // An interim answer (`100 Continue`, `103 Early Hints`): the final one follows.
                    if head.status.is_informational() {
                        if head.status == http::StatusCode::SWITCHING_PROTOCOLS {
                            return Err(Failure::Exchange(invalid("an unasked protocol switch")));
                        }
                        continue;
                    }
                    if !h1::fits_when_relayed(lines) {
                        return Err(Failure::Exchange(invalid(
                            "an answer with more header fields than can be relayed",
                        )));
                    }
                    return Ok((head, wire));
                }
                Ok(None) => {}
                Err(why) => return Err(Failure::Exchange(invalid(why))),
            }
            if wire.fill().await.map_err(Failure::Exchange)? == 0 {
                return Err(Failure::Exchange(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the upstream closed the connection without answering",
                )));
            }
        }
    }

    /// The most recently used idle connection that is still open.
    fn checkout(&self) -> Option<Wire> {
        let mut idle = self.lock();
        while let Some((wire, _)) = idle.pop_back() {
            if wire.is_idle_and_open() {
                return Some(wire);
            }
        }
        None
    }

    async fn connect(&self) -> Result<Wire, Failure> {
        let stream = TcpStream::connect(self.target.connect.as_str())
            .await
            .map_err(Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        Ok(Wire::new(stream))
    }

    /// Keeps a connection whose answer was read to the end, and lets go of those idle too long.
    pub(crate) fn put(&self, wire: Wire) {
        self.put_at(wire, Instant::now());
    }

    /// [`put`](Self::put) as of `now`.
    fn put_at(&self, wire: Wire, now: Instant) {
        let mut idle = self.lock();
        while idle
            .front()
            .is_some_and(|(_, since)| now.duration_since(*since) > IDLE_FOR)
        {
            idle.pop_front();
        }
        if idle.len() < MAX_IDLE {
            idle.push_back((wire, now));
        }
    }

    /// Closes the idle connections that the upstream closed, or that were idle too long (as of
    /// `now`): nothing reads an idle connection, so without this a quiet worker would keep them.
    pub(crate) fn sweep(&self, now: Instant) {
        self.lock().retain(|(wire, since)| {
            now.saturating_duration_since(*since) <= IDLE_FOR && wire.is_idle_and_open()
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Wire, Instant)>> {
        // The queue is consistent after any panic (a push or a pop): keep using it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn invalid(why: &'static str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, why)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_url_is_a_place_and_nothing_else() {
        for (url, connect, host, prefix) in [
            (
                "http://127.0.0.1:8080",
                "127.0.0.1:8080",
                "127.0.0.1:8080",
                "",
            ),
            ("http://app/base/", "app:80", "app", "/base"),
            ("http://[::1]:80/", "[::1]:80", "[::1]", ""),
        ] {
            let t = Target::parse(url).unwrap();
            assert_eq!(
                (
                    t.connect.as_str(),
                    t.host.to_str().unwrap(),
                    t.prefix.as_str()
                ),
                (connect, host, prefix),
                "{url}"
            );
        }
        for bad in [
            "https://app",
            "app:80",
            "http://user:pw@app",
            "https://user:pw@app",
            "http://app/?key=pw",
            // Fourth outside attack (F8): a query or fragment after another scheme was echoed.
            "https://app/?key=pw",
            "https://app/#pw",
            "ftp://app/?pw",
            "http://",
            "http:// app",
        ] {
            let e = Target::parse(bad).unwrap_err();
            assert!(!e.contains("pw"), "{e}: a secret in the error");
        }
    }

    #[tokio::test]
    async fn idle_connections_go_when_the_upstream_closes_them_or_when_idle_too_long() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = Upstream::new(Target::parse(&url).unwrap());
        let first = upstream.connect().await.unwrap();
        let (closed, _) = listener.accept().await.unwrap();
        let second = upstream.connect().await.unwrap();
        let (_open, _) = listener.accept().await.unwrap();
        upstream.put(first);
        upstream.put(second);
        drop(closed);
        tokio::time::sleep(Duration::from_millis(100)).await;
        upstream.sweep(Instant::now());
        assert_eq!(
            upstream.lock().len(),
            1,
            "the closed one went, the open one stayed"
        );
        upstream.sweep(Instant::now() + IDLE_FOR + Duration::from_secs(1));
        assert_eq!(upstream.lock().len(), 0, "idle too long");
    }

    #[tokio::test]
    async fn the_pool_keeps_at_most_its_size_and_lets_go_of_connections_idle_too_long() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let upstream = Upstream::new(Target::parse(&url).unwrap());
        let start = Instant::now();
        for _ in 0..=MAX_IDLE {
            let wire = upstream.connect().await.unwrap();
            drop(listener.accept().await.unwrap());
            upstream.put_at(wire, start);
        }
        assert_eq!(upstream.lock().len(), MAX_IDLE, "one more is closed");
        // Exactly at the end of their idle time the others stay (and the pool is full); past it they
        // go, and only the new one is kept.
        let wire = upstream.connect().await.unwrap();
        upstream.put_at(wire, start + IDLE_FOR);
        assert_eq!(upstream.lock().len(), MAX_IDLE);
        let wire = upstream.connect().await.unwrap();
        upstream.put_at(wire, start + IDLE_FOR + Duration::from_millis(1));
        assert_eq!(upstream.lock().len(), 1);
    }

    #[test]
    fn failures_say_what_failed() {
        let refused = Failure::Connect(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(
            refused.to_string().starts_with("cannot connect: "),
            "{refused}"
        );
        let broken = Failure::Exchange(invalid("a malformed answer"));
        assert_eq!(broken.to_string(), "a malformed answer");
    }

    #[test]
    fn request_targets_are_origin_form_after_the_prefix() {
        let plain = Target::parse("http://app:81").unwrap();
        let based = Target::parse("http://app:81/base").unwrap();
        for (uri, want_plain, want_based) in [
            ("/sms?a=1", Some("/sms?a=1"), Some("/base/sms?a=1")),
            ("http://other/sms", Some("/sms"), Some("/base/sms")),
            ("*", None, None),
        ] {
            let show = |u: Option<Cow<'_, str>>| u.map(Cow::into_owned);
            assert_eq!(
                show(plain.request_target(uri)).as_deref(),
                want_plain,
                "{uri}"
            );
            assert_eq!(
                show(based.request_target(uri)).as_deref(),
                want_based,
                "{uri}"
            );
        }
    }
}
