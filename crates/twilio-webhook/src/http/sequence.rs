//! The one verification sequence every adapter runs: ask whether the body is read at all
//! ([`WebhookVerifier::reads_body`]), refuse a declared length over the limit
//! ([`WebhookVerifier::check_declared_length`]), refuse a body another extractor already took, read the
//! body up to the limit, refuse a body whose length differs from the declared one, verify
//! ([`WebhookVerifier::verify_async`]), and hand back a [`Delivery`] that owns the replay key until the
//! app's answer finishes it.
//!
//! Adapters only translate: their server's body into a [`BodyReader`], the app's handling of the
//! request (and their reading of its answer) into [`Delivery::renewing`], and the app's response into
//! [`Delivery::finish`] or [`Delivery::finish_with_answer`].

use core::future::Future;
use core::pin::{Pin, pin};
use core::task::{Context, Poll};
use core::time::Duration;

use crate::public_url::Incoming;
use crate::replay::{LeaseToken, ReplayGuard, StoredAnswer};

use super::{Refusal, VerifiedRequest, WebhookRejection, WebhookVerifier};

/// Why a [`BodyReader`] could not give its next chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The body could not be read: the client went away, a broken transfer encoding (`400`).
    Unreadable,
    /// The client sent the body too slowly: a server's read deadline passed (`408`).
    TimedOut,
}

/// What a server's body looks like before it is read: what only the adapter can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodySource {
    /// A body to read (possibly empty).
    Stream,
    /// The server has no body stream for this request: either the request has no body, or another
    /// extractor already took it (actix-web cannot tell the two apart). The sequence refuses it
    /// ([`Refusal::BodyTaken`]) when the request declares a body (`Content-Length` above zero, or a
    /// `Transfer-Encoding`), and reads it as empty otherwise.
    NoStream,
    /// Another extractor already took the body: always refused ([`Refusal::BodyTaken`]).
    Taken,
}

/// A request body as the sequence reads it, chunk by chunk: what a server adapter implements over its
/// own body type (hyper's `Incoming`, actix-web's `Payload`, …).
///
/// ```
/// use std::pin::Pin;
/// use std::task::{Context, Poll};
/// use twilio_webhook::{BodyError, BodyReader};
///
/// /// A body already in memory, given in one chunk.
/// struct InMemory(Option<Vec<u8>>);
///
/// impl BodyReader for InMemory {
///     type Chunk = Vec<u8>;
///     fn poll_chunk(
///         mut self: Pin<&mut Self>,
///         _: &mut Context<'_>,
///     ) -> Poll<Option<Result<Vec<u8>, BodyError>>> {
///         Poll::Ready(self.0.take().map(Ok))
///     }
/// }
/// ```
pub trait BodyReader {
    /// One chunk of the body.
    type Chunk: AsRef<[u8]>;

    /// Whether there is a body to read, or another extractor took it (default: a stream).
    fn source(&self) -> BodySource {
        BodySource::Stream
    }

    /// The next chunk, `None` at the end of the body, or why it could not be read.
    fn poll_chunk(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Self::Chunk, BodyError>>>;
}

/// How much body a host that reads it itself must read: what [`WebhookVerifier::body_extent`]
/// decides from the request's framing headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyExtent {
    /// No body: read nothing.
    Empty,
    /// Exactly this many bytes: the declared `Content-Length`, at most the limit.
    Length(usize),
    /// To the end of the stream, which ends where the body ends: read at most the limit and one byte
    /// more, so that a longer body is seen as too large.
    ToEnd,
}

/// What [`WebhookVerifier::read_and_verify`] found, once the body was read: the body, and whether the
/// request is verified.
#[derive(Debug)]
#[must_use = "a verified request's Delivery must be finished, or its replay key is neither released nor kept"]
pub struct Checked {
    /// The body read (`None`: not read, for a request the core says has none to read: a real
    /// WebSocket handshake). Hand exactly these bytes to the app.
    pub body: Option<Vec<u8>>,
    /// The verified request's delivery, or why it was refused. A refusal still comes with its body,
    /// for report-only mode.
    pub verdict: Result<Delivery, WebhookRejection>,
}

