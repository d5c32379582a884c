//! Verdicts (spec §8): what a validation answers.

use core::fmt;

use crate::relax::Relaxation;
use crate::signature::Algorithm;
use crate::url::{Pieces, PortVariant};

/// Why a request was rejected. Exactly one reason is given per rejection.
///
/// The text of a rejection never contains a secret or the expected signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rejection {
    /// No `X-Twilio-Signature` header, or an empty one.
    MissingSignature,
    /// The signature is not strict base64 of the right length for its algorithm.
    MalformedSignature,
    /// No secret is configured for the scheme the request uses (no Auth Token for a legacy request).
    NoSecretConfigured,
    /// The signature settings header names an algorithm this library does not know.
    UnknownAlgorithm,
    /// The signature settings header names a SharedKey id that is not configured (or none).
    UnknownKeyId,
    /// A non-form body came without a `bodySHA256` query parameter, so the body would be unauthenticated.
    BodyHashMissing,
    /// `bodySHA256` occurs more than once, or is not 64 lowercase hex digits.
    BodyHashMalformed,
    /// The URL is authentic but the body's SHA-256 differs from its `bodySHA256`.
    BodyHashMismatch,
    /// The signature matches no configured secret over any candidate URL.
    SignatureMismatch,
    /// The form body does not decode to UTF-8 text.
    MalformedBody,
}

impl Rejection {
    /// The reason as a `snake_case` identifier, stable for logs and machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::MissingSignature => "missing_signature",
            Rejection::MalformedSignature => "malformed_signature",
            Rejection::NoSecretConfigured => "no_secret_configured",
            Rejection::UnknownAlgorithm => "unknown_algorithm",
            Rejection::UnknownKeyId => "unknown_key_id",
            Rejection::BodyHashMissing => "body_hash_missing",
            Rejection::BodyHashMalformed => "body_hash_malformed",
            Rejection::BodyHashMismatch => "body_hash_mismatch",
            Rejection::SignatureMismatch => "signature_mismatch",
            Rejection::MalformedBody => "malformed_body",
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rejection::MissingSignature => "the X-Twilio-Signature header is missing or empty",
            Rejection::MalformedSignature => {
                "the X-Twilio-Signature header is not a base64 HMAC of the expected length"
            }
            Rejection::NoSecretConfigured => "no secret is configured for this kind of request",
            Rejection::UnknownAlgorithm => {
                "the signature settings header names an unsupported algorithm"
            }
            Rejection::UnknownKeyId => {
                "the signature settings header names a SharedKey id that is not configured"
            }
            Rejection::BodyHashMissing => {
                "the request has a non-form body but no bodySHA256 query parameter"
            }
            Rejection::BodyHashMalformed => {
                "bodySHA256 must occur once in the query as 64 lowercase hex digits"
            }
            Rejection::BodyHashMismatch => "the body does not match the bodySHA256 in the URL",
            Rejection::SignatureMismatch => {
                "the signature does not match the URL and parameters with any configured secret"
            }
            Rejection::MalformedBody => "the form body does not decode to UTF-8 text",
        })
    }
}

impl std::error::Error for Rejection {}

/// Which configured secret matched: by its name or id, never by its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretId<'a> {
    /// An Auth Token, by the name it was configured with (`"primary"` for [`RequestValidator::new`]).
    ///
    /// [`RequestValidator::new`]: crate::RequestValidator::new
    AuthToken(&'a str),
    /// A SharedKey, by its id (`KS…`).
    SharedKey(&'a str),
}

impl fmt::Display for SecretId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretId::AuthToken(name) => write!(f, "Auth Token {name:?}"),
            SecretId::SharedKey(id) => write!(f, "SharedKey {id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MatchedUrl<'a> {
    Borrowed(Pieces<'a>),
    Owned(String),
}

/// A successful validation: which secret, which algorithm and which URL candidate matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'a> {
    pub(crate) secret: SecretId<'a>,
    pub(crate) algorithm: Algorithm,
    pub(crate) port: PortVariant,
    pub(crate) relaxation: Option<Relaxation>,
    pub(crate) url: MatchedUrl<'a>,
}

impl<'a> Verified<'a> {
    /// The secret that matched.
    pub fn secret(&self) -> SecretId<'a> {
        self.secret
    }

    /// The HMAC that matched.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Which port variant of the URL matched (spec §4).
    pub fn port_variant(&self) -> PortVariant {
        self.port
    }

    /// The opt-in URL relaxation that was needed, if any. `None` means the strict rules matched.
    pub fn relaxation(&self) -> Option<Relaxation> {
        self.relaxation
    }

    /// The exact URL string the signature was made over.
    pub fn matched_url(&self) -> String {
        match &self.url {
            MatchedUrl::Borrowed(pieces) => pieces.to_string(),
            MatchedUrl::Owned(url) => url.clone(),
        }
    }
}

impl fmt::Display for Verified<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "valid: {} with {}, URL {}",
            self.algorithm, self.secret, self.port
        )?;
        if let Some(r) = self.relaxation {
            write!(f, ", {r} (opt-in)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_distinct_snake_case() {
        let all = [
            Rejection::MissingSignature,
            Rejection::MalformedSignature,
            Rejection::NoSecretConfigured,
            Rejection::UnknownAlgorithm,
            Rejection::UnknownKeyId,
            Rejection::BodyHashMissing,
            Rejection::BodyHashMalformed,
            Rejection::BodyHashMismatch,
            Rejection::SignatureMismatch,
            Rejection::MalformedBody,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), all.len());
        for r in all {
            assert!(
                r.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
            assert!(!r.to_string().is_empty());
        }
    }
}
