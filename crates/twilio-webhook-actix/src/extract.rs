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
/// The body is verified whole, as sent: a body another extractor already took is refused (`500`,
/// `body_taken`: make `TwilioWebhook<web::Bytes>` the body extractor instead of taking `web::Bytes`
/// beside it), and so is one whose length differs from its `Content-Length` (`400`). On a real
/// WebSocket handshake `T` sees no body (the handshake has none), and neither does any extractor
/// after this one: the upgraded connection is only for [`TwilioWebSocket`](crate::TwilioWebSocket),
/// as `TwilioWebhook<TwilioWebSocket>`. With a replay guard, the request's key is
/// kept once `T` accepts the body, and released when `T` refuses it (the app never got the request,
/// so Twilio's retry is not refused as a replay). The extractor cannot see the handler's answer: for
/// answer mode, or to release the key when the handler answers `503`, use
/// [`TwilioWebhookMiddleware`](crate::TwilioWebhookMiddleware).
///
/// The origin: the handler reads the request's headers as the client sent them, and
/// `HttpRequest::connection_info().host()` trusts `X-Forwarded-Host` and `Forwarded` from any peer; an
/// extractor cannot change either. So a verified request whose origin, as the handler reads it, is not
/// the one the signature was made for is refused (`400`, `bad_host`, its replay key released; the
/// core's [`WebhookVerifier::check_origin`](crate::WebhookVerifier::check_origin)): every
/// `X-Forwarded-Host`, `X-Forwarded-Proto` and `Forwarded` `host=`/`proto=` must name the verified
/// origin, and so must `Host` and the URI's authority unless the peer is a trusted proxy (which may
/// set an internal `Host`, as nginx's default `proxy_pass` does). With one public URL configured, a
/// client that sends `Host: admin.internal` with a request signed for the public host is refused
/// rather than handed to a handler that picks its tenant by host. Behind a proxy that rewrites `Host`,
/// name it in `TWILIO_TRUSTED_PROXIES`, or use the middleware, which hands the handler the verified
/// origin instead.
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
/// refused: `400` (no signature header, a body whose length differs from its `Content-Length`, or,
/// from the extractor, a request naming another origin than the one verified: `bad_host`),
/// `413` (body over the limit), `500` (the body was taken by another extractor first) or `403`, with a
/// plain-text body naming the reason.
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
        let head = crate::verify::Head::of(&req);
        let verifier = crate::verify::verifier(&req);
        // The payload is taken now, while it is at hand (unless the core says it is not to be read).
        let taken = verifier
            .as_ref()
            .map(|v| crate::verify::Reader::take(v, &req, &head, payload));
        let (reader, tunnel) = taken.map_or((None, None), |(r, t)| (Some(r), t));
        Box::pin(async move {
            let (Some(verifier), Some(reader)) = (verifier, reader) else {
                // A configuration mistake: refuse, never pass.
                let reason = Refusal::Rejected(twilio_webhook::Rejection::NoSecretConfigured);
                return Err(
                    TwilioWebhookRejection(WebhookRejection::new(reason, Vec::new())).into(),
                );
            };
            let checked = crate::verify::read_and_verify(&verifier, &req, &head, reader)
                .await
                .map_err(TwilioWebhookRejection)?;
            let delivery = checked.verdict.map_err(TwilioWebhookRejection)?;
            // The handler reads the origin as sent (its headers, `connection_info()`): it must be
            // the verified one.
            if let Err(refused) =
                crate::verify::check_origin(&verifier, &req, &head, delivery.verified())
            {
                // The app never got the request: its key is released.
                delivery.not_delivered().await;
                return Err(TwilioWebhookRejection(refused).into());
            }
            crate::verify::keep_tunnel(&req, tunnel);
            // `T` gets exactly the bytes verified (none for a handshake).
            let mut payload = crate::verify::payload(checked.body);
            match T::from_request(&req, &mut payload).await {
                // The handler's answer is out of an extractor's sight: the key is kept.
                Ok(inner) => Ok(TwilioWebhook(inner, delivery.handed_over().await)),
                // The app never got the request: its key is released, so Twilio's retry is judged
                // afresh rather than refused as a replay.
                Err(e) => {
                    delivery.not_delivered().await;
                    Err(e.into())
                }
            }
        })
    }
}
