//! The validator: secrets keyed once, then `validate` (the SDKs' shape) and `verify_*` (verdicts).

use std::sync::Arc;

use crate::canonical::{
    Canonical, INLINE_FIELDS, JOINED, Pairs, SmallVec, Suffix, parse_form_body,
};
use crate::form::FormParam;
use crate::relax::{Relaxation, Relaxations};
use crate::secret::{AuthTokenEntry, ConfigError, SharedKeyEntry};
use crate::settings::{self, Settings};
use crate::signature::{self, Algorithm, Keyed, Presented};
use crate::url::{self, BodyHashError, Pieces, PortVariant, UrlShape};
use crate::verdict::{MatchedUrl, Rejection, SecretId, Verified};

/// The signature headers of a request, borrowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    /// `X-Twilio-Signature`, if present.
    pub signature: Option<&'a str>,
    /// `X-Twilio-Webhooks-Signature-Settings`, if present (SharedKey signing).
    pub settings: Option<&'a str>,
}

impl<'a> SignatureHeaders<'a> {
    /// Just an `X-Twilio-Signature` value (a legacy Auth Token request).
    pub fn new(signature: &'a str) -> Self {
        SignatureHeaders {
            signature: Some(signature),
            settings: None,
        }
    }

    /// Adds an `X-Twilio-Webhooks-Signature-Settings` value.
    #[must_use]
    pub fn with_settings(mut self, settings: Option<&'a str>) -> Self {
        self.settings = settings;
        self
    }

    /// Picks both headers out of `(name, value)` pairs; names are matched case-insensitively and the
    /// first occurrence of each wins.
    pub fn from_pairs<I, N, V>(headers: I) -> Self
    where
        I: IntoIterator<Item = (&'a N, &'a V)>,
        N: AsRef<str> + ?Sized + 'a,
        V: AsRef<str> + ?Sized + 'a,
    {
        let mut found = SignatureHeaders::default();
        for (name, value) in headers {
            let name = name.as_ref();
            if found.signature.is_none() && name.eq_ignore_ascii_case(settings::SIGNATURE_HEADER) {
                found.signature = Some(value.as_ref());
            } else if found.settings.is_none()
                && name.eq_ignore_ascii_case(settings::SIGNATURE_SETTINGS_HEADER)
            {
                found.settings = Some(value.as_ref());
            }
        }
        found
    }
}

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

/// The secrets a request's settings select, in the order they are tried.
#[derive(Clone, Copy)]
struct Selected<'v> {
    shared: Option<(&'v SharedKeyEntry, &'v Keyed)>,
    auth_tokens: &'v [AuthTokenEntry],
}

impl<'v> Selected<'v> {
    fn keys(self) -> impl Iterator<Item = (SecretId<'v>, &'v Keyed)> {
        let shared = self
            .shared
            .map(|(k, keyed)| (SecretId::SharedKey(&k.id), keyed));
        let tokens = self
            .auth_tokens
            .iter()
            .map(|t| (SecretId::AuthToken(&t.name), &t.keyed));
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
    /// [`Rejection::NoSecretConfigured`] (an HMAC keyed with nothing authenticates nothing).
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

    /// A builder for several secrets and opt-in relaxations.
    pub fn builder() -> RequestValidatorBuilder {
        RequestValidatorBuilder::default()
    }

    /// Whether the request with these decoded POST `params` is signed by `signature` (the
    /// `X-Twilio-Signature` header). The shape of the official SDKs' `validate`; see
    /// [`verify_form`](Self::verify_form) for the reason of a rejection.
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
    /// validation accepts. To sign with a SharedKey, use [`Signer`](crate::Signer).
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
    pub fn verify_form<'a, P: FormParam>(
        &'a self,
        url: &'a str,
        params: impl IntoIterator<Item = P>,
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified<'a>, Rejection> {
        let (selected, presented) = self.prepare(headers)?;
        with_params(params, |canonical| {
            self.match_form(selected, &presented, url, canonical)
        })
    }

