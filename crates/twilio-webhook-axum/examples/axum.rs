//! An axum server whose webhooks only Twilio can call.
//!
//! ```sh
//! TWILIO_AUTH_TOKEN=your_auth_token cargo run -p twilio-webhook-axum --example axum
//! ```
//!
//! - listens on `127.0.0.1:$PORT` (default 3000);
//! - `TWILIO_AUTH_TOKEN` (required), `TWILIO_PUBLIC_URL` (the URL Twilio calls, e.g. a tunnel; several
//!   comma-separated), `TWILIO_TRUSTED_PROXIES` (comma-separated addresses or CIDR ranges whose
//!   forwarded headers count), `TWILIO_REPLAY` (`memory` or `redis://HOST:PORT`: a second delivery of
//!   the same signed request within 5 minutes gets `409`; off when unset);
//! - `POST /sms` (form) answers TwiML, `POST /events` (JSON with `bodySHA256`) answers `200`, and
//!   `POST /nested/sms` is `/sms` inside a nested router; `GET /ws` checks a WebSocket handshake;
//! - refusals: `400` without a signature, `413` over 1 MiB, `409` a replay, `503` the replay store is
//!   down, `403` otherwise.

use std::net::SocketAddr;
use std::process::ExitCode;

use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use twilio_webhook_axum::TwilioWebhook;

#[path = "../../examples-common/startup.rs"]
mod startup;

async fn sms(
    TwilioWebhook(Form(params), _): TwilioWebhook<Form<Vec<(String, String)>>>,
) -> impl IntoResponse {
    let twiml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>Verified: {} parameters</Message></Response>",
        params.len()
    );
    ([(http::header::CONTENT_TYPE, "text/xml")], twiml)
}

/// A WebSocket handshake, verified against the `ws://` URL Twilio signs (a real endpoint, such as one
/// for ConversationRelay, would upgrade here).
async fn websocket(TwilioWebhook((), _): TwilioWebhook<()>) -> &'static str {
    "WebSocket handshake verified\n"
}

async fn events(
    TwilioWebhook(Json(events), verified): TwilioWebhook<Json<serde_json::Value>>,
) -> String {
    let count = events.as_array().map_or(1, Vec::len);
    format!("{count} events, signed URL {}\n", verified.matched_url())
}

#[tokio::main]
async fn main() -> ExitCode {
    let (verifier, port) = match startup::configure().await {
        Ok(configured) => configured,
        Err(code) => return code,
    };
    let sms_router = Router::new().route("/sms", post(sms));
    let app = Router::new()
        .merge(sms_router.clone())
        .route("/events", post(events))
        .route("/ws", get(websocket))
        .nest("/nested", sms_router)
        .with_state(verifier);
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("error: cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://127.0.0.1:{port}");
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match axum::serve(listener, service).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
