//! The listener: HTTP/1.1 with a header deadline, a body deadline, verification through the tower
//! layer for the routes that need it, forwarding, metrics, a cap on connections, and a graceful
//! shutdown.
//!
//! Every decision about a request is the core's: which path it was sent to and whether a rule exempts
//! it (`PathRules`), whether its body is read and against which URL it is verified (the layer's
//! `WebhookVerifier`), whether a failed delivery releases its replay key. This file translates and
//! forwards.

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse as _;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tower_service::Service as _;
use twilio_webhook::{PathDecision, Refusal, WebhookRejection};
use twilio_webhook_axum::{RequireTwilioSignature, TwilioWebhookLayer, TwilioWebhookRejection};

use super::config::Config;
use super::metrics::{Metrics, WorkerMetrics};
use super::proxy::{Forward, Received, UpstreamFailure, strip_client_headers};

/// A request body with a deadline: past it, reading fails as `TimedOut`, which the layer answers
/// with `408` (a slow client), and a forwarded body stops. The timer is armed only when the body
/// makes the reader wait: a body that came with its headers costs no timer.
struct DeadlineBody {
    inner: Incoming,
    until: tokio::time::Instant,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let until = self.until;
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(until)));
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the client sent its body too slowly",
            ))))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The first pause after a failed `accept`, doubled on each failure in a row up to the longest.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How often a worker closes the idle upstream connections that the upstream closed or that were idle
/// too long.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// What every connection of a worker shares.
struct Shared {
    config: Arc<Config>,
    forward: Forward,
    guarded: RequireTwilioSignature<Forward>,
    metrics: WorkerMetrics,
}

/// A refusal as the layer answers it, counted.
fn refuse(metrics: &Metrics, refusal: Refusal) -> Response<Body> {
    let rejection = WebhookRejection::new(refusal, Vec::new());
    metrics.rejected(rejection.code(), rejection.cause());
    TwilioWebhookRejection::Rejected(rejection).into_response()
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let start = Instant::now();
    let (mut parts, body) = req.into_parts();
    // What is decided and verified is what the upstream will see.
    strip_client_headers(&mut parts.headers);
    parts.extensions.insert(ConnectInfo(peer));
    parts.extensions.insert(Received(start));
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let decision = match shared.config.paths.decide(target) {
        Ok(decision) => decision,
        Err(e) => return Ok(refuse(&shared.metrics, Refusal::BadTarget(e))),
    };
    let body = DeadlineBody {
        inner: body,
        until: tokio::time::Instant::from_std(start) + shared.config.client_timeout,
        deadline: None,
    };
    let metrics = &shared.metrics;
    let response = match decision {
        PathDecision::Pass => {
            // Unverified, but bounded like any other: the declared length first, then as sent.
            let verifier = &shared.config.verifier;
            if let Err(rejection) = verifier.check_declared_length(&parts.headers) {
                metrics.rejected(rejection.code(), rejection.cause());
                return Ok(TwilioWebhookRejection::Rejected(rejection).into_response());
            }
            let limited = http_body_util::Limited::new(body, verifier.limit());
            let req = Request::from_parts(parts, Body::new(limited));
            let response = shared.forward.clone().call(req).await?;
            if response.extensions().get::<UpstreamFailure>().is_none() {
                metrics.passed_through();
            }
            response
        }
        _ => {
            let req = Request::from_parts(parts, Body::new(body));
            let response = shared.guarded.clone().call(req).await?;
            if let Some(rejection) = response.extensions().get::<WebhookRejection>() {
                metrics.verified_in(start.elapsed());
                match rejection.refusal() {
                    Refusal::AnsweredDuplicate => metrics.duplicate("answered"),
                    Refusal::Replayed => metrics.duplicate("refused"),
                    _ => metrics.rejected(rejection.code(), rejection.cause()),
                }
            } else if response.extensions().get::<UpstreamFailure>().is_none() {
                metrics.forwarded();
            }
            response
        }
    };
    if let Some(UpstreamFailure(why)) = response.extensions().get::<UpstreamFailure>() {
        metrics.upstream_failed(why);
    }
    Ok(response)
}

