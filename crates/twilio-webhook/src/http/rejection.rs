//! How a refused request is answered: the reason, its status, its text and its log line; and
//! report-only mode, which logs and counts instead.

use core::fmt;

use std::sync::Arc;

use http::StatusCode;

use crate::replay::StoredAnswer;
use crate::verdict::Rejection;

/// Why a request was refused, as a web server answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The signature check failed.
    Rejected(Rejection),
    /// The body is larger than the limit.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read (the client went away, a broken transfer encoding).
    BodyUnreadable,
    /// The same signed request was already accepted inside the replay window.
    Replayed,
    /// The replay store could not answer, and the guard fails closed.
    ReplayStoreUnavailable,
    /// The account secrets could not be looked up.
    AccountLookupFailed,
    /// The client sent its body too slowly (a server's read deadline passed).
    ClientTimeout,
    /// The request asks for a WebSocket upgrade (`Upgrade: websocket`) but is not a handshake (a `GET`
    /// without a body): servers disagree on where its body ends (`400`).
    UpgradeNotHandshake,
    /// The request target is not a path a decision can be made on (`400`): not in origin or absolute
    /// form, or, where a path rule depends on it, not in normal form.
    BadTarget(crate::TargetError),
    /// The URL would be rebuilt from a host that is not a plain authority (`400`, spec §4.5): a `Host`
    /// (or a trusted proxy's forwarded host) with userinfo, a path, a query, a fragment or other
    /// characters a host cannot have, or more than one `Host` field. Refused before any HMAC. Also a
    /// verified request whose origin, as a handler reads it, is not the one verified, from an
    /// extractor that cannot hand the request over ([`WebhookVerifier::check_origin`](crate::WebhookVerifier::check_origin)).
    BadHost,
    /// A body on a request whose method is not `POST` (`400`): spec §2 builds `P` from a POST body
    /// alone, so a body on a `GET` (or any other method) would reach the app covered by no signature,
    /// and an upstream that leaves it unread parses it as a second request.
    BodyNotAllowed,
    /// A `Content-Type` names a charset other than UTF-8 (`400`): Twilio encodes parameters as UTF-8,
    /// the `Content-Type` is not signed, and frameworks decode the query and the form in the charset
    /// the client names (Django reads `a+ACY-b` as `a&b` with `charset=utf-7`), so the app would see
    /// parameters no signature covers. Only `utf-8` and `utf8` are accepted (case not significant,
    /// quoted or not); `us-ascii` is refused too (non-ASCII parameters would read as other text), as
    /// is any spelling of a `charset` parameter parsers may read differently. Refused before any HMAC.
    UnsupportedCharset,
    /// Answer mode: a duplicate of a delivered request, answered with the first delivery's response
    /// ([`WebhookRejection::stored_answer`]) instead of reaching the app.
    AnsweredDuplicate,
    /// The body was already taken by another extractor before it could be verified (`500`): a
    /// mistake in the app, such as a body extractor placed before the verifying one. Never verified
    /// on what is left.
    BodyTaken,
    /// The body read is not as long as its `Content-Length` declared (`400`): something between the
    /// client and the verifier changed it.
    BodyLengthMismatch,
    /// A field the verification reads comes more than once (`400`): `Content-Type`,
    /// `X-Twilio-Signature` or `X-Twilio-Webhooks-Signature-Settings`
    /// ([`SINGLE_FIELDS`](crate::SINGLE_FIELDS)). The core reads the first; an app or framework that
    /// reads the last, or joins them, would act on one no check covered. Refused before any HMAC.
    DuplicateHeader,
    /// The `Content-Length` is not a number of bytes (`400`): anything but ASCII digits (with optional
    /// spaces or tabs around them), such as `+12`, `1_0`, `²` or an empty value, or several lengths
    /// that disagree. Such a request has no body length every reader agrees on (RFC 9112 §6.3), so it
    /// is never verified: a host that reads a different length than its server framed would verify
    /// one body and leave the rest on the connection.
    BadContentLength,
    /// The request says it has a body (a `Transfer-Encoding`) that the host cannot read to a known end
    /// (`411`): a WSGI server that neither sets `wsgi.input_terminated` nor gives a `Content-Length`.
    /// Never verified as an empty body.
    LengthRequired,
    /// The request method is not an HTTP method (a token, RFC 9110 §9.1) (`400`): it is never read as
    /// a `POST` or any other method.
    BadMethod,
    /// A method Twilio never calls a webhook with (`405`): anything but `GET` and `POST`, spelled
    /// exactly (a WebSocket handshake is a `GET`). The method is not signed, so a captured `GET`
    /// webhook's URL-only signature would verify a `DELETE`, `PUT`, `HEAD` or `PROPFIND` of its URL
    /// and run that method's handler. Refused before any HMAC.
    MethodNotAllowed,
    /// A form parameter Twilio sends once ([`SINGLE_VALUED_PARAMETERS`](crate::SINGLE_VALUED_PARAMETERS))
    /// comes twice with different values (`400`). The boundary between a key and its value is not signed: a genuine SMS whose
    /// `Body` ends in `From+15550000` verifies re-split as `Body=…&From=+15550000`, a second `From`
    /// ahead of the real one, which most frameworks hand the app as *the* `From`. Refused before any
    /// HMAC; [`WebhookVerifier::allow_repeated_parameters`](crate::WebhookVerifier::allow_repeated_parameters)
    /// relaxes it.
    RepeatedParameter,
    /// The request has a content coding (`Content-Encoding` other than `identity`, or a
    /// `Transfer-Encoding` other than `chunked`) (`415`). Twilio never compresses a webhook, and the
    /// coding is not signed: the core verifies the bytes as sent, while Express's body-parser, Koa and
    /// others inflate a `deflate` or `gzip` body before the app reads it, so a genuine form whose raw
    /// bytes are also a deflate stream of other parameters verified and the app read the inflated
    /// ones. Refused before any HMAC.
    UnsupportedContentEncoding,
    /// A form some server reads as other parameters than were verified (`400`): more than
    /// [`MAX_FORM_PARTS`](crate::MAX_FORM_PARTS) `&`-separated parts, empty ones included (PHP stops
    /// at `max_input_vars`, 1000 by default, with only a warning, and the parameters after it vanish),
    /// or a key with a NUL, `[` or `]` (PHP cuts a key at a NUL and PHP and Node's `qs` read brackets
    /// as arrays, so `From%00x` is PHP's `From`). Twilio sends neither, and the key/value boundary is
    /// not signed: a genuine form re-split into either shape verified. Also a request target holding
    /// a form's first pair glued to its name (`AccountSidAC…`): the boundary between the URL and `P`
    /// is not signed either, and a genuine form's first pairs moved into its URL verified. Also
    /// parameters a parser decoded from a body that was not a form
    /// ([`check_parsed_request`](crate::check_parsed_request)): a multipart body's text fields, its
    /// file parts in no parameter. Refused before any HMAC.
    AmbiguousForm,
}

