//! The whole HTTP check of a server (the Fetch, Express and Hono adapters): the path rules, the body
//! plan, the public-URL policy and the verdict with its status, for a request given as strings.

use std::net::IpAddr;
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use twilio_webhook::{
    DEFAULT_BODY_LIMIT, Incoming, PathDecision, PathRules, PublicUrl, Refusal, Rejection,
    WebhookRejection, WebhookVerifier,
};
use wasm_bindgen::prelude::*;

use crate::{Validator, Verdict, config_error, packed};

/// The headers as the core reads them, from packed names and values (see [`crate::packed`]). A header
/// that is not valid HTTP is left out: it can then be neither a signature nor a host nor a trusted
/// proxy's word, so leaving it out never lets a request in.
pub(crate) fn header_map(bytes: &[u8], lengths: &[u32]) -> Result<HeaderMap, JsError> {
    let pairs = packed::pairs(bytes, lengths)
        .ok_or_else(|| JsError::new("packed headers do not add up"))?;
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(name, value);
        }
    }
    Ok(map)
}

/// A request as the core reads it: an unparseable peer is unknown.
struct Request {
    method: Method,
    headers: HeaderMap,
    peer: Option<IpAddr>,
}

/// The answer to a method that is not an HTTP method token (`400 bad_method`): the core cannot decide
/// on a request whose method it cannot read, and reading it as another method would let a rule that
/// depends on the method (a body only on `POST`, a handshake only on `GET`) decide on the wrong one.
pub(crate) fn bad_method() -> Verdict {
    Verdict::of_http(Err(WebhookRejection::new(Refusal::BadMethod, Vec::new())))
}

impl Request {
    /// The request, or the refusal of a method that is not one.
    fn new(
        method: &str,
        headers: &[u8],
        lengths: &[u32],
        peer: Option<String>,
    ) -> Result<Result<Self, Verdict>, JsError> {
        let Ok(method) = Method::from_bytes(method.as_bytes()) else {
            return Ok(Err(bad_method()));
        };
        Ok(Ok(Request {
            method,
            headers: header_map(headers, lengths)?,
            peer: peer.and_then(|p| p.parse().ok()),
        }))
    }

    fn incoming<'a>(
        &'a self,
        target: &'a str,
        scheme: Option<&'a str>,
        authority: Option<&'a str>,
    ) -> Incoming<'a> {
        Incoming {
            method: &self.method,
            target,
            headers: &self.headers,
            peer: self.peer,
            scheme,
            authority,
        }
    }
}

#[wasm_bindgen]
extern "C" {
    /// `Date.now()`: the host's clock, in milliseconds.
    #[wasm_bindgen(js_namespace = Date, js_name = now)]
    fn date_now() -> f64;
}

/// The diagnosis budget's clock: std has none in WebAssembly (`Instant::now` traps there), so the
/// host's. Wall-clock time may go back; the budget then grants nothing extra.
fn clock() -> Duration {
    // `as` saturates (and NaN is 0): a clock that cannot be read stands still, granting nothing.
    Duration::from_millis(date_now() as u64)
}

/// A clock that stands still: a budget on it grants its first diagnosis and none after.
fn frozen() -> Duration {
    Duration::ZERO
}

/// The one budget of diagnoses of the whole module instance (a JavaScript process or isolate), shared
/// by every [`Verifier`] whatever its configuration: a token bucket refilled at the largest rate any
/// verifier was built with, on the host's clock.
mod budget {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// The largest `diagnoses_per_second` of any verifier built so far.
    static RATE: AtomicU32 = AtomicU32::new(0);
    /// The time of the last take, in milliseconds, and the tokens left then.
    static STATE: Mutex<Option<(f64, f64)>> = Mutex::new(None);

    /// A verifier with this rate exists: the budget grants at least that many a second.
    pub(super) fn raise(rate: u32) {
        RATE.fetch_max(rate, Ordering::Relaxed);
    }

    /// Takes one diagnosis at `now` (milliseconds), if one is left. A clock that goes back grants
    /// nothing extra.
    pub(super) fn take(now: f64) -> bool {
        let rate = f64::from(RATE.load(Ordering::Relaxed));
        let mut state = STATE.lock().unwrap_or_else(|p| p.into_inner());
        let (last, tokens) = state.unwrap_or((now, rate));
        let elapsed = if now > last {
            (now - last) / 1000.0
        } else {
            0.0
        };
        let refilled = (tokens + elapsed * rate).min(rate);
        let granted = refilled >= 1.0;
        *state = Some((
            if now > last { now } else { last },
            if granted { refilled - 1.0 } else { refilled },
        ));
        granted
    }
}

/// What the path rules decide for a request: verify it, pass it, or answer the refusal.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Clone)]
pub struct Decision {
    /// Whether the request must be verified (else it passes unverified).
    pub verify: bool,
    /// The answer to a target the rules cannot decide (400), if any.
    pub refusal: Option<Verdict>,
}

/// A validator, a public-URL policy, a body limit and the paths it guards.
///
/// Diagnoses come out of the module's one budget (`budget`), not one per verifier: `inner` never
/// diagnoses past its first refusal (its own budget is on a clock that stands still), and a refused
/// signature the process budget grants a diagnosis is verified again by `diagnosing`, whose budget
/// never runs out.
#[wasm_bindgen]
pub struct Verifier {
    inner: WebhookVerifier,
    diagnosing: Option<WebhookVerifier>,
    paths: PathRules,
}

