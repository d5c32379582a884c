//! Verifying an `http` request (feature `http`): the one path every adapter and the proxy use.

use core::fmt;

use crate::accounts::AccountSecrets;
use crate::headers::SignatureHeaders;
use crate::public_url::{Incoming, PublicUrl};
use crate::replay::{ReplayGuard, ReplayKey, ReplayRefusal};
use crate::validator::RequestValidator;
use crate::verdict::{Rejection, Verified};

mod cookies;
mod env;
mod explain;
mod origin;
mod parsed;
mod rejection;
mod sequence;
mod shape;

pub use cookies::forwarded_cookies;
pub use env::{EnvError, diagnoses_setting};
pub use explain::{Clock, DEFAULT_DIAGNOSES_PER_SECOND};
pub use parsed::{check_parsed_form, check_parsed_request, check_parsed_webhook, encode_form};
pub use rejection::{Refusal, ReportOnly, WebhookRejection};
pub use sequence::{BodyError, BodyExtent, BodyReader, BodySource, Checked, Delivery};
pub use shape::{MAX_FORM_PARTS, SINGLE_VALUED_PARAMETERS, check_shape};

/// The default body limit: 1 MiB (Twilio's requests are a few KiB).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// The most bytes one verification hashes across the public URLs it tries, past the first URL (which is
/// always tried whole): 4 MiB. Every configured base URL is tried when the request's `Host` names none of
/// them (a proxy's internal name), each URL with its port variant, over the whole body: with a hundred
/// public URLs, a forged 1 MiB form cost the guard 220 ms of CPU (sixth outside attack, A5-F4). Past this
/// budget the remaining URLs are not tried, and the request is refused as a signature mismatch; a genuine
/// webhook of a few KiB still has hundreds of URLs' worth of it.
pub const MAX_HASHED_BYTES: usize = 4 * 1024 * 1024;

/// A validator, a public-URL policy and a body limit: everything a web server needs to check a
/// webhook. Cheap to clone.
///
/// ```
/// use twilio_webhook::{PublicUrl, RequestValidator, WebhookVerifier};
///
/// let verifier = WebhookVerifier::new(RequestValidator::try_new("12345")?)
///     .public_url(PublicUrl::base("https://example.com")?);
///
/// let request = http::Request::post("/sms")
///     .header("content-type", "application/x-www-form-urlencoded")
///     .header("x-twilio-signature", "not-a-signature")
///     .body(())?;
/// let (parts, ()) = request.into_parts();
/// let rejected = verifier.verify_parts(&parts, b"Body=Hi").unwrap_err();
/// assert_eq!(rejected.status(), http::StatusCode::FORBIDDEN);
/// assert_eq!(rejected.urls_tried(), ["https://example.com/sms"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    validator: RequestValidator,
    public_url: std::sync::Arc<PublicUrl>,
    body_limit: usize,
    replay: Option<ReplayGuard>,
    accounts: Option<std::sync::Arc<dyn AccountSecrets>>,
    json_account_sid: Option<JsonAccountSid>,
    explainer: explain::Explainer,
    repeats_allowed: bool,
}

/// A reader of the claimed `AccountSid` of a JSON body.
type ReadAccountSid = dyn Fn(&[u8]) -> Option<String> + Send + Sync;

/// How to read the claimed `AccountSid` of a JSON body.
#[derive(Clone)]
struct JsonAccountSid(std::sync::Arc<ReadAccountSid>);

impl fmt::Debug for JsonAccountSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JsonAccountSid(fn)")
    }
}

/// A request that passed: the verdict and the URL it was verified against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    verified: Verified,
    url: String,
    replay_key: ReplayKey,
    method: http::Method,
    /// Where the [`prefix`](Self::prefix) of [`url`](Self::url) ends: the request's own target
    /// follows.
    prefix_end: usize,
}

impl VerifiedRequest {
    /// Which secret, algorithm and URL candidate matched.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// The URL the policy built and the request was verified against.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The exact URL string the signature was made over (a port variant of [`url`](Self::url), or
    /// itself).
    pub fn matched_url(&self) -> String {
        self.verified.matched_url(&self.url)
    }

