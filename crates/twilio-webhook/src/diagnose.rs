//! Why a request was rejected (feature `diagnose`): what Twilio signed, and the one setting to change.
//!
//! A genuine webhook is most often refused because the application checked another URL than the one
//! Twilio called: a tunnel's `https` and host, a TLS-terminating proxy's port, a trailing slash, a
//! stripped mount prefix, a re-encoded query. A diagnosis searches for the URL (and the body mode, the
//! algorithm, the secret) that makes the presented signature match, with the configured secrets, and
//! says which differences it took, each with its fix in the user's terms (`TWILIO_PUBLIC_URL=…`,
//! `PublicUrl::base`, `TWILIO_TRUSTED_PROXIES`, …).
//!
//! - **Never a verdict.** A diagnosis returns an explanation, never a [`Verified`](crate::Verified): a
//!   request it explains is still rejected. It tries far more than validation ever accepts (spec §4),
//!   including hosts announced by the request's own `Host` and forwarded headers *from any peer*: they
//!   are clues for the explanation, never for the verdict.
//! - **Bounded by bytes.** At most [`MAX_DIAGNOSIS_BYTES`] bytes hashed per diagnosis, all HMACs
//!   together, and at most [`MAX_HMACS`] HMACs, tried cheapest first: one difference before two, what
//!   the request announced before common mistakes. A body larger than [`MAX_DIAGNOSED_BODY`] is not
//!   decoded or hashed again: only the URL alone is tried, and the diagnosis says the body was too
//!   large to diagnose. The diagnoses of refused requests also share one budget per process,
//!   [`DIAGNOSIS_BYTES_PER_SECOND`]: past it, a rejection gets its terse line. On this project's
//!   2-core VM (`cargo bench -p twilio-webhook-bench --bench diagnose`, 2026-12-06): 59 µs to find a
//!   tunnel's scheme and port, 2.6 ms to find nothing in the 2,560 variants of a plain URL, 3.7 ms at
//!   the ceiling.
//!
//! ```
//! use twilio_webhook::{Payload, RequestValidator, Suspect};
//!
//! let validator = RequestValidator::new("12345");
//! // Twilio called the tunnel's https URL; the app, behind it, checked http.
//! let signature = validator.compute_signature("https://abc123.ngrok.app/sms", [("Body", "Hi")]);
//! let params = [("Body".to_string(), "Hi".to_string())];
//! let suspect = Suspect::new("http://abc123.ngrok.app/sms", Payload::Params(&params), &signature);
//! let diagnosis = validator.diagnose(&suspect);
//! assert_eq!(diagnosis.signed_url(), Some("https://abc123.ngrok.app/sms"));
//! assert_eq!(diagnosis.causes()[0].code().as_str(), "scheme");
//! assert!(diagnosis.causes()[0].fix().contains("TWILIO_PUBLIC_URL=https://abc123.ngrok.app"));
//! ```

use core::fmt;
use std::net::IpAddr;

use crate::signature::Algorithm;
use crate::verdict::{SecretId, SecretKind};

pub(crate) mod cost;
mod explain;
mod fix;
mod hints;
mod modes;
mod search;
mod split;
mod variants;

pub use cost::{DIAGNOSIS_BYTES_PER_SECOND, MAX_DIAGNOSED_BODY, MAX_DIAGNOSIS_BYTES};
pub use explain::Explanation;

/// The most HMACs one diagnosis computes. Past it, the search stops and says so. The real bound on a
/// diagnosis's cost is [`MAX_DIAGNOSIS_BYTES`]: this one bounds the fixed cost of each HMAC.
pub const MAX_HMACS: usize = 4096;

