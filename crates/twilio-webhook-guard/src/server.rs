//! The listener: connections accepted under a cap and handed to the workers in turn, each worker a
//! single-threaded runtime serving its connections (`conn`), a graceful shutdown, and the admin
//! listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::StatusCode;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio::sync::OwnedSemaphorePermit;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use super::config::Config;
use super::conn::{self, Worker};
use super::h1::{self, Framing};
use super::memory::BodyMemory;
use super::metrics::Metrics;
use super::slots::{self, Waiters};
use super::upstream::Upstream;
use super::wire::Wire;

/// The first pause after a failed `accept`, doubled on each failure in a row up to the longest.
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// `errno` when a process (`EMFILE`) or the system (`ENFILE`) is out of file descriptors (the same
/// on Linux, the BSDs and macOS).
const EMFILE: i32 = 24;
const ENFILE: i32 = 23;

/// How often a worker closes the idle upstream connections that the upstream closed or that were idle
/// too long.
const SWEEP_EVERY: Duration = Duration::from_secs(15);

/// A connection accepted and handed to a worker: the socket (out of the accepting runtime), its peer,
/// and its place under `--max-connections`.
pub(crate) type Handoff = (std::net::TcpStream, SocketAddr, OwnedSemaphorePermit);

/// Accepts connections until `shutdown` completes, handing them in turn to the workers (each a
/// single-threaded runtime on its own thread: a connection and its upstream requests stay on one
/// core, with no wake-up across threads). At `max_connections` open, a new connection takes the place
/// of the one that has waited longest for a request head (`slots::place`, counted in the metrics),
/// or waits for a place. Dropping the workers' inboxes at the end tells them to drain.
pub(crate) async fn accept(
    listener: TcpListener,
    workers: Vec<UnboundedSender<Handoff>>,
    max_connections: usize,
    (waiters, metrics): (Arc<Waiters>, Arc<Metrics>),
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    let permits = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let mut backoff = ACCEPT_BACKOFF_MIN;
    let mut next = 0usize;
    loop {
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
                // Out of descriptors: the connection that has waited longest for bytes goes, as when
                // every place is taken (issue 28, F4), and the next try comes soon.
                if matches!(e.raw_os_error(), Some(EMFILE | ENFILE)) && waiters.shed_one() {
                    metrics.shed();
                    backoff = ACCEPT_BACKOFF_MIN;
                }
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
        let permit = tokio::select! {
            permit = slots::place(&permits, &waiters, || metrics.shed()) => match permit {
                Some(permit) => permit,
                None => break,
            },
            () = &mut shutdown => break,
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

/// One worker: serves the connections handed to it (`conn::serve`) until its inbox closes; then
/// closes its idle connections and lets its in-flight requests finish (for at most `grace`).
pub(crate) async fn work(
    config: Arc<Config>,
    metrics: Arc<Metrics>,
    memory: Arc<BodyMemory>,
    waiters: Arc<Waiters>,
    mut inbox: UnboundedReceiver<Handoff>,
    grace: Duration,
) {
    let worker = Arc::new(Worker {
        upstream: Upstream::new(config.upstream.clone()),
        config,
        metrics: metrics.worker(),
        memory,
        waiters,
    });
    let sweeper = Arc::clone(&worker);
    let sweeping = tokio::spawn(async move {
        let mut every = tokio::time::interval(SWEEP_EVERY);
        loop {
            every.tick().await;
            sweeper.upstream.sweep(Instant::now());
        }
    });
    let (stop, stopping) = tokio::sync::watch::channel(false);
    // Each connection holds a sender: when all are gone, the receiver says so.
    let (open, mut all_closed) = tokio::sync::mpsc::channel::<()>(1);
    while let Some((stream, peer, permit)) = inbox.recv().await {
        let Ok(stream) = tokio::net::TcpStream::from_std(stream) else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (worker, stopping, open) = (Arc::clone(&worker), stopping.clone(), open.clone());
        worker.metrics.connection(true);
        tokio::spawn(async move {
            conn::serve(Arc::clone(&worker), stream, peer, stopping).await;
            worker.metrics.connection(false);
            drop((permit, open));
        });
    }
    let _ = stop.send(true);
    drop(open);
    if tokio::time::timeout(grace, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!(target: "twilio_webhook::guard", "in-flight requests did not finish in time");
    }
    sweeping.abort();
}

/// The most admin connections served at once; more wait in the backlog. They hold descriptors the
/// main listener needs (issue 28, F4's class): a scraper and a health check need a few.
const ADMIN_CONNECTIONS: usize = 16;

/// Serves `/healthz` and `/metrics` on `listener`: one request a connection, at most
/// [`ADMIN_CONNECTIONS`] at once. A failed `accept` (out of descriptors) backs off and goes on: it
/// ended the listener for good, and a health check then restarted a guard that was serving.
pub(crate) async fn admin_server(listener: TcpListener, metrics: Arc<Metrics>) {
    let places = Arc::new(tokio::sync::Semaphore::new(ADMIN_CONNECTIONS));
    let mut backoff = ACCEPT_BACKOFF_MIN;
    loop {
        let Ok(place) = Arc::clone(&places).acquire_owned().await else {
            return;
        };
        match listener.accept().await {
            Ok((stream, _)) => {
                backoff = ACCEPT_BACKOFF_MIN;
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    admin(Wire::new(stream), metrics).await;
                    drop(place);
                });
            }
            Err(e) => {
                tracing::warn!(target: "twilio_webhook::guard", error = %e, retry_in = ?backoff, "cannot accept an admin connection");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(ACCEPT_BACKOFF_MAX);
            }
        }
    }
}

/// How long an admin connection may take to send its request and read its answer.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

async fn admin(mut wire: Wire, metrics: Arc<Metrics>) {
    let deadline = tokio::time::Instant::now() + ADMIN_TIMEOUT;
    let (http10, status, kind, body) = loop {
        match h1::parse_request(wire.buffered()) {
            Ok(Some((head, _))) => {
                let path = head.target.split('?').next().unwrap_or_default();
                let (status, kind, body) = match path {
                    "/healthz" => (StatusCode::OK, TEXT, "ok\n".to_string()),
                    "/metrics" => (StatusCode::OK, PROMETHEUS, metrics.render()),
                    _ => (StatusCode::NOT_FOUND, TEXT, "not found\n".to_string()),
                };
                break (head.http10, status, kind, body);
            }
            Ok(None) => {}
            Err(h1::Bad(status, code)) => {
                break (false, status, TEXT, format!("bad request: {code}\n"));
            }
        }
        match tokio::time::timeout_at(deadline, wire.fill()).await {
            Ok(Ok(n)) if n > 0 => {}
            _ => return,
        }
    };
    let mut out = Vec::new();
    let length = Framing::Length(body.len() as u64);
    h1::write_response_head(
        &mut out,
        http10,
        status,
        (kind, false),
        Some(length),
        Some("close"),
    );
    out.extend_from_slice(body.as_bytes());
    // A client that never reads its answer does not keep the task: the same deadline bounds it.
    let _ = tokio::time::timeout_at(deadline, wire.stream.write_all(&out)).await;
}

const TEXT: &[u8] = b"content-type: text/plain; charset=utf-8\r\n";
const PROMETHEUS: &[u8] = b"content-type: text/plain; version=0.0.4; charset=utf-8\r\n";
