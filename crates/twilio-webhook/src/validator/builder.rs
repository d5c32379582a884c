//! Building a validator with several secrets and opt-in relaxations.

use std::sync::Arc;

use super::{Inner, RequestValidator};
use crate::relax::Relaxations;
use crate::secret::{AuthTokenEntry, ConfigError, SharedKeyEntry};

/// Builds a [`RequestValidator`] with several secrets and opt-in relaxations.
///
/// ```
/// use twilio_webhook::RequestValidator;
///
/// let validator = RequestValidator::builder()
///     .auth_token("primary", "your_auth_token")
///     .auth_token("secondary", "previous_auth_token")
///     .shared_key("KS3450d4d9ffbd54ba014fdcf9c685490c", "shared_key_secret")
///     .build()?;
/// # Ok::<(), twilio_webhook::ConfigError>(())
/// ```
#[derive(Default)]
#[must_use]
pub struct RequestValidatorBuilder {
    auth_tokens: Vec<Result<AuthTokenEntry, ConfigError>>,
    shared_keys: Vec<Result<SharedKeyEntry, ConfigError>>,
    relaxations: Relaxations,
}

impl core::fmt::Debug for RequestValidatorBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestValidatorBuilder")
            .field("auth_tokens", &self.auth_tokens)
            .field("shared_keys", &self.shared_keys)
            .field("relaxations", &self.relaxations)
            .finish()
    }
}

impl RequestValidatorBuilder {
    /// Adds an Auth Token under `name` (the name, never the value, appears in verdicts). Tokens are
    /// tried in the order they are added: put the current one first during a rotation.
    pub fn auth_token(mut self, name: impl Into<String>, token: impl AsRef<[u8]>) -> Self {
        self.auth_tokens
            .push(AuthTokenEntry::new(name.into(), token.as_ref()));
        self
    }

    /// Adds the secret of the SharedKey `id` (`KS…`), used when a request's signature settings header
    /// names that id.
    pub fn shared_key(mut self, id: impl Into<String>, secret: impl AsRef<[u8]>) -> Self {
        self.shared_keys
            .push(SharedKeyEntry::new(id.into(), secret.as_ref()));
        self
    }

    /// Opt-in: also accept the path with or without a trailing slash (spec §4). Use it only when a
    /// rewrite in front of the app adds or removes the slash; it lets a signature for `/a` be replayed
    /// to `/a/` and back.
    pub fn allow_trailing_slash_variant(mut self) -> Self {
        self.relaxations.trailing_slash = true;
        self
    }

    /// Opt-in: also accept the query re-encoded as WHATWG URL parsers do, and the reverse (spec §4),
    /// as twilio-node 6.2+ does. Use it when something between Twilio and the app re-encodes the query.
    pub fn allow_query_reencoding(mut self) -> Self {
        self.relaxations.query_reencoding = true;
        self
    }

    /// Checks the configuration: every secret non-empty, names and ids unique, at least one secret.
    pub fn build(self) -> Result<RequestValidator, ConfigError> {
        let auth_tokens = self
            .auth_tokens
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        let shared_keys = self
            .shared_keys
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        if auth_tokens.is_empty() && shared_keys.is_empty() {
            return Err(ConfigError::NoSecrets);
        }
        for (i, t) in auth_tokens.iter().enumerate() {
            if auth_tokens.iter().skip(i + 1).any(|o| o.name == t.name) {
                return Err(ConfigError::DuplicateName(t.name.to_string()));
            }
        }
        for (i, k) in shared_keys.iter().enumerate() {
            if shared_keys.iter().skip(i + 1).any(|o| o.id == k.id) {
                return Err(ConfigError::DuplicateName(k.id.to_string()));
            }
        }
        Ok(RequestValidator {
            inner: Arc::new(Inner {
                auth_tokens,
                shared_keys,
                relaxations: self.relaxations,
            }),
        })
    }
}