/// What a rejected request carried after its URL.
#[derive(Debug, Clone, Copy)]
pub enum Payload<'a> {
    /// Decoded form parameters.
    Params(&'a [(String, String)]),
    /// A raw `application/x-www-form-urlencoded` body.
    FormBody(&'a [u8]),
    /// Any other body (JSON): the signature covers the URL alone.
    Body(&'a [u8]),
}

impl<'a> Payload<'a> {
    /// A raw body, read the way the validator reads it (spec §5): a form when it is empty or sent as
    /// `application/x-www-form-urlencoded`, otherwise a body the signature does not cover.
    pub fn raw(content_type: Option<&str>, body: &'a [u8]) -> Self {
        if crate::headers::is_form_body(content_type, body) {
            Payload::FormBody(body)
        } else {
            Payload::Body(body)
        }
    }
}

/// Clues about the URL Twilio called, from the request and the configuration. The request's own are
/// taken from **any** peer: a diagnosis only explains, it never accepts.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    pub(crate) schemes: Vec<String>,
    pub(crate) hosts: Vec<String>,
    pub(crate) host_ports: Vec<String>,
    pub(crate) ports: Vec<String>,
    pub(crate) prefixes: Vec<String>,
    pub(crate) peer: Option<IpAddr>,
    pub(crate) forwarded: bool,
    pub(crate) trusted: bool,
}

/// A rejected request, as a diagnosis needs it.
#[derive(Debug, Clone)]
pub struct Suspect<'a> {
    url: &'a str,
    payload: Payload<'a>,
    signature: &'a str,
    settings: Option<&'a str>,
    hints: Hints,
}

impl<'a> Suspect<'a> {
    /// The URL that was checked, what followed it, and the `X-Twilio-Signature` presented.
    pub fn new(url: &'a str, payload: Payload<'a>, signature: &'a str) -> Self {
        Suspect {
            url,
            payload,
            signature,
            settings: None,
            hints: Hints::default(),
        }
    }

    /// The `X-Twilio-Webhooks-Signature-Settings` header, if any.
    #[must_use]
    pub fn settings(mut self, settings: Option<&'a str>) -> Self {
        self.settings = settings;
        self
    }

    /// Clues from the request and the configuration.
    #[must_use]
    pub fn hints(mut self, hints: Hints) -> Self {
        self.hints = hints;
        self
    }
}

/// What differs between the URL (or the request) checked and what Twilio signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CauseCode {
    /// `http` for `https`, `ws` for `wss` (TLS terminated in front), or a WebSocket scheme.
    Scheme,
    /// Another host (a tunnel, a proxy, a load balancer rewrote `Host`).
    Host,
    /// A port added, removed or changed (a port mapping, a proxy).
    Port,
    /// The path with or without its trailing slash.
    TrailingSlash,
    /// A mount prefix added or stripped (an ingress, a router, a proxy).
    PathPrefix,
    /// The query re-encoded between Twilio and the application.
    QueryEncoding,
    /// The fragment, which Twilio never signs (spec §4.4; validation already cuts it).
    Fragment,
    /// Form parameters where Twilio signed the URL alone, or the reverse.
    BodyMode,
    /// Another secret or algorithm than the request's settings select, or none of the configured
    /// secrets.
    Secret,
}

impl CauseCode {
    /// The code as a stable `snake_case` name (`scheme`, `path_prefix`, …), as in logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseCode::Scheme => "scheme",
            CauseCode::Host => "host",
            CauseCode::Port => "port",
            CauseCode::TrailingSlash => "trailing_slash",
            CauseCode::PathPrefix => "path_prefix",
            CauseCode::QueryEncoding => "query_encoding",
            CauseCode::Fragment => "fragment",
            CauseCode::BodyMode => "body_mode",
            CauseCode::Secret => "secret",
        }
    }
}

impl fmt::Display for CauseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_str().replace('_', " "))
    }
}

/// One difference, the URL that really matched (none when nothing did) and the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    code: CauseCode,
    signed_url: Option<String>,
    fix: String,
    /// The fix alone, short, for a log line (empty when there is nothing to do).
    action: String,
}

impl Cause {
    /// What differs.
    pub fn code(&self) -> CauseCode {
        self.code
    }

    /// The URL Twilio signed, when it was found.
    pub fn signed_url(&self) -> Option<&str> {
        self.signed_url.as_deref()
    }

    /// What to change, in the terms of the configuration (an environment variable, a builder call).
    pub fn fix(&self) -> &str {
        &self.fix
    }
}

/// What the signature was found to cover.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    signed_url: String,
    string_to_sign: String,
    secret: SecretId,
    algorithm: Algorithm,
}

/// The answer: what Twilio signed and why it differs, or that nothing matched and the likely reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    found: Option<Found>,
    causes: Vec<Cause>,
    hmacs: usize,
    bytes: usize,
    exhausted: bool,
    /// The length of a payload too large to diagnose ([`MAX_DIAGNOSED_BODY`]), when one was left out.
    skipped: Option<usize>,
}

