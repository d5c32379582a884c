//! The extractor: verification first, then the inner extractor on the same bytes.

use std::fmt;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_util::future::LocalBoxFuture;
use twilio_webhook::{Refusal, VerifiedRequest, WebhookRejection};

/// Verifies that the request came from Twilio, then runs the inner extractor `T`
/// (`web::Form<_>`, `web::Json<_>`, `web::Bytes`, `String`, …) on the same body, so nothing parses the
/// body before it is verified. The verifier comes from the app data
/// (`App::app_data(verifier)` or `web::Data<WebhookVerifier>`); without one every request is refused.
///
/// The second field says which secret and URL matched.
///
/// ```
/// use actix_web::{App, web};
/// use twilio_webhook_actix::{TwilioWebhook, WebhookVerifier};
///
/// async fn sms(TwilioWebhook(web::Form(params), _): TwilioWebhook<web::Form<Vec<(String, String)>>>) -> String {
///     format!("{} parameters", params.len())
/// }
///
/// # fn app(verifier: WebhookVerifier) {
/// App::new().app_data(verifier).route("/sms", web::post().to(sms));
/// # }
/// ```
///
/// Take form parameters as a `Vec<(String, String)>` (or a struct): a `HashMap` keeps one value per
/// key and silently drops repeated ones.
#[derive(Debug, Clone)]
pub struct TwilioWebhook<T>(pub T, pub VerifiedRequest);

/// A request [`TwilioWebhook`] or [`TwilioWebhookMiddleware`](crate::TwilioWebhookMiddleware)
/// refused: `400` (no signature header), `413` (body over the limit) or `403`, with a plain-text
/// body naming the reason.
#[derive(Debug)]
pub struct TwilioWebhookRejection(pub WebhookRejection);

impl fmt::Display for TwilioWebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for TwilioWebhookRejection {
    fn status_code(&self) -> actix_web::http::StatusCode {
        crate::verify::response(&self.0).status()
    }

    fn error_response(&self) -> HttpResponse {
        crate::verify::response(&self.0)
    }
}

impl<T> FromRequest for TwilioWebhook<T>
where
    T: FromRequest + 'static,
{
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let verifier = crate::verify::verifier(&req).ok_or_else(|| {
                // A configuration mistake: refuse, never pass.
                let reason = Refusal::Rejected(twilio_webhook::Rejection::NoSecretConfigured);
                TwilioWebhookRejection(WebhookRejection::new(reason, Vec::new()))
            })?;
            let (bytes, verified) = crate::verify::verify(&verifier, &req, &mut payload)
                .await
                .map_err(TwilioWebhookRejection)?;
            // An extractor never sees the app's answer. In answer mode its delivery is finished
            // now, as delivered with no answer kept (duplicates are refused), never left as an
            // in-flight lease that lapses and lets a duplicate through. In reject mode: nothing.
            verifier.delivered(&verified, http::StatusCode::OK).await;
            if let Some(bytes) = bytes {
                payload = Payload::from(bytes);
            }
            let inner = T::from_request(&req, &mut payload)
                .await
                .map_err(Into::into)?;
            Ok(TwilioWebhook(inner, verified))
        })
    }
}