/// A verified request on its way to the app. It owns the request's replay key: finish it with the
/// app's status ([`finish`](Self::finish)), with the app's whole answer when
/// [`keeps_answer`](Self::keeps_answer) says so ([`finish_with_answer`](Self::finish_with_answer)),
/// or, when the app never got the request, [`not_delivered`](Self::not_delivered). Each consumes it,
/// so a key is released or kept once. A delivery dropped unfinished is logged as an error (its key
/// stays marked until the replay window ends, or in answer mode until its lease lapses).
///
/// In answer mode the request holds its key as a lease ([`ReplayGuard::in_flight_lease`]): run the
/// app, and the reading of its answer whole, inside [`renewing`](Self::renewing), which renews the
/// lease for as long as they take.
#[derive(Debug)]
#[must_use = "finish the delivery with the app's status, or its replay key is neither released nor kept"]
pub struct Delivery {
    verified: VerifiedRequest,
    replay: Option<ReplayGuard>,
    /// Answer mode: the token of the lease this delivery holds on its key.
    lease: Option<LeaseToken>,
    finished: bool,
}

impl Delivery {
    /// Which secret, URL and replay key the request was verified with.
    pub fn verified(&self) -> &VerifiedRequest {
        &self.verified
    }

    /// Runs `work` (the app handling the request, or the adapter reading the app's answer whole to
    /// keep it) while renewing the request's in-flight lease every third of the lease, so that a
    /// delivery that takes longer than its lease is not delivered a second time to a duplicate (a
    /// duplicate waits for its answer instead). `sleep` is the adapter's timer
    /// (`tokio::time::sleep`): the core depends on no runtime. Renewal ends with `work`: nothing
    /// renews a delivery once its adapter finishes it, nor one whose process died (its lease lapses,
    /// and Twilio's retry is delivered). Without a lease (reject mode, no replay guard, a store that
    /// cannot renew) it is `work` alone.
    ///
    /// A renewal the store does not confirm is logged once; one that finds the lease lost is logged
    /// and ends the renewals: `work` itself is never interrupted.
    pub async fn renewing<F, S, Z>(&self, work: F, sleep: S) -> F::Output
    where
        F: Future,
        S: FnMut(Duration) -> Z,
        Z: Future<Output = ()>,
    {
        let (Some(guard), Some(token)) = (&self.replay, &self.lease) else {
            return work.await;
        };
        let mut work = pin!(work);
        let mut renewal = pin!(guard.keep_leased(self.verified.replay_key(), token, sleep));
        let mut renewing = true;
        core::future::poll_fn(|cx| {
            if let Poll::Ready(output) = work.as_mut().poll(cx) {
                return Poll::Ready(output);
            }
            // Never polled again once it ended (the lease was found lost).
            if renewing && renewal.as_mut().poll(cx).is_ready() {
                renewing = false;
            }
            Poll::Pending
        })
        .await
    }

    /// Whether the app's response, with this status and body length (`None`: unknown), is to be kept
    /// for the request's duplicates: only in answer mode, only a body within its limit, and never an
    /// answer to `HEAD` ([`ReplayGuard::keeps_answer`]). If so, read the response whole and call
    /// [`finish_with_answer`](Self::finish_with_answer).
    pub fn keeps_answer(&self, status: http::StatusCode, body_length: Option<u64>) -> bool {
        self.replay.as_ref().is_some_and(|guard| {
            guard.keeps_answer(self.verified.method(), status.as_u16(), body_length)
        })
    }

    /// The app answered `status`: a failed delivery (`502`, `503`, `504`) releases the replay key, so
    /// that Twilio's retry is delivered; any other keeps it (in answer mode, marked delivered without
    /// a kept answer: its duplicates are refused).
    pub async fn finish(mut self, status: http::StatusCode) {
        self.finished = true;
        if let Some(guard) = &self.replay {
            guard
                .delivered(
                    self.verified.replay_key(),
                    self.verified.method(),
                    status.as_u16(),
                    None,
                )
                .await;
        }
    }

    /// The app answered `answer` whole: kept for the request's duplicates with its method inside the
    /// window (answer mode), or, for a failed delivery, the key released.
    pub async fn finish_with_answer(mut self, answer: &StoredAnswer) {
        self.finished = true;
        if let Some(guard) = &self.replay {
            guard
                .delivered(
                    self.verified.replay_key(),
                    self.verified.method(),
                    answer.status(),
                    Some(answer),
                )
                .await;
        }
    }

    /// The request was handed to the app, whose answer this adapter cannot see (an extractor): the
    /// key is kept, as for a delivery that did not fail, and its duplicates are refused. Returns the
    /// verified request, for the app.
    pub async fn handed_over(self) -> VerifiedRequest {
        let verified = self.verified.clone();
        self.finish(http::StatusCode::OK).await;
        verified
    }