    /// The request's replay key: its signature and the name of the secret that matched, hashed.
    pub fn replay_key(&self) -> &ReplayKey {
        &self.replay_key
    }

    /// The method the request was sent with: in answer mode, its kept answer is given only to a
    /// duplicate with this method.
    pub fn method(&self) -> &http::Method {
        &self.method
    }

    /// Where the URL's prefix ends ([`prefix`](Self::prefix)).
    pub(crate) fn prefix_end(&self) -> usize {
        self.prefix_end
    }
}

impl WebhookVerifier {
    /// A verifier with the URL from `Host` and the connection (see [`PublicUrl::from_host`]) and a
    /// 1 MiB body limit.
    pub fn new(validator: RequestValidator) -> Self {
        WebhookVerifier {
            validator,
            public_url: std::sync::Arc::new(PublicUrl::from_host()),
            body_limit: DEFAULT_BODY_LIMIT,
            replay: None,
            accounts: None,
            json_account_sid: None,
            explainer: explain::Explainer::default(),
            repeats_allowed: false,
        }
    }

    /// Sets how many rejections a second are explained in the log with a diagnosis (default
    /// [`DEFAULT_DIAGNOSES_PER_SECOND`]; `0` turns diagnoses off). Each is bounded by bytes hashed
    /// (`MAX_DIAGNOSIS_BYTES`), the diagnoses of every verifier of the process share
    /// `DIAGNOSIS_BYTES_PER_SECOND`, and past either budget a rejection gets its terse line: a flood of
    /// forged requests costs no more than that. Clones share the budget.
    #[must_use]
    pub fn diagnoses_per_second(mut self, rate: u32) -> Self {
        self.explainer.budget = explain::Budget::new(rate, self.explainer.clock);
        self
    }

    /// Sets the clock of the diagnosis budget: the time since any fixed origin (default: std's
    /// monotonic clock). For platforms without one, such as WebAssembly in a JavaScript host, which
    /// give theirs (`Date.now()`); a clock that goes back grants nothing extra.
    #[must_use]
    pub fn clock(mut self, clock: explain::Clock) -> Self {
        self.explainer.clock = clock;
        let rate = self.explainer.budget.as_ref().map_or(0, |b| b.rate());
        self.explainer.budget = explain::Budget::new(rate, clock);
        self
    }

    /// Sets the public-URL policy.
    #[must_use]
    pub fn public_url(mut self, policy: PublicUrl) -> Self {
        self.public_url = std::sync::Arc::new(policy);
        self
    }

    /// Turns on replay protection: a second delivery of a verified request inside the guard's window
    /// is refused (`409`). Checked by [`verify_async`](Self::verify_async), which the adapters call.
    #[must_use]
    pub fn replay_guard(mut self, guard: ReplayGuard) -> Self {
        self.replay = Some(guard);
        self
    }

    /// Secrets by `AccountSid`: a request whose claimed account `accounts` knows is checked with that
    /// account's validator; any other with this verifier's own. The claim is the form's `AccountSid`,
    /// or what [`json_account_sid`](Self::json_account_sid) reads from a JSON body. Trusting the claim
    /// widens nothing: the signature must match that account's token. A failed lookup is `503`.
    #[must_use]
    pub fn accounts(mut self, accounts: impl AccountSecrets + 'static) -> Self {
        self.accounts = Some(std::sync::Arc::new(accounts));
        self
    }

    /// How to read the claimed `AccountSid` of a non-form (JSON) body, for [`accounts`](Self::accounts).
    #[must_use]
    pub fn json_account_sid(
        mut self,
        read: impl Fn(&[u8]) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.json_account_sid = Some(JsonAccountSid(std::sync::Arc::new(read)));
        self
    }