#[wasm_bindgen]
impl Verifier {
    /// `public_urls`: the base URLs Twilio calls, tried in order (`Host` and `scheme` when empty);
    /// `trusted_proxies`: addresses or CIDR ranges whose forwarded headers count; `body_limit` (0 for
    /// the default 1 MiB); `paths`: the path prefixes to verify (every request when absent);
    /// `diagnoses_per_second`: the budget of explained refusals (0 is off). Throws on a mistake.
    #[wasm_bindgen(constructor)]
    pub fn new(
        validator: &Validator,
        public_urls: Vec<String>,
        trusted_proxies: Vec<String>,
        body_limit: usize,
        paths: Option<Vec<String>>,
        diagnoses_per_second: u32,
    ) -> Result<Verifier, JsError> {
        let mut policy = PublicUrl::from_host();
        for base in &public_urls {
            policy = policy.also_base(base).map_err(config_error)?;
        }
        for proxy in &trusted_proxies {
            policy = policy.trust_proxy(proxy).map_err(config_error)?;
        }
        let limit = if body_limit == 0 {
            DEFAULT_BODY_LIMIT
        } else {
            body_limit
        };
        let paths = match paths {
            Some(prefixes) => {
                PathRules::only(&prefixes).map_err(|e| JsError::new(&format!("paths: {e}")))?
            }
            None => PathRules::new(),
        };
        let verifier = WebhookVerifier::new(validator.inner.clone())
            .public_url(policy)
            .body_limit(limit);
        let diagnosing = (diagnoses_per_second > 0).then(|| {
            budget::raise(diagnoses_per_second);
            verifier.clone().clock(clock).diagnoses_per_second(u32::MAX)
        });
        let inner = verifier
            .clock(frozen)
            .diagnoses_per_second(diagnoses_per_second.min(1));
        Ok(Verifier {
            inner,
            diagnosing,
            paths,
        })
    }

    /// The body limit in bytes.
    #[wasm_bindgen(getter, js_name = bodyLimit)]
    pub fn body_limit(&self) -> usize {
        self.inner.limit()
    }

    /// What the path rules decide for a request to `target` (as received).
    pub fn decide(&self, target: &str) -> Decision {
        match self.paths.decide(target) {
            Ok(decision) => Decision {
                verify: decision == PathDecision::Verify,
                refusal: None,
            },
            Err(e) => Decision {
                verify: true,
                refusal: Some(Verdict::of_http(Err(WebhookRejection::new(
                    Refusal::BadTarget(e),
                    Vec::new(),
                )))),
            },
        }
    }

    /// Before the body is read: the refusal of a request whose declared length is over the limit, or
    /// that asks for a WebSocket without being a handshake; `undefined` to go on and read it.
    #[wasm_bindgen(js_name = checkHead)]
    pub fn check_head(
        &self,
        method: &str,
        target: &str,
        headers: &[u8],
        lengths: &[u32],
    ) -> Result<Option<Verdict>, JsError> {
        let request = match Request::new(method, headers, lengths, None)? {
            Ok(request) => request,
            Err(refusal) => return Ok(Some(refusal)),
        };
        let plan = self
            .inner
            .reads_body(&request.incoming(target, None, None))
            .and_then(|_| self.inner.check_declared_length(&request.headers));
        Ok(plan.err().map(|rejection| Verdict::of_http(Err(rejection))))
    }

    /// The answer to a body that grew past the limit while it was read (413).
    #[wasm_bindgen(js_name = tooLarge)]
    pub fn too_large(&self) -> Verdict {
        let limit = self.inner.limit();
        Verdict::of_http(Err(WebhookRejection::new(
            Refusal::BodyTooLarge { limit },
            Vec::new(),
        )))
    }

    /// Checks a request: its method, its target as received, its headers (packed names and values), its
    /// raw body, its peer address and the connection's scheme and authority, if known.
    #[allow(clippy::too_many_arguments)]
    pub fn check(
        &self,
        method: &str,
        target: &str,
        headers: &[u8],
        lengths: &[u32],
        body: &[u8],
        peer: Option<String>,
        scheme: Option<String>,
        authority: Option<String>,
    ) -> Result<Verdict, JsError> {
        let request = match Request::new(method, headers, lengths, peer)? {
            Ok(request) => request,
            Err(refusal) => return Ok(refusal),
        };
        let incoming = request.incoming(target, scheme.as_deref(), authority.as_deref());
        let verdict = self.inner.verify_read_body(&incoming, body);
        // A refused signature not yet diagnosed, when the process's budget allows one: verified again,
        // diagnosed. (The verdict is the same: the core is deterministic and keeps no state here.)
        let undiagnosed = matches!(&verdict, Err(r) if r.rejection() == Some(Rejection::SignatureMismatch) && r.cause().is_none());
        let verdict = match &self.diagnosing {
            Some(diagnosing) if undiagnosed && budget::take(date_now()) => {
                diagnosing.verify_read_body(&incoming, body)
            }
            _ => verdict,
        };
        Ok(Verdict::of_http_headers(verdict, &request.headers))
    }
}
