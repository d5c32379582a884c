//! The tower layer: the extractor's behaviour for a whole router or a set of routes, over any body
//! that can be rebuilt from bytes (axum's `Body`, `http_body_util::Full<Bytes>`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use twilio_webhook::WebhookVerifier;

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
}

impl TwilioWebhookLayer {
    /// A layer that verifies with `verifier` (its validator, public-URL policy and body limit).
    pub fn new(verifier: WebhookVerifier) -> Self {
        TwilioWebhookLayer { verifier }
    }
}

impl<S> Layer<S> for TwilioWebhookLayer {
    type Service = RequireTwilioSignature<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTwilioSignature {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service made by [`TwilioWebhookLayer`].
#[derive(Debug, Clone)]
pub struct RequireTwilioSignature<S> {
    inner: S,
    verifier: WebhookVerifier,
}

impl<S, B, ResBody> Service<Request<B>> for RequireTwilioSignature<S>
where
    S: Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + From<Bytes> + Send + Unpin + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
    ResBody: From<String>,
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
        let verifier = self.verifier.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match crate::verify::verify(&verifier, &mut parts, body).await {
                Ok((bytes, _)) => inner.call(Request::from_parts(parts, B::from(bytes))).await,
                Err(rejection) => Ok(crate::rejection_response(&rejection)),
            }
        })
    }
}