    /// The account a request claims: the form's `AccountSid`, or the JSON reader's answer.
    fn claimed_account(&self, request: &Incoming<'_>, body: &[u8]) -> Option<String> {
        let content_type = request
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        if crate::headers::is_form_body(content_type, body) {
            crate::form::first_value(body, "AccountSid")
        } else {
            self.json_account_sid
                .as_ref()
                .and_then(|read| (read.0)(body))
        }
    }

    /// The replay guard, if one is on.
    pub fn replay(&self) -> Option<&ReplayGuard> {
        self.replay.as_ref()
    }

    /// Whether a server must read the request's body before verifying it: `Ok(true)` always, except
    /// for a real WebSocket handshake ([`Incoming::is_websocket_handshake`]), `Ok(false)`: it has no
    /// body, and in some servers (actix-web) its payload is the upgraded connection. A request that
    /// asks for a WebSocket (`Upgrade: websocket`) without being a handshake (a POST, a body) is refused
    /// (`400`, `upgrade_not_handshake`): servers frame it differently (actix-web reads the rest of the
    /// connection as its body, hyper its `Content-Length`), and such an ambiguity is how bodies are
    /// smuggled past a check. Any other request is read and verified, whatever its `Connection` or
    /// `Upgrade` headers say.
    pub fn reads_body(&self, request: &Incoming<'_>) -> Result<bool, WebhookRejection> {
        if request.is_websocket_handshake() {
            return Ok(false);
        }
        if request.asks_for_websocket() {
            return Err(WebhookRejection::new(
                Refusal::UpgradeNotHandshake,
                Vec::new(),
            ));
        }
        Ok(true)
    }

    /// Refuses a `Content-Length` that is not a number of bytes (`400`, `bad_content_length`: not
    /// ASCII digits, such as `+12`, `1_0` or `²`, or several lengths that disagree) and a declared
    /// length over the limit (`413`), before reading the body. Adapters call it first, then read at
    /// most the limit (a body that grows past it is refused too).
    pub fn check_declared_length(&self, headers: &http::HeaderMap) -> Result<(), WebhookRejection> {
        let limit = self.body_limit;
        let refuse = |refusal| Err(WebhookRejection::new(refusal, Vec::new()));
        match sequence::declared_length(headers) {
            Err(()) => refuse(Refusal::BadContentLength),
            Ok(Some(length)) if length > limit as u64 => refuse(Refusal::BodyTooLarge { limit }),
            Ok(_) => Ok(()),
        }
    }

    /// Verifies the request as [`verify`](Self::verify) does, then, if a replay guard is on, records
    /// it and refuses a replay. The adapters call it through [`read_and_verify`](Self::read_and_verify),
    /// which reads the body first and returns a [`Delivery`] that owns the replay key.
    pub async fn verify_async(
        &self,
        request: &Incoming<'_>,
        body: &[u8],
    ) -> Result<VerifiedRequest, WebhookRejection> {
        self.verify_leased(request, body)
            .await
            .map(|(verified, _)| verified)
    }

    /// [`verify_async`](Self::verify_async), with the token of the in-flight lease the request holds
    /// in answer mode, for its [`Delivery`] to renew.
    pub(crate) async fn verify_leased(
        &self,
        request: &Incoming<'_>,
        body: &[u8],
    ) -> Result<(VerifiedRequest, Option<crate::LeaseToken>), WebhookRejection> {
        // The claim is read only when a resolver can use it: no body scan otherwise.
        let claim = self.accounts.as_ref().and_then(|accounts| {
            self.claimed_account(request, body)
                .map(|sid| (accounts, sid))
        });
        let account = match claim {
            Some((accounts, sid)) => match accounts.validator_for(&sid).await {
                Ok(found) => found,
                Err(e) => {
                    tracing::error!(target: "twilio_webhook", error = %e, "account lookup failed: refusing the request");
                    return Err(WebhookRejection::new(
                        Refusal::AccountLookupFailed,
                        Vec::new(),
                    ));
                }
            },
            None => None,
        };
        let validator = account.as_ref().unwrap_or(&self.validator);
        let verified = self.verify_with(validator, request, body)?;
        if let Some(guard) = &self.replay {
            let refusal = match guard
                .check_leased(verified.replay_key(), request.method)
                .await
            {
                Ok(lease) => return Ok((verified, lease)),
                Err(ReplayRefusal::Answered(answer)) => {
                    return Err(WebhookRejection::answered(answer, vec![verified.url]));
                }
                Err(ReplayRefusal::StoreUnavailable) => Refusal::ReplayStoreUnavailable,
                Err(_) => Refusal::Replayed,
            };
            return Err(WebhookRejection::new(refusal, vec![verified.url]));
        }
        Ok((verified, None))
    }

