//! The validator: secrets keyed once, then `validate` (the SDKs' shape) and `verify_*` (verdicts).

use std::sync::Arc;

use crate::canonical::{Canonical, Pairs, Suffix, with_form_body, with_params};
use crate::form::FormParam;
use crate::headers::{SignatureHeaders, is_form_body};
use crate::relax::{Relaxation, Relaxations};
use crate::secret::{AuthTokenEntry, ConfigError, SharedKeyEntry};
use crate::settings::{self, Settings};
use crate::signature::{self, Algorithm, Keyed, Presented};

use crate::url::Edit;
use crate::url::{self, BodyHashError, Pieces, PortVariant, UrlShape};
use crate::verdict::{MatchedUrl, Rejection, SecretId, SecretKind, Verified};
pub use builder::RequestValidatorBuilder;

struct Inner {
    auth_tokens: Vec<AuthTokenEntry>,
    shared_keys: Vec<SharedKeyEntry>,
    relaxations: Relaxations,
}

/// Validates that requests came from Twilio. Build it once; it is cheap to clone and share.
///
/// ```
/// use twilio_webhook::RequestValidator;
///
/// let validator = RequestValidator::new("12345");
/// let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
/// let params = [
///     ("CallSid", "CA1234567890ABCDE"),
///     ("Caller", "+12349013030"),
///     ("Digits", "1234"),
///     ("From", "+12349013030"),
///     ("To", "+18005551212"),
/// ];
/// assert!(validator.validate(url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
/// assert!(!validator.validate(url, &params, "0/KCTR6DLpKmkAf8muzZqo1nDgQ"));
/// ```
#[derive(Clone)]
pub struct RequestValidator {
    inner: Arc<Inner>,
}

impl core::fmt::Debug for RequestValidator {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequestValidator")
            .field("auth_tokens", &self.inner.auth_tokens)
            .field("shared_keys", &self.inner.shared_keys)
            .field("relaxations", &self.inner.relaxations)
            .finish()
    }
}

/// A configured secret by kind and name (a [`SecretId`] is made only for the one that matched).
type Secret<'v> = (SecretKind, &'v std::sync::Arc<str>);

/// The secrets a request's settings select, in the order they are tried.
#[derive(Clone, Copy)]
struct Selected<'v> {
    shared: Option<(&'v SharedKeyEntry, &'v Keyed)>,
    auth_tokens: &'v [AuthTokenEntry],
}

impl<'v> Selected<'v> {
    fn keys(self) -> impl Iterator<Item = (Secret<'v>, &'v Keyed)> {
        let shared = self
            .shared
            .map(|(k, keyed)| ((SecretKind::SharedKey, &k.id), keyed));
        let tokens = self
            .auth_tokens
            .iter()
            .map(|t| ((SecretKind::AuthToken, &t.name), &t.keyed));
        shared.into_iter().chain(tokens)
    }

    fn algorithm(self) -> Algorithm {
        self.shared
            .map_or(Algorithm::HmacSha1, |(_, keyed)| keyed.algorithm())
    }
}

impl RequestValidator {
    /// A validator for one Auth Token, named `"primary"`: the shape of the official SDKs.
    ///
    /// An empty token is not an error here, but a validator built from one rejects every request with
    /// [`Rejection::NoSecretConfigured`] (an HMAC keyed with nothing authenticates nothing). To catch
    /// that mistake at startup, use [`try_new`](Self::try_new).
    pub fn new(auth_token: impl AsRef<[u8]>) -> Self {
        let auth_tokens = AuthTokenEntry::new("primary".into(), auth_token.as_ref())
            .into_iter()
            .collect();
        RequestValidator {
            inner: Arc::new(Inner {
                auth_tokens,
                shared_keys: Vec::new(),
                relaxations: Relaxations::default(),
            }),
        }
    }

    /// A validator for one Auth Token, named `"primary"`, that refuses an empty token: use it where the
    /// token comes from configuration, so a missing one fails at startup, not on every request.
    ///
    /// ```
    /// use twilio_webhook::{ConfigError, RequestValidator};
    ///
    /// assert!(RequestValidator::try_new("12345").is_ok());
    /// let unset = std::env::var("SURELY_UNSET_TWILIO_TOKEN").unwrap_or_default();
    /// assert_eq!(
    ///     RequestValidator::try_new(unset).err(),
    ///     Some(ConfigError::EmptySecret("primary".into()))
    /// );
    /// ```
    pub fn try_new(auth_token: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        Self::builder().auth_token("primary", auth_token).build()
    }

    /// A builder for several secrets and opt-in relaxations.
    pub fn builder() -> RequestValidatorBuilder {
        RequestValidatorBuilder::default()
    }

