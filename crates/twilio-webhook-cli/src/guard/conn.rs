//! One client connection: its requests one after another (keep-alive), each decided, read, verified
//! and forwarded, and the upstream's answer relayed.
//!
//! Every decision about a request is the core's: which path it was sent to and whether a rule exempts
//! it (`PathRules`), whether its body is read and how much of it (`reads_body`,
//! `check_declared_length`, `limit`), against which URL it is verified and whether it passes
//! (`verify_async`), whether a delivery releases its replay key or keeps its answer (`delivered`,
//! `keeps_answer`). This file reads and writes HTTP/1.1 (`h1`) and forwards.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::StatusCode;
use http::header::{HeaderName, HeaderValue};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout_at;
use twilio_webhook::{
    Incoming, PathDecision, Refusal, StoredAnswer, VerifiedRequest, WebhookRejection,
};

use super::config::Config;
use super::h1::{self, Framing, RequestHead};
use super::metrics::WorkerMetrics;
use super::proxy::{VERIFIED, strip_client_headers};
use super::upstream::Upstream;
use super::wire::{self, Body, Wire};

/// What every connection of a worker shares.
pub(crate) struct Worker {
    pub(crate) config: Arc<Config>,
    pub(crate) upstream: Upstream,
    pub(crate) metrics: WorkerMetrics,
}

/// Whether the connection goes on after an exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    KeepAlive,
    Close,
}

/// One connection's state between requests: its stream and buffers.
struct Conn<'w> {
    worker: &'w Worker,
    client: Wire,
    peer: SocketAddr,
    /// What is written next: a request for the upstream, or an answer's head and as much of its
    /// body as is at hand.
    out: Vec<u8>,
    /// The header lines of the answer being relayed.
    lines: Vec<u8>,
    /// The body of the request being handled.
    body: Vec<u8>,
}

/// Serves one connection until the client closes it, an exchange ends it, or `shutdown` changes
/// while it is idle. A head that takes longer than the client time-out to arrive closes it.
pub(crate) async fn serve(
    worker: Arc<Worker>,
    stream: TcpStream,
    peer: SocketAddr,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut conn = Conn {
        worker: &worker,
        client: Wire::new(stream),
        peer,
        out: Vec::with_capacity(8 * 1024),
        lines: Vec::with_capacity(1024),
        body: Vec::new(),
    };
    loop {
        let head = match conn.read_head(&mut shutdown).await {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(h1::Bad(status, code)) => {
                let text = format!("bad request: {code}\n");
                let _ = conn.answer_text(status, &text, false, Next::Close).await;
                return;
            }
        };
        let stopping = *shutdown.borrow();
        match conn.exchange(head, stopping).await {
            Ok(Next::KeepAlive) if !stopping => {}
            _ => return,
        }
        // An idle connection keeps no large request's buffers.
        wire::shrink([&mut conn.body, &mut conn.out, &mut conn.lines]);
    }
}

