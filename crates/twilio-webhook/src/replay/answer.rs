//! Duplicates answered with the first answer (an opt-in [`Duplicates::Answer`] mode): what is stored
//! with a key once its request was delivered, and how a store's value is read back.
//!
//! Twilio retries a request with the same signature (connection overrides such as `#rc=3&rp=all` retry
//! after a read time-out, even when the app had answered). In the default mode such a retry is a
//! replay (`409`). In answer mode it gets the first delivery's response again, without reaching the
//! app: the trade-off is that anyone holding a captured request can read the app's answer to it.
//!
//! A kept answer is bound to the method of the request it answered, and only a duplicate with that
//! method gets it: Twilio's retry repeats its method, and a URL-only signature (every method but
//! `POST`) is the same for a `HEAD` and a `GET` of one URL. The key stays the signature alone, so
//! that a signed request is delivered once whatever its method (a captured `GET` replayed as `HEAD`
//! runs the `GET` handler in most frameworks); a duplicate with another method is refused (`409`).
//! An answer to `HEAD`, which has no body to replay, and an interim (`1xx`) one are never kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{LeaseToken, ReplayGuard, ReplayKey, ReplayRefusal, Seen};

/// How a replay guard treats a second delivery, inside the window, of a request it let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Duplicates {
    /// Refuse it: `409 replayed` (the default). Right against an attacker; a retry by Twilio of a
    /// request the app already answered gets the `409` too.
    #[default]
    Reject,
    /// Answer it with the first delivery's response (status, headers, body up to `max_body` bytes),
    /// stored with the key for the window, without reaching the app. A duplicate that arrives while
    /// the first is still in flight waits for its answer, up to `wait`; a duplicate of a delivery that
    /// failed (`502`, `503`, `504`: the key was released) is delivered, and so is one that finds the
    /// first delivery's lease lapsed (its process died half-way: see
    /// [`ReplayGuard::lease`](super::ReplayGuard::lease)). A response whose body is over
    /// `max_body`, or of unknown length, is not kept: its duplicates are refused as in `Reject`; so
    /// is an answer to `HEAD`, and a duplicate sent with another method than the first delivery's is
    /// refused, never answered ([`StoredAnswer::answers`]).
    ///
    /// Every delivery must then be finished (`WebhookVerifier::delivered` or `delivered_answer`):
    /// one left unfinished lets its lease lapse, and its duplicates are delivered again. The
    /// adapters renew a delivery's lease while the app works on it
    /// ([`Delivery::renewing`](crate::Delivery::renewing)); a host that calls `verify_async` and
    /// [`ReplayGuard::delivered`] itself renews none, and its deliveries must end within the lease.
    Answer {
        /// The largest response body kept, in bytes.
        max_body: usize,
        /// How long a duplicate waits for the answer to a request still in flight.
        wait: Duration,
    },
}

impl Duplicates {
    /// The largest body kept by default in answer mode: 64 KiB (TwiML is a few hundred bytes).
    pub const DEFAULT_MAX_BODY: usize = 64 * 1024;
    /// How long a duplicate waits by default for a first delivery in flight: 15 s (Twilio's default
    /// webhook time-out).
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(15);

    /// Answer mode with the default body limit and wait.
    pub fn answer() -> Self {
        Duplicates::Answer {
            max_body: Self::DEFAULT_MAX_BODY,
            wait: Self::DEFAULT_WAIT,
        }
    }

    /// `reject` or `answer`, as a command line or an environment variable says it.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "reject" => Ok(Duplicates::Reject),
            "answer" => Ok(Duplicates::answer()),
            _ => Err("duplicates must be reject or answer".to_string()),
        }
    }
}

/// The response a first delivery got, as kept for its duplicates: the status, the headers that
/// describe the content (not the hop-by-hop ones, `Content-Length` or `Date`), the body, and, once
/// kept, the method of the request it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// The method of the request it answered: set when the answer is kept
    /// ([`ReplayGuard::delivered`]), `None` before.
    method: Option<http::Method>,
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
}

/// Headers not kept: the connection's own, and those a server writes for each response.
const NOT_KEPT: [&str; 11] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "date",
    "set-cookie",
];

