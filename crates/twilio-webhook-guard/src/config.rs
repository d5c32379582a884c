//! What the guard runs with: the front end (the `twilio-webhook guard` command reads flags, the
//! environment and a TOML file) fills a [`Config`] in and hands it to [`crate::run`].

use std::net::SocketAddr;
use std::time::Duration;

use twilio_webhook::{Duplicates, PathRules, RedisTls, WebhookVerifier};

use crate::upstream::Target;

/// Everything the guard runs with. Its fields are plain settings: every decision about a request is
/// taken by the core types it holds ([`WebhookVerifier`], [`PathRules`]).
pub struct Config {
    /// Where to listen for clients (`--listen`).
    pub listen: SocketAddr,
    /// The app to protect (`--upstream`).
    pub upstream: Target,
    /// `--upstream` as given, for the log.
    pub upstream_url: String,
    /// Where to serve `/healthz` and `/metrics` (`--admin-listen`), if anywhere.
    pub admin_listen: Option<SocketAddr>,
    /// How long a client may take to send its head, and its body (`--client-timeout`): then 408.
    pub client_timeout: Duration,
    /// How long one write to a client may wait for it to read (`--send-timeout`, nginx's
    /// `send_timeout`): then the connection closes.
    pub send_timeout: Duration,
    /// How long the upstream may take to answer (`--upstream-timeout`): then 504.
    pub upstream_timeout: Duration,
    /// The replay store (`--replay`: `memory`, `redis://…`, `rediss://…`), if any; [`crate::run`]
    /// connects to it and sets it on the verifier.
    pub replay: Option<String>,
    /// What a duplicate gets (`--replay-duplicates`), with the wait set to the upstream time-out.
    pub duplicates: Duplicates,
    /// TLS material for a `rediss://` store (`--redis-ca`, `--redis-client-cert`/`-key`), if any.
    pub redis_tls: Option<RedisTls>,
    /// Log as JSON lines (`--log-json`): for the front end, which sets up the log before [`crate::run`].
    pub log_json: bool,
    /// The most client connections open at once.
    pub max_connections: usize,
    /// The most bytes of request bodies held at once, by every connection together
    /// (`--max-body-memory`): a body that would go over it is refused with `503` and a `Retry-After`,
    /// never forwarded. At least the verifier's body limit, so that one body of that size fits.
    pub max_body_memory: usize,
    /// Worker threads (`--workers`, default one per core).
    pub workers: usize,
    /// Which paths are verified (`--pass`, `--require`): the core's rule.
    pub paths: PathRules,
    /// The core's verifier: secrets, public-URL policy, body limit, diagnoses.
    pub verifier: WebhookVerifier,
    /// What was worth a warning while reading the configuration: for the front end to log.
    pub warnings: Vec<String>,
}

/// A URL as it may be logged: its userinfo (`user:password@`) replaced, so no password reaches a log.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest.get(..authority_end).and_then(|a| a.rfind('@')) {
        Some(at) => format!(
            "{scheme}://REDACTED@{}",
            rest.get(at + 1..).unwrap_or_default()
        ),
        None => url.to_string(),
    }
}