    /// Verifies a form request given its raw `application/x-www-form-urlencoded` body.
    pub fn verify_form_body<'a>(
        &'a self,
        url: &'a str,
        body: &[u8],
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified<'a>, Rejection> {
        let (selected, presented) = self.prepare(headers)?;
        let mut fields = SmallVec::new();
        if !parse_form_body(body, &mut fields) {
            return Err(Rejection::MalformedBody);
        }
        self.match_form(
            selected,
            &presented,
            url,
            &Canonical::new(fields.as_slice()),
        )
    }

    /// Verifies a request with a non-form body (JSON and others): the URL carries `bodySHA256`, the
    /// signature covers the URL alone, and the raw body must hash to `bodySHA256` (spec §5).
    pub fn verify_body<'a>(
        &'a self,
        url: &'a str,
        body: &[u8],
        headers: SignatureHeaders<'_>,
    ) -> Result<Verified<'a>, Rejection> {
        let (selected, presented) = self.prepare(headers)?;
        let expected = url::body_sha256(url).map_err(|e| match e {
            BodyHashError::Missing => Rejection::BodyHashMissing,
            BodyHashError::Malformed => Rejection::BodyHashMalformed,
        })?;
        let verified = self.match_rest(
            attempts(selected, UrlShape::parse(url)),
            selected,
            &presented,
            url,
            &[][..],
        )?;
        if signature::body_matches(body, &expected) {
            Ok(verified)
        } else {
            Err(Rejection::BodyHashMismatch)
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
    fn match_form<'a, S: Pairs + ?Sized>(
        &'a self,
        selected: Selected<'a>,
        presented: &Presented,
        url: &'a str,
        canonical: &Canonical<'_, S>,
    ) -> Result<Verified<'a>, Rejection> {
        let strict = attempts(selected, UrlShape::parse(url));
        let mut buffer = [0u8; JOINED];
        match canonical.join(&mut buffer) {
            Some(len) => {
                let joined = buffer.get(..len).unwrap_or_default();
                self.match_rest(strict, selected, presented, url, joined)
            }
            None => self.match_rest(strict, selected, presented, url, canonical),
        }
    }

    /// Tries the strict `attempts`, then the opt-in relaxations, with `suffix` after the URL.
    fn match_rest<'a, X: Suffix + ?Sized>(
        &'a self,
        mut strict: impl Iterator<Item = Match<'a, 'a>>,
        selected: Selected<'a>,
        presented: &Presented,
        url: &'a str,
        suffix: &X,
    ) -> Result<Verified<'a>, Rejection> {
        let matches = |m: &Match<'_, '_>| m.keyed.verify(&m.pieces, suffix, presented);
        if let Some(found) = strict.find(matches) {
            return Ok(found.verified(None, MatchedUrl::Borrowed));
        }
        for (relaxation, rewritten) in self.inner.relaxations.rewrites(url) {
            if let Some(found) = attempts(selected, UrlShape::parse(&rewritten)).find(matches) {
                return Ok(found.verified(Some(relaxation), |p| MatchedUrl::Owned(p.to_string())));
            }
        }
        Err(Rejection::SignatureMismatch)
    }
}

/// One secret with one candidate URL.
struct Match<'s, 'u> {
    secret: SecretId<'s>,
    keyed: &'s Keyed,
    port: PortVariant,
    pieces: Pieces<'u>,
}

impl<'s, 'u> Match<'s, 'u> {
    fn verified(
        self,
        relaxation: Option<Relaxation>,
        url: impl FnOnce(Pieces<'u>) -> MatchedUrl<'s>,
    ) -> Verified<'s> {
        Verified {
            secret: self.secret,
            algorithm: self.keyed.algorithm(),
            port: self.port,
            relaxation,
            url: url(self.pieces),
        }
    }
}

/// Every selected secret with every candidate of `shape`, in the order they are tried.
fn attempts<'s, 'u>(
    selected: Selected<'s>,
    shape: UrlShape<'u>,
) -> impl Iterator<Item = Match<'s, 'u>> {
    selected.keys().flat_map(move |(secret, keyed)| {
        shape.candidates().map(move |(port, pieces)| Match {
            secret,
            keyed,
            port,
            pieces,
        })
    })
}

/// Holds the caller's parameters (on the stack for up to [`INLINE_FIELDS`]) and runs `f` on their
/// canonical order.
pub(crate) fn with_params<P: FormParam, R>(
    params: impl IntoIterator<Item = P>,
    f: impl FnOnce(&Canonical<'_, [Option<P>]>) -> R,
) -> R {
    let mut held: SmallVec<Option<P>, INLINE_FIELDS> = SmallVec::new();
    for p in params {
        held.push(Some(p));
    }
    f(&Canonical::new(held.as_slice()))
}

#[cfg(test)]
mod tests;
