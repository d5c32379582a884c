//! How a refused request explains itself in the server's own log: one `WARN` line, with what Twilio
//! signed and the one setting to change (feature `diagnose`; without it, the reason and the URLs
//! tried), under a rate budget so that a flood of forged requests costs no more than the terse line.
//! The explanation goes to the log (and [`WebhookRejection::explanation`]), never into the response.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::{Refusal, WebhookRejection};
use crate::public_url::{Incoming, PublicUrl};
use crate::validator::RequestValidator;
use crate::verdict::Rejection;

/// The default budget: at most 10 diagnoses a second.
pub const DEFAULT_DIAGNOSES_PER_SECOND: u32 = 10;

/// A clock for the budget: the time since some fixed origin, never going back.
pub type Clock = fn() -> Duration;

/// std's monotonic clock, from the first time it is read. (WebAssembly in a JavaScript host has
/// none: the bindings give theirs, see [`super::WebhookVerifier::clock`].)
pub(crate) fn monotonic() -> Duration {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed()
}

/// A token bucket: `rate` tokens a second, in bursts of at most `rate`, at the times its caller reads
/// from its clock. A clock that goes back refills nothing.
#[derive(Debug)]
#[cfg_attr(not(feature = "diagnose"), allow(dead_code))]
pub(crate) struct Bucket {
    rate: u32,
    state: Mutex<Option<(Duration, f64)>>,
}

#[cfg_attr(not(feature = "diagnose"), allow(dead_code))]
impl Bucket {
    pub(crate) const fn new(rate: u32) -> Self {
        Bucket {
            rate,
            state: Mutex::new(None),
        }
    }

    /// Takes `n` tokens at `now` if that many are left: all of them, or none.
    pub(crate) fn take(&self, n: u32, now: Duration) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let rate = f64::from(self.rate);
        let (last, tokens) = state.unwrap_or((now, rate));
        let refilled = (tokens + now.saturating_sub(last).as_secs_f64() * rate).min(rate);
        let (left, granted) = if refilled >= f64::from(n) {
            (refilled - f64::from(n), true)
        } else {
            (refilled, false)
        };
        *state = Some((now.max(last), left));
        granted
    }

    /// Gives back `n` tokens taken and not spent (never past a full bucket).
    pub(crate) fn give_back(&self, n: u32) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, tokens)) = state.as_mut() {
            *tokens = (*tokens + f64::from(n)).min(f64::from(self.rate));
        }
    }
}

/// A verifier's budget of diagnoses: at most `rate` a second, in bursts of at most `rate`, on its
/// clock. Clones of a verifier share it. The clock is first read at the first diagnosis, never when
/// the verifier is built.
#[derive(Debug)]
pub(crate) struct Budget {
    clock: Clock,
    bucket: Bucket,
}

impl Budget {
    pub(crate) fn new(rate: u32, clock: Clock) -> Option<Arc<Budget>> {
        (rate > 0).then(|| {
            Arc::new(Budget {
                clock,
                bucket: Bucket::new(rate),
            })
        })
    }

    /// The rate it grants.
    pub(crate) fn rate(&self) -> u32 {
        self.bucket.rate
    }

    /// Takes one diagnosis from the budget, if one is left.
    #[cfg_attr(not(feature = "diagnose"), allow(dead_code))]
    pub(crate) fn take(&self) -> bool {
        self.bucket.take(1, (self.clock)())
    }
}

/// What the process's bytes charge a diagnosis for each HMAC on top of the bytes it hashed: the fixed
/// cost of one HMAC and of building its URL (about 0.2 µs on this project's VM, 2026-12-07), in bytes
/// hashed in the same time. Without it, a search over short URLs would cost the bucket almost nothing.
#[cfg(feature = "diagnose")]
const HMAC_EQUIVALENT_BYTES: usize = 256;

/// The bytes the diagnoses of refused requests may hash, shared by every verifier of the process
/// ([`DIAGNOSIS_BYTES_PER_SECOND`](crate::diagnose::DIAGNOSIS_BYTES_PER_SECOND)).
#[cfg(feature = "diagnose")]
pub(crate) static PROCESS_BYTES: Bucket = Bucket::new(crate::diagnose::DIAGNOSIS_BYTES_PER_SECOND);

/// What a verifier keeps for explaining: its budget, and whether it said that no peer address comes.
#[derive(Debug, Clone)]
pub(crate) struct Explainer {
    pub(crate) clock: Clock,
    pub(crate) budget: Option<Arc<Budget>>,
    /// The bytes diagnoses may hash: the process's, shared by every verifier.
    #[cfg(feature = "diagnose")]
    pub(crate) bytes: &'static Bucket,
    warned_no_peer: Arc<AtomicBool>,
}

