//! What both example servers do before they serve (included by `examples/axum.rs` and
//! `examples/actix.rs` with `#[path]`): log to stderr, read the verifier from `TWILIO_AUTH_TOKEN`,
//! `TWILIO_PUBLIC_URL` and `TWILIO_TRUSTED_PROXIES`, replay protection from `TWILIO_REPLAY` (`memory` or
//! `redis://HOST:PORT`; off when unset) and the port from `PORT` (default 3000). A mistake ends the
//! program with exit code 2 and a message, before anything listens.

use std::process::ExitCode;

use twilio_webhook::{ReplayGuard, WebhookVerifier};

/// The verifier and the port, or the exit code to end with.
pub async fn configure() -> Result<(WebhookVerifier, u16), ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    };
    let mut verifier = WebhookVerifier::from_env().map_err(|e| fail(e.to_string()))?;
    let replay = std::env::var("TWILIO_REPLAY").ok();
    match ReplayGuard::from_setting(replay.as_deref())
        .await
        .map_err(fail)?
    {
        Some(guard) => {
            tracing::info!(store = replay.as_deref().map(|r| r.split('@').next_back().unwrap_or(r)), window = ?guard.replay_window(), "replay protection on");
            verifier = verifier.replay_guard(guard);
        }
        None => {
            tracing::info!("replay protection off (set TWILIO_REPLAY=memory or redis://HOST:PORT)")
        }
    }
    let port = match std::env::var("PORT") {
        Err(_) => 3000,
        Ok(port) => port
            .parse()
            .map_err(|_| fail(format!("PORT must be a port number, got {port:?}")))?,
    };
    Ok((verifier, port))
}