    /// Whether the request with these decoded POST `params` is signed by `signature` (the
    /// `X-Twilio-Signature` header). The shape of the official SDKs' `validate`; see
    /// [`verify_form`](Self::verify_form) for the reason of a rejection.
    ///
    /// `params` may be a map, but a map keeps one value per key: a request with a repeated key (for
    /// example several `MediaUrl`) then fails. Pass pairs in a list to keep every value.
    ///
    /// A URL with `bodySHA256` is never valid here (spec §5): its body must be checked, and decoded
    /// parameters cannot be. Use [`verify_request`](Self::verify_request) with the raw body.
    pub fn validate<P: FormParam>(
        &self,
        url: &str,
        params: impl IntoIterator<Item = P>,
        signature: &str,
    ) -> bool {
        self.verify_form(url, params, SignatureHeaders::new(signature))
            .is_ok()
    }

    /// The signature Twilio would send for `url` and `params`, made with the first Auth Token (the
    /// SDKs' `compute_signature`). A validator with no Auth Token returns an empty string, which no
    /// validation accepts. To sign with a SharedKey, use [`Signer`](crate::Signer). As with
    /// [`validate`](Self::validate), a map of `params` keeps one value per repeated key.
    #[doc(alias = "sign")]
    pub fn compute_signature<P: FormParam>(
        &self,
        url: &str,
        params: impl IntoIterator<Item = P>,
    ) -> String {
        let Some(token) = self.inner.auth_tokens.first() else {
            return String::new();
        };
        with_params(params, |canonical| {
            token.keyed.sign(&Pieces([url, "", ""]), canonical)
        })
    }