    /// The app never got the request (an inner extractor refused its body after it was verified): the
    /// replay key is released, so that a retry is judged afresh rather than refused as a replay.
    pub async fn not_delivered(mut self) {
        self.finished = true;
        if let Some(guard) = &self.replay {
            guard.release(self.verified.replay_key()).await;
        }
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if !self.finished && self.replay.is_some() {
            tracing::error!(
                target: "twilio_webhook",
                "a verified delivery was dropped unfinished: its replay key stays marked until the window ends"
            );
        }
    }
}

impl WebhookVerifier {
    /// The whole verification sequence, the one every adapter runs: refuses a request that asks for a
    /// WebSocket without being a handshake and leaves a real handshake's body unread
    /// ([`reads_body`](Self::reads_body)); refuses a declared length over the limit (`413`), a body
    /// another extractor already took (`500`, `body_taken`), a body that grows past the limit
    /// (`413`), one that cannot be read (`400`) or is sent too slowly (`408`), and one whose length
    /// differs from its `Content-Length` (`400`, `body_length_mismatch`); then verifies it with
    /// [`verify_async`](Self::verify_async) (signature, account, replay).
    ///
    /// `Err` means no body could be read (never pass such a request on); `Ok` holds the body read and
    /// the verdict. A verified request's [`Delivery`] owns its replay key until it is finished.
    ///
    /// ```
    /// # use std::pin::Pin;
    /// # use std::task::{Context, Poll};
    /// # use twilio_webhook::{BodyError, BodyReader};
    /// # struct InMemory(Option<Vec<u8>>);
    /// # impl BodyReader for InMemory {
    /// #     type Chunk = Vec<u8>;
    /// #     fn poll_chunk(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Vec<u8>, BodyError>>> {
    /// #         Poll::Ready(self.0.take().map(Ok))
    /// #     }
    /// # }
    /// use twilio_webhook::{Incoming, PublicUrl, RequestValidator, WebhookVerifier};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let validator = RequestValidator::try_new("12345")?;
    /// let signature = validator.compute_signature("https://example.com/sms", [("Body", "Hi")]);
    /// let verifier = WebhookVerifier::new(validator).public_url(PublicUrl::base("https://example.com")?);
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("content-type", "application/x-www-form-urlencoded".parse()?);
    /// headers.insert("content-length", "7".parse()?);
    /// headers.insert("x-twilio-signature", signature.parse()?);
    /// let request = Incoming::new(&http::Method::POST, "/sms", &headers);
    ///
    /// let checked = verifier.read_and_verify(&request, &mut InMemory(Some(b"Body=Hi".to_vec()))).await?;
    /// assert_eq!(checked.body.as_deref(), Some(&b"Body=Hi"[..]));
    /// let delivery = checked.verdict?;
    /// // ... the app answers 200:
    /// delivery.finish(http::StatusCode::OK).await;
    ///
    /// let short = verifier.read_and_verify(&request, &mut InMemory(Some(b"Body=".to_vec()))).await;
    /// assert_eq!(short.unwrap_err().code(), "body_length_mismatch");
    /// # Ok(()) }
    /// # let mut run = std::pin::pin!(run());
    /// # let mut cx = Context::from_waker(std::task::Waker::noop());
    /// # loop { if let Poll::Ready(out) = run.as_mut().poll(&mut cx) { break out.unwrap() } }
    /// ```
    #[must_use = "a verified request's Delivery must be finished"]
    pub async fn read_and_verify<R>(
        &self,
        request: &Incoming<'_>,
        body: &mut R,
    ) -> Result<Checked, WebhookRejection>
    where
        R: BodyReader + Unpin,
    {
        let body = if self.reads_body(request)? {
            self.check_declared_length(request.headers)?;
            Some(self.read_body(request.headers, body).await?)
        } else {
            None
        };
        let verdict = self
            .verify_leased(request, body.as_deref().unwrap_or_default())
            .await
            .map(|(verified, lease)| Delivery {
                verified,
                replay: self.replay.clone(),
                lease,
                finished: false,
            });
        Ok(Checked { body, verdict })
    }

