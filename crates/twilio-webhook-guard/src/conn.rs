//! One client connection: its requests one after another (keep-alive), each decided, read, verified
//! and forwarded, and the upstream's answer relayed.
//!
//! Every decision about a request is the core's: which path it was sent to and whether a rule exempts
//! it (`PathRules`); the whole sequence for a verified request (`WebhookVerifier::read_and_verify`:
//! whether its body is read, how much of it, whether its length is what was declared, against which
//! URL it is verified and whether it passes), and how much of a passed request's body is read
//! (`read_passed`); whether a delivery releases its replay key or keeps its answer (the `Delivery`
//! it returns, finished with the upstream's status or answer); and which `Host` the upstream sees
//! (the authority of the public URL that verified the request, `VerifiedRequest::authority`, or for
//! a passed request `PublicUrl::passed_host`), and what it is told in `X-Forwarded-Proto`/`-Host`
//! (`VerifiedRequest::scheme`, `PublicUrl::passed_origin`; every client copy of a routing header
//! goes, `proxy::set_routing`), and which cookies go with a verified request (`forwarded_cookies`,
//! `proxy::keep_cookies`). While this file waits for a client's bytes, the listener may close the
//! connection for a new one when every place is taken (`slots`). This file reads and writes HTTP/1.1 (`h1`), gives the
//! core the body straight from the connection (`ClientBody`) and forwards; what it refuses itself,
//! before the core is asked, is only what a proxy must not forward whatever the route: `CONNECT` and
//! `TRACE` (a body on a passed request whose method has none is the core's `read_passed`'s to
//! refuse). Every write to the client is bounded by the send time-out
//! (`answer`).

mod answer;
mod body;

pub(crate) use body::ClientBody;

use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Instant;

use http::header::{HOST, HeaderValue};
use http::{Method, StatusCode};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::timeout_at;
use twilio_webhook::{
    Delivery, Incoming, PassedHost, PathDecision, Refusal, StoredAnswer, WebhookRejection,
};

use super::config::Config;
use super::h1::{self, Framing, RequestHead};
use super::memory::BodyMemory;
use super::metrics::WorkerMetrics;
use super::proxy::{
    VERIFIED, fits_when_forwarded, keep_cookies, set_routing, strip_client_headers,
};
use super::slots::{Wait, Waiters, Waiting};
use super::upstream::Upstream;
use super::wire::{self, Body, Wire};

/// What every connection of a worker shares.
pub(crate) struct Worker {
    pub(crate) config: Arc<Config>,
    pub(crate) upstream: Upstream,
    pub(crate) metrics: WorkerMetrics,
    /// The process-wide budget of buffered request-body bytes (`--max-body-memory`).
    pub(crate) memory: Arc<BodyMemory>,
    /// The connections waiting for a head, which the listener may close for a new connection.
    pub(crate) waiters: Arc<Waiters>,
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
    /// The request being answered is a `HEAD`: the guard's own answers end at their head.
    head_only: bool,
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
        head_only: false,
    };
    loop {
        conn.head_only = false;
        let head = match conn.read_head(&mut shutdown).await {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(h1::Bad(status, code)) => {
                let text = format!("bad request: {code}\n");
                let _ = conn.answer_text(status, &text, false, Next::Close).await;
                return;
            }
        };
        conn.head_only = head.method == Method::HEAD;
        let stopping = *shutdown.borrow();
        match conn.exchange(head, stopping).await {
            Ok(Next::KeepAlive) if !stopping => {}
            _ => return,
        }
        // An idle connection keeps no large request's buffers.
        wire::shrink([&mut conn.out, &mut conn.lines]);
    }
}