    /// Verifies a form request given its decoded parameters (any iterator of key/value pairs).
    ///
    /// A map keeps one value per key, so a request with a repeated key fails through one: prefer a
    /// list of pairs, or the raw body with [`verify_form_body`](Self::verify_form_body).
    ///
    /// A URL with `bodySHA256` is in body mode (spec §5): decoded parameters cannot prove its body, so
    /// it is rejected with [`Rejection::BodyNotHashed`] (otherwise a captured JSON request replayed as
    /// an empty form would pass).
    ///
    /// ```
    /// use twilio_webhook::{RequestValidator, SignatureHeaders};
    ///
    /// let validator = RequestValidator::new("12345");
    /// let url = "https://example.com/sms";
    /// let params = [("From", "+15551230000"), ("MediaUrl", "a"), ("MediaUrl", "b")];
    /// let signature = validator.compute_signature(url, params);
    /// let verified = validator.verify_form(url, params, SignatureHeaders::new(&signature))?;
    /// assert_eq!(verified.secret().name(), "primary");
    /// # Ok::<(), twilio_webhook::Rejection>(())
    /// ```
    pub fn verify_form<P: FormParam>(
        &self,
        url: &str,
        params: impl IntoIterator<Item = P>,
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified, Rejection> {
        let (selected, presented) = self.prepare(headers)?;
        if url::carries_body_hash(url) {
            return Err(Rejection::BodyNotHashed);
        }
        with_params(params, |canonical| {
            self.match_form(selected, &presented, url, canonical)
        })
    }

    /// Verifies a form request given its raw `application/x-www-form-urlencoded` body. Repeated keys
    /// are kept.
    ///
    /// A URL with `bodySHA256` is in body mode (spec §5): the body is checked against that hash
    /// exactly as [`verify_body`](Self::verify_body) does (an empty body is a mismatch).
    ///
    /// ```
    /// use twilio_webhook::{RequestValidator, SignatureHeaders};
    ///
    /// let validator = RequestValidator::new("12345");
    /// let url = "https://example.com/sms";
    /// let body = b"From=%2B15551230000&Body=Hello+there";
    /// let signature = validator.compute_signature(url, [("From", "+15551230000"), ("Body", "Hello there")]);
    /// assert!(validator.verify_form_body(url, body, SignatureHeaders::new(&signature)).is_ok());
    /// ```
    pub fn verify_form_body(
        &self,
        url: &str,
        body: &[u8],
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified, Rejection> {
        if url::carries_body_hash(url) {
            return self.verify_body(url, body, headers);
        }
        self.verify_raw_form(url, body, headers)
    }

    /// A raw form body against a URL already known not to be in body mode.
    fn verify_raw_form(
        &self,
        url: &str,
        body: &[u8],
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified, Rejection> {
        let (selected, presented) = self.prepare(headers)?;
        with_form_body(body, |canonical| {
            self.match_form(selected, &presented, url, canonical)
        })
        .unwrap_or(Err(Rejection::MalformedBody))
    }

    /// Verifies a request with a non-form body (JSON and others): the URL carries `bodySHA256`, the
    /// signature covers the URL alone, and the raw body must hash to `bodySHA256` (spec §5).
    ///
    /// ```
    /// use twilio_webhook::{Algorithm, RequestValidator, Rejection, SignatureHeaders, Signer};
    ///
    /// let body = br#"[{"type":"com.twilio.messaging.message.delivered"}]"#;
    /// let signed = Signer::new("12345", Algorithm::HmacSha1)?.sign_body("https://example.com/events", body)?;
    /// let validator = RequestValidator::new("12345");
    /// let headers = SignatureHeaders::new(&signed.signature);
    /// assert!(validator.verify_body(&signed.url, body, headers).is_ok());
    /// assert_eq!(validator.verify_body(&signed.url, b"[]", headers), Err(Rejection::BodyHashMismatch));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_body(
        &self,
        url: &str,
        body: &[u8],
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified, Rejection> {
        let (selected, presented) = self.prepare(headers)?;
        let expected = url::body_sha256(url).map_err(|e| match e {
            BodyHashError::Missing => Rejection::BodyHashMissing,
            BodyHashError::Malformed => Rejection::BodyHashMalformed,
        })?;
        let verified = self.match_rest(UrlShape::parse(url), selected, &presented, url, &[][..])?;
        if signature::body_matches(body, &expected) {
            Ok(verified)
        } else {
            Err(Rejection::BodyHashMismatch)
        }
    }

    /// Verifies a request from what a web server holds: the URL Twilio requested, the `Content-Type`
    /// header value (if any) and the raw body. The path is chosen by spec §5:
    ///
    /// - the URL carries `bodySHA256`: body mode, whatever the content type or method;
    /// - else a form content type (`application/x-www-form-urlencoded`, parameters such as `charset`
    ///   ignored, any case) or an empty body (a GET, an empty POST): a form request;
    /// - else a body nobody signed: [`Rejection::BodyHashMissing`].
    ///
    /// ```
    /// use twilio_webhook::{RequestValidator, Rejection, SignatureHeaders};
    ///
    /// let validator = RequestValidator::new("12345");
    /// let url = "https://example.com/sms";
    /// let signature = validator.compute_signature(url, [("Body", "Hi")]);
    /// let headers = SignatureHeaders::new(&signature);
    /// let form = Some("application/x-www-form-urlencoded; charset=UTF-8");
    /// assert!(validator.verify_request(url, form, b"Body=Hi", headers).is_ok());
    /// assert_eq!(
    ///     validator.verify_request(url, Some("application/json"), b"{}", headers),
    ///     Err(Rejection::BodyHashMissing)
    /// );
    /// ```
    pub fn verify_request(
        &self,
        url: &str,
        content_type: Option<&str>,
        body: &[u8],
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified, Rejection> {
        if url::carries_body_hash(url) {
            return self.verify_body(url, body, headers);
        }
        if is_form_body(content_type, body) {
            self.verify_raw_form(url, body, headers)
        } else {
            self.prepare(headers)?;
            Err(Rejection::BodyHashMissing)
        }
    }

    /// The checks that need no HMAC: signature present, settings understood, secret configured,
    /// signature well-formed for the algorithm.
    fn prepare(
        &self,
        headers: SignatureHeaders<'_>,
    ) -> Result<(Selected<'_>, Presented), Rejection> {
        let signature = headers
            .signature
            .filter(|s| !s.is_empty())
            .ok_or(Rejection::MissingSignature)?;
        let selected = self.select(settings::parse(headers.settings)?)?;
        let algorithm = selected.algorithm();
        Ok((selected, Presented::decode(signature, algorithm)?))
    }

    /// Which secrets to try (spec §6, §7):
    /// - no settings: the Auth Tokens, HMAC-SHA1;
    /// - a key and an algorithm: that SharedKey alone, with that algorithm;
    /// - a key and no algorithm: that SharedKey (if configured) then the Auth Tokens, HMAC-SHA1. The
    ///   spec says Auth Tokens; Twilio's SDKs sign such requests with the SharedKey secret
    ///   (public-extra 00305). The header is not signed, so trying both widens nothing;
    /// - an algorithm and no key: no secret can be chosen.
    fn select(&self, settings: Settings<'_>) -> Result<Selected<'_>, Rejection> {
        let inner = &*self.inner;
        let shared = |id: &str| inner.shared_keys.iter().find(|k| &*k.id == id);
        let selected = match (settings.key_id, settings.algorithm) {
            (None, None) => Selected {
                shared: None,
                auth_tokens: &inner.auth_tokens,
            },
            (Some(id), None) => Selected {
                shared: shared(id).map(|k| (k, k.keyed(Algorithm::HmacSha1))),
                auth_tokens: &inner.auth_tokens,
            },
            (Some(id), Some(algorithm)) => {
                let k = shared(id).ok_or(Rejection::UnknownKeyId)?;
                Selected {
                    shared: Some((k, k.keyed(algorithm))),
                    auth_tokens: &[],
                }
            }
            (None, Some(_)) => return Err(Rejection::UnknownKeyId),
        };
        if selected.shared.is_none() && selected.auth_tokens.is_empty() {
            return Err(Rejection::NoSecretConfigured);
        }
        Ok(selected)
    }

    /// Tries every strict URL candidate with every selected secret, then the opt-in relaxations. `P` is
    /// joined once on the stack when it fits, so each attempt hashes it in one call (streaming it costs
    /// one call per run of plain bytes, which measured slower even for a single attempt).
    fn match_form<S: Pairs + ?Sized>(
        &self,
        selected: Selected<'_>,
        presented: &Presented,
        url: &str,
        canonical: &Canonical<'_, S>,
    ) -> Result<Verified, Rejection> {
        let strict = UrlShape::parse(url);
        canonical.with_joined(|joined| match joined {
            Some(joined) => self.match_rest(strict, selected, presented, url, joined),
            None => self.match_rest(strict, selected, presented, url, canonical),
        })
    }

    /// Tries the candidates of the strict `shape`, then the opt-in relaxations, with `suffix` after the
    /// URL.
    fn match_rest<X: Suffix + ?Sized>(
        &self,
        strict: UrlShape<'_>,
        selected: Selected<'_>,
        presented: &Presented,
        url: &str,
        suffix: &X,
    ) -> Result<Verified, Rejection> {
        if let Some(found) = first_match(selected, strict, suffix, presented) {
            return Ok(found.verified(None, MatchedUrl::Edit(found.edit)));
        }
        for (relaxation, rewritten) in self.inner.relaxations.rewrites(url) {
            let shape = UrlShape::parse(&rewritten);
            if let Some(found) = first_match(selected, shape, suffix, presented) {
                let url = MatchedUrl::Rewritten(found.pieces.to_string());
                return Ok(found.verified(Some(relaxation), url));
            }
        }
        Err(Rejection::SignatureMismatch)
    }
}

#[cfg(feature = "diagnose")]
impl RequestValidator {
    /// Every configured secret keyed for `algorithm`, by its id: the Auth Tokens (HMAC-SHA1 only), then
    /// the SharedKeys. For a diagnosis, which tries them all.
    pub(crate) fn secrets(&self, algorithm: Algorithm) -> Vec<(SecretId, &Keyed)> {
        let inner = &*self.inner;
        let tokens = inner
            .auth_tokens
            .iter()
            .filter(|_| algorithm == Algorithm::HmacSha1)
            .map(|t| (SecretId::new(SecretKind::AuthToken, &t.name), &t.keyed));
        let shared = inner.shared_keys.iter().map(|k| {
            (
                SecretId::new(SecretKind::SharedKey, &k.id),
                k.keyed(algorithm),
            )
        });
        tokens.chain(shared).collect()
    }

    /// The secrets a request's settings header selects, with the algorithm it selects (none when the
    /// header selects nothing configured).
    pub(crate) fn selected_secrets(&self, settings: Option<&str>) -> Vec<(SecretId, Algorithm)> {
        let Ok(selected) = settings::parse(settings).and_then(|s| self.select(s)) else {
            return Vec::new();
        };
        let algorithm = selected.algorithm();
        selected
            .keys()
            .map(|((kind, name), _)| (SecretId::new(kind, name), algorithm))
            .collect()
    }
}

/// One secret with one candidate URL.
struct Match<'s, 'u> {
    secret: Secret<'s>,
    keyed: &'s Keyed,
    port: PortVariant,
    edit: Edit,
    pieces: Pieces<'u>,
}

impl Match<'_, '_> {
    fn verified(&self, relaxation: Option<Relaxation>, url: MatchedUrl) -> Verified {
        let (kind, name) = self.secret;
        Verified {
            secret: SecretId::new(kind, name),
            algorithm: self.keyed.algorithm(),
            port: self.port,
            fragment_removed: self.edit.cuts_fragment(),
            relaxation,
            url,
        }
    }
}

/// The first selected secret and candidate of `shape` the signature matches, tried in order: each
/// secret with every candidate. Plain loops: the nested iterator adapters they replace measured ~10% of
/// a JSON validation.
fn first_match<'s, 'u, X: Suffix + ?Sized>(
    selected: Selected<'s>,
    shape: UrlShape<'u>,
    suffix: &X,
    presented: &Presented,
) -> Option<Match<'s, 'u>> {
    for (secret, keyed) in selected.keys() {
        for (port, edit, pieces) in shape.candidates() {
            if keyed.verify(&pieces, suffix, presented) {
                return Some(Match {
                    secret,
                    keyed,
                    port,
                    edit,
                    pieces,
                });
            }
        }
    }
    None
}

mod builder;
#[cfg(test)]
mod tests;