impl Default for Explainer {
    fn default() -> Self {
        Explainer {
            clock: monotonic,
            budget: Budget::new(DEFAULT_DIAGNOSES_PER_SECOND, monotonic),
            #[cfg(feature = "diagnose")]
            bytes: &PROCESS_BYTES,
            warned_no_peer: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Explainer {
    /// Says once, loudly, that trusted proxies are configured but the server gives no peer address,
    /// so their forwarded headers are ignored.
    pub(crate) fn no_peer(&self) {
        if !self.warned_no_peer.swap(true, Ordering::Relaxed) {
            tracing::error!(
                target: "twilio_webhook",
                "trusted proxies are configured, but this server gives no peer address: every Forwarded / \
                 X-Forwarded-* header is ignored. In axum, serve with \
                 into_make_service_with_connect_info::<SocketAddr>()"
            );
        }
    }
}

/// The path of a request target, for the log line (never its query).
fn path(target: &str) -> &str {
    target.split('?').next().unwrap_or(target)
}

/// What a reason that needs no search means, in one sentence.
fn meaning(reason: Rejection) -> &'static str {
    match reason {
        Rejection::MissingSignature => {
            "no X-Twilio-Signature: not a request from Twilio, or something in front drops the header"
        }
        Rejection::MalformedSignature => {
            "the X-Twilio-Signature is not a base64 HMAC of the right length for its algorithm"
        }
        Rejection::BodyHashMismatch => {
            "the URL's signature is valid, but the body is not the one its bodySHA256 names: something \
             between Twilio and the app changed or re-serialised it (verify before any body parser)"
        }
        Rejection::BodyHashMissing => {
            "a body that is not a form came without bodySHA256 in its URL: not a Twilio JSON webhook, or \
             the query was stripped"
        }
        Rejection::BodyHashMalformed => {
            "bodySHA256 is not once in the query as 64 lowercase hex digits"
        }
        Rejection::BodyNotHashed => {
            "the URL carries bodySHA256 but no raw body was checked against it"
        }
        Rejection::MalformedBody => {
            "the form body does not decode to UTF-8, or holds a raw CR, LF or NUL (Twilio encodes them)"
        }
        Rejection::NoSecretConfigured => "no secret is configured for this kind of request",
        Rejection::UnknownAlgorithm => {
            "X-Twilio-Webhooks-Signature-Settings names an algorithm this library does not know"
        }
        Rejection::UnknownKeyId => {
            "X-Twilio-Webhooks-Signature-Settings names a SharedKey id that is not configured \
             (RequestValidatorBuilder::shared_key)"
        }
        Rejection::NoPublicUrl => {
            "no Host header and no public URL: set TWILIO_PUBLIC_URL to the URL Twilio calls"
        }
        _ => "the signature does not match",
    }
}

/// A rejection of the signature check, explained and logged once.
pub(crate) fn rejected(
    explainer: &Explainer,
    policy: &PublicUrl,
    validator: &RequestValidator,
    request: &Incoming<'_>,
    body: &[u8],
    reason: Rejection,
    urls: Vec<String>,
) -> WebhookRejection {
    let head = format!(
        "rejected {} {} ({})",
        request.method,
        path(request.target),
        reason.as_str()
    );
    let mut rejection = WebhookRejection::quiet(Refusal::Rejected(reason), urls);
    let checked = rejection.urls_tried().first().cloned();
    let explanation = match (reason, checked) {
        (Rejection::SignatureMismatch, Some(checked)) => explain(
            explainer,
            policy,
            validator,
            request,
            body,
            &checked,
            &mut rejection,
        ),
        _ => meaning(reason).to_string(),
    };
    tracing::warn!(
        target: "twilio_webhook",
        reason = reason.as_str(),
        cause = rejection.cause().unwrap_or(""),
        urls_tried = ?super::rejection::Logged(rejection.urls_tried()),
        "{}: {}",
        super::rejection::clipped(&head),
        super::rejection::clipped(&explanation)
    );
    rejection.explanation = Some(format!("{head}: {explanation}"));
    rejection
}

#[cfg(feature = "diagnose")]
fn explain(
    explainer: &Explainer,
    policy: &PublicUrl,
    validator: &RequestValidator,
    request: &Incoming<'_>,
    body: &[u8],
    checked: &str,
    rejection: &mut WebhookRejection,
) -> String {
    use crate::diagnose::{Hints, MAX_DIAGNOSIS_BYTES, MAX_HMACS, Payload, Suspect};
    let budget = explainer.budget.as_ref();
    if !budget.is_some_and(|b| b.take()) {
        let why = if budget.is_none() {
            "off"
        } else {
            "over its budget"
        };
        return format!("this server checked {checked} (diagnosis {why})");
    }
    // A diagnosis reserves all it may cost from the process's bytes, and gives back what it left.
    let charge = |bytes: usize, hmacs: usize| {
        let total = bytes.saturating_add(hmacs.saturating_mul(HMAC_EQUIVALENT_BYTES));
        u32::try_from(total).unwrap_or(u32::MAX)
    };
    let reserved = charge(MAX_DIAGNOSIS_BYTES, MAX_HMACS);
    if !explainer.bytes.take(reserved, (explainer.clock)()) {
        return format!(
            "this server checked {checked} (diagnosis over the process's budget of bytes)"
        );
    }
    let headers = crate::headers::SignatureHeaders::from_pairs(request.headers);
    let content_type = request
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let payload = Payload::raw(content_type, body);
    let hints =
        Hints::from_headers(request.headers).peer(request.peer, policy.is_trusted(request.peer));
    let hints = policy.prefixes().fold(hints, |h, p| h.prefix(p));
    let suspect = Suspect::new(checked, payload, headers.signature.unwrap_or_default())
        .settings(headers.settings)
        .hints(hints);
    let diagnosis = validator.diagnose(&suspect);
    let spent = charge(diagnosis.bytes(), diagnosis.hmacs());
    explainer.bytes.give_back(reserved.saturating_sub(spent));
    // What a metric counts: the first difference found, or that nothing explains the signature.
    rejection.cause = Some(match (diagnosis.signed_url(), diagnosis.causes().first()) {
        (Some(_), Some(cause)) => cause.code().as_str(),
        _ => "unexplained",
    });
    diagnosis.summary(checked)
}

#[cfg(not(feature = "diagnose"))]
fn explain(
    _: &Explainer,
    _: &PublicUrl,
    _: &RequestValidator,
    _: &Incoming<'_>,
    _: &[u8],
    checked: &str,
    _: &mut WebhookRejection,
) -> String {
    format!("this server checked {checked} (no diagnosis: feature `diagnose` is off)")
}

#[cfg(all(test, feature = "diagnose"))]
mod cost_tests;

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::AtomicU64;

    /// A clock the test moves by hand, in milliseconds.
    static NOW_MS: AtomicU64 = AtomicU64::new(100_000);

    fn test_clock() -> Duration {
        Duration::from_millis(NOW_MS.load(Ordering::SeqCst))
    }

    #[test]
    fn the_budget_grants_its_rate_then_refills_and_a_clock_going_back_grants_nothing() {
        let budget = Budget::new(3, test_clock).expect("a budget");
        assert_eq!((0..5).filter(|_| budget.take()).count(), 3);
        NOW_MS.fetch_add(300, Ordering::SeqCst);
        assert!(!budget.take(), "0.3 s refills 0.9 of a diagnosis");
        NOW_MS.fetch_add(40, Ordering::SeqCst);
        assert!(budget.take(), "0.34 s refills one");
        NOW_MS.fetch_sub(10_000, Ordering::SeqCst);
        assert!(!budget.take(), "a clock that goes back refills nothing");
        NOW_MS.fetch_add(10_000, Ordering::SeqCst);
        assert!(!budget.take(), "nor does coming back to where it was");
        assert!(Budget::new(0, test_clock).is_none(), "0 is off");
    }

    #[test]
    fn a_bucket_grants_all_or_nothing_and_takes_back_at_most_a_full_bucket() {
        let bucket = Bucket::new(100);
        let at = Duration::from_secs(7);
        assert!(bucket.take(60, at));
        assert!(!bucket.take(60, at), "40 left");
        bucket.give_back(10);
        assert!(bucket.take(50, at), "50 left after giving 10 back");
        bucket.give_back(1_000);
        assert!(bucket.take(100, at), "given back up to a full bucket");
        assert!(!bucket.take(1, at));
        assert!(
            bucket.take(50, at + Duration::from_millis(500)),
            "half a second refills 50"
        );
    }

    #[test]
    fn the_default_clock_is_monotonic() {
        let (a, b) = (monotonic(), monotonic());
        assert!(b >= a);
    }

    #[test]
    fn paths_lose_their_query() {
        assert_eq!(path("/sms?token=x"), "/sms");
        assert_eq!(path("/sms"), "/sms");
    }
}
