//! The extractor: verification first, then the inner extractor on the same bytes.

use axum::extract::{FromRef, FromRequest, Request};
use axum::response::{IntoResponse, Response};
use twilio_webhook::{VerifiedRequest, WebhookRejection, WebhookVerifier};

/// Verifies that the request came from Twilio, then runs the inner extractor `T` (`Form<_>`,
/// `Json<_>`, `Bytes`, `String`, …) on the same body, so nothing parses the body before it is
/// verified. The verifier comes from the router's state ([`FromRef`]).
///
/// The second field says which secret and URL matched.
///
/// ```
/// use axum::{Form, Router, routing::post};
/// use twilio_webhook_axum::{TwilioWebhook, WebhookVerifier};
///
/// async fn sms(TwilioWebhook(Form(params), _): TwilioWebhook<Form<Vec<(String, String)>>>) -> String {
///     format!("{} parameters", params.len())
/// }
///
/// # fn app(verifier: WebhookVerifier) -> Router {
/// Router::new().route("/sms", post(sms)).with_state(verifier)
/// # }
/// ```
///
/// Take form parameters as a `Vec<(String, String)>` (or a struct): a `HashMap` keeps one value per
/// key and silently drops repeated ones.
#[derive(Debug, Clone)]
pub struct TwilioWebhook<T>(pub T, pub VerifiedRequest);

/// Why [`TwilioWebhook`] refused a request: the verification failed, or the inner extractor did.
#[derive(Debug)]
pub enum TwilioWebhookRejection {
    /// Not verified: `400` (no signature header), `413` (body over the limit) or `403`.
    Rejected(WebhookRejection),
    /// Verified, but the inner extractor refused the body; its own response.
    Inner(Response),
}

impl TwilioWebhookRejection {
    /// The status of the response.
    pub fn status(&self) -> http::StatusCode {
        match self {
            TwilioWebhookRejection::Rejected(r) => r.status(),
            TwilioWebhookRejection::Inner(response) => response.status(),
        }
    }
}

impl IntoResponse for TwilioWebhookRejection {
    fn into_response(self) -> Response {
        match self {
            TwilioWebhookRejection::Rejected(r) => crate::rejection_response(&r),
            TwilioWebhookRejection::Inner(response) => response,
        }
    }
}

/// The marker of [`TwilioWebhook`]'s extractor impl: with it, the inner extractor may be a body
/// extractor or a parts extractor (`WebSocketUpgrade`, `()`). Never named by users.
#[doc(hidden)]
#[derive(Debug)]
pub struct ViaTwilio;

impl<S, T, M> FromRequest<S, (ViaTwilio, M)> for TwilioWebhook<T>
where
    S: Send + Sync,
    T: FromRequest<S, M>,
    WebhookVerifier: FromRef<S>,
{
    type Rejection = TwilioWebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = WebhookVerifier::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let (body, verified) = crate::verify::verify(&verifier, &mut parts, body)
            .await
            .map_err(TwilioWebhookRejection::Rejected)?;
        // An extractor never sees the app's answer. In answer mode its delivery is finished now, as
        // delivered with no answer kept (duplicates are refused), never left as an in-flight lease
        // that lapses and lets a duplicate through. In reject mode this does nothing.
        verifier.delivered(&verified, http::StatusCode::OK).await;
        let req = Request::from_parts(parts, body.into_body());
        let inner = T::from_request(req, state)
            .await
            .map_err(|e| TwilioWebhookRejection::Inner(e.into_response()))?;
        Ok(TwilioWebhook(inner, verified))
    }
}
