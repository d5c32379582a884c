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
use twilio_webhook::VerifiedRequest;

use super::metrics::WorkerMetrics;
use super::upstream::{Failure, Target, Upstream};

/// The header the guard adds to a verified request: the name of the secret that matched.
pub(crate) const VERIFIED_HEADER: &str = "x-twilio-webhook-verified";
const VERIFIED: HeaderName = HeaderName::from_static(VERIFIED_HEADER);

const HOP_BY_HOP: [HeaderName; 8] = [
    http::header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    http::header::PROXY_AUTHENTICATE,
    http::header::PROXY_AUTHORIZATION,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
];

/// Removes hop-by-hop headers, and those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most requests have no `Connection` header, or only `keep-alive`/`close`: nothing to collect.
    let named: Vec<HeaderName> = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|t| !t.eq_ignore_ascii_case("keep-alive") && !t.eq_ignore_ascii_case("close"))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for name in HOP_BY_HOP.iter().chain(&named) {
        headers.remove(name);
    }
}

/// Makes a client's headers what the upstream will see, **before** anything is decided or verified,
/// so that the request verified is the request forwarded: hop-by-hop headers and the ones `Connection`
/// names go (even `Content-Type` or `X-Twilio-Signature`: they are then missing for verification
/// too), and so does every copy of the verified header the client sent, in any spelling a server
/// may read as it (`X_Twilio_Webhook_Verified`: WSGI servers map `-` and `_` to the same key).
pub(crate) fn strip_client_headers(headers: &mut HeaderMap) {
    strip_hop_by_hop(headers);
    let forged: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            name.len() == VERIFIED_HEADER.len()
                && name
                    .bytes()
                    .zip(VERIFIED_HEADER.bytes())
                    .all(|(a, b)| a.to_ascii_lowercase() == b || (a == b'_' && b == b'-'))
        })
        .cloned()
        .collect();
    for name in forged {
        headers.remove(&name);
    }
}

/// When the request reached the guard (a request extension), for the verification histogram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received(pub(crate) Instant);

/// Why the guard itself answered instead of the upstream (a response extension), for the metrics.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UpstreamFailure(pub(crate) &'static str);

/// The upstream, as a tower service over axum's body: one per worker, cheap to clone.
#[derive(Clone)]
pub(crate) struct Forward(Arc<Forwarding>);

struct Forwarding {
    upstream: Arc<Upstream>,
    timeout: Duration,
    metrics: WorkerMetrics,
}

impl Forward {
    pub(crate) fn new(upstream: Target, timeout: Duration, metrics: WorkerMetrics) -> Self {
        Forward(Arc::new(Forwarding {
            upstream: Upstream::new(upstream),
            timeout,
            metrics,
        }))
    }

    /// Closes the worker's idle upstream connections that are closed or idle too long.
    pub(crate) fn sweep_idle(&self) {
        self.0.upstream.sweep(Instant::now());
    }

    /// The guard's own answer: a status, a line of text, and why (for the metrics).
    fn failure(status: StatusCode, text: &str, why: &'static str) -> Response<Body> {
        let mut response = Response::new(Body::from(format!("{text}\n")));
        *response.status_mut() = status;
        response.extensions_mut().insert(UpstreamFailure(why));
        response
    }

    async fn forward(self, req: Request<Body>) -> Response<Body> {
        let this = &*self.0;
        let (mut parts, body) = req.into_parts();
        let verified = parts
            .extensions
            .get::<VerifiedRequest>()
            .map(|v| HeaderValue::from_str(v.verified().secret().name()));
        let start = Instant::now();
        if let (Some(_), Some(Received(at))) = (&verified, parts.extensions.get::<Received>()) {
            this.metrics
                .verified_in(start.saturating_duration_since(*at));
        }
        let Some(uri) = this.upstream.target().request_target(&parts.uri) else {
            return Self::failure(
                StatusCode::BAD_REQUEST,
                "bad request target",
                "bad_request_target",
            );
        };
        // The client's headers were made what the upstream sees before verification
        // (`strip_client_headers`); only the guard's own header is added now.
        if let Some(Ok(name)) = verified {
            parts.headers.insert(VERIFIED, name);
        }
        let mut upstream = Request::new(body);
        *upstream.method_mut() = parts.method;
        *upstream.uri_mut() = uri;
        *upstream.version_mut() = http::Version::HTTP_11;
        *upstream.headers_mut() = parts.headers;
        let answer = tokio::time::timeout(this.timeout, this.upstream.send(upstream)).await;
        this.metrics.upstream_in(start.elapsed());
        match answer {
            Ok(Ok(response)) => {
                let (mut parts, body) = response.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                Response::from_parts(parts, Body::new(body))
            }
            Ok(Err(Failure::Exchange(e))) if caused_by::<http_body_util::LengthLimitError>(&*e) => {
                Self::failure(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Twilio webhook rejected: body_too_large",
                    "body_too_large",
                )
            }
            Ok(Err(Failure::Exchange(e))) if timed_out(&*e) => Self::failure(
                StatusCode::REQUEST_TIMEOUT,
                "Twilio webhook rejected: client_timeout",
                "client_timeout",
            ),
            Ok(Err(e)) => {
                let e: &dyn std::fmt::Display = match &e {
                    Failure::Connect(e) => e,
                    Failure::Exchange(e) => e,
                };
                tracing::warn!(target: "twilio_webhook::guard", error = %e, "upstream unavailable");
                Self::failure(
                    StatusCode::BAD_GATEWAY,
                    "upstream unavailable",
                    "upstream_unavailable",
                )
            }
            Err(_) => {
                tracing::warn!(target: "twilio_webhook::guard", timeout = ?this.timeout, "upstream too slow");
                Self::failure(
                    StatusCode::GATEWAY_TIMEOUT,
                    "upstream timed out",
                    "upstream_timeout",
                )
            }
        }
    }
}

/// Whether `error`, or an error it wraps, is an `E`.
fn caused_by<E: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    any_cause(error, |e| e.is::<E>())
}

/// Whether the request body failed because the client was too slow (the body's deadline).
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    any_cause(error, |e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    })
}

/// Whether `error`, or an error it wraps, is what `is` looks for.
fn any_cause(
    error: &(dyn std::error::Error + 'static),
    is: impl Fn(&(dyn std::error::Error + 'static)) -> bool,
) -> bool {
    std::iter::successors(Some(error), |e| e.source()).any(is)
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn client_headers_lose_hop_by_hop_and_every_spelling_of_the_verified_header() {
        let mut headers = HeaderMap::new();
        for (n, v) in [
            ("connection", "keep-alive, x-custom"),
            ("x-custom", "1"),
            ("keep-alive", "timeout=5"),
            ("x-twilio-webhook-verified", "a"),
            ("X_Twilio_Webhook_Verified", "b"),
            ("x-twilio_webhook-verified", "c"),
            ("x-twilio-webhook-verifiedx", "kept"),
            // `_` stands for `-`, nothing else does: a header no server reads as it stays.
            ("x.twilio.webhook.verified", "kept"),
            ("x-twilio-webhook_verifie_", "kept"),
            ("x-twilio-signature", "kept"),
        ] {
            headers.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        strip_client_headers(&mut headers);
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "x-twilio-signature",
                "x-twilio-webhook-verifiedx",
                "x-twilio-webhook_verifie_",
                "x.twilio.webhook.verified"
            ]
        );
    }
}