    /// The sequence of [`read_and_verify`](Self::read_and_verify) for a body the host already read
    /// whole, up to the limit (the Python and JavaScript bindings, whose servers read it): the same
    /// refusals in the same order (a request asking for a WebSocket without being a handshake, a
    /// declared length over the limit, a body over it, a body whose length differs from its
    /// `Content-Length`), then [`verify`](Self::verify). A real WebSocket handshake is verified with
    /// an empty body, whatever `body` holds. No replay guard: a host with one calls
    /// [`read_and_verify`](Self::read_and_verify).
    pub fn verify_read_body(
        &self,
        request: &Incoming<'_>,
        body: &[u8],
    ) -> Result<VerifiedRequest, WebhookRejection> {
        let body = if self.reads_body(request)? {
            self.check_declared_length(request.headers)?;
            let refuse = |refusal| Err(WebhookRejection::new(refusal, Vec::new()));
            if body.len() > self.body_limit {
                return refuse(Refusal::BodyTooLarge {
                    limit: self.body_limit,
                });
            }
            if !length_is_declared(request.headers, body.len()) {
                return refuse(Refusal::BodyLengthMismatch);
            }
            body
        } else {
            &[]
        };
        self.verify(request, body)
    }

    /// How much body a host that reads the request's body itself must read, decided from the
    /// request's framing headers alone (WSGI, whose server hands over `wsgi.input` and
    /// `CONTENT_LENGTH` and, for a body whose end the server marks, `wsgi.input_terminated`):
    /// `stream_ends` says whether the host's stream ends where the body ends.
    ///
    /// Refuses, before anything is read, a `Content-Length` that is not a number (`400`,
    /// `bad_content_length`) and one over the limit (`413`), as
    /// [`check_declared_length`](Self::check_declared_length) does. A request with a
    /// `Transfer-Encoding` is read to the end of a stream that ends (its `Content-Length`, if any, is
    /// then held against what was read, by [`verify_read_body`](Self::verify_read_body)), and refused
    /// when the stream does not end (`411`, `length_required`): it has a body that would otherwise be
    /// verified as empty. Otherwise the declared length is read, or, without one, the stream to its
    /// end when it ends, and nothing when it does not.
    ///
    /// ```
    /// use twilio_webhook::{BodyExtent, RequestValidator, WebhookVerifier};
    ///
    /// let verifier = WebhookVerifier::new(RequestValidator::try_new("12345").unwrap());
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("content-length", "7".parse().unwrap());
    /// assert_eq!(verifier.body_extent(&headers, false), Ok(BodyExtent::Length(7)));
    /// headers.insert("content-length", "+7".parse().unwrap());
    /// assert_eq!(verifier.body_extent(&headers, false).unwrap_err().code(), "bad_content_length");
    /// let mut chunked = http::HeaderMap::new();
    /// chunked.insert("transfer-encoding", "chunked".parse().unwrap());
    /// assert_eq!(verifier.body_extent(&chunked, true), Ok(BodyExtent::ToEnd));
    /// assert_eq!(verifier.body_extent(&chunked, false).unwrap_err().code(), "length_required");
    /// ```
    pub fn body_extent(
        &self,
        headers: &http::HeaderMap,
        stream_ends: bool,
    ) -> Result<BodyExtent, WebhookRejection> {
        self.check_declared_length(headers)?;
        if headers.contains_key(http::header::TRANSFER_ENCODING) {
            return if stream_ends {
                Ok(BodyExtent::ToEnd)
            } else {
                Err(WebhookRejection::new(Refusal::LengthRequired, Vec::new()))
            };
        }
        match declared_length(headers) {
            Ok(Some(length)) => usize::try_from(length)
                .map(BodyExtent::Length)
                .map_err(|_| WebhookRejection::new(Refusal::BadContentLength, Vec::new())),
            _ if stream_ends => Ok(BodyExtent::ToEnd),
            _ => Ok(BodyExtent::Empty),
        }
    }

    /// The body of a request that is passed on unverified (a path rule exempts it:
    /// [`PathDecision::Pass`](crate::PathDecision::Pass)), read as a verified request's is: a
    /// declared length over the limit refused (`413`) before reading, at most the limit read, and a
    /// body whose length differs from its `Content-Length` refused (`400`). A body on a method that
    /// has none is refused too (`400` [`Refusal::BodyNotAllowed`]): only `POST`, `PUT` and `PATCH`,
    /// spelled exactly, may carry one; on any other (`GET`, `DELETE`, `Get`, `PROPFIND`, …) an app
    /// that leaves it unread parses it as a second request. The guard reads a passed request's body
    /// through it, so that whether and how much of any body is read is the core's decision.
    pub async fn read_passed<R>(
        &self,
        request: &Incoming<'_>,
        body: &mut R,
    ) -> Result<Vec<u8>, WebhookRejection>
    where
        R: BodyReader + Unpin,
    {
        let carries_body =
            [http::Method::POST, http::Method::PUT, http::Method::PATCH].contains(request.method);
        let not_allowed = || WebhookRejection::new(Refusal::BodyNotAllowed, Vec::new());
        self.check_declared_length(request.headers)?;
        let declared = declared_length(request.headers).ok().flatten();
        if !carries_body && declares_body(request.headers, declared) {
            return Err(not_allowed());
        }
        let read = self.read_body(request.headers, body).await?;
        // A server that took the framing headers off (the guard forwards its own) is held to the
        // bytes read.
        if !carries_body && !read.is_empty() {
            return Err(not_allowed());
        }
        Ok(read)
    }