    /// Sets the body limit in bytes (adapters answer `413` above it).
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Accepts a form in which a parameter Twilio sends once ([`SINGLE_VALUED_PARAMETERS`]) comes
    /// twice with different values, which is refused by default ([`Refusal::RepeatedParameter`]): the
    /// boundary between a key and its value is not signed, so a genuine SMS whose `Body` ends in
    /// `From+15550000` also verifies re-split with a second, forged `From` ahead of the real one. Only
    /// for a Twilio product that does repeat a name, and an app that reads every value of it.
    #[must_use]
    pub fn allow_repeated_parameters(mut self) -> Self {
        self.repeats_allowed = true;
        self
    }

    /// The body limit in bytes.
    pub fn limit(&self) -> usize {
        self.body_limit
    }

    /// The validator.
    pub fn validator(&self) -> &RequestValidator {
        &self.validator
    }

    /// The public-URL policy.
    pub fn policy(&self) -> &PublicUrl {
        &self.public_url
    }

    /// Verifies `parts` (target, headers, scheme and authority of its URI) with `body`. No peer
    /// address is known, so no proxy is trusted: use [`verify`](Self::verify) for that.
    ///
    /// ```
    /// use twilio_webhook::{PublicUrl, RequestValidator, WebhookVerifier};
    ///
    /// let validator = RequestValidator::try_new("12345")?;
    /// let signature = validator.compute_signature("https://example.com/sms", [("Body", "Hi")]);
    /// let verifier = WebhookVerifier::new(validator).public_url(PublicUrl::base("https://example.com")?);
    /// let request = http::Request::post("/sms")
    ///     .header("content-type", "application/x-www-form-urlencoded; charset=UTF-8")
    ///     .header("x-twilio-signature", signature)
    ///     .body(b"Body=Hi".to_vec())?;
    /// let (parts, body) = request.into_parts();
    /// let verified = verifier.verify_parts(&parts, &body)?;
    /// assert_eq!(verified.matched_url(), "https://example.com/sms");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_parts(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
    ) -> Result<VerifiedRequest, WebhookRejection> {
        self.verify(&Incoming::from_parts(parts), body)
    }

    /// Verifies a request: builds its public URL(s) with the policy, then checks the signature with
    /// [`RequestValidator::verify_request`] against each (the `Content-Type` picks form or body mode).
    /// A body over the limit is refused without being hashed; so is a request whose `Content-Type`
    /// names a charset other than UTF-8 ([`Refusal::UnsupportedCharset`]), and one that carries a
    /// `Content-Type` or signature header twice ([`Refusal::DuplicateHeader`]). This is the synchronous check alone: the
    /// replay guard and the account lookup, which may wait on a store, run in
    /// [`verify_async`](Self::verify_async).
    ///
    /// ```
    /// use twilio_webhook::{Incoming, PublicUrl, RequestValidator, WebhookVerifier};
    ///
    /// let validator = RequestValidator::try_new("12345")?;
    /// // Behind a TLS-terminating proxy at 10.0.0.7 that sets X-Forwarded-Proto and -Host.
    /// let signature = validator.compute_signature("https://example.com/sms", [("Body", "Hi")]);
    /// let policy = PublicUrl::from_host().trust_proxy("10.0.0.7")?;
    /// let verifier = WebhookVerifier::new(validator).public_url(policy);
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("host", "app:3000".parse()?);
    /// headers.insert("x-forwarded-proto", "https".parse()?);
    /// headers.insert("x-forwarded-host", "example.com".parse()?);
    /// headers.insert("content-type", "application/x-www-form-urlencoded".parse()?);
    /// headers.insert("x-twilio-signature", signature.parse()?);
    /// let request = Incoming::new(&http::Method::POST, "/sms", &headers);
    /// let from_proxy = request.with_peer(Some("10.0.0.7".parse()?));
    /// assert!(verifier.verify(&from_proxy, b"Body=Hi").is_ok());
    /// let from_anyone = request.with_peer(Some("203.0.113.9".parse()?));
    /// assert!(verifier.verify(&from_anyone, b"Body=Hi").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        request: &Incoming<'_>,
        body: &[u8],
    ) -> Result<VerifiedRequest, WebhookRejection> {
        self.verify_with(&self.validator, request, body)
    }

    fn verify_with(
        &self,
        validator: &RequestValidator,
        request: &Incoming<'_>,
        body: &[u8],
    ) -> Result<VerifiedRequest, WebhookRejection> {
        if body.len() > self.body_limit {
            let limit = self.body_limit;
            return Err(WebhookRejection::new(
                Refusal::BodyTooLarge { limit },
                Vec::new(),
            ));
        }
        // The policy joins this target to each URL's origin and prefix: what precedes it is the prefix.
        let target_len = match crate::target::origin_form(request.target) {
            Ok(target) => target.len(),
            Err(e) => return Err(WebhookRejection::new(Refusal::BadTarget(e), Vec::new())),
        };
        // The request's shape (method, duplicate fields, charset, codings, what a form may hold),
        // before any URL or HMAC.
        shape::check(
            request.method,
            request.target,
            request.headers,
            body,
            self.repeats_allowed,
        )
        .map_err(|refusal| WebhookRejection::new(refusal, Vec::new()))?;
        let (headers, _) = SignatureHeaders::scan(request.headers);
        let content_type = request.headers.get(http::header::CONTENT_TYPE);
        if request.peer.is_none() && self.public_url.trusts_proxies() {
            self.explainer.no_peer();
        }
        let content_type = content_type.map(|v| v.to_str().unwrap_or("\u{FFFD}"));
        let Ok(urls) = self.public_url.try_urls(request) else {
            return Err(WebhookRejection::new(Refusal::BadHost, Vec::new()));
        };
        // Without a URL, a missing signature is still the first thing wrong (400, not 403).
        let mut reason = match headers.signature {
            Some(s) if !s.is_empty() => Rejection::NoPublicUrl,
            _ => Rejection::MissingSignature,
        };
        // Each URL is hashed with its port variant (fragment cuts are rare and bounded too).
        let cost = |url: &String| 2 * (url.len() + body.len());
        let mut spent = 0;
        let mut tried = urls.len();
        for (i, url) in urls.iter().enumerate() {
            spent += cost(url);
            if i > 0 && spent > MAX_HASHED_BYTES {
                tracing::debug!(target: "twilio_webhook", tried = i, of = urls.len(), "the request's public URLs would hash more than MAX_HASHED_BYTES: the rest are not tried");
                tried = i;
                break;
            }
            match validator.verify_request(url, content_type, body, headers) {
                Ok(verified) => {
                    let signature = headers.signature.unwrap_or_default();
                    let replay_key = ReplayKey::new(verified.secret().name(), signature);
                    return Ok(VerifiedRequest {
                        verified,
                        url: url.clone(),
                        replay_key,
                        method: request.method.clone(),
                        prefix_end: url.len().saturating_sub(target_len),
                    });
                }
                // Any other reason does not depend on which URL was tried, or says it matched.
                Err(Rejection::SignatureMismatch) => reason = Rejection::SignatureMismatch,
                Err(other) => {
                    reason = other;
                    break;
                }
            }
        }
        Err(explain::rejected(
            &self.explainer,
            &self.public_url,
            validator,
            request,
            body,
            reason,
            urls.into_iter().take(tried).collect(),
        ))
    }
}

#[cfg(test)]
mod tests;
