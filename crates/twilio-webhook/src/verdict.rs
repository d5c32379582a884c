//! Verdicts (spec §8): what a validation answers.

use core::fmt;
use std::sync::Arc;

use crate::relax::Relaxation;
use crate::signature::Algorithm;
use crate::url::{Edit, PortVariant};

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
    /// The form body does not decode to UTF-8 text (or, as an HTTP request, holds a raw CR, LF or NUL).
    MalformedBody,
    /// The URL carries `bodySHA256` (body mode, spec §5) but only decoded form parameters were given,
    /// so the body cannot be checked. Verify the raw body instead (`verify_form_body`, `verify_body` or
    /// `verify_request`).
    BodyNotHashed,
    /// No public URL could be built for the request: no base URL is configured and it has no (valid)
    /// `Host` header (feature `http`).
    NoPublicUrl,
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
            Rejection::BodyNotHashed => "body_not_hashed",
            Rejection::NoPublicUrl => "no_public_url",
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
            Rejection::MalformedBody => {
                "the form body does not decode to UTF-8 text (or holds a raw CR, LF or NUL)"
            }
            Rejection::BodyNotHashed => {
                "the URL carries bodySHA256 but no raw body was given to check it against"
            }
            Rejection::NoPublicUrl => {
                "no public URL is configured and the request has no valid Host header"
            }
        })
    }
}

impl std::error::Error for Rejection {}

/// What kind of secret matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretKind {
    /// An Auth Token (legacy signing, HMAC-SHA1).
    AuthToken,
    /// A SharedKey (`X-Twilio-Webhooks-Signature-Settings`).
    SharedKey,
}

/// Which configured secret matched: by its name or id, never by its value.
///
/// It shares the name with the validator (no copy is made), so it can outlive the validation and be
/// sent to another task.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretId {
    kind: SecretKind,
    name: Arc<str>,
}

impl SecretId {
    pub(crate) fn new(kind: SecretKind, name: &Arc<str>) -> Self {
        SecretId {
            kind,
            name: Arc::clone(name),
        }
    }

    /// An Auth Token by the name it was configured with (`"primary"` for
    /// [`RequestValidator::new`](crate::RequestValidator::new)); handy for comparisons.
    pub fn auth_token(name: &str) -> Self {
        SecretId::new(SecretKind::AuthToken, &Arc::from(name))
    }

    /// A SharedKey by its id (`KS…`); handy for comparisons.
    pub fn shared_key(id: &str) -> Self {
        SecretId::new(SecretKind::SharedKey, &Arc::from(id))
    }

    /// Whether an Auth Token or a SharedKey matched.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The Auth Token's name or the SharedKey's id.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for SecretId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SecretKind::AuthToken => write!(f, "Auth Token {:?}", self.name),
            SecretKind::SharedKey => write!(f, "SharedKey {}", self.name),
        }
    }
}

/// The URL a signature matched: an edit of the URL that was verified, or a rewritten URL (an opt-in
/// relaxation) held whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MatchedUrl {
    Edit(Edit),
    Rewritten(String),
}

/// A successful validation: which secret, which algorithm and which URL candidate matched.
///
/// It borrows nothing, so a helper that builds the URL can return it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub(crate) secret: SecretId,
    pub(crate) algorithm: Algorithm,
    pub(crate) port: PortVariant,
    pub(crate) fragment_removed: bool,
    pub(crate) relaxation: Option<Relaxation>,
    pub(crate) url: MatchedUrl,
}

impl Verified {
    /// The secret that matched.
    pub fn secret(&self) -> &SecretId {
        &self.secret
    }

    /// The HMAC that matched.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Which port variant of the URL matched (spec §4).
    pub fn port_variant(&self) -> PortVariant {
        self.port
    }

    /// Whether the URL's fragment had to be cut off (spec §4.4): Twilio never signs a fragment, so a
    /// URL configured with connection overrides (`#rc=2&rp=all`) matches without them.
    ///
    /// ```
    /// use twilio_webhook::{RequestValidator, SignatureHeaders};
    ///
    /// let validator = RequestValidator::new("12345");
    /// let signature = validator.compute_signature("https://example.com/sms", [("Body", "Hi")]);
    /// let url = "https://example.com/sms#rc=2&rp=all";
    /// let verified = validator.verify_form(url, [("Body", "Hi")], SignatureHeaders::new(&signature))?;
    /// assert!(verified.fragment_removed());
    /// assert_eq!(verified.matched_url(url), "https://example.com/sms");
    /// # Ok::<(), twilio_webhook::Rejection>(())
    /// ```
    pub fn fragment_removed(&self) -> bool {
        self.fragment_removed
    }

    /// The opt-in URL relaxation that was needed, if any. `None` means the strict rules matched.
    pub fn relaxation(&self) -> Option<Relaxation> {
        self.relaxation
    }

    /// The exact URL string the signature was made over, given `verified_url`: the URL you passed to
    /// the `verify_*` call that returned this verdict. (The verdict records only how the candidate
    /// differs from it, so that a validation allocates nothing.)
    ///
    /// ```
    /// use twilio_webhook::{PortVariant, RequestValidator, SignatureHeaders};
    ///
    /// let validator = RequestValidator::new("12345");
    /// let signature = validator.compute_signature("https://example.com/sms", [("Body", "Hi")]);
    /// let url = "https://example.com:443/sms";
    /// let verified = validator.verify_form(url, [("Body", "Hi")], SignatureHeaders::new(&signature))?;
    /// assert_eq!(verified.port_variant(), PortVariant::PortRemoved);
    /// assert_eq!(verified.matched_url(url), "https://example.com/sms");
    /// # Ok::<(), twilio_webhook::Rejection>(())
    /// ```
    pub fn matched_url(&self, verified_url: &str) -> String {
        match &self.url {
            MatchedUrl::Edit(edit) => edit.pieces(verified_url).to_string(),
            MatchedUrl::Rewritten(url) => url.clone(),
        }
    }
}

impl fmt::Display for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "valid: {} with {}, URL {}",
            self.algorithm, self.secret, self.port
        )?;
        if self.fragment_removed {
            f.write_str(", fragment removed")?;
        }
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
            Rejection::BodyNotHashed,
            Rejection::NoPublicUrl,
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
