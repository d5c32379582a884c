//! The Redis store (feature `redis`): one atomic `SET key token NX PX window` per request, so several
//! instances behind a load balancer share what they have seen.
//!
//! A command that times out may still run later: its key would then be recorded although the request
//! was refused (`503`), and Twilio's retry refused as a replay. So each `SET` carries a token of its
//! own, and a timed-out one is followed, on the same connection (Redis runs one connection's commands
//! in order), by a delete of the key if it still holds that token: whenever the `SET` runs, the key is
//! gone after it, and a key another instance recorded is never touched.

use std::time::Duration;

use super::redis_link::Link;
pub use super::redis_link::RedisTls;
use super::{BoxFuture, LeaseToken, ReplayKey, ReplayStore, Seen, StoreError};

/// A [`ReplayStore`] in Redis. The key is `<prefix><32 hex digits>`; it expires by itself after the
/// window. The connection reconnects after an outage; every command is bounded by a timeout (1 s by
/// default), and a command that fails or times out is a [`StoreError`], which the guard's policy turns
/// into `503` (fail closed) unless told otherwise by name.
#[derive(Clone)]
pub struct RedisStore {
    connection: Link,
    prefix: String,
    timeout: Duration,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: it is not kept, so it cannot be printed.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "twilio-webhook:replay:";

    /// Connects to `url`: `redis://host:port`; `rediss://…` for TLS (feature `redis-tls`, verified
    /// against the system's roots); `redis-cluster://host:port,host:port` (or `rediss-cluster://`) for
    /// a Redis Cluster, given some of its nodes; `redis-sentinel://host:port,host:port/service` for the
    /// master that Redis Sentinel names (found again after a failover; a key counts once a replica has
    /// it, `WAIT 1`). Fails when Redis cannot be reached now: a startup
    /// mistake fails at startup.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, &RedisTls::default()).await
    }

    /// [`connect`](Self::connect) over TLS with `tls`: a CA of your own (a managed Redis's, or a
    /// private one), a client certificate (mutual TLS), or both. `url` must be `rediss://` or
    /// `rediss-cluster://`.
    ///
    /// The scheme may be in any case (`Redis://`). Connecting includes a `PING`, so a Redis that
    /// refuses this client's commands (it needs a password the URL lacks: `NOAUTH`) fails here, at
    /// startup, not on every request. No error text holds the URL's password.
    pub async fn connect_with(url: &str, tls: &RedisTls) -> Result<Self, StoreError> {
        let url = super::scheme_lowercased(url.trim());
        let timeout = Duration::from_secs(1);
        let redacted = |e: redis::RedisError| StoreError(redact(&e.to_string(), &url));
        let connection = Link::connect(&url, tls, timeout).await.map_err(redacted)?;
        let store = RedisStore {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_string(),
            timeout,
        };
        store.check_commands_run(&url).await?;
        Ok(store)
    }

    /// The start-up check: Redis runs a command of this client's. A connection with no password
    /// sends none on its own, so a Redis that wants one would otherwise pass.
    async fn check_commands_run(&self, url: &str) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        // Start-up, not a request: a slow first answer (a cluster's slot map) gets 5 time-outs.
        let answer = tokio::time::timeout(
            self.timeout * 5,
            redis::cmd("PING").query_async::<String>(&mut connection),
        )
        .await
        .map_err(|_| {
            StoreError(format!(
                "Redis did not answer PING within {:?}",
                self.timeout * 5
            ))
        })?;
        match answer {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("NOAUTH") => Err(StoreError(
                "Redis wants a password (NOAUTH) and the replay URL gives none: \
                 redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port with ACLs"
                    .to_string(),
            )),
            Err(e) => Err(StoreError(format!(
                "Redis refused the start-up PING: {}",
                redact(&e.to_string(), url)
            ))),
        }
    }

    /// Sets the key prefix (one per application sharing a Redis).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets the timeout of each command.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// An error text without the URL's password, if it was echoed.
fn redact(text: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, password)| password)
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => text.replace(p, "REDACTED"),
        None => text.to_string(),
    }
}

/// The error of a command that got no answer in time: it may still run once Redis answers.
fn no_answer(timeout: Duration) -> String {
    format!("no answer within {timeout:?} (the command may still run once Redis answers)")
}

/// `duration` in whole milliseconds, at least 1 (Redis refuses `PX 0`).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Deletes `KEYS[1]` only if it holds `ARGV[1]`: undoes one `SET` and nothing else.
const DELETE_IF_OURS: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";

/// Extends `KEYS[1]` to `ARGV[2]` milliseconds only if it holds `ARGV[1]`: renews one delivery's
/// lease, never an answer, a "not kept" mark or another delivery's lease.
const RENEW_IF_OURS: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

/// A value no other `SET` of this process or another one uses.
fn unique_token() -> String {
    super::unique_token()
}

impl RedisStore {
    fn key(&self, key: &ReplayKey) -> String {
        format!("{}{}", self.prefix, key.to_hex())
    }