/// The first bytes of a stored answer, and of a "delivered, answer not kept" mark: never the start of
/// a store's own "in flight" value (a hex token), which never starts with [`MARK`]. Version 2 holds
/// the method: a version 1 answer (any value starting with `MARK` that is not a version 2 answer) is
/// read as not kept.
const ANSWER_MAGIC: &[u8] = b"\0twa2";
const NOT_KEPT_MAGIC: &[u8] = b"\0twn1";
const MARK: u8 = 0;

/// Whether an answer with `status` has no content whatever its headers say (RFC 9110 §6.4.1: a `1xx`,
/// `204` or `304`): it is sent without a body and without `Content-Length`.
fn bodiless(status: u16) -> bool {
    matches!(status, 100..=199 | 204 | 304)
}

impl StoredAnswer {
    /// The answer with `status`, the headers worth replaying from `headers` (names compared without
    /// case), and `body` (none for a `1xx`, `204` or `304`, which have none to give).
    pub fn new<'a>(
        status: u16,
        headers: impl IntoIterator<Item = (&'a str, &'a [u8])>,
        body: Vec<u8>,
    ) -> Self {
        let headers = headers
            .into_iter()
            .filter(|(name, _)| !NOT_KEPT.iter().any(|n| name.eq_ignore_ascii_case(n)))
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_vec()))
            .collect();
        StoredAnswer {
            method: None,
            status,
            headers,
            body: if bodiless(status) { Vec::new() } else { body },
        }
    }

    /// The method of the request it answered, once kept (`None` for an answer not kept yet).
    pub fn method(&self) -> Option<&http::Method> {
        self.method.as_ref()
    }

    /// Whether it is the answer to give a duplicate sent with `method`: only one with the method of
    /// the request it answered (an answer not kept yet answers none). A `HEAD` and a `GET` of one URL
    /// carry the same signature: the `GET` never gets a `HEAD`'s empty answer, nor the `HEAD` a body.
    pub fn answers(&self, method: &http::Method) -> bool {
        self.method.as_ref() == Some(method)
    }

    /// The `Content-Length` it is sent with, as a fresh answer with its status would be: none for a
    /// `1xx`, `204` or `304` (RFC 9110 §8.6), which is sent without a body; else its body's length.
    pub fn content_length(&self) -> Option<u64> {
        (!bodiless(self.status)).then_some(self.body.len() as u64)
    }

    /// The answer as kept for a request with `method`.
    #[cfg(test)]
    pub(crate) fn kept_for(&self, method: &http::Method) -> StoredAnswer {
        StoredAnswer {
            method: Some(method.clone()),
            ..self.clone()
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The headers kept, names in lower case, in their order.
    pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The bytes a store keeps: the answer, bound to `method`.
    pub(crate) fn encode(&self, method: &http::Method) -> Vec<u8> {
        let mut out = ANSWER_MAGIC.to_vec();
        put_piece(&mut out, method.as_str().as_bytes());
        out.extend_from_slice(&self.status.to_be_bytes());
        put(
            &mut out,
            &u32::try_from(self.headers.len()).unwrap_or(0).to_be_bytes(),
        );
        for (name, value) in &self.headers {
            put_piece(&mut out, name.as_bytes());
            put_piece(&mut out, value);
        }
        put_piece(&mut out, &self.body);
        out
    }

    fn decode(mut bytes: &[u8]) -> Option<Self> {
        bytes = bytes.strip_prefix(ANSWER_MAGIC)?;
        let method = http::Method::from_bytes(take_piece(&mut bytes)?).ok()?;
        let status = u16::from_be_bytes(take(&mut bytes, 2)?.try_into().ok()?);
        let count = u32::from_be_bytes(take(&mut bytes, 4)?.try_into().ok()?);
        let mut headers = Vec::new();
        for _ in 0..count {
            let name = String::from_utf8(take_piece(&mut bytes)?.to_vec()).ok()?;
            headers.push((name, take_piece(&mut bytes)?.to_vec()));
        }
        let body = take_piece(&mut bytes)?.to_vec();
        // A body where the status has none was never kept: not a stored answer.
        (bytes.is_empty() && (body.is_empty() || !bodiless(status))).then_some(StoredAnswer {
            method: Some(method),
            status,
            headers,
            body,
        })
    }
}

fn put(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
}

fn put_piece(out: &mut Vec<u8>, piece: &[u8]) {
    put(
        out,
        &u32::try_from(piece.len()).unwrap_or(u32::MAX).to_be_bytes(),
    );
    put(out, piece);
}

fn take<'a>(bytes: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = (bytes.get(..n)?, bytes.get(n..)?);
    *bytes = rest;
    Some(head)
}

