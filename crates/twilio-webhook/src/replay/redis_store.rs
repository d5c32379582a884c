//! The Redis store (feature `redis`): one atomic `SET key 1 NX PX window` per request, so several
//! instances behind a load balancer share what they have seen.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{BoxFuture, ReplayKey, ReplayStore, Seen, StoreError};

/// A [`ReplayStore`] in Redis. The key is `<prefix><32 hex digits>`; it expires by itself after the
/// window. The connection reconnects after an outage; every command is bounded by a timeout (1 s by
/// default), and a command that fails or times out is a [`StoreError`], which the guard's policy turns
/// into `503` (fail closed) unless told otherwise by name.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
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

    /// Connects to `url` (`redis://host:port`, `rediss://…` for TLS if the client supports it). Fails
    /// when Redis cannot be reached now: a startup mistake fails at startup.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let timeout = Duration::from_secs(1);
        let error = |e: redis::RedisError| StoreError(redact(&e.to_string(), url));
        let client = redis::Client::open(url).map_err(error)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(error)?;
        Ok(RedisStore {
            connection,
            prefix: Self::DEFAULT_PREFIX.to_string(),
            timeout,
        })
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

impl ReplayStore for RedisStore {
    fn check_and_mark<'a>(
        &'a self,
        key: &'a ReplayKey,
        window: Duration,
    ) -> BoxFuture<'a, Result<Seen, StoreError>> {
        Box::pin(async move {
            let mut connection = self.connection.clone();
            let millis = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
            let mut command = redis::cmd("SET");
            command
                .arg(format!("{}{}", self.prefix, key.to_hex()))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(millis);
            let reply = tokio::time::timeout(
                self.timeout,
                command.query_async::<Option<String>>(&mut connection),
            )
            .await
            .map_err(|_| StoreError(format!("no answer within {:?}", self.timeout)))?
            .map_err(|e| StoreError(e.to_string()))?;
            // `SET … NX` answers OK when it set the key, nil when the key existed.
            Ok(if reply.is_some() {
                Seen::First
            } else {
                Seen::Replay
            })
        })
    }
}

#[cfg(test)]
mod tests {
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
