//! Secrets by `AccountSid` (feature `http`): one deployment validating the traffic of many
//! subaccounts, each signing with its own Auth Token.
//!
//! The verifier reads the `AccountSid` the request **claims** (the form parameter; for JSON bodies, a
//! function you give it) and asks an [`AccountSecrets`] for that subaccount's validator. Trusting the
//! claim to choose a key widens nothing: the signature must still match that account's token, which
//! only Twilio and you hold, so a request claiming another account fails exactly as a forged one does.
//! An account the resolver does not know is checked with the verifier's own validator.

use core::fmt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::replay::BoxFuture;
use crate::secret::ConfigError;
use crate::validator::RequestValidator;

/// A lookup that could not answer (a database outage). The request is refused with `503`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupError(pub String);

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account secret lookup failed: {}", self.0)
    }
}

impl std::error::Error for LookupError {}

/// Finds the validator of an account by its `AccountSid` (`AC…`).
pub trait AccountSecrets: Send + Sync + fmt::Debug {
    /// The validator for `account_sid`, or `None` when the account is not known here.
    fn validator_for<'a>(
        &'a self,
        account_sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<RequestValidator>, LookupError>>;
}

/// A fixed map of accounts to their tokens, keyed once at startup.
///
/// ```
/// use twilio_webhook::StaticAccounts;
///
/// let accounts = StaticAccounts::new()
///     .account("AC00000000000000000000000000000001", ["token-one"])?
///     .account("AC00000000000000000000000000000002", ["token-two", "token-two-previous"])?;
/// # Ok::<(), twilio_webhook::ConfigError>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct StaticAccounts {
    validators: HashMap<String, RequestValidator>,
}

impl StaticAccounts {
    /// No accounts.
    pub fn new() -> Self {
        StaticAccounts::default()
    }

    /// Adds an account with its Auth Token(s), tried in order (the current one first during a
    /// rotation). An empty or missing token is an error now, not a rejection later.
    pub fn account<T: AsRef<[u8]>>(
        mut self,
        account_sid: &str,
        tokens: impl IntoIterator<Item = T>,
    ) -> Result<Self, ConfigError> {
        self.validators
            .insert(account_sid.to_string(), validator(account_sid, tokens)?);
        Ok(self)
    }
}

/// A validator named after the account: `AC…`, `AC…#2`, … for its tokens.
fn validator<T: AsRef<[u8]>>(
    account_sid: &str,
    tokens: impl IntoIterator<Item = T>,
) -> Result<RequestValidator, ConfigError> {
    let mut builder = RequestValidator::builder();
    for (i, token) in tokens.into_iter().enumerate() {
        let name = if i == 0 {
            account_sid.to_string()
        } else {
            format!("{account_sid}#{}", i + 1)
        };
        builder = builder.auth_token(name, token);
    }
    builder.build()
}

impl AccountSecrets for StaticAccounts {
    fn validator_for<'a>(
        &'a self,
        account_sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<RequestValidator>, LookupError>> {
        let found = self.validators.get(account_sid).cloned();
        Box::pin(async move { Ok(found) })
    }
}

/// The tokens of an account, loaded from wherever they live (a database, a secrets manager): `None`
/// for an account not known there.
pub type LoadTokens =
    dyn Fn(String) -> BoxFuture<'static, Result<Option<Vec<String>>, LookupError>> + Send + Sync;

/// Loads accounts on demand and keeps their validators (keyed once) for a while: known and unknown
/// accounts alike, so a flood of requests claiming made-up SIDs costs one lookup each per `ttl`, and at
/// most `max_entries` are kept (the oldest is dropped first). A failed lookup is not kept.
pub struct CachedAccounts {
    load: Arc<LoadTokens>,
    ttl: Duration,
    max_entries: usize,
    cache: Mutex<HashMap<String, (Option<RequestValidator>, Instant)>>,
}

impl fmt::Debug for CachedAccounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedAccounts")
            .field("ttl", &self.ttl)
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

impl CachedAccounts {
    /// Loads with `load`; keeps each answer for 10 minutes, at most 10,000 accounts.
    pub fn new<F>(load: F) -> Self
    where
        F: Fn(String) -> BoxFuture<'static, Result<Option<Vec<String>>, LookupError>>
            + Send
            + Sync
            + 'static,
    {
        CachedAccounts {
            load: Arc::new(load),
            ttl: Duration::from_secs(600),
            max_entries: 10_000,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// How long an answer is kept (a rotated token is picked up after this).
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How many accounts are kept at most.
    #[must_use]
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries.max(1);
        self
    }

    fn cached(&self, account_sid: &str, now: Instant) -> Option<Option<RequestValidator>> {
        let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(account_sid)
            .filter(|(_, until)| *until > now)
            .map(|(validator, _)| validator.clone())
    }

    fn keep(&self, account_sid: &str, validator: Option<RequestValidator>, now: Instant) {
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|_, (_, until)| *until > now);
        while cache.len() >= self.max_entries {
            let oldest = cache
                .iter()
                .min_by_key(|(_, (_, until))| *until)
                .map(|(sid, _)| sid.clone());
            match oldest {
                Some(sid) => cache.remove(&sid),
                None => break,
            };
        }
        cache.insert(account_sid.to_string(), (validator, now + self.ttl));
    }
}

impl AccountSecrets for CachedAccounts {
    fn validator_for<'a>(
        &'a self,
        account_sid: &'a str,
    ) -> BoxFuture<'a, Result<Option<RequestValidator>, LookupError>> {
        Box::pin(async move {
            if let Some(hit) = self.cached(account_sid, Instant::now()) {
                return Ok(hit);
            }
            let tokens = (self.load)(account_sid.to_string()).await?;
            let validator = match tokens {
                Some(tokens) => Some(
                    validator(account_sid, &tokens)
                        .map_err(|e| LookupError(format!("account {account_sid}: {e}")))?,
                ),
                None => None,
            };
            self.keep(account_sid, validator.clone(), Instant::now());
            Ok(validator)
        })
    }
}

#[cfg(test)]
mod tests;