/// A refused request: the reason, and the URLs that were tried. It renders as a status and a short
/// plain-text body naming the reason; it never holds a secret or the presented signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRejection {
    refusal: Refusal,
    urls_tried: Vec<String>,
    pub(crate) explanation: Option<String>,
    pub(crate) cause: Option<&'static str>,
    answer: Option<Arc<StoredAnswer>>,
}

impl WebhookRejection {
    /// A rejection with its reason and the URLs tried. Emits a `tracing` warning (target
    /// `twilio_webhook`) with both.
    pub fn new(refusal: Refusal, urls_tried: Vec<String>) -> Self {
        let reason = refusal_code(refusal);
        tracing::warn!(
            target: "twilio_webhook",
            reason,
            urls_tried = ?Logged(&urls_tried),
            "rejected a webhook request"
        );
        WebhookRejection::quiet(refusal, urls_tried)
    }

    /// A rejection that the verifier logs itself, with its explanation.
    pub(crate) fn quiet(refusal: Refusal, urls_tried: Vec<String>) -> Self {
        WebhookRejection {
            refusal,
            urls_tried,
            explanation: None,
            cause: None,
            answer: None,
        }
    }

    /// A duplicate answered with the first delivery's response (answer mode), logged at `info`.
    pub(crate) fn answered(answer: Arc<StoredAnswer>, urls_tried: Vec<String>) -> Self {
        tracing::info!(
            target: "twilio_webhook",
            status = answer.status(),
            "a duplicate of a delivered request: answered with the first answer"
        );
        WebhookRejection {
            answer: Some(answer),
            ..WebhookRejection::quiet(Refusal::AnsweredDuplicate, urls_tried)
        }
    }

