//! A validating reverse proxy for Twilio webhooks, the engine of `twilio-webhook guard`: only
//! requests verified as Twilio's reach the upstream. Every decision about a request is the core's
//! ([`twilio_webhook::WebhookVerifier`], [`twilio_webhook::PathRules`], the public-URL policy), as in
//! the axum and actix crates; the guard speaks HTTP/1.1 itself (`h1`, `wire`, `conn`), with one framing
//! or a refusal, and forwards (`upstream`).
//!
//! The `twilio-webhook` command (crate `twilio-webhook-cli`) reads the flags, the environment and a
//! TOML file into a [`Config`], sets up the log, and calls [`run`]. The [`fuzz`] module exposes the
//! HTTP/1.1 pieces to the workspace's fuzz targets; it is not a stable API.

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod config;
mod conn;
pub mod fuzz;
mod h1;
mod memory;
mod metrics;
mod proxy;
mod server;
mod slots;
mod upstream;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use twilio_webhook::{RedisStore, ReplayGuard};

pub use config::{Config, redact};
pub use upstream::Target;

/// Why the guard could not start: a message for its operator, naming no secret.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// A replay store that cannot be set up, named as the setting that chose it.
fn replay_error(text: &str) -> Error {
    Error(format!(
        "--replay (TWILIO_REPLAY): {}",
        text.replace("TWILIO_REPLAY must", "it must")
    ))
}

/// Runs the guard until SIGTERM or Ctrl-C, then drains the requests in flight (up to 30 s) and
/// returns. Connects to the replay store, listens on [`Config::listen`] (and
/// [`Config::admin_listen`]) and serves with [`Config::workers`] threads. Log through `tracing`
/// (target `twilio_webhook::guard`): the caller sets up a subscriber.
///
/// # Errors
///
/// When the replay store, a listener, the runtime or a worker thread cannot be set up.
pub fn run(mut config: Config) -> Result<(), Error> {
    // Worker 0 runs on this thread, with the accept loop, the admin listener, the replay store's
    // connection and the signal handlers; the others each on a thread of their own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let replay = match (&config.redis_tls, config.replay.as_deref()) {
            (Some(tls), Some(url)) => {
                let store = RedisStore::connect_with(url.trim(), tls)
                    .await
                    .map_err(|e| replay_error(&e.to_string()))?;
                Some(ReplayGuard::new(store))
            }
            _ => ReplayGuard::from_setting(config.replay.as_deref())
                .await
                .map_err(|e| replay_error(&e))?,
        };
        if let Some(guard) = replay {
            let guard = guard.duplicates(config.duplicates);
            config.verifier = config.verifier.clone().replay_guard(guard);
        }
        let (max_connections, warning) = open_files(config.max_connections);
        if let Some(warning) = warning {
            tracing::warn!(target: "twilio_webhook::guard", "{warning}");
        }
        config.max_connections = max_connections;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error(format!("cannot listen on {}: {e}", config.listen)))?;
        let admin = match config.admin_listen {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| Error(format!("cannot listen on {addr}: {e}")))?,
            ),
            None => None,
        };
        tracing::info!(
            target: "twilio_webhook::guard",
            listen = %config.listen,
            upstream = %redact(&config.upstream_url),
            replay = %redact(config.replay.as_deref().unwrap_or("off")),
            duplicates = ?config.duplicates,
            paths = ?config.paths,
            max_connections = config.max_connections,
            max_body_memory = config.max_body_memory,
            workers = config.workers,
            admin = ?config.admin_listen,
            "guarding"
        );
        let config = Arc::new(config);
        let metrics = Arc::new(metrics::Metrics::default());
        // One budget for the whole process: every worker's connections draw on it.
        let memory = Arc::new(memory::BodyMemory::new(config.max_body_memory));
        // The connections waiting for a head, which the listener may close for a new one.
        let waiters = Arc::new(slots::Waiters::default());
        if let Some(admin) = admin {
            tokio::spawn(server::admin_server(admin, Arc::clone(&metrics)));
        }
        let grace = Duration::from_secs(30);
        let (first, first_inbox) = tokio::sync::mpsc::unbounded_channel();
        let mut inboxes = vec![first];
        let mut threads = Vec::new();
        for n in 1..config.workers {
            let (inbox, rx) = tokio::sync::mpsc::unbounded_channel();
            inboxes.push(inbox);
            let (config, metrics, memory, waiters) = (
                Arc::clone(&config),
                Arc::clone(&metrics),
                Arc::clone(&memory),
                Arc::clone(&waiters),
            );
            let thread = std::thread::Builder::new()
                .name(format!("guard-worker-{n}"))
                .spawn(move || {
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime.block_on(server::work(config, metrics, memory, waiters, rx, grace)),
                        Err(e) => {
                            tracing::error!(target: "twilio_webhook::guard", error = %e, "a worker cannot start its runtime")
                        }
                    }
                })
                .map_err(|e| Error(format!("cannot start a worker thread: {e}")))?;
            threads.push(thread);
        }
        let accepting = server::accept(
            listener,
            inboxes,
            config.max_connections,
            (Arc::clone(&waiters), Arc::clone(&metrics)),
            shutdown_signal(),
        );
        let working = server::work(
            Arc::clone(&config),
            metrics,
            memory,
            waiters,
            first_inbox,
            grace,
        );
        tokio::join!(accepting, working);
        for thread in threads {
            let _ = thread.join();
        }
        Ok::<(), Error>(())
    })
}

/// Descriptors kept for everything but the connections and their upstream's: the listeners, the
/// replay store, the admin listener's connections, the log.
const SPARE_FILES: u64 = 64;

/// Raises the soft limit on open files to the hard one, as Go's runtime does at start (and nginx's
/// `worker_rlimit_nofile`), and returns how many connections the limit then allows, at most
/// `max_connections`: each holds a descriptor and may hold one to the upstream, with
/// [`SPARE_FILES`] kept. A service's soft limit is often 1024 (systemd), under what
/// `--max-connections 1024` needs: `accept` then failed before every place was taken, no place was
/// taken back from an idle connection, and a verified request found no descriptor for its upstream
/// (issue 28, F4). With a warning when the limit lowers `max_connections`.
#[cfg(unix)]
fn open_files(max_connections: usize) -> (usize, Option<String>) {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some() && limit.current != limit.maximum {
        let raised = Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        // Refused (a sandbox), the limit stays, and the connections fit in it.
        let _ = setrlimit(Resource::Nofile, raised);
    }
    let Some(current) = getrlimit(Resource::Nofile).current else {
        return (max_connections, None);
    };
    let allowed = usize::try_from(current.saturating_sub(SPARE_FILES) / 2)
        .unwrap_or(usize::MAX)
        .max(1);
    if allowed >= max_connections {
        return (max_connections, None);
    }
    let warning = format!(
        "the limit on open files ({current}) allows {allowed} connections (two descriptors each, \
         {SPARE_FILES} spare): --max-connections {max_connections} lowered to {allowed}; raise the \
         limit (systemd: LimitNOFILE) to serve more"
    );
    (allowed, Some(warning))
}

#[cfg(not(unix))]
fn open_files(max_connections: usize) -> (usize, Option<String>) {
    (max_connections, None)
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
