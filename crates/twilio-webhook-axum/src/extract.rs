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
/// The origin: the handler's other extractors (`HeaderMap`, `Host`, `Uri`) read the request as the
/// client sent it, and an extractor cannot change that. So a verified request whose origin, as they
/// read it, is not the one the signature was made for is refused (`400`, `bad_host`, its replay key
/// released; the core's [`WebhookVerifier::check_origin`]): every `X-Forwarded-Host`,
/// `X-Forwarded-Proto` and `Forwarded` `host=`/`proto=` must name the verified origin, and so must
/// `Host` and the URI's authority unless the peer is a trusted proxy (which may set an internal `Host`,
/// as nginx's default `proxy_pass` does). With one public URL configured, a client that sends
/// `Host: admin.internal` with a request signed for the public host is refused rather than handed to a
/// handler that picks its tenant by `Host`. Behind a proxy that rewrites `Host`, name it in
/// `TWILIO_TRUSTED_PROXIES` and serve with `into_make_service_with_connect_info::<SocketAddr>()`, or
/// use [`TwilioWebhookLayer`](crate::TwilioWebhookLayer), which hands the handler the verified origin
/// instead. `T` sees the request handed over ([`VerifiedRequest::hand_over`]).
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
    /// Not verified: `400` (no signature header, or `bad_host`: the request names another origin than
    /// the one verified), `413` (body over the limit) or `403`.
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
