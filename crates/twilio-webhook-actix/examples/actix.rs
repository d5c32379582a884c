//! An actix-web server whose webhooks only Twilio can call.
//!
//! ```sh
//! TWILIO_AUTH_TOKEN=your_auth_token cargo run -p twilio-webhook-actix --example actix
//! ```
//!
//! - listens on `127.0.0.1:$PORT` (default 3000);
//! - `TWILIO_AUTH_TOKEN` (required), `TWILIO_PUBLIC_URL` (the URL Twilio calls, e.g. a tunnel; several
//!   comma-separated), `TWILIO_TRUSTED_PROXIES` (comma-separated addresses or CIDR ranges whose
//!   forwarded headers count), `TWILIO_REPLAY` (`memory` or `redis://HOST:PORT`: a second delivery of
//!   the same signed request within 5 minutes gets `409`; off when unset);
//! - `POST /sms` (form) answers TwiML, `POST /events` (JSON with `bodySHA256`) answers `200`, and
//!   `POST /nested/sms` is `/sms` inside a nested scope; `GET /ws` checks a WebSocket handshake;
//! - refusals: `400` without a signature, `413` over 1 MiB, `409` a replay, `503` the replay store is
//!   down, `403` otherwise.

use std::process::ExitCode;

use actix_web::{App, HttpResponse, HttpServer, web};
use twilio_webhook::DEFAULT_BODY_LIMIT;
use twilio_webhook_actix::TwilioWebhook;

#[path = "../../examples-common/startup.rs"]
mod startup;

async fn sms(
    TwilioWebhook(web::Form(params), _): TwilioWebhook<web::Form<Vec<(String, String)>>>,
) -> HttpResponse {
    HttpResponse::Ok().content_type("text/xml").body(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Verified: {} parameters</Message></Response>",
        params.len()
    ))
}

/// A WebSocket handshake, verified against the `ws://` URL Twilio signs (a real endpoint, such as one
/// for ConversationRelay, would upgrade here with the untouched payload).
async fn websocket(TwilioWebhook((), _): TwilioWebhook<()>) -> &'static str {
    "WebSocket handshake verified\n"
}

async fn events(
    TwilioWebhook(web::Json(events), verified): TwilioWebhook<web::Json<serde_json::Value>>,
) -> String {
    let count = events.as_array().map_or(1, Vec::len);
    format!("{count} events, signed URL {}\n", verified.matched_url())
}

#[actix_web::main]
async fn main() -> ExitCode {
    let (verifier, port) = match startup::configure().await {
        Ok(configured) => configured,
        Err(code) => return code,
    };
    let server = HttpServer::new(move || {
        App::new()
            .app_data(verifier.clone())
            // The verifier already bounds the body; let the inner extractors take what it accepts.
            .app_data(web::FormConfig::default().limit(DEFAULT_BODY_LIMIT))
            .app_data(web::JsonConfig::default().limit(DEFAULT_BODY_LIMIT))
            .route("/sms", web::post().to(sms))
            .route("/events", web::post().to(events))
            .route("/ws", web::get().to(websocket))
            .service(web::scope("/nested").route("/sms", web::post().to(sms)))
    })
    .workers(2)
    .bind(("127.0.0.1", port));
    let server = match server {
        Ok(server) => server,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://127.0.0.1:{port}");
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
