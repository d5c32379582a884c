//! The listener: HTTP/1.1 with a header deadline, a body deadline, verification through the tower
//! layer for the routes that need it, forwarding, metrics, and a graceful shutdown.

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
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tower_service::Service as _;
use twilio_webhook::WebhookRejection;
use twilio_webhook_axum::{RequireTwilioSignature, TwilioWebhookLayer};

use super::config::Config;
use super::metrics::Metrics;
use super::proxy::Forward;

/// A request body with a deadline: past it, reading fails as `TimedOut`, which the layer answers
/// with `408` (a slow client), and a forwarded body stops.
struct DeadlineBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
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
        match self.deadline.as_mut().poll(cx) {
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

/// What every connection shares.
struct Shared {
    config: Config,
    forward: Forward,
    guarded: RequireTwilioSignature<Forward>,
    metrics: Arc<Metrics>,
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let start = Instant::now();
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(ConnectInfo(peer));
    let deadline = Box::pin(tokio::time::sleep(shared.config.client_timeout));
    let req = Request::from_parts(
        parts,
        Body::new(DeadlineBody {
            inner: body,
            deadline,
        }),
    );
    let verify = shared.config.requires_verification(req.uri().path());
    let response = if verify {
        let response = shared.guarded.clone().call(req).await?;
        match response.extensions().get::<WebhookRejection>() {
            Some(rejection) => {
                shared.metrics.verify.observe(start.elapsed());
                shared.metrics.rejected(rejection.code());
            }
            None => shared.metrics.forwarded(),
        }
        response
    } else {
        let response = shared.forward.clone().call(req).await?;
        shared.metrics.passed_through();
        response
    };
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

/// Serves until `shutdown` completes, then stops accepting and lets in-flight requests finish (for at
/// most `grace`).
pub(crate) async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> std::io::Result<()> {
    let metrics = Arc::new(Metrics::default());
    let forward = Forward::new(
        &config.upstream,
        config.upstream_timeout,
        Arc::clone(&metrics),
    );
    let guarded = tower_layer::Layer::layer(
        &TwilioWebhookLayer::new(config.verifier.clone()),
        forward.clone(),
    );
    if let Some(addr) = config.admin_listen {
        let admin_listener = TcpListener::bind(addr).await?;
        let metrics = Arc::clone(&metrics);
        tokio::spawn(async move {
            while let Ok((stream, _)) = admin_listener.accept().await {
                let metrics = Arc::clone(&metrics);
                let service =
                    hyper::service::service_fn(move |req| admin(Arc::clone(&metrics), req));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
    }
    let header_timeout = config.client_timeout;
    let shared = Arc::new(Shared {
        config,
        forward,
        guarded,
        metrics,
    });
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let shared = Arc::clone(&shared);
                let service = hyper::service::service_fn(move |req| handle(Arc::clone(&shared), peer, req));
                let conn = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(target: "twilio_webhook::guard", error = %e, "connection ended");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(target: "twilio_webhook::guard", "shutting down: draining in-flight requests");
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(target: "twilio_webhook::guard", "in-flight requests did not finish in time");
    }
    Ok(())
}