    /// Reads the body whole, up to the limit, and checks it against what the request declared.
    async fn read_body<R>(
        &self,
        headers: &http::HeaderMap,
        body: &mut R,
    ) -> Result<Vec<u8>, WebhookRejection>
    where
        R: BodyReader + Unpin,
    {
        let declared = declared_length(headers).ok().flatten();
        let refuse = |refusal| WebhookRejection::new(refusal, Vec::new());
        match body.source() {
            BodySource::Stream => {}
            BodySource::NoStream if !declares_body(headers, declared) => return Ok(Vec::new()),
            BodySource::NoStream | BodySource::Taken => return Err(refuse(Refusal::BodyTaken)),
        }
        let limit = self.body_limit;
        // The declared length is at most the limit here (checked before): a capacity, not a promise.
        let capacity = declared.and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
        let mut read = Vec::with_capacity(capacity.min(limit));
        while let Some(chunk) =
            core::future::poll_fn(|cx| Pin::new(&mut *body).poll_chunk(cx)).await
        {
            let chunk = chunk.map_err(|e| {
                refuse(match e {
                    BodyError::Unreadable => Refusal::BodyUnreadable,
                    BodyError::TimedOut => Refusal::ClientTimeout,
                })
            })?;
            let chunk = chunk.as_ref();
            if chunk.len() > limit.saturating_sub(read.len()) {
                return Err(refuse(Refusal::BodyTooLarge { limit }));
            }
            read.extend_from_slice(chunk);
        }
        if !length_is_declared(headers, read.len()) {
            return Err(refuse(Refusal::BodyLengthMismatch));
        }
        Ok(read)
    }
}

/// The length the request declares: `Ok(None)` without a `Content-Length`, `Ok(Some(n))` when every
/// element of every `Content-Length` field is the same number `n` (`12, 12` is `12`, as hyper and h11
/// read it), `Err` for anything else: an element that is not ASCII digits once spaces and tabs around
/// it are cut (`+12`, `1_0`, `²`, an empty value, a number past `u64`), or numbers that disagree (RFC
/// 9112 §6.3: such framing is invalid).
pub(super) fn declared_length(headers: &http::HeaderMap) -> Result<Option<u64>, ()> {
    let mut declared = None;
    for value in headers.get_all(http::header::CONTENT_LENGTH) {
        for element in value.as_bytes().split(|&b| b == b',') {
            let length = decimal(trim_ows(element)).ok_or(())?;
            if declared.is_some_and(|d| d != length) {
                return Err(());
            }
            declared = Some(length);
        }
    }
    Ok(declared)
}

/// `bytes` without the spaces and tabs around it (optional whitespace, RFC 9110 §5.6.3).
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// `1*DIGIT` as a number; `None` for anything else (a sign, an underscore, a non-ASCII digit, nothing
/// at all) or a number past `u64`.
fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let digit = u64::from(b.checked_sub(b'0').filter(|d| *d <= 9)?);
        n.checked_mul(10)?.checked_add(digit)
    })
}

/// Whether a body of `length` bytes is what the request declares: always, when it declares no
/// length; never, when its `Content-Length` is not valid.
fn length_is_declared(headers: &http::HeaderMap, length: usize) -> bool {
    match declared_length(headers) {
        Ok(None) => true,
        Ok(Some(n)) => u64::try_from(length).is_ok_and(|length| length == n),
        Err(()) => false,
    }
}

/// Whether the request says it has a body: a `Transfer-Encoding`, or a `Content-Length` that is not
/// zero (or not a number).
fn declares_body(headers: &http::HeaderMap, declared: Option<u64>) -> bool {
    headers.contains_key(http::header::TRANSFER_ENCODING)
        || (headers.contains_key(http::header::CONTENT_LENGTH) && declared != Some(0))
}

#[cfg(test)]
mod tests;
