//! The upgraded connection of a verified WebSocket handshake.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

/// The upgraded connection of a WebSocket handshake that [`TwilioWebhook`](crate::TwilioWebhook) or
/// [`TwilioWebhookMiddleware`](crate::TwilioWebhookMiddleware) verified, as the `web::Payload` a
/// WebSocket library reads frames from (actix-ws's `handle(&req, payload)`). Take it as the verifying
/// extractor's inner extractor, `TwilioWebhook<TwilioWebSocket>`, or in a handler behind the
/// middleware (beside `TwilioWebhook<()>` it runs before the handshake is verified, and refuses).
///
/// In actix a handshake's payload is the rest of the connection. No signature covers those bytes, so
/// the verifying extractor and the middleware never leave them for a body extractor (`web::Bytes`,
/// `web::Form`), which then sees an empty body; only this extractor hands them on. Without a
/// verified handshake before it, it refuses (`403`).
///
/// ```
/// use actix_web::{App, web};
/// use twilio_webhook_actix::{TwilioWebSocket, TwilioWebhook, WebhookVerifier};
///
/// async fn stream(TwilioWebhook(TwilioWebSocket(payload), _): TwilioWebhook<TwilioWebSocket>) -> String {
///     // Hand `payload` to a WebSocket library here.
///     drop(payload);
///     "verified".into()
/// }
///
/// # fn app(verifier: WebhookVerifier) {
/// App::new().app_data(verifier).route("/stream", web::get().to(stream));
/// # }
/// ```
pub struct TwilioWebSocket(pub web::Payload);

impl std::fmt::Debug for TwilioWebSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TwilioWebSocket(..)")
    }
}

impl FromRequest for TwilioWebSocket {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let tunnel = req.extensions_mut().remove::<crate::verify::Tunnel>();
        let req = req.clone();
        Box::pin(async move {
            let Some(crate::verify::Tunnel(mut payload)) = tunnel else {
                return Err(actix_web::error::ErrorForbidden(
                    "Twilio webhook rejected: no verified WebSocket handshake\n",
                ));
            };
            web::Payload::from_request(&req, &mut payload)
                .await
                .map(TwilioWebSocket)
        })
    }
}