    /// Answer mode: the response to send instead of the app's, for a duplicate of a delivered request
    /// ([`Refusal::AnsweredDuplicate`]), kept for a request with the same method. Adapters answer with
    /// its status, headers and body, framed as [`StoredAnswer::content_length`] says.
    pub fn stored_answer(&self) -> Option<&StoredAnswer> {
        self.answer.as_deref()
    }

    /// The line the server logged for this rejection: the method, path and reason, and what Twilio
    /// signed with the setting to change when a diagnosis found it (feature `diagnose`). For logs
    /// only: never put it in a response.
    pub fn explanation(&self) -> Option<&str> {
        self.explanation.as_deref()
    }

    /// The first cause the diagnosis found (`scheme`, `host`, `path_prefix`, …), `unexplained` when it
    /// found none, `None` when no diagnosis ran: for a metric's label.
    pub fn cause(&self) -> Option<&'static str> {
        self.cause
    }

    /// Why.
    pub fn refusal(&self) -> Refusal {
        self.refusal
    }

    /// The signature rejection, if that was the reason.
    pub fn rejection(&self) -> Option<Rejection> {
        match self.refusal {
            Refusal::Rejected(r) => Some(r),
            _ => None,
        }
    }

    /// The reason as a stable `snake_case` code (`signature_mismatch`, `body_too_large`, …), as in the
    /// response body and the log.
    pub fn code(&self) -> &'static str {
        refusal_code(self.refusal)
    }

    /// The URLs the signature was checked against (empty when it was not checked).
    pub fn urls_tried(&self) -> &[String] {
        &self.urls_tried
    }

    /// `400` for a missing signature header, a bad request target, a bad `Host`, a second `Content-Type` or signature field, a body on a method
    /// other than `POST`, a charset other than UTF-8, an upgrade that is not a handshake, a body
    /// whose length differs from its `Content-Length`, a `Content-Length` that is not a number or a
    /// method that is not a method, `500` for a body another extractor took first, `411` for a body
    /// the host cannot read to a known end, `413` for a body over the limit, `408` for a body sent
    /// too slowly, `405` for a method other than `GET` or `POST`, `409` for a replay, `503`
    /// when the replay store cannot answer, the first answer's status for an answered duplicate,
    /// `403` for every other rejection.
    pub fn status(&self) -> StatusCode {
        match self.refusal {
            Refusal::AnsweredDuplicate => self
                .answer
                .as_ref()
                .and_then(|a| StatusCode::from_u16(a.status()).ok())
                .unwrap_or(StatusCode::CONFLICT),
            Refusal::Replayed => StatusCode::CONFLICT,
            Refusal::ReplayStoreUnavailable | Refusal::AccountLookupFailed => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Refusal::Rejected(Rejection::MissingSignature)
            | Refusal::BodyUnreadable
            | Refusal::BadTarget(_)
            | Refusal::BadHost
            | Refusal::BodyNotAllowed
            | Refusal::UnsupportedCharset
            | Refusal::UpgradeNotHandshake
            | Refusal::BodyLengthMismatch
            | Refusal::DuplicateHeader
            | Refusal::BadContentLength
            | Refusal::BadMethod
            | Refusal::RepeatedParameter
            | Refusal::AmbiguousForm => StatusCode::BAD_REQUEST,
            Refusal::LengthRequired => StatusCode::LENGTH_REQUIRED,
            Refusal::UnsupportedContentEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Refusal::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Refusal::BodyTaken => StatusCode::INTERNAL_SERVER_ERROR,
            Refusal::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Refusal::ClientTimeout => StatusCode::REQUEST_TIMEOUT,
            Refusal::Rejected(_) => StatusCode::FORBIDDEN,
        }
    }

    /// A short plain-text body: `Twilio webhook rejected: <reason>\n`.
    pub fn body_text(&self) -> String {
        format!("Twilio webhook rejected: {}\n", refusal_code(self.refusal))
    }
}