impl Conn<'_> {
    /// The next request's head: `None` when the connection is to close without an answer (the client
    /// closed it, was too slow to send a head, or the worker stops while it is idle).
    async fn read_head(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<RequestHead>, h1::Bad> {
        let deadline = tokio::time::Instant::now() + self.worker.config.client_timeout;
        loop {
            if let Some(head) = self.client.request_head()? {
                return Ok(Some(head));
            }
            let idle = self.client.buffered().is_empty();
            if idle && *shutdown.borrow() {
                return Ok(None);
            }
            let read = tokio::select! {
                biased;
                read = timeout_at(deadline, self.client.fill()) => read,
                _ = shutdown.changed(), if idle => return Ok(None),
            };
            match read {
                Ok(Ok(n)) if n > 0 => {}
                _ => return Ok(None),
            }
        }
    }

    /// One request, from its head to the end of its answer.
    async fn exchange(&mut self, mut head: RequestHead, stopping: bool) -> io::Result<Next> {
        let start = Instant::now();
        let worker = self.worker;
        let config = &*worker.config;
        let metrics = &worker.metrics;
        let keep_alive = head.keep_alive && !stopping;
        // The target must be a URI, as hyper required.
        if head.target.parse::<http::Uri>().is_err() {
            let text = "bad request: malformed_target\n";
            return self
                .answer_text(StatusCode::BAD_REQUEST, text, head.http10, Next::Close)
                .await;
        }
        // What is decided and verified is what the upstream will see.
        strip_client_headers(&mut head.headers);
        let decision = match config.paths.decide(&head.target) {
            Ok(decision) => decision,
            Err(e) => {
                let rejection = WebhookRejection::new(Refusal::BadTarget(e), Vec::new());
                return self.refuse(&rejection, &head, Next::Close).await;
            }
        };
        let verifier = &config.verifier;
        let verifying = !matches!(decision, PathDecision::Pass);
        let incoming = Incoming::new(&head.method, &head.target, &head.headers)
            .with_peer(Some(self.peer.ip()));
        let reads_body = if verifying {
            match verifier.reads_body(&incoming) {
                Ok(reads) => reads,
                Err(rejection) => return self.refuse(&rejection, &head, Next::Close).await,
            }
        } else {
            true
        };
        let mut body = std::mem::take(&mut self.body);
        body.clear();
        let mut next = if keep_alive {
            Next::KeepAlive
        } else {
            Next::Close
        };
        if reads_body {
            if let Err(rejection) = verifier.check_declared_length(&head.headers) {
                return self.refuse(&rejection, &head, Next::Close).await;
            }
            if let Err(refusal) = self.read_body(&head, start, &mut body).await? {
                let rejection = WebhookRejection::new(refusal, Vec::new());
                return self.refuse(&rejection, &head, Next::Close).await;
            }
        } else if head.framing != Framing::Length(0) {
            // A body the core said not to read stays unread: the connection cannot go on.
            next = Next::Close;
        }
        let verified = if verifying {
            let verdict = verifier.verify_async(&incoming, &body).await;
            metrics.verified_in(start.elapsed());
            match verdict {
                Ok(verified) => Some(verified),
                Err(rejection) => return self.refuse(&rejection, &head, next).await,
            }
        } else {
            None
        };
        if let Some(verified) = &verified
            && let Ok(name) = HeaderValue::from_str(verified.verified().secret().name())
        {
            head.headers.insert(VERIFIED, name);
        }
        let next = self
            .forward(&mut head, &body, verified.as_ref(), next)
            .await;
        self.body = body;
        next
    }

    /// Reads the request's body into `body`, up to the verifier's limit and within the client
    /// time-out from `start`. `Ok(Err(refusal))` is a body refused; `Err` the go-ahead not written.
    async fn read_body(
        &mut self,
        head: &RequestHead,
        start: Instant,
        body: &mut Vec<u8>,
    ) -> io::Result<Result<(), Refusal>> {
        let limit = self.worker.config.verifier.limit();
        if head.framing == Framing::Length(0) {
            return Ok(Ok(()));
        }
        if head.expects_continue && self.client.buffered().is_empty() {
            self.client
                .stream
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        let deadline = tokio::time::Instant::from_std(start + self.worker.config.client_timeout);
        let mut reader = Body::request(head.framing, limit);
        loop {
            match timeout_at(deadline, reader.read(&mut self.client, body)).await {
                Err(_) => return Ok(Err(Refusal::ClientTimeout)),
                Ok(Ok(more)) => {
                    if body.len() > limit {
                        return Ok(Err(Refusal::BodyTooLarge { limit }));
                    }
                    if !more {
                        return Ok(Ok(()));
                    }
                }
                // Broken chunked coding, or a connection that ended before its body did (a client
                // that half-closed still reads the answer), as the layer answered it before.
                Ok(Err(_)) => return Ok(Err(Refusal::BodyUnreadable)),
            }
        }
    }

    /// Sends the request upstream and relays the answer; `verified` (for a verified request) is told
    /// how the delivery went.
    async fn forward(
        &mut self,
        head: &mut RequestHead,
        body: &[u8],
        verified: Option<&VerifiedRequest>,
        next: Next,
    ) -> io::Result<Next> {
        let worker = self.worker;
        let config = &*worker.config;
        let verifier = &config.verifier;
        let Some(target) = worker.upstream.target().request_target(&head.target) else {
            return self
                .fail(
                    head,
                    verified,
                    StatusCode::BAD_REQUEST,
                    "bad request target",
                    "bad_request_target",
                    next,
                )
                .await;
        };
        worker.upstream.add_host(&mut head.headers);
        self.out.clear();
        h1::write_request_head(
            &mut self.out,
            &head.method,
            &target,
            &head.headers,
            body.len(),
        );
        self.out.extend_from_slice(body);
        let start = Instant::now();
        let answer = tokio::time::timeout(
            config.upstream_timeout,
            worker
                .upstream
                .exchange(&self.out, &head.method, &mut self.lines),
        )
        .await;
        worker.metrics.upstream_in(start.elapsed());
        let (answer, mut upstream) = match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                tracing::warn!(target: "twilio_webhook::guard", error = %e, "upstream unavailable");
                return self
                    .fail(
                        head,
                        verified,
                        StatusCode::BAD_GATEWAY,
                        "upstream unavailable",
                        "upstream_unavailable",
                        next,
                    )
                    .await;
            }
            Err(_) => {
                tracing::warn!(target: "twilio_webhook::guard", timeout = ?config.upstream_timeout, "upstream too slow");
                return self
                    .fail(
                        head,
                        verified,
                        StatusCode::GATEWAY_TIMEOUT,
                        "upstream timed out",
                        "upstream_timeout",
                        next,
                    )
                    .await;
            }
        };
        let mut reader = Body::new(answer.framing);
        if let Some(verified) = verified {
            let length = match answer.framing {
                Framing::Length(n) => Some(n),
                _ => None,
            };
            if verifier.keeps_answer(answer.status, length) {
                // Answer mode: the whole answer, kept for the request's duplicates, then relayed.
                let mut kept = Vec::new();
                while reader
                    .read(&mut upstream, &mut kept)
                    .await
                    .unwrap_or_else(|_| {
                        kept.clear();
                        false
                    })
                {}
                if !reader.is_done() {
                    verifier.delivered(verified, StatusCode::BAD_GATEWAY).await;
                    let text = "the app's response failed half-way\n";
                    return self
                        .answer_text(StatusCode::BAD_GATEWAY, text, head.http10, Next::Close)
                        .await;
                }
                let headers = h1::fields(&self.lines);
                let stored = StoredAnswer::new(answer.status.as_u16(), headers, kept);
                verifier.delivered_answer(verified, &stored).await;
                if answer.keep_alive {
                    worker.upstream.put(upstream);
                }
                worker.metrics.forwarded();
                let lines = std::mem::take(&mut self.lines);
                let next = self
                    .answer(
                        answer.status,
                        (&lines, answer.has_date),
                        stored.body(),
                        head.http10,
                        next,
                    )
                    .await;
                self.lines = lines;
                return next;
            }
            verifier.delivered(verified, answer.status).await;
        }
        if verified.is_some() {
            worker.metrics.forwarded();
        } else {
            worker.metrics.passed_through();
        }
        // The answer goes on with its length when it has one, else chunked (to HTTP/1.0, until
        // the connection closes).
        let framing = match answer.framing {
            Framing::Length(n) => Framing::Length(n),
            _ if head.http10 => Framing::UntilClose,
            _ => Framing::Chunked,
        };
        let next = if framing == Framing::UntilClose {
            Next::Close
        } else {
            next
        };
        self.out.clear();
        let shown = (!answer.bodiless).then_some(framing);
        h1::write_response_head(
            &mut self.out,
            head.http10,
            answer.status,
            (&self.lines, answer.has_date),
            shown,
            connection(head.http10, next),
        );
        if answer.bodiless {
            self.client.stream.write_all(&self.out).await?;
        } else if let Err(e) = self.relay(&mut reader, &mut upstream, framing).await {
            // Mid-answer: nothing can be said to the client any more but the end of the connection.
            tracing::warn!(target: "twilio_webhook::guard", error = %e, "the upstream's answer broke off");
            return Ok(Next::Close);
        }
        if answer.keep_alive && reader.is_done() {
            worker.upstream.put(upstream);
        }
        Ok(next)
    }

    /// Relays the answer's body after the head in `out`, as it arrives, framed as `framing`.
    async fn relay(
        &mut self,
        reader: &mut Body,
        upstream: &mut Wire,
        framing: Framing,
    ) -> io::Result<()> {
        let mut data = Vec::new();
        loop {
            let more = if framing == Framing::Chunked {
                data.clear();
                let more = reader.read(upstream, &mut data).await?;
                if !data.is_empty() {
                    self.out
                        .extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
                    self.out.extend_from_slice(&data);
                    self.out.extend_from_slice(b"\r\n");
                }
                if !more {
                    self.out.extend_from_slice(b"0\r\n\r\n");
                }
                more
            } else {
                reader.read(upstream, &mut self.out).await?
            };
            self.client.stream.write_all(&self.out).await?;
            self.out.clear();
            if !more {
                return Ok(());
            }
        }
    }

    /// Answers with a refusal: the first answer for an answered duplicate, else its status and
    /// reason; counted.
    async fn refuse(
        &mut self,
        rejection: &WebhookRejection,
        head: &RequestHead,
        next: Next,
    ) -> io::Result<Next> {
        let metrics = &self.worker.metrics;
        match rejection.refusal() {
            Refusal::AnsweredDuplicate => metrics.duplicate("answered"),
            Refusal::Replayed => metrics.duplicate("refused"),
            _ => metrics.rejected(rejection.code(), rejection.cause()),
        }
        if let Some(answer) = rejection.stored_answer() {
            let mut lines = Vec::new();
            let mut has_date = false;
            for (name, value) in answer.headers() {
                // Kept from the upstream's answer; checked again all the same.
                if HeaderName::from_bytes(name.as_bytes()).is_ok()
                    && HeaderValue::from_bytes(value).is_ok()
                {
                    has_date |= name.eq_ignore_ascii_case("date");
                    h1::push_line(&mut lines, name.as_bytes(), value);
                }
            }
            return self
                .answer(
                    rejection.status(),
                    (&lines, has_date),
                    answer.body(),
                    head.http10,
                    next,
                )
                .await;
        }
        self.answer_text(
            rejection.status(),
            &rejection.body_text(),
            head.http10,
            next,
        )
        .await
    }

    /// The guard's own answer when the upstream's cannot be had; a verified delivery that failed
    /// releases its replay key.
    async fn fail(
        &mut self,
        head: &RequestHead,
        verified: Option<&VerifiedRequest>,
        status: StatusCode,
        text: &str,
        why: &'static str,
        next: Next,
    ) -> io::Result<Next> {
        if let Some(verified) = verified {
            self.worker
                .config
                .verifier
                .delivered(verified, status)
                .await;
        }
        self.worker.metrics.upstream_failed(why);
        self.answer_text(status, &format!("{text}\n"), head.http10, next)
            .await
    }

    /// A plain-text answer.
    async fn answer_text(
        &mut self,
        status: StatusCode,
        text: &str,
        http10: bool,
        next: Next,
    ) -> io::Result<Next> {
        let lines = b"content-type: text/plain; charset=utf-8\r\n";
        self.answer(status, (lines, false), text.as_bytes(), http10, next)
            .await
    }

    /// A whole answer, with its length.
    async fn answer(
        &mut self,
        status: StatusCode,
        lines: (&[u8], bool),
        body: &[u8],
        http10: bool,
        next: Next,
    ) -> io::Result<Next> {
        self.out.clear();
        let framing = Framing::Length(body.len() as u64);
        h1::write_response_head(
            &mut self.out,
            http10,
            status,
            lines,
            Some(framing),
            connection(http10, next),
        );
        self.out.extend_from_slice(body);
        self.client.stream.write_all(&self.out).await?;
        Ok(next)
    }
}

/// The `Connection` header an answer needs: `close` when the connection ends after it, `keep-alive`
/// to an HTTP/1.0 client that keeps it.
fn connection(http10: bool, next: Next) -> Option<&'static str> {
    match (next, http10) {
        (Next::Close, _) => Some("close"),
        (Next::KeepAlive, true) => Some("keep-alive"),
        (Next::KeepAlive, false) => None,
    }
}