    /// Sends the delete of a timed-out `SET` behind it on the same connection, and lets it finish in
    /// the background (its answer changes nothing for the request, already refused).
    fn undo_later(&self, key: String, token: String) {
        let mut connection = self.connection.clone();
        let mut command = redis::cmd("EVAL");
        command.arg(DELETE_IF_OURS).arg(1).arg(key).arg(token);
        let wait = self.timeout * 30;
        // Polled once here so that the command is queued now, before anything else this task sends.
        let mut undo = Box::pin(async move {
            let result =
                tokio::time::timeout(wait, command.query_async::<i64>(&mut connection)).await;
            if !matches!(result, Ok(Ok(_))) {
                tracing::error!(target: "twilio_webhook", "the undo of a replay key whose recording was not confirmed was not confirmed either: unless Redis ran it late, a retry of that request is refused until the key expires");
            }
        });
        let waker = std::task::Waker::noop();
        if undo
            .as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_pending()
        {
            tokio::spawn(undo);
        }
    }
}

impl ReplayStore for RedisStore {
    fn check_and_mark<'a>(
        &'a self,
        key: &'a ReplayKey,
        window: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        Box::pin(self.mark(key, unique_token(), window))
    }

    fn check_and_lease<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a LeaseToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        Box::pin(self.mark(key, token.as_str().to_string(), lease))
    }

    fn renews_leases(&self) -> bool {
        true
    }

    fn renew<'a>(
        &'a self,
        key: &'a ReplayKey,
        token: &'a LeaseToken,
        lease: Duration,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            // One script: the check and the extension are atomic. A renewal that times out and runs
            // later extends this same lease or nothing.
            let mut command = redis::cmd("EVAL");
            command
                .arg(RENEW_IF_OURS)
                .arg(1)
                .arg(self.key(key))
                .arg(token.as_str())
                .arg(millis(lease));
            self.query::<i64>(command).await.map(|renewed| renewed == 1)
        })
    }

    fn release<'a>(&'a self, key: &'a ReplayKey) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut command = redis::cmd("DEL");
            command.arg(self.key(key));
            self.query::<i64>(command).await.map(drop)
        })
    }

    fn keep<'a>(
        &'a self,
        key: &'a ReplayKey,
        value: Vec<u8>,
        window: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            // One `SET … PX window`: the in-flight lease (a `PX lease` of its own) ends here, and a
            // lease that lapsed during a slow delivery is recorded again, so a replay is still caught.
            let mut command = redis::cmd("SET");
            command
                .arg(self.key(key))
                .arg(value)
                .arg("PX")
                .arg(millis(window));
            self.query::<Option<String>>(command).await.map(drop)
        })
    }

    fn keeps_answers(&self) -> bool {
        true
    }

    fn value<'a>(
        &'a self,
        key: &'a ReplayKey,
    ) -> BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let mut command = redis::cmd("GET");
            command.arg(self.key(key));
            self.query::<Option<Vec<u8>>>(command).await
        })
    }
}

impl RedisStore {
    /// One atomic `SET key token NX PX window`: records `key` unless it is recorded, undoing a
    /// `SET` that failed or timed out (it may still run) by its `token`.
    async fn mark(
        &self,
        key: &ReplayKey,
        token: String,
        window: Duration,
    ) -> Result<Seen, StoreError> {
        let mut connection = self.connection.clone();
        let key = self.key(key);
        let mut command = redis::cmd("SET");
        command
            .arg(&key)
            .arg(&token)
            .arg("NX")
            .arg("PX")
            .arg(millis(window));
        let answer = tokio::time::timeout(
            self.timeout,
            command.query_async::<Option<String>>(&mut connection),
        )
        .await;
        // Whatever failed (our time-out, the client's, the connection), the SET may have run or
        // may still run: undo it.
        let reply = match answer {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => {
                self.undo_later(key, token);
                return Err(StoreError(e.to_string()));
            }
            Err(_) => {
                self.undo_later(key, token);
                return Err(StoreError(no_answer(self.timeout)));
            }
        };
        // `SET … NX` answers OK when it set the key, nil when the key existed.
        if reply.is_none() {
            return Ok(Seen::Replay);
        }
        // Behind Sentinel, a key counts once a replica holds it too: a failover must not forget it
        // and let the request through again. No replica in time: undone, and refused (`503`).
        if self.connection.replicated() {
            let mut wait = redis::cmd("WAIT");
            wait.arg(1).arg(millis(self.timeout));
            let replicas = self.query::<i64>(wait).await;
            if !matches!(replicas, Ok(n) if n >= 1) {
                self.undo_later(key, token);
                return Err(StoreError(
                    "the key reached no replica in time (Sentinel)".to_string(),
                ));
            }
        }
        Ok(Seen::First)
    }

    /// Runs `command` within the timeout.
    async fn query<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.clone();
        tokio::time::timeout(self.timeout, command.query_async::<T>(&mut connection))
            .await
            .map_err(|_| StoreError(no_answer(self.timeout)))?
            .map_err(|e| StoreError(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens_are_unique() {
        let tokens: std::collections::HashSet<String> =
            (0..1000).map(|_| super::unique_token()).collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn passwords_never_reach_error_texts() {
        let url = "redis://user:hunter2@127.0.0.1:1/";
        assert_eq!(
            super::redact("cannot connect to redis://user:hunter2@127.0.0.1:1/", url),
            "cannot connect to redis://user:REDACTED@127.0.0.1:1/"
        );
        assert_eq!(super::redact("refused", "redis://127.0.0.1:1"), "refused");
    }
}
