//! Signing requests the way Twilio does, for tests, tools and emulating Twilio.

use core::fmt;

use crate::canonical::{with_form_body, with_params};
use crate::secret::ConfigError;
use crate::signature::{self, Algorithm, Keyed};
use crate::url::{self, BodyHashError, Pieces};

/// Why a request could not be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The URL already has a `bodySHA256` query parameter; a second one would make it unverifiable.
    BodyHashAlreadyPresent,
    /// The form body does not decode to UTF-8 text.
    MalformedBody,
}

impl fmt::Display for SignError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignError::BodyHashAlreadyPresent => "the URL already has a bodySHA256 query parameter",
            SignError::MalformedBody => "the form body does not decode to UTF-8 text",
        })
    }
}

impl std::error::Error for SignError {}

/// A signed non-form request: the URL with `bodySHA256` appended, and its signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedBody {
    /// The URL to send the request to (the given URL plus `bodySHA256=<hex>`).
    pub url: String,
    /// The `X-Twilio-Signature` value.
    pub signature: String,
}

/// Signs requests with one secret and algorithm, exactly as Twilio does.
///
/// ```
/// use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};
///
/// let signer = Signer::new("12345", Algorithm::HmacSha1)?;
/// let signed = signer.sign_body("https://example.com/hook", br#"{"a":1}"#)?;
/// let validator = RequestValidator::new("12345");
/// let verdict = validator.verify_body(&signed.url, br#"{"a":1}"#, SignatureHeaders::new(&signed.signature));
/// assert!(verdict.is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A clone holds its own copy of the keyed state (wiped on drop, like the original).
#[derive(Clone)]
pub struct Signer {
    keyed: Keyed,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("algorithm", &self.keyed.algorithm())
            .field("secret", &"REDACTED")
            .finish()
    }
}

impl Signer {
    /// A signer for `secret` (an Auth Token, or a SharedKey secret) with `algorithm`.
    pub fn new(secret: impl AsRef<[u8]>, algorithm: Algorithm) -> Result<Self, ConfigError> {
        let secret = secret.as_ref();
        let empty = || ConfigError::EmptySecret("signer".into());
        if secret.is_empty() {
            return Err(empty());
        }
        let keyed = Keyed::new(secret, algorithm).ok_or_else(empty)?;
        Ok(Signer { keyed })
    }

    /// The algorithm this signer uses.
    pub fn algorithm(&self) -> Algorithm {
        self.keyed.algorithm()
    }

    /// The signature of a form request with decoded `params` (a list of pairs keeps repeated keys; a
    /// map keeps one value per key).
    pub fn sign_form<P: crate::FormParam>(
        &self,
        url: &str,
        params: impl IntoIterator<Item = P>,
    ) -> String {
        with_params(params, |canonical| {
            self.keyed.sign(&Pieces([url, "", ""]), canonical)
        })
    }

    /// The signature of a form request with a raw `application/x-www-form-urlencoded` body.
    pub fn sign_form_body(&self, url: &str, body: &[u8]) -> Result<String, SignError> {
        with_form_body(body, |canonical| {
            self.keyed.sign(&Pieces([url, "", ""]), canonical)
        })
        .ok_or(SignError::MalformedBody)
    }

    /// Signs a non-form request: appends `bodySHA256` of the raw body to the URL's query (before any
    /// fragment) and signs that URL alone (spec §5).
    pub fn sign_body(&self, url: &str, body: &[u8]) -> Result<SignedBody, SignError> {
        if url::body_sha256(url) != Err(BodyHashError::Missing) {
            return Err(SignError::BodyHashAlreadyPresent);
        }
        let hash = signature::body_sha256_hex(body);
        let fragment_start = url.find('#').unwrap_or(url.len());
        let (head, fragment) = url.split_at(fragment_start);
        let separator = match url::query(url) {
            None => "?",
            Some(q) if q.is_empty() || q.ends_with('&') => "",
            Some(_) => "&",
        };
        let url = format!("{head}{separator}bodySHA256={hash}{fragment}");
        let signature = self.keyed.sign(&Pieces([&url, "", ""]), &[][..]);
        Ok(SignedBody { url, signature })
    }
}

/// The exact string Twilio signs for a form request (spec §2): `url` followed by each distinct
/// parameter `key || value`, sorted by key and then value, without separators. It holds no secret, so it
/// can be shown to explain a mismatch. For a body request it is the URL with `bodySHA256` alone.
///
/// ```
/// use twilio_webhook::string_to_sign;
///
/// let s = string_to_sign("https://a.com/sms", [("To", "+1"), ("Body", "Hi"), ("Body", "Hi")]);
/// assert_eq!(s, "https://a.com/smsBodyHiTo+1");
/// ```
pub fn string_to_sign<P: crate::FormParam>(
    url: &str,
    params: impl IntoIterator<Item = P>,
) -> String {
    with_params(params, |canonical| {
        let mut bytes = url.as_bytes().to_vec();
        crate::canonical::Suffix::feed(canonical, |run| bytes.extend_from_slice(run));
        // Keys and values are &str, so the joined bytes are UTF-8.
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_signs_the_same_and_is_shareable() {
        fn assert_traits<T: Clone + Send + Sync + 'static>() {}
        assert_traits::<Signer>();
        let s = Signer::new("k", Algorithm::HmacSha256).unwrap();
        let c = s.clone();
        assert_eq!(c.algorithm(), Algorithm::HmacSha256);
        assert_eq!(
            c.sign_form("https://a.com/x", [("A", "1")]),
            s.sign_form("https://a.com/x", [("A", "1")])
        );
        assert!(!format!("{c:?}").contains('k'));
    }

    #[test]
    fn sign_body_places_the_hash_in_the_query() {
        let s = Signer::new("k", Algorithm::HmacSha1).unwrap();
        let h = signature::body_sha256_hex(b"x");
        let url = |u: &str| s.sign_body(u, b"x").unwrap().url;
        assert_eq!(url("https://a/p"), format!("https://a/p?bodySHA256={h}"));
        assert_eq!(url("https://a/p?"), format!("https://a/p?bodySHA256={h}"));
        assert_eq!(
            url("https://a/p?q=1"),
            format!("https://a/p?q=1&bodySHA256={h}")
        );
        assert_eq!(
            url("https://a/p?q=1#f"),
            format!("https://a/p?q=1&bodySHA256={h}#f")
        );
        let again = s.sign_body(&url("https://a/p"), b"x");
        assert_eq!(again, Err(SignError::BodyHashAlreadyPresent));
    }

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(
            Signer::new("", Algorithm::HmacSha256).unwrap_err(),
            ConfigError::EmptySecret("signer".into())
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let s = Signer::new("supersecret", Algorithm::HmacSha256).unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("supersecret"));
        assert!(
            debug.contains("Signer") && debug.contains("HmacSha256") && debug.contains("REDACTED")
        );
    }

    #[test]
    fn errors_explain_themselves() {
        assert!(
            SignError::BodyHashAlreadyPresent
                .to_string()
                .contains("bodySHA256")
        );
        assert!(SignError::MalformedBody.to_string().contains("UTF-8"));
    }
}
