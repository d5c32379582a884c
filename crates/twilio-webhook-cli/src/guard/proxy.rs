//! Forwarding to the upstream: the request as received (method, target, headers but hop-by-hop ones,
//! body), with `X-Twilio-Webhook-Verified` set only by the guard; the answer back unchanged.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use twilio_webhook::VerifiedRequest;

use super::metrics::Metrics;

/// The header the guard adds to a verified request: the name of the secret that matched.
pub(crate) const VERIFIED_HEADER: &str = "x-twilio-webhook-verified";

const HOP_BY_HOP: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Removes hop-by-hop headers, and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP
        .iter()
        .filter_map(|n| HeaderName::from_bytes(n.as_bytes()).ok())
        .chain(named)
    {
        headers.remove(&name);
    }
}

/// The upstream, as a tower service over axum's body.
#[derive(Clone)]
pub(crate) struct Forward {
    client: Client<HttpConnector, Body>,
    upstream: Arc<str>,
    timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Forward {
    pub(crate) fn new(upstream: &str, timeout: Duration, metrics: Arc<Metrics>) -> Self {
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
        Forward {
            client,
            upstream: upstream.into(),
            timeout,
            metrics,
        }
    }

    fn plain(status: StatusCode, text: &str) -> Response<Body> {
        let mut response = Response::new(Body::from(format!("{text}\n")));
        *response.status_mut() = status;
        response
    }

    async fn forward(self, req: Request<Body>) -> Response<Body> {
        let (mut parts, body) = req.into_parts();
        let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
        let Ok(uri) = format!("{}{target}", self.upstream).parse::<http::Uri>() else {
            return Self::plain(StatusCode::BAD_REQUEST, "bad request target");
        };
        let verified = parts
            .extensions
            .get::<VerifiedRequest>()
            .map(|v| v.verified().secret().name().to_string());
        strip_hop_by_hop(&mut parts.headers);
        // Only the guard says a request was verified: every copy the client sent goes.
        parts.headers.remove(VERIFIED_HEADER);
        if let Some(name) = verified.and_then(|n| HeaderValue::from_str(&n).ok()) {
            parts.headers.insert(VERIFIED_HEADER, name);
        }
        let mut upstream = Request::new(body);
        *upstream.method_mut() = parts.method;
        *upstream.uri_mut() = uri;
        *upstream.version_mut() = http::Version::HTTP_11;
        *upstream.headers_mut() = parts.headers;
        let start = Instant::now();
        let answer = tokio::time::timeout(self.timeout, self.client.request(upstream)).await;
        self.metrics.upstream.observe(start.elapsed());
        match answer {
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            Ok(Err(e)) => {
                tracing::warn!(target: "twilio_webhook::guard", error = %e, "upstream unavailable");
                Self::plain(StatusCode::BAD_GATEWAY, "upstream unavailable")
            }
            Err(_) => {
                tracing::warn!(target: "twilio_webhook::guard", timeout = ?self.timeout, "upstream too slow");
                Self::plain(StatusCode::GATEWAY_TIMEOUT, "upstream timed out")
            }
        }
    }
}

impl tower_service::Service<Request<Body>> for Forward {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { Ok(this.forward(req).await) })
    }
}