impl Conn<'_> {
    /// The next request's head: `None` when the connection is to close without an answer (the client
    /// closed it, was too slow to send a head, the worker stops while it is idle, or the listener
    /// closes it for a new connection while it waits).
    async fn read_head(
        &mut self,
        shutdown: &mut watch::Receiver<bool>,
    ) -> Result<Option<RequestHead>, h1::Bad> {
        let started = tokio::time::Instant::now();
        let deadline = started + self.worker.config.client_timeout;
        // Counted as waiting (the listener may close it for a new connection when every place is
        // taken) only once a read finds nothing: a request already at hand is read, never shed.
        let mut waiting: Option<Wait> = None;
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
                () = shed(&mut waiting) => {
                    // Closed only if it truly has nothing: bytes the runtime has not heard of yet
                    // are read now, and the connection waits afresh.
                    waiting = None;
                    match self.client.read_now() {
                        Ok(n) if n > 0 => continue,
                        _ => return Ok(None),
                    }
                }
                () = std::future::ready(()), if waiting.is_none() => {
                    let what = if idle { Waiting::Idle } else { Waiting::PartOfAHead };
                    waiting = Some(self.worker.waiters.wait(what, started));
                    continue;
                }
            };
            // What it has received changed: counted afresh at the next read that finds nothing.
            waiting = None;
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
        // Never forwarded, on any route: a tunnel, or the request's headers echoed back.
        if head.method == Method::CONNECT || head.method == Method::TRACE {
            return self
                .refuse_request(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method_not_allowed",
                    ALLOW,
                    head.http10,
                )
                .await;
        }
        // The target must be a URI, as hyper required.
        if head.target.parse::<http::Uri>().is_err() {
            let text = "bad request: malformed_target\n";
            return self
                .answer_text(StatusCode::BAD_REQUEST, text, head.http10, Next::Close)
                .await;
        }
        // What is decided and verified is what the upstream will see.
        strip_client_headers(&mut head.headers);
        if !fits_when_forwarded(&head.headers) {
            return self
                .refuse_request(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    "head_too_large",
                    b"",
                    head.http10,
                )
                .await;
        }
        let decision = match config.paths.decide(&head.target) {
            Ok(decision) => decision,
            Err(e) => {
                let rejection = WebhookRejection::new(Refusal::BadTarget(e), Vec::new());
                return self.refuse(&rejection, &head, Next::Close).await;
            }
        };
        let verifier = &config.verifier;
        let verifying = !matches!(decision, PathDecision::Pass);
        if !verifying {
            match config.verifier.policy().passed_host(&head.headers) {
                PassedHost::Authority(host) => {
                    let Ok(host) = HeaderValue::from_str(host) else {
                        return self.bad_host(head.http10).await;
                    };
                    head.headers.insert(HOST, host);
                }
                // HTTP/1.0 without one: the upstream's own (`Upstream::add_host`).
                PassedHost::Missing => {}
                _ => return self.bad_host(head.http10).await,
            }
        }
        let incoming = Incoming::new(&head.method, &head.target, &head.headers)
            .with_peer(Some(self.peer.ip()));
        // Where a passed request was sent, as the policy reads it (before the forwarded headers go).
        let passed_origin = if verifying {
            None
        } else {
            verifier.policy().passed_origin(&incoming)
        };
        let deadline = tokio::time::Instant::from_std(start + config.client_timeout);
        let deadline = pin!(tokio::time::sleep_until(deadline));
        let framing = Body::request(head.framing, verifier.limit());
        // What the body holds of the process-wide budget, taken as it arrives; given back when this
        // exchange ends, after the body (declared before it, so dropped after it), on every path.
        let mut reserved = worker.memory.reservation();
        let since = tokio::time::Instant::from_std(start);
        let mut reader = ClientBody::new(
            &mut self.client,
            framing,
            head.expects_continue,
            (deadline, (&worker.waiters, since)),
            &mut reserved,
        );
        let (body, delivery) = if verifying {
            let checked = match verifier.read_and_verify(&incoming, &mut reader).await {
                Ok(checked) => checked,
                Err(_) if reserved.refused() => return self.over_budget(head.http10).await,
                Err(rejection) => return self.refuse(&rejection, &head, Next::Close).await,
            };
            metrics.verified_in(start.elapsed());
            match checked.verdict {
                Ok(delivery) => (checked.body, Some(delivery)),
                Err(rejection) => {
                    // A body the core said not to read (a WebSocket handshake's) stays unread: the
                    // connection cannot go on.
                    let next = next_after(checked.body.is_some(), &head, keep_alive);
                    return self.refuse(&rejection, &head, next).await;
                }
            }
        } else {
            match verifier.read_passed(&incoming, &mut reader).await {
                Ok(body) => (Some(body), None),
                Err(_) if reserved.refused() => return self.over_budget(head.http10).await,
                Err(rejection) => return self.refuse(&rejection, &head, Next::Close).await,
            }
        };
        let next = next_after(body.is_some(), &head, keep_alive);
        let body = body.unwrap_or_default();
        if let Some(verified) = delivery.as_ref().map(Delivery::verified) {
            // The upstream's virtual host is the one the signature was made for, never the client's.
            let host = HeaderValue::from_str(verified.authority()).ok();
            let name = HeaderValue::from_str(verified.verified().secret().name()).ok();
            let Some(host) = host else {
                // Never forwarded: the key is released, so that a retry is judged afresh.
                if let Some(delivery) = delivery {
                    delivery.not_delivered().await;
                }
                return self
                    .fail(
                        &head,
                        None,
                        StatusCode::BAD_REQUEST,
                        "bad request: bad_host",
                        "bad_host",
                        Next::Close,
                    )
                    .await;
            };
            head.headers.insert(HOST, host);
            if let Some(name) = name {
                head.headers.insert(VERIFIED, name);
            }
            // No cookie the app could read as a signed parameter.
            keep_cookies(&mut head.headers, &head.target, &body);
        }
        // What the upstream is told about where the request was sent is what was decided: the
        // verified URL's scheme and authority, or the passed request's; never the client's headers.
        let origin = match delivery.as_ref().map(Delivery::verified) {
            Some(verified) => Some((verified.scheme(), verified.authority())),
            None => passed_origin.as_ref().map(|(s, a)| (*s, a.as_str())),
        };
        let peer = self.peer.ip();
        let trusted = verifier.policy().is_trusted(Some(peer));
        set_routing(&mut head.headers, origin, peer, trusted);
        self.forward(&mut head, body, delivery, next).await
    }

    /// Sends the request upstream and relays the answer; a verified request's `delivery` is
    /// finished with how the delivery went. The body is freed once copied into the request for the
    /// upstream: one copy of it is held while the upstream answers, the one the budget counts.
    async fn forward(
        &mut self,
        head: &mut RequestHead,
        body: Vec<u8>,
        delivery: Option<Delivery>,
        next: Next,
    ) -> io::Result<Next> {
        let worker = self.worker;
        let config = &*worker.config;
        // An unverified body (a passed route's) goes on a connection of its own that the upstream
        // closes after answering: an app that leaves it unread must not parse it as the next request
        // (one that may carry a forged verified header).
        let unverified_body = delivery.is_none() && !body.is_empty();
        if unverified_body {
            head.headers
                .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        if worker
            .upstream
            .target()
            .write_request(head, &body, &mut self.out)
            .is_none()
        {
            // Never forwarded: the key is released, so that a retry is judged afresh.
            if let Some(delivery) = delivery {
                delivery.not_delivered().await;
            }
            return self
                .fail(
                    head,
                    None,
                    StatusCode::BAD_REQUEST,
                    "bad request target",
                    "bad_request_target",
                    next,
                )
                .await;
        }
        // `out` holds it now.
        drop(body);
        let start = Instant::now();
        let exchange = tokio::time::timeout(
            config.upstream_timeout,
            worker
                .upstream
                .exchange(&self.out, &head.method, &mut self.lines),
        );
        // Answer mode: the request's lease is renewed while the upstream works on it.
        let answer = match &delivery {
            Some(delivery) => delivery.renewing(exchange, tokio::time::sleep).await,
            None => exchange.await,
        };
        worker.metrics.upstream_in(start.elapsed());
        let (answer, mut upstream) = match answer {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                tracing::warn!(target: "twilio_webhook::guard", error = %e, "upstream unavailable");
                return self
                    .fail(
                        head,
                        delivery,
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
                        delivery,
                        StatusCode::GATEWAY_TIMEOUT,
                        "upstream timed out",
                        "upstream_timeout",
                        next,
                    )
                    .await;
            }
        };
        let mut reader = Body::new(answer.framing);
        let verified = delivery.is_some();
        if let Some(delivery) = delivery {
            let length = match answer.framing {
                Framing::Length(n) => Some(n),
                _ => None,
            };
            if delivery.keeps_answer(answer.status, length) {
                // Answer mode: the whole answer, kept for the request's duplicates, then relayed;
                // the lease is renewed while it is read.
                // Each read of it waits at most `--upstream-timeout`: an app that sends its head and
                // then stalls would otherwise hold the connection and, renewed, the request's lease
                // for as long as it stalls (mutation testing of the lease renewal); it is a `502`,
                // and the key is released for Twilio's retry.
                let mut kept = Vec::new();
                let read_whole = async {
                    loop {
                        let read = reader.read(&mut upstream, &mut kept);
                        match tokio::time::timeout(config.upstream_timeout, read).await {
                            Ok(Ok(true)) => {}
                            Ok(Ok(false)) => break,
                            Ok(Err(_)) | Err(_) => {
                                kept.clear();
                                break;
                            }
                        }
                    }
                };
                delivery.renewing(read_whole, tokio::time::sleep).await;
                if !reader.is_done() {
                    delivery.finish(StatusCode::BAD_GATEWAY).await;
                    let text = "the app's response failed half-way\n";
                    return self
                        .answer_text(StatusCode::BAD_GATEWAY, text, head.http10, Next::Close)
                        .await;
                }
                let headers = h1::fields(&self.lines);
                let stored = StoredAnswer::new(answer.status.as_u16(), headers, kept);
                delivery.finish_with_answer(&stored).await;
                if answer.keep_alive {
                    worker.upstream.put(upstream);
                }
                worker.metrics.forwarded();
                // Framed as the answer is when it is relayed as it comes: a `204` or `304` without
                // a length or a body.
                let (_, shown, _) = relay_framing(&answer, head.http10, true);
                let lines = std::mem::take(&mut self.lines);
                let next = self
                    .answer_framed(
                        answer.status,
                        (&lines, answer.has_date),
                        shown,
                        stored.body(),
                        head.http10,
                        next,
                    )
                    .await;
                self.lines = lines;
                return next;
            }
            delivery.finish(answer.status).await;
        }
        if verified {
            worker.metrics.forwarded();
        } else {
            worker.metrics.passed_through();
        }
        let (framing, shown, keep_alive) =
            relay_framing(&answer, head.http10, matches!(next, Next::KeepAlive));
        let next = if keep_alive { next } else { Next::Close };
        self.out.clear();
        h1::write_response_head(
            &mut self.out,
            head.http10,
            answer.status,
            (&self.lines, answer.has_date),
            shown,
            answer::connection(head.http10, next),
        );
        if answer.bodiless {
            self.send_out().await?;
        } else if let Err(e) = self.relay(&mut reader, &mut upstream, framing).await {
            // Mid-answer: nothing can be said to the client any more but the end of the connection.
            tracing::warn!(target: "twilio_webhook::guard", error = %e, "the upstream's answer broke off");
            return Ok(Next::Close);
        }
        if answer.keep_alive && reader.is_done() && !unverified_body {
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
                h1::write_chunk(&mut self.out, &data, !more);
                more
            } else {
                reader.read(upstream, &mut self.out).await?
            };
            // Bounded: a client that stops reading lets go of its place and of the upstream
            // connection (dropped with the error) after the send time-out.
            self.send_out().await?;
            if !more {
                return Ok(());
            }
        }
    }
}

