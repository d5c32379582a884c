//! The upstream as one worker reaches it: HTTP/1.1 connections, each driven by a task on the worker's
//! runtime, kept while idle and reused once the answer on them has been read to the end.
//!
//! This is hyper's own client connection (`hyper::client::conn::http1`) with a pool of a few lines:
//! a worker is single-threaded, so its pool needs no key per host, and a connection needs no task
//! of its own: the request that uses it drives it. hyper-util's general client spends its time on
//! both.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use bytes::Bytes;
use http::header::{HOST, HeaderValue};
use http::{Request, Response, Uri};
use http_body::Frame;
use hyper::body::Incoming;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Idle connections a worker keeps at most; one more is closed.
const MAX_IDLE: usize = 256;
/// How long an idle connection is kept for reuse.
const IDLE_FOR: Duration = Duration::from_secs(90);

/// Where the upstream is: `--upstream`, parsed once.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    /// What to connect to: `host:port` (a name is resolved at each new connection).
    connect: String,
    /// The `Host` header for a request that came without one.
    host: HeaderValue,
    /// A path the upstream's URL ends with, put before every request target (`""` for none).
    prefix: String,
}

impl Target {
    /// `http://host[:port][/prefix]`: anything else is refused with the reason.
    pub(crate) fn parse(url: &str) -> Result<Self, String> {
        let uri: Uri = url
            .parse()
            .map_err(|e| format!("--upstream is not a URL ({e})"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!(
                "--upstream must be an http:// URL, got {:?}",
                super::config::redact(url)
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

    /// The request target to send upstream for `uri` (as the client sent it): origin-form, after
    /// the upstream's prefix. `None` for an asterisk-form target (`OPTIONS *`).
    pub(crate) fn request_target(&self, uri: &Uri) -> Option<Uri> {
        let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
        if !target.starts_with('/') {
            return None;
        }
        if self.prefix.is_empty() {
            if uri.scheme().is_none() {
                return Some(uri.clone());
            }
            return target.parse().ok();
        }
        format!("{}{target}", self.prefix).parse().ok()
    }
}

/// Why a request did not get the upstream's answer.
#[derive(Debug)]
pub(crate) enum Failure {
    /// No connection could be made.
    Connect(std::io::Error),
    /// The exchange failed: the upstream, or the client's body (too large, too slow).
    Exchange(BoxError),
}

/// One connection to the upstream: hyper's handle to send on it, and the connection itself, which
/// the request using it drives (polls) from its own task, so an exchange costs no hand-over to a
/// connection task and back.
struct Link {
    sender: SendRequest<Body>,
    connection: Connection<TokioIo<TcpStream>, Body>,
    /// The connection has ended (it must not be polled again, nor reused).
    ended: bool,
}

/// Why an exchange failed, and the request if it was never written (it can go on a new connection).
struct Unsent(BoxError, Option<Request<Body>>);

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Link {
    /// Drives the connection once (writing, reading); false once it has ended.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.ended {
            self.ended = Pin::new(&mut self.connection).poll(cx).is_ready();
        }
        !self.ended
    }

    /// Sends `req` and drives the connection until the head of the answer is in. On success the
    /// link comes back with the answer, its body still to be driven.
    async fn exchange(
        mut self: Box<Self>,
        req: Request<Body>,
    ) -> Result<(Response<Incoming>, Box<Link>), Unsent> {
        let mut answer = std::pin::pin!(self.sender.try_send_request(req));
        let answered = std::future::poll_fn(|cx| {
            let open = self.drive(cx);
            match answer.as_mut().poll(cx) {
                Poll::Pending if !open => Poll::Ready(None),
                polled => polled.map(Some),
            }
        })
        .await;
        match answered {
            Some(Ok(response)) => Ok((response, self)),
            Some(Err(mut e)) => {
                let req = e.take_message();
                Err(Unsent(e.into_error().into(), req))
            }
            None => {
                // The connection ended without taking the request: dropping it hands the request
                // back through the answer.
                drop(self);
                match answer.await {
                    // Not seen: an answer needs the connection that was just dropped.
                    Ok(_) => Err(Unsent(
                        std::io::Error::from(std::io::ErrorKind::ConnectionAborted).into(),
                        None,
                    )),
                    Err(mut e) => {
                        let req = e.take_message();
                        Err(Unsent(e.into_error().into(), req))
                    }
                }
            }
        }
    }

    /// Whether an idle connection is still open and ready for a request: driven once, so that an
    /// upstream that closed it is seen now.
    fn is_ready(&mut self, cx: &mut Context<'_>) -> bool {
        self.drive(cx) && self.sender.is_ready()
    }
}

/// One worker's connections to the upstream.
pub(crate) struct Upstream {
    target: Target,
    /// Boxed: a link is moved in and out of the pool and the answer on each request, and it is
    /// some 700 bytes.
    idle: Mutex<VecDeque<(Box<Link>, Instant)>>,
}

impl Upstream {
    pub(crate) fn new(target: Target) -> Arc<Self> {
        Arc::new(Upstream {
            target,
            idle: Mutex::new(VecDeque::new()),
        })
    }

    /// The upstream's place.
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Sends `req` (its target already made with [`Target::request_target`]) on an idle connection,
    /// or a new one; a request that an idle connection closed before it was written is sent again
    /// on a new connection.
    pub(crate) async fn send(
        self: &Arc<Self>,
        mut req: Request<Body>,
    ) -> Result<Response<Pooled>, Failure> {
        if !req.headers().contains_key(HOST) {
            req.headers_mut().insert(HOST, self.target.host.clone());
        }
        // Connecting is the rare path: boxed, so that it does not make every request's future
        // larger (and slower to move).
        let (link, reused) = match self.checkout().await {
            Some(link) => (link, true),
            None => (Box::pin(self.connect()).await?, false),
        };
        let (answer, link) = match link.exchange(req).await {
            Ok(exchanged) => exchanged,
            Err(Unsent(_, Some(req))) if reused => Box::pin(self.connect())
                .await?
                .exchange(req)
                .await
                .map_err(|Unsent(e, _)| Failure::Exchange(e))?,
            Err(Unsent(e, _)) => return Err(Failure::Exchange(e)),
        };
        Ok(answer.map(|body| Pooled {
            body,
            ended: false,
            link: Some(link),
            upstream: Arc::clone(self),
        }))
    }

    /// The most recently used idle connection that is still open and ready.
    async fn checkout(&self) -> Option<Box<Link>> {
        std::future::poll_fn(|cx| {
            let mut idle = self.lock();
            while let Some((mut link, _)) = idle.pop_back() {
                if link.is_ready(cx) {
                    return Poll::Ready(Some(link));
                }
            }
            Poll::Ready(None)
        })
        .await
    }

    async fn connect(&self) -> Result<Box<Link>, Failure> {
        let stream = TcpStream::connect(self.target.connect.as_str())
            .await
            .map_err(Failure::Connect)?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| Failure::Exchange(e.into()))?;
        Ok(Box::new(Link {
            sender,
            connection,
            ended: false,
        }))
    }

    /// Keeps a connection whose answer was read to the end, and lets go of those idle too long.
    fn put(&self, link: Box<Link>) {
        let now = Instant::now();
        let mut idle = self.lock();
        while idle
            .front()
            .is_some_and(|(_, since)| now.duration_since(*since) > IDLE_FOR)
        {
            idle.pop_front();
        }
        if idle.len() < MAX_IDLE {
            idle.push_back((link, now));
        }
    }

    /// Closes the idle connections that the upstream closed, or that were idle too long (as of
    /// `now`): nothing polls an idle connection, so without this a quiet worker would keep them.
    pub(crate) fn sweep(&self, now: Instant) {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        self.lock().retain_mut(|(link, since)| {
            now.saturating_duration_since(*since) <= IDLE_FOR && link.is_ready(&mut cx)
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<(Box<Link>, Instant)>> {
        // The queue is consistent after any panic (a push or a pop): keep using it.
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The upstream's answer body, which drives its connection as it is read: the connection goes back
/// to the worker's pool once the body has been read to the end, and is closed if the body is
/// dropped before.
pub(crate) struct Pooled {
    body: Incoming,
    ended: bool,
    link: Option<Box<Link>>,
    upstream: Arc<Upstream>,
}

impl http_body::Body for Pooled {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        if let Some(link) = self.link.as_mut() {
            link.drive(cx);
        }
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            self.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if !http_body::Body::is_end_stream(self) {
            return;
        }
        // Read to the end: one more turn lets the connection take its next request.
        if let Some(mut link) = self.link.take()
            && link.is_ready(&mut Context::from_waker(std::task::Waker::noop()))
        {
            self.upstream.put(link);
        }
    }
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

    #[test]
    fn request_targets_are_origin_form_after_the_prefix() {
        let plain = Target::parse("http://app:81").unwrap();
        let based = Target::parse("http://app:81/base").unwrap();
        for (uri, want_plain, want_based) in [
            ("/sms?a=1", Some("/sms?a=1"), Some("/base/sms?a=1")),
            ("http://other/sms", Some("/sms"), Some("/base/sms")),
            ("*", None, None),
        ] {
            let uri: Uri = uri.parse().unwrap();
            let show = |u: Option<Uri>| u.map(|u| u.to_string());
            assert_eq!(
                show(plain.request_target(&uri)).as_deref(),
                want_plain,
                "{uri}"
            );
            assert_eq!(
                show(based.request_target(&uri)).as_deref(),
                want_based,
                "{uri}"
            );
        }
    }
}