fn refusal_code(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Rejected(r) => r.as_str(),
        Refusal::BodyTooLarge { .. } => "body_too_large",
        Refusal::BodyUnreadable => "body_unreadable",
        Refusal::Replayed => "replayed",
        Refusal::ReplayStoreUnavailable => "replay_store_unavailable",
        Refusal::AccountLookupFailed => "account_lookup_failed",
        Refusal::ClientTimeout => "client_timeout",
        Refusal::BadTarget(_) => "bad_request_target",
        Refusal::BadHost => "bad_host",
        Refusal::BodyNotAllowed => "body_not_allowed",
        Refusal::UnsupportedCharset => "unsupported_charset",
        Refusal::UpgradeNotHandshake => "upgrade_not_handshake",
        Refusal::AnsweredDuplicate => "duplicate_answered",
        Refusal::BodyTaken => "body_taken",
        Refusal::BodyLengthMismatch => "body_length_mismatch",
        Refusal::DuplicateHeader => "duplicate_header",
        Refusal::BadContentLength => "bad_content_length",
        Refusal::LengthRequired => "length_required",
        Refusal::BadMethod => "bad_method",
        Refusal::MethodNotAllowed => "method_not_allowed",
        Refusal::RepeatedParameter => "repeated_parameter",
        Refusal::UnsupportedContentEncoding => "unsupported_content_encoding",
        Refusal::AmbiguousForm => "ambiguous_form",
    }
}

impl fmt::Display for WebhookRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.refusal {
            Refusal::Rejected(r) => write!(f, "{r}")?,
            Refusal::BodyTooLarge { limit } => write!(f, "the body is larger than {limit} bytes")?,
            Refusal::BodyUnreadable => f.write_str("the body could not be read")?,
            Refusal::Replayed => f.write_str("the same signed request was already accepted")?,
            Refusal::ReplayStoreUnavailable => f.write_str("the replay store is unavailable")?,
            Refusal::AccountLookupFailed => {
                f.write_str("the account's secrets could not be looked up")?
            }
            Refusal::ClientTimeout => f.write_str("the client sent its body too slowly")?,
            Refusal::BadTarget(e) => write!(f, "{e}")?,
            Refusal::BodyNotAllowed => {
                f.write_str("a body on a request whose method is not POST")?
            }
            Refusal::UnsupportedCharset => {
                f.write_str("the Content-Type names a charset other than UTF-8")?
            }
            Refusal::BadHost => f.write_str(
                "the Host is not a plain host and port (or there is more than one Host field), or \
                 names another host than the one the signature was made for",
            )?,
            Refusal::UpgradeNotHandshake => f.write_str(
                "the request asks for a WebSocket upgrade but is not a WebSocket handshake",
            )?,
            Refusal::AnsweredDuplicate => {
                f.write_str("a duplicate of a delivered request, answered with the first answer")?
            }
            Refusal::BodyTaken => f.write_str(
                "the body was taken by another extractor before it was verified: \
                 let the verifying extractor read it (make it the body extractor)",
            )?,
            Refusal::BodyLengthMismatch => {
                f.write_str("the body read differs in length from its Content-Length")?
            }
            Refusal::DuplicateHeader => f.write_str(
                "Content-Type, X-Twilio-Signature or its settings header comes more than once",
            )?,
            Refusal::BadContentLength => f.write_str(
                "the Content-Length is not a number of bytes (or several Content-Length values disagree)",
            )?,
            Refusal::LengthRequired => f.write_str(
                "the request has a Transfer-Encoding body that cannot be read to a known end",
            )?,
            Refusal::BadMethod => f.write_str("the request method is not an HTTP method")?,
            Refusal::MethodNotAllowed => {
                f.write_str("Twilio calls webhooks with GET or POST only")?
            }
            Refusal::AmbiguousForm => f.write_str(
                "the form has more parts than every server reads, or a key with a NUL or a bracket, \
                 or the URL holds a form's pairs glued to their names (Twilio sends none of these)",
            )?,
            Refusal::UnsupportedContentEncoding => f.write_str(
                "the body has a content coding (Content-Encoding or Transfer-Encoding); \
                 Twilio sends bodies uncompressed",
            )?,
            Refusal::RepeatedParameter => f.write_str(
                "a form parameter Twilio sends once (such as From or To) comes twice \
                 with different values",
            )?,
        }
        if !self.urls_tried.is_empty() {
            write!(f, " (tried {})", self.urls_tried.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for WebhookRejection {}

/// The most of one client-chosen text (a target, a URL, an explanation) a log line holds: an
/// unsigned request with a 60 KB path must not write 120 KB of log (work per request is bounded in
/// bytes, the log's too).
pub(crate) const LOGGED_TEXT: usize = 512;

/// `text`, cut to at most [`LOGGED_TEXT`] bytes at a character boundary, saying how long it was.
pub(crate) fn clipped(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= LOGGED_TEXT {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = LOGGED_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = text.get(..end).unwrap_or_default();
    std::borrow::Cow::Owned(format!("{head}… ({} bytes)", text.len()))
}

/// URLs as a log line shows them: each [`clipped`].
pub(crate) struct Logged<'a>(pub(crate) &'a [String]);

impl fmt::Debug for Logged<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|url| clipped(url)))
            .finish()
    }
}

