//! `twilio-webhook guard`: a validating reverse proxy. Only requests verified as Twilio's reach the
//! upstream, through the same tower layer and public-URL policy as the axum crate.

mod config;
mod metrics;
mod proxy;
mod server;

use std::time::Duration;

use twilio_webhook::ReplayGuard;

use crate::args::GuardArgs;
use crate::{Outcome, UsageError};

pub(crate) fn run(args: &GuardArgs) -> Result<Outcome, UsageError> {
    let mut config = config::load(args)?;
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if config.log_json {
        subscriber.json().init();
    } else {
        subscriber.init();
    }
    for warning in &config.warnings {
        tracing::warn!(target: "twilio_webhook::guard", "{warning}");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| UsageError(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        if let Some(guard) = ReplayGuard::from_setting(config.replay.as_deref())
            .await
            .map_err(UsageError)?
        {
            let guard = guard.duplicates(config.duplicates);
            config.verifier = config.verifier.clone().replay_guard(guard);
        }
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| UsageError(format!("cannot listen on {}: {e}", config.listen)))?;
        tracing::info!(
            target: "twilio_webhook::guard",
            listen = %config.listen,
            upstream = %config::redact(&config.upstream),
            replay = %config::redact(config.replay.as_deref().unwrap_or("off")),
            duplicates = ?config.duplicates,
            paths = ?config.paths,
            max_connections = config.max_connections,
            admin = ?config.admin_listen,
            "guarding"
        );
        let grace = Duration::from_secs(30);
        server::serve(config, listener, shutdown_signal(), grace)
            .await
            .map_err(|e| UsageError(e.to_string()))
    })?;
    Ok(Outcome::Success)
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