fn take_piece<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(take(bytes, 4)?.try_into().ok()?);
    take(bytes, usize::try_from(len).ok()?)
}

/// What a store holds for a key, read back for a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// Nothing: the key expired, or its delivery failed and released it.
    Absent,
    /// Recorded, and its request is still in flight.
    InFlight,
    /// Delivered, and its answer was not kept (too large, or of unknown length).
    NotKept,
    /// Delivered, with this answer.
    Answered(Arc<StoredAnswer>),
}

impl Entry {
    /// What a store's value for a key means: a stored answer, the "not kept" mark, or (anything that
    /// does not start with a zero byte, the store's own mark) in flight. Any other value starting with
    /// one (an answer that does not decode, or one kept by an older version without its method) is
    /// read as not kept: a duplicate is then refused, never answered with a broken response.
    pub(crate) fn from_value(value: &[u8]) -> Entry {
        if value.first() != Some(&MARK) {
            Entry::InFlight
        } else {
            StoredAnswer::decode(value).map_or(Entry::NotKept, |a| Entry::Answered(Arc::new(a)))
        }
    }

    /// The value a store keeps for a delivered request: its answer bound to the method of the request
    /// it answered, or the "not kept" mark.
    pub(crate) fn value_for(answer: Option<(&http::Method, &StoredAnswer)>) -> Vec<u8> {
        answer.map_or_else(
            || NOT_KEPT_MAGIC.to_vec(),
            |(method, answer)| answer.encode(method),
        )
    }
}

impl ReplayGuard {
    /// Answer mode: a duplicate of `key`'s request, sent with `method`, waits (at most `wait`) for the
    /// first delivery's answer and gets it if it answered that method (else it is refused); if that
    /// delivery failed and released the key, or its lease lapsed, this one is delivered, with the
    /// token of the lease it took.
    pub(super) async fn duplicate(
        &self,
        key: &ReplayKey,
        method: &http::Method,
        wait: Duration,
    ) -> Result<Option<LeaseToken>, ReplayRefusal> {
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(10);
        loop {
            let value = self.store.value(key).await.map_err(|e| {
                tracing::error!(target: "twilio_webhook", error = %e, "replay store unavailable: refusing a duplicate");
                ReplayRefusal::StoreUnavailable
            })?;
            match value.as_deref().map(Entry::from_value) {
                // The first delivery failed, or its lease lapsed: this one takes its place, unless
                // another got there first.
                None => match self.mark(key).await {
                    Ok((Seen::First, token)) => return Ok(token),
                    Ok((Seen::Replay, _)) => {}
                    Err(_) => return Err(ReplayRefusal::StoreUnavailable),
                },
                Some(Entry::Answered(answer)) if answer.answers(method) => {
                    return Err(ReplayRefusal::Answered(answer));
                }
                Some(Entry::Answered(_)) => {
                    tracing::info!(target: "twilio_webhook", key = %key.to_hex(), %method, "a duplicate with another method than the delivered request's: refused, never answered");
                    return Err(ReplayRefusal::Replayed);
                }
                Some(Entry::NotKept) => return Err(ReplayRefusal::Replayed),
                Some(Entry::InFlight | Entry::Absent) => {}
            }
            let now = Instant::now();
            if now >= deadline {
                tracing::warn!(target: "twilio_webhook", key = %key.to_hex(), ?wait, "a duplicate waited for the first delivery's answer in vain: refused");
                return Err(ReplayRefusal::Replayed);
            }
            if !super::timer::available() {
                return Err(ReplayRefusal::Replayed);
            }
            let sleep = pause.min(deadline - now);
            super::timer::sleep_for(sleep).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }
}

#[cfg(test)]
mod tests;