/// Report-only mode, for rolling validation out: a layer or middleware that holds one passes requests
/// that fail verification through to the application, logs each at `warn` with its reason and counts
/// it, so a team can see what enforcement would break before turning it on. Creating one logs a
/// warning that verification is not enforced. Clones share the count.
#[derive(Debug, Clone, Default)]
pub struct ReportOnly {
    would_reject: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl ReportOnly {
    /// Report-only mode; logs at `warn` that verification failures will not be enforced.
    pub fn without_enforcing() -> Self {
        tracing::warn!(
            target: "twilio_webhook",
            "REPORT-ONLY mode: requests that fail Twilio signature verification are passed through, not refused"
        );
        ReportOnly::default()
    }

    /// Whether report-only mode passes a request refused with `rejection` to the application, and
    /// if so records it (logged at `warn`, counted in [`would_reject`](Self::would_reject)).
    ///
    /// Only a failed signature check ([`Refusal::Rejected`]) or a replay ([`Refusal::Replayed`]) is
    /// passed: that is what report-only mode is for. A request refused for its shape (an ambiguous
    /// host or target, a charset, a body on a bodiless method, a body of another length than
    /// declared, a handshake with a body), its body (too large, unreadable, slow, taken), or because
    /// a store could not answer is refused in report-only mode too (`false`): the application would
    /// see something other than what was checked, or nothing was checked. A duplicate answered from
    /// the store (answer mode) keeps its stored answer.
    pub fn passes(&self, rejection: &WebhookRejection) -> bool {
        if !matches!(
            rejection.refusal(),
            Refusal::Rejected(_) | Refusal::Replayed
        ) {
            return false;
        }
        let count = self
            .would_reject
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        tracing::warn!(
            target: "twilio_webhook",
            reason = refusal_code(rejection.refusal()),
            would_reject = count,
            "report-only: passed through a request that enforcement would refuse"
        );
        true
    }

    /// How many requests enforcement would have refused so far.
    pub fn would_reject(&self) -> u64 {
        self.would_reject.load(std::sync::atomic::Ordering::Relaxed)
    }
}