/// Completes when the listener closes this waiting connection for a new one; never when it is not
/// counted as waiting.
async fn shed(waiting: &mut Option<Wait>) {
    match waiting {
        Some(wait) => wait.shed().await,
        None => std::future::pending().await,
    }
}

/// How an answer from the upstream goes on to the client: the framing it is relayed with (its length
/// when it has one, else chunked; to HTTP/1.0, until the connection closes), the framing its head
/// shows (`None` for an answer without a body, whose own `Content-Length` is relayed for `HEAD`),
/// and whether the client's connection can go on (`keep_alive`: it could until this answer).
pub(crate) fn relay_framing(
    answer: &h1::ResponseHead,
    http10: bool,
    keep_alive: bool,
) -> (Framing, Option<Framing>, bool) {
    let framing = match answer.framing {
        Framing::Length(n) => Framing::Length(n),
        _ if http10 => Framing::UntilClose,
        _ => Framing::Chunked,
    };
    let shown = (!answer.bodiless).then_some(framing);
    (framing, shown, keep_alive && framing != Framing::UntilClose)
}

/// How the connection goes on after a request whose body was `read` (or left unread, as the core
/// decides for a WebSocket handshake): closed when the client or the worker is done with it, or when
/// a body is left unread on it (what follows cannot be taken for the next request).
fn next_after(read: bool, head: &RequestHead, keep_alive: bool) -> Next {
    if keep_alive && (read || head.framing == Framing::Length(0)) {
        Next::KeepAlive
    } else {
        Next::Close
    }
}

/// What the guard allows: every method but `CONNECT` and `TRACE`.
const ALLOW: &[u8] = b"allow: GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS\r\n";