async fn admin(
    metrics: Arc<Metrics>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let (status, body) = match req.uri().path() {
        "/healthz" => (StatusCode::OK, "ok\n".to_string()),
        "/metrics" => (StatusCode::OK, metrics.render()),
        _ => (StatusCode::NOT_FOUND, "not found\n".to_string()),
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    Ok(response)
}

/// A connection accepted and handed to a worker: the socket (out of the accepting runtime), its peer,
/// and its place under `--max-connections`.
pub(crate) type Handoff = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// Accepts connections until `shutdown` completes, handing them in turn to the workers (each a
/// single-threaded runtime on its own thread: a connection and its upstream requests stay on one
/// core, with no wake-up across threads). At `max_connections` open, new ones wait in the backlog.
/// Dropping the workers' inboxes at the end tells them to drain.
pub(crate) async fn accept(
    listener: TcpListener,
    workers: Vec<UnboundedSender<Handoff>>,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let permits = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let mut next = 0usize;
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = ACCEPT_BACKOFF_MIN;
                accepted
            }
            Err(e) => {
                // EMFILE and its kind: retrying at once would spin. Back off, and say why.
                tracing::warn!(target: "twilio_webhook::guard", error = %e, retry_in = ?backoff, "cannot accept a connection");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = &mut shutdown => break,
                }
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
                continue;
            }
        };
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        let Some(worker) = workers.get(next % workers.len().max(1)) else {
            break;
        };
        next = next.wrapping_add(1);
        if worker.send((stream, peer, permit)).is_err() {
            tracing::error!(target: "twilio_webhook::guard", "a worker stopped: no longer accepting connections");
            break;
        }
    }
    drop(listener);
    tracing::info!(target: "twilio_webhook::guard", "shutting down: draining in-flight requests");
}

/// One worker: serves the connections handed to it, each through hyper's HTTP/1 with a header
/// deadline, until its inbox closes; then lets its in-flight requests finish (for at most `grace`).
pub(crate) async fn work(
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    mut inbox: UnboundedReceiver<Handoff>,
    grace: Duration,
) {
    let metrics = metrics.worker();
    let forward = Forward::new(
        config.upstream.clone(),
        config.upstream_timeout,
        metrics.clone(),
    );
    let guarded = tower_layer::Layer::layer(
        &TwilioWebhookLayer::new(config.verifier.clone()),
        forward.clone(),
    );
    let header_timeout = config.client_timeout;
    let shared = Arc::new(Shared {
        config,
        forward,
        guarded,
        metrics,
    });
    let sweeper = shared.forward.clone();
    tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            sweeper.sweep_idle();
        }
    });
    let graceful = GracefulShutdown::new();
    while let Some((stream, peer, permit)) = inbox.recv().await {
        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let conn_shared = Arc::clone(&shared);
        let service =
            hyper::service::service_fn(move |req| handle(Arc::clone(&conn_shared), peer, req));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        let metrics = shared.metrics.clone();
        metrics.connection(true);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(target: "twilio_webhook::guard", error = %e, "connection ended");
            }
            metrics.connection(false);
            drop(permit);
        });
    }
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(target: "twilio_webhook::guard", "in-flight requests did not finish in time");
    }
}

/// Serves `/healthz` and `/metrics` on `listener`.
pub(crate) async fn admin_server(listener: TcpListener, metrics: Arc<Metrics>) {
    while let Ok((stream, _)) = listener.accept().await {
        let metrics = Arc::clone(&metrics);
        let service = hyper::service::service_fn(move |req| admin(Arc::clone(&metrics), req));
        tokio::spawn(
            hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service),
        );
    }
}
