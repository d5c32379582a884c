//! The tower layer: the extractor's behaviour for a whole router or a set of routes, over any body
//! that can be rebuilt from bytes (axum's `Body`, `http_body_util::Full<Bytes>`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use twilio_webhook::{ReportOnly, WebhookVerifier};

use crate::verify::BoxError;

/// Requires a valid Twilio signature on every request of the service it wraps; refused requests get
/// `400`, `403` or `413` with a plain-text reason and never reach the service. The service sees the
/// body unchanged and the verdict as an `Extension<VerifiedRequest>`.
///
/// ```
/// use axum::{Router, routing::post};
/// use twilio_webhook_axum::{TwilioWebhookLayer, WebhookVerifier};
///
/// # fn app(verifier: WebhookVerifier) -> Router {
/// Router::new()
///     .route("/sms", post(|body: String| async move { body }))
///     .route_layer(TwilioWebhookLayer::new(verifier))
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct TwilioWebhookLayer {
    verifier: WebhookVerifier,
    report_only: Option<ReportOnly>,
}

impl TwilioWebhookLayer {
    /// A layer that verifies with `verifier` (its validator, public-URL policy, body limit and replay
    /// guard) and refuses what fails.
    pub fn new(verifier: WebhookVerifier) -> Self {
        TwilioWebhookLayer {
            verifier,
            report_only: None,
        }
    }

    /// Report-only mode, for rolling validation out: a request that fails verification (signature or
    /// replay) is passed to the service without a `VerifiedRequest`, logged at `warn` and counted in
    /// [`would_reject`](Self::would_reject); building it logs that verification is **not enforced**.
    /// Every other refusal is still enforced, as the core's [`ReportOnly::passes`] decides: a body over
    /// the limit or unreadable (it was not read, so it cannot be passed), and a request whose shape
    /// would show the app something other than what was checked (an ambiguous host or target, a
    /// charset other than UTF-8, a body on a bodiless method, a length other than declared).
    pub fn report_only_without_enforcing(mut self) -> Self {
        self.report_only = Some(ReportOnly::without_enforcing());
        self
    }

    /// How many requests report-only mode passed that enforcement would have refused (0 when
    /// enforcing).
    pub fn would_reject(&self) -> u64 {
        self.report_only
            .as_ref()
            .map_or(0, ReportOnly::would_reject)
    }
}

impl<S> Layer<S> for TwilioWebhookLayer {
    type Service = RequireTwilioSignature<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTwilioSignature {
            inner,
            settings: Arc::new(self.clone()),
        }
    }
}

/// The service made by [`TwilioWebhookLayer`].
#[derive(Debug, Clone)]
pub struct RequireTwilioSignature<S> {
    inner: S,
    /// The layer's settings, shared: a request clones one `Arc`, not the verifier.
    settings: Arc<TwilioWebhookLayer>,
}

impl<S, B, ResBody> Service<Request<B>> for RequireTwilioSignature<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send,
    B: http_body::Body + From<Bytes> + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + From<Bytes> + Send + 'static,
    ResBody::Error: Send,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        // The clone that was polled ready is the one that is called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let settings = Arc::clone(&self.settings);
        Box::pin(async move {
            let TwilioWebhookLayer {
                verifier,
                report_only,
            } = &*settings;
            let (mut parts, body) = req.into_parts();
            let (body, verdict) =
                match crate::verify::read_and_verify(verifier, &mut parts, body).await {
                    Ok(read) => read,
                    Err(rejection) => return Ok(crate::rejection_response(&rejection)),
                };
            let delivery = match verdict {
                Ok(delivery) => Some(delivery),
                Err(rejection) => match report_only {
                    Some(report) if report.passes(&rejection) => None,
                    _ => return Ok(crate::rejection_response(&rejection)),
                },
            };
            let call = inner.call(Request::from_parts(parts, body));
            let Some(delivery) = delivery else {
                return call.await;
            };
            // Answer mode: the request's lease is renewed while the service works on it.
            let response = delivery.renewing(call, tokio::time::sleep).await;
            // A failed delivery (502, 503, 504, or no response) releases the replay key; in answer
            // mode, the answer is kept for duplicates when the core says so.
            let response = match response {
                Ok(response) => response,
                Err(e) => {
                    delivery.finish(http::StatusCode::BAD_GATEWAY).await;
                    return Err(e);
                }
            };
            let length = http_body::Body::size_hint(response.body()).exact();
            if !delivery.keeps_answer(response.status(), length) {
                delivery.finish(response.status()).await;
                return Ok(response);
            }
            Ok(crate::verify::keep_answer(delivery, response).await)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use twilio_webhook::RequestValidator;

    /// A service that is never ready: it says so with an error.
    #[derive(Clone)]
    struct Busy;

    impl Service<Request<axum::body::Body>> for Busy {
        type Response = Response<axum::body::Body>;
        type Error = &'static str;
        type Future = std::future::Ready<Result<Response<axum::body::Body>, &'static str>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Err("busy"))
        }

        fn call(&mut self, _: Request<axum::body::Body>) -> Self::Future {
            std::future::ready(Ok(Response::new("called".into())))
        }
    }

    #[test]
    fn the_layer_is_ready_when_and_only_when_its_service_is() {
        let verifier = WebhookVerifier::new(RequestValidator::new("token"));
        let mut service = TwilioWebhookLayer::new(verifier).layer(Busy);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        assert_eq!(
            Service::<Request<axum::body::Body>>::poll_ready(&mut service, &mut cx),
            Poll::Ready(Err("busy")),
            "backpressure and errors of the inner service pass through"
        );
    }
}
