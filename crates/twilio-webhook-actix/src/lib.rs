//! Twilio webhook verification for [actix-web](https://docs.rs/actix-web) 4.
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use twilio_webhook_actix::{TwilioWebhook, WebhookVerifier};
//!
//! async fn sms(TwilioWebhook(web::Form(params), _): TwilioWebhook<web::Form<Vec<(String, String)>>>) -> String {
//!     format!("verified, {} parameters", params.len())
//! }
//!
//! #[actix_web::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let verifier = WebhookVerifier::from_env()?; // TWILIO_AUTH_TOKEN, TWILIO_PUBLIC_URL, ...
//!     HttpServer::new(move || App::new().app_data(verifier.clone()).route("/sms", web::post().to(sms)))
//!         .bind("127.0.0.1:3000")?
//!         .run()
//!         .await?;
//!     Ok(())
//! }
//! ```
//!
//! # Which one do I use?
//!
//! - [`TwilioWebhook<T>`](TwilioWebhook): an extractor around any body extractor (`web::Form<_>`,
//!   `web::Json<_>`, `web::Bytes`, `String`). It verifies, then hands the same bytes to `T`, so
//!   nothing parses the body first. The verifier comes from the app data.
//! - [`TwilioWebhookMiddleware`]: the same check for a whole app or scope.
//!
//! Both run the core's one verification sequence (`WebhookVerifier::read_and_verify`): the body is
//! verified whole, as sent, and handed on unchanged. Both refuse with `400` (no `X-Twilio-Signature`,
//! or a body whose length differs from its `Content-Length`), `413` (body over the limit, 1 MiB by
//! default), `500` (`body_taken`: another extractor took the body before it could be verified) or
//! `403` (every other reason), with a plain-text body naming the reason, and log a `tracing` warning
//! with the reason and the URLs tried (never a secret or the signature). actix-web 4 uses `http` 0.2
//! types; they are translated at this crate's edge and never reach the core. The URL is built from
//! the request's own URI, never with `HttpRequest::full_url()` (it re-parses and can panic).
//!
//! # The URL
//!
//! Twilio signs the public URL it called. Configure it with [`PublicUrl`] (or `TWILIO_PUBLIC_URL` for
//! [`WebhookVerifier::from_env`]); without it the URL is `http://` + `Host` + the path and query as
//! received. Forwarded headers (`Forwarded`, `X-Forwarded-*`) count only from trusted proxies (the
//! connection's peer address is checked).

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod extract;
mod middleware;
mod verify;
mod websocket;

pub use extract::{TwilioWebhook, TwilioWebhookRejection};
pub use middleware::{RequireTwilioSignature, TwilioWebhookMiddleware};
pub use twilio_webhook::{
    PublicUrl, Refusal, RequestValidator, VerifiedRequest, WebhookRejection, WebhookVerifier,
};
pub use websocket::TwilioWebSocket;
