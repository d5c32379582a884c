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
/// The body is verified whole, as sent: one whose length differs from its `Content-Length` is refused
/// (`400`, `body_length_mismatch`). With a replay guard, the request's key is kept once `T` accepts
/// the body, and released when `T` refuses it (the app never got the request, so Twilio's retry is
/// not refused as a replay). The extractor cannot see the handler's answer: for answer mode, or to
/// release the key when the handler answers `503`, use [`TwilioWebhookLayer`](crate::TwilioWebhookLayer).
/// `T` must be `Send` (every axum body extractor is): the extractor waits on the replay store while
/// it holds `T`'s value.
///
/// The origin: `T` sees the request with `Host` (and any `X-Forwarded-Host`/`-Proto`) naming the
/// origin the signature was made for ([`VerifiedRequest::hand_over`]), but extractors before this
/// one (`HeaderMap`, `Host`) have already read the client's. With one public URL configured the
/// client's `Host` decides nothing in the verification: an app that picks a tenant or virtual host
/// from it should use [`TwilioWebhookLayer`](crate::TwilioWebhookLayer), which hands the whole
/// request over first, or read [`VerifiedRequest::authority`].
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
    T: FromRequest<S, M> + Send,
    WebhookVerifier: FromRef<S>,
{
    type Rejection = TwilioWebhookRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = WebhookVerifier::from_ref(state);
        let (mut parts, body) = req.into_parts();
        let (body, verdict) = crate::verify::read_and_verify_as_sent(&verifier, &parts, body)
            .await
            .map_err(TwilioWebhookRejection::Rejected)?;
        let delivery = verdict.map_err(TwilioWebhookRejection::Rejected)?;
        // The handler's other extractors read the origin as sent: it must be the verified one.
        if let Err(refused) = crate::verify::check_origin(&verifier, &parts, delivery.verified()) {
            // The app never got the request: its key is released.
            delivery.not_delivered().await;
            return Err(TwilioWebhookRejection::Rejected(refused));
        }
        crate::verify::hand_over(&mut parts, delivery.verified());
        let req = Request::from_parts(parts, body);
        let inner = T::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response);
        match inner {
            // The handler's answer is out of an extractor's sight: the key is kept.
            Ok(inner) => Ok(TwilioWebhook(inner, delivery.handed_over().await)),
            // The app never got the request: its key is released, so Twilio's retry is judged
            // afresh rather than refused as a replay.
            Err(response) => {
                delivery.not_delivered().await;
                Err(TwilioWebhookRejection::Inner(response))
            }
        }
    }
}
