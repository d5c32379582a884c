//! Secrets (spec §7): Auth Tokens and SharedKey secrets, keyed once and never shown.

use core::fmt;
use std::sync::Arc;

use crate::signature::{Algorithm, Keyed};

/// A mistake in a validator's configuration, reported by [`RequestValidatorBuilder::build`].
///
/// [`RequestValidatorBuilder::build`]: crate::RequestValidatorBuilder::build
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The secret configured under this name or id is empty.
    EmptySecret(String),
    /// Two secrets share this name or id.
    DuplicateName(String),
    /// No secret was configured at all.
    NoSecrets,
    /// An Auth Token's name or a SharedKey's id is empty.
    EmptyName,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::EmptySecret(name) => write!(f, "the secret {name:?} is empty"),
            ConfigError::DuplicateName(name) => {
                write!(f, "more than one secret is named {name:?}")
            }
            ConfigError::NoSecrets => f.write_str("no Auth Token or SharedKey is configured"),
            ConfigError::EmptyName => f.write_str("an Auth Token name or SharedKey id is empty"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// An Auth Token: its name and its pre-keyed HMAC-SHA1 state.
pub(crate) struct AuthTokenEntry {
    pub(crate) name: Arc<str>,
    pub(crate) keyed: Keyed,
}

impl AuthTokenEntry {
    pub(crate) fn new(name: String, token: &[u8]) -> Result<Self, ConfigError> {
        let keyed = key(&name, token, Algorithm::HmacSha1)?;
        Ok(AuthTokenEntry {
            name: name.into(),
            keyed,
        })
    }
}

impl fmt::Debug for AuthTokenEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthToken")
            .field("name", &self.name)
            .field("secret", &"REDACTED")
            .finish()
    }
}

/// A SharedKey: its id and its secret keyed for both algorithms the settings header may name.
pub(crate) struct SharedKeyEntry {
    pub(crate) id: Arc<str>,
    sha1: Keyed,
    sha256: Keyed,
}

impl SharedKeyEntry {
    pub(crate) fn new(id: String, secret: &[u8]) -> Result<Self, ConfigError> {
        let sha1 = key(&id, secret, Algorithm::HmacSha1)?;
        let sha256 = key(&id, secret, Algorithm::HmacSha256)?;
        Ok(SharedKeyEntry {
            id: id.into(),
            sha1,
            sha256,
        })
    }

    pub(crate) fn keyed(&self, algorithm: Algorithm) -> &Keyed {
        match algorithm {
            Algorithm::HmacSha1 => &self.sha1,
            Algorithm::HmacSha256 => &self.sha256,
        }
    }
}

impl fmt::Debug for SharedKeyEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedKey")
            .field("id", &self.id)
            .field("secret", &"REDACTED")
            .finish()
    }
}

fn key(name: &str, secret: &[u8], algorithm: Algorithm) -> Result<Keyed, ConfigError> {
    if name.trim().is_empty() {
        return Err(ConfigError::EmptyName);
    }
    if secret.is_empty() {
        return Err(ConfigError::EmptySecret(name.to_string()));
    }
    Keyed::new(secret, algorithm).ok_or_else(|| ConfigError::EmptySecret(name.to_string()))
}