impl Diagnosis {
    /// The URL Twilio signed, when one matched.
    pub fn signed_url(&self) -> Option<&str> {
        self.found.as_ref().map(|f| f.signed_url.as_str())
    }

    /// The exact string that was signed (it holds no secret), when one matched.
    pub fn string_to_sign(&self) -> Option<&str> {
        self.found.as_ref().map(|f| f.string_to_sign.as_str())
    }

    /// The secret that made the signature, when one matched.
    pub fn secret(&self) -> Option<&SecretId> {
        self.found.as_ref().map(|f| &f.secret)
    }

    /// The algorithm that made the signature, when one matched.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.found.as_ref().map(|f| f.algorithm)
    }

    /// Each difference and its fix; when nothing matched, the likely reasons (without a signed URL).
    pub fn causes(&self) -> &[Cause] {
        &self.causes
    }

    /// How many HMACs the search computed (at most [`MAX_HMACS`]).
    pub fn hmacs(&self) -> usize {
        self.hmacs
    }

    /// How many bytes the search hashed, all HMACs together (at most [`MAX_DIAGNOSIS_BYTES`]).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether the search stopped at one of its bounds before trying everything: [`MAX_HMACS`], or
    /// [`MAX_DIAGNOSIS_BYTES`] (an HMAC that did not fit was left out).
    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// Whether the body (or the decoded parameters) was too large to diagnose
    /// ([`MAX_DIAGNOSED_BODY`]): only the URL alone was tried.
    pub fn body_too_large(&self) -> bool {
        self.skipped.is_some()
    }

    /// One sentence for a log line, given the URL that was checked: what Twilio signed and what to
    /// change, or that nothing matched and what to look at.
    ///
    /// ```
    /// # use twilio_webhook::{Payload, RequestValidator, Suspect};
    /// # let validator = RequestValidator::new("12345");
    /// # let signature = validator.compute_signature("https://abc123.ngrok.app/sms", [("Body", "Hi")]);
    /// # let params = [("Body".to_string(), "Hi".to_string())];
    /// let checked = "http://abc123.ngrok.app/sms";
    /// let diagnosis = validator.diagnose(&Suspect::new(checked, Payload::Params(&params), &signature));
    /// assert_eq!(
    ///     diagnosis.summary(checked),
    ///     "Twilio signed https://abc123.ngrok.app/sms; this server checked http://abc123.ngrok.app/sms \
    ///      (scheme). Fix: set TWILIO_PUBLIC_URL=https://abc123.ngrok.app (PublicUrl::base)"
    /// );
    /// ```
    pub fn summary(&self, checked: &str) -> String {
        let mut actions: Vec<&str> = Vec::new();
        for cause in &self.causes {
            if !cause.action.is_empty() && !actions.contains(&cause.action.as_str()) {
                actions.push(&cause.action);
            }
        }
        let codes: Vec<&str> = self.causes.iter().map(|c| c.code.as_str()).collect();
        match &self.found {
            Some(found) => {
                let mut line = format!(
                    "Twilio signed {}; this server checked {checked} ({})",
                    found.signed_url,
                    codes.join(", ")
                );
                if !actions.is_empty() {
                    line.push_str(". Fix: ");
                    line.push_str(&actions.join("; "));
                }
                line
            }
            None => {
                let likely = actions.join("; ");
                let mut chars = likely.chars();
                let likely = chars
                    .next()
                    .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                    .unwrap_or_default();
                let skipped = self
                    .skipped
                    .map(|len| {
                        format!(", of the URL alone: diagnosis skipped the body, {len} bytes, too large to diagnose")
                    })
                    .unwrap_or_default();
                format!(
                    "this server checked {checked}; no variant of the URL, body mode, algorithm or \
                     configured secret matches the signature ({} HMACs tried{skipped}). {likely}",
                    self.hmacs
                )
            }
        }
    }
}

/// The name a configured secret goes by in a fix.
fn describe(id: &SecretId) -> String {
    match id.kind() {
        SecretKind::SharedKey => format!("SharedKey {}", id.name()),
        _ => format!("the Auth Token {:?}", id.name()),
    }
}

#[cfg(test)]
mod tests;
