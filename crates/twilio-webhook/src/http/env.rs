//! Building a verifier from the environment (`TWILIO_AUTH_TOKEN`, `TWILIO_PUBLIC_URL`,
//! `TWILIO_TRUSTED_PROXIES`, `TWILIO_DIAGNOSE`), and the errors that names.

use core::fmt;

use super::{DEFAULT_DIAGNOSES_PER_SECOND, WebhookVerifier};
use crate::public_url::{PublicUrl, PublicUrlError};
use crate::secret::ConfigError;
use crate::validator::RequestValidator;

/// A mistake in the environment read by [`WebhookVerifier::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvError {
    /// `TWILIO_AUTH_TOKEN` is unset, empty or not UTF-8.
    MissingAuthToken,
    /// The validator could not be built.
    Config(ConfigError),
    /// `TWILIO_PUBLIC_URL` or `TWILIO_TRUSTED_PROXIES` is invalid.
    PublicUrl(PublicUrlError),
    /// `TWILIO_DIAGNOSE` is neither `off` nor a number of diagnoses a second.
    Diagnose,
}

/// Every error names its setting and what is wrong with it, never the setting's value (a public URL
/// may hold `user:password@`).
impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvError::MissingAuthToken => {
                f.write_str("TWILIO_AUTH_TOKEN is not set: refusing to start without it")
            }
            EnvError::Config(e) => write!(f, "{e}"),
            EnvError::PublicUrl(PublicUrlError::InvalidBaseUrl(why)) => {
                write!(f, "TWILIO_PUBLIC_URL holds an invalid public base URL: {why}")
            }
            EnvError::PublicUrl(PublicUrlError::InvalidProxy) => f.write_str(
                "TWILIO_TRUSTED_PROXIES holds an entry that is neither an IP address nor a CIDR range",
            ),
            EnvError::Diagnose => f.write_str(
                "TWILIO_DIAGNOSE must be off or a number of diagnoses a second",
            ),
        }
    }
}

impl std::error::Error for EnvError {}

impl WebhookVerifier {
    /// From the environment: the Auth Token from `TWILIO_AUTH_TOKEN` (required), base URLs from
    /// `TWILIO_PUBLIC_URL` (comma-separated, optional), trusted proxies from `TWILIO_TRUSTED_PROXIES`
    /// (comma-separated addresses or CIDR ranges, optional), and the budget of diagnoses from
    /// `TWILIO_DIAGNOSE` (`off`, or a number a second; default [`DEFAULT_DIAGNOSES_PER_SECOND`]).
    pub fn from_env() -> Result<Self, EnvError> {
        let var = |name: &str| std::env::var(name).ok();
        let rate = diagnoses_setting(var("TWILIO_DIAGNOSE").as_deref())?;
        WebhookVerifier::from_vars(
            var("TWILIO_AUTH_TOKEN").as_deref(),
            var("TWILIO_PUBLIC_URL").as_deref(),
            var("TWILIO_TRUSTED_PROXIES").as_deref(),
        )
        .map(|v| v.diagnoses_per_second(rate))
    }

    /// What [`from_env`](Self::from_env) builds, from the three values given: an Auth Token
    /// (required, trimmed), comma-separated base URLs and comma-separated trusted proxies (blank
    /// values count as unset).
    pub fn from_vars(
        auth_token: Option<&str>,
        public_urls: Option<&str>,
        trusted_proxies: Option<&str>,
    ) -> Result<Self, EnvError> {
        let list = |v: Option<&str>| -> Vec<String> {
            v.unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let token = auth_token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(EnvError::MissingAuthToken)?;
        let validator = RequestValidator::try_new(token).map_err(EnvError::Config)?;
        let mut policy = PublicUrl::from_host();
        for base in list(public_urls) {
            policy = policy.also_base(&base).map_err(EnvError::PublicUrl)?;
        }
        for proxy in list(trusted_proxies) {
            policy = policy.trust_proxy(&proxy).map_err(EnvError::PublicUrl)?;
        }
        Ok(WebhookVerifier::new(validator).public_url(policy))
    }
}

/// The budget of diagnoses a `TWILIO_DIAGNOSE` value asks for: unset or blank, the default; `off`, none;
/// else a number a second.
pub fn diagnoses_setting(value: Option<&str>) -> Result<u32, EnvError> {
    match value.map(str::trim) {
        None | Some("") => Ok(DEFAULT_DIAGNOSES_PER_SECOND),
        Some(v) if v.eq_ignore_ascii_case("off") => Ok(0),
        Some(v) => v.parse().map_err(|_| EnvError::Diagnose),
    }
}
