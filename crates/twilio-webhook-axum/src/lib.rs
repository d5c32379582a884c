//! Twilio webhook verification for [axum](https://docs.rs/axum) 0.8 and any tower 0.5 service.
//!
//! ```no_run
//! use std::net::SocketAddr;
//!
//! use axum::{Form, Router, routing::post};
//! use twilio_webhook_axum::{TwilioWebhook, WebhookVerifier};
//!
//! async fn sms(TwilioWebhook(Form(params), _): TwilioWebhook<Form<Vec<(String, String)>>>) -> String {
//!     format!("verified, {} parameters", params.len())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     tracing_subscriber::fmt::init(); // a refused webhook explains itself in this log
//!     let verifier = WebhookVerifier::from_env()?; // TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL, TWILIO_TRUSTED_PROXIES
//!     let app = Router::new().route("/sms", post(sms)).with_state(verifier);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     // The peer address is what TWILIO_TRUSTED_PROXIES is checked against: without it, proxies' headers never count.
//!     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Which one do I use?
//!
//! - [`TwilioWebhook<T>`](TwilioWebhook): an extractor around any body extractor (`Form<_>`,
//!   `Json<_>`, `Bytes`, `String`). It verifies, then hands the same bytes to `T`, so nothing parses
//!   the body first. The verifier comes from state through `FromRef`.
//! - [`TwilioWebhookLayer`]: the same check for a whole router or a set of routes, or any tower
//!   service whose body can be rebuilt from bytes.
//!
//! Both read `OriginalUri`, so a handler inside `Router::nest` is checked against the URL Twilio
//! requested, not the stripped one. Both run the core's one verification sequence
//! (`WebhookVerifier::read_and_verify`): the body is verified whole, as sent, and handed on unchanged.
//! Both refuse with `400` (no `X-Twilio-Signature`, or a body whose length differs from its
//! `Content-Length`), `413` (body over the limit, 1 MiB by default) or `403` (every other reason), with a plain-text body naming the
//! reason, and log one `tracing` warning that explains it: what Twilio signed and the setting to change,
//! when the diagnosis finds it (never a secret or the signature). Without a `tracing` subscriber,
//! nothing is logged.
//!
//! # The URL
//!
//! Twilio signs the public URL it called. Configure it with [`PublicUrl`] (or `TWILIO_PUBLIC_URL` for
//! [`WebhookVerifier::from_env`]); without it the URL is `http://` + `Host` + the path and query as
//! received. Forwarded headers (`Forwarded`, `X-Forwarded-*`) count only from trusted proxies, which
//! needs the peer address: serve with `into_make_service_with_connect_info::<SocketAddr>()`, or they
//! are ignored.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod extract;
mod layer;
mod verify;

use bytes::Bytes;

pub use extract::{TwilioWebhook, TwilioWebhookRejection};
pub use layer::{RequireTwilioSignature, TwilioWebhookLayer};
pub use twilio_webhook::{
    PublicUrl, Refusal, RequestValidator, VerifiedRequest, WebhookRejection, WebhookVerifier,
};

/// A refusal as a response: its status and a plain-text body naming the reason. The rejection rides in
/// the response's extensions, for a server that counts refusals by reason.
fn rejection_response<B: From<Bytes>>(rejection: &WebhookRejection) -> http::Response<B> {
    // Answer mode: a duplicate gets the first delivery's response, as the core kept it.
    if let Some(answer) = rejection.stored_answer() {
        let mut response = http::Response::new(B::from(Bytes::copy_from_slice(answer.body())));
        *response.status_mut() = rejection.status();
        for (name, value) in answer.headers() {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                http::HeaderValue::from_bytes(value),
            ) {
                response.headers_mut().append(name, value);
            }
        }
        response.extensions_mut().insert(rejection.clone());
        return response;
    }
    let mut response = http::Response::new(B::from(Bytes::from(rejection.body_text())));
    *response.status_mut() = rejection.status();
    response.extensions_mut().insert(rejection.clone());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
