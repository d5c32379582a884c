//! The shape of a request: what the core refuses before any URL or HMAC. The method, duplicated
//! fields, the charset and content codings, and the shapes a genuine Twilio form never has and a
//! re-split one (the boundary between a key and its value is not signed) can. [`check_shape`] is the
//! same check for callers that verify a request without [`WebhookVerifier`](crate::WebhookVerifier):
//! the drop-in APIs that are handed a request and a URL (twilio-node's `validateExpressRequest`).

use super::{Refusal, Rejection, WebhookRejection};
use crate::form::Part;
use crate::headers::SignatureHeaders;

/// The form parameters Twilio sends once in every webhook that has them and that say who, what and
/// where: its identifiers, the parties, statuses, places and checks. A second value of one of
/// them is [`Refusal::RepeatedParameter`] (unless
/// [`allow_repeated_parameters`](crate::WebhookVerifier::allow_repeated_parameters)): the boundary
/// between a key and its value is not signed, so the text that sorts before one of them (an SMS
/// `Body` before `From`) can be re-split into a forged second value that sorts ahead of the real one,
/// and most frameworks hand the app the first. Names not listed may repeat: `MediaUrl0`, an app's
/// own `Tag`, and the texts the sender or caller writes (`Body`, `Digits`, `SpeechResult`), which a
/// re-split only cuts into pieces of what that sender wrote anyway.
pub const SINGLE_VALUED_PARAMETERS: &[&str] = &[
    "AccountSid",
    "AddOns",
    "ApiVersion",
    "ApplicationSid",
    "CallSid",
    "CallStatus",
    "CallToken",
    "Called",
    "CalledCity",
    "CalledCountry",
    "CalledState",
    "CalledZip",
    "Caller",
    "CallerCity",
    "CallerCountry",
    "CallerName",
    "CallerState",
    "CallerZip",
    "Confidence",
    "Direction",
    "ErrorCode",
    "ErrorMessage",
    "FinishedOnKey",
    "ForwardedFrom",
    "From",
    "FromCity",
    "FromCountry",
    "FromState",
    "FromZip",
    "Language",
    "MessageSid",
    "MessageStatus",
    "MessagingServiceSid",
    "NumMedia",
    "NumSegments",
    "ParentCallSid",
    "RecordingDuration",
    "RecordingSid",
    "RecordingUrl",
    "SmsMessageSid",
    "SmsSid",
    "SmsStatus",
    "StirVerstat",
    "To",
    "ToCity",
    "ToCountry",
    "ToState",
    "ToZip",
    "WaId",
];

/// The most `&`-separated parts (empty ones included) a form may have: PHP reads 1000
/// (`max_input_vars`) and drops the rest with only a warning, Tomcat and ASP.NET refuse past 1000,
/// Django past 1000 fields; a Twilio webhook has well under 100.
pub const MAX_FORM_PARTS: usize = 512;

/// The rules [`WebhookVerifier::verify`](crate::WebhookVerifier::verify) applies to a request before
/// its URL and signature, in the same order and with the same refusals:
///
/// - Twilio calls webhooks with `GET` or `POST` (a WebSocket handshake is a `GET`), and the method
///   is not signed: any other method is [`Refusal::MethodNotAllowed`];
/// - only a `POST` body is signed (spec §2): a body on a `GET` is [`Refusal::BodyNotAllowed`];
/// - `Content-Type`, `X-Twilio-Signature` or `X-Twilio-Webhooks-Signature-Settings` twice is
///   [`Refusal::DuplicateHeader`];
/// - a `Content-Type` naming a charset other than UTF-8 is [`Refusal::UnsupportedCharset`] (the
///   `Content-Type` is not signed, and a framework decoding in `utf-7` sees other parameters);
/// - a content coding is [`Refusal::UnsupportedContentEncoding`];
/// - a body whose `target` names `bodySHA256` sent as a form, or a form some server reads apart, is
///   [`Refusal::AmbiguousForm`]; a second value of a parameter Twilio sends once is
///   [`Refusal::RepeatedParameter`]; a form body with a raw CR, LF, NUL or non-ASCII byte is
///   [`Rejection::MalformedBody`].
///
/// `target` is the request target or the URL (only its query is read). `body` is the raw body as
/// received. A caller that has only the parameters a parser decoded from it passes a non-empty
/// stand-in when there were any (what counts then is that there was a body).
///
/// ```
/// use twilio_webhook::{Refusal, check_shape};
///
/// let form = http::HeaderMap::from_iter([(
///     http::header::CONTENT_TYPE,
///     http::HeaderValue::from_static("application/x-www-form-urlencoded"),
/// )]);
/// assert!(check_shape(&http::Method::POST, "/sms", &form, b"Body=Hi").is_ok());
/// let replayed = check_shape(&http::Method::DELETE, "/sms", &form, b"Body=Hi").unwrap_err();
/// assert_eq!(replayed.refusal(), Refusal::MethodNotAllowed);
/// let as_get = check_shape(&http::Method::GET, "/sms", &form, b"Body=Hi").unwrap_err();
/// assert_eq!(as_get.refusal(), Refusal::BodyNotAllowed);
/// ```
pub fn check_shape(
    method: &http::Method,
    target: &str,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<(), WebhookRejection> {
    check(method, target, headers, body, false).map_err(|r| WebhookRejection::new(r, Vec::new()))
}

/// [`check_shape`], with repeated parameters allowed when `repeats_allowed`.
pub(super) fn check(
    method: &http::Method,
    target: &str,
    headers: &http::HeaderMap,
    body: &[u8],
    repeats_allowed: bool,
) -> Result<(), Refusal> {
    // The method is not signed: a captured GET's URL-only signature would otherwise verify a DELETE,
    // a PUT or a PROPFIND of that URL, and run that method's handler.
    if method != http::Method::GET && method != http::Method::POST {
        return Err(Refusal::MethodNotAllowed);
    }
    // Spec §2: only a POST body is signed.
    if !body.is_empty() && method != http::Method::POST {
        return Err(Refusal::BodyNotAllowed);
    }
    if has_glued_pairs(target) {
        return Err(Refusal::AmbiguousForm);
    }
    // A second Content-Type or signature header could be the one an app reads (the core reads the
    // first). The Content-Type is not signed: a framework that decodes in another charset the client
    // names (Django with `utf-7`) sees parameters no signature covers.
    let (_, twice) = SignatureHeaders::scan(headers);
    let mut content_types = headers.get_all(http::header::CONTENT_TYPE).iter();
    let content_type = content_types.next();
    if twice || content_types.next().is_some() {
        return Err(Refusal::DuplicateHeader);
    }
    if !content_type.is_none_or(|v| crate::headers::charset_is_utf8(v.as_bytes())) {
        return Err(Refusal::UnsupportedCharset);
    }
    let content_type = content_type.map(|v| v.to_str().unwrap_or("\u{FFFD}"));
    check_codings(headers)?;
    check_form(target, content_type, body, repeats_allowed)
}

/// Refuses a body with a content coding ([`Refusal::UnsupportedContentEncoding`]): every
/// `Content-Encoding` must be `identity` and every `Transfer-Encoding` `chunked` (case not
/// significant, lists split at `,`). Twilio never compresses a webhook, and frameworks inflate a
/// coded body before the app reads it, which would then not be the bytes verified.
fn check_codings(headers: &http::HeaderMap) -> Result<(), Refusal> {
    let only = |name: http::header::HeaderName, allowed: &str| {
        headers.get_all(name).iter().all(|value| {
            value
                .as_bytes()
                .split(|&b| b == b',')
                .all(|coding| coding.trim_ascii().eq_ignore_ascii_case(allowed.as_bytes()))
        })
    };
    if only(http::header::CONTENT_ENCODING, "identity")
        && only(http::header::TRANSFER_ENCODING, "chunked")
    {
        Ok(())
    } else {
        Err(Refusal::UnsupportedContentEncoding)
    }
}

/// Refuses a body verified as bytes (`bodySHA256`) but sent as a form (`x-www-form-urlencoded` or
/// `multipart/form-data`), and a form body Twilio never sends:
/// - a raw CR, LF or NUL (Twilio percent-encodes them): a re-split genuine form could carry an HTTP
///   request that an app leaving the body unread parses as the next one (`malformed_body`);
/// - more than [`MAX_FORM_PARTS`] parts, a raw `;` or a `%` that starts no escape (Go drops such
///   pairs, Tomcat too for a bad escape), or a key some server reads as another name
///   ([`Refusal::AmbiguousForm`]);
/// - a raw byte that is not ASCII (Twilio percent-encodes them too): Starlette decodes such bytes as
///   latin-1, so a genuine `José` resent unencoded verified and the app read `JosÃ©`
///   (`malformed_body`);
/// - unless `repeats_allowed`, a second value of a name Twilio sends once
///   ([`SINGLE_VALUED_PARAMETERS`]): a re-split genuine SMS can put a forged `From` ahead of the real
///   one ([`Refusal::RepeatedParameter`]).
///
/// Bodies of another content type are not forms, and are left to the validator.
pub(super) fn check_form(
    target: &str,
    content_type: Option<&str>,
    body: &[u8],
    repeats_allowed: bool,
) -> Result<(), Refusal> {
    // A body verified as bytes (its URL names `bodySHA256`, spec §5) but sent as a form: an app or a
    // server behind parses the JSON text as form fields (`&` and `=` inside a string), none of which
    // any signature covers.
    // Any mention of a form type counts: PHP reads the type up to the first `;`, `,` or space, so
    // `application/x-www-form-urlencoded,application/json` is a form to it.
    let is_form = |t: &str| {
        let t = t.to_ascii_lowercase();
        t.contains("x-www-form-urlencoded") || t.contains("multipart/form-data")
    };
    // (An empty one has no fields: it is left to the hash check, `body_hash_mismatch`.)
    if !body.is_empty()
        && content_type.is_some_and(is_form)
        && crate::url::carries_body_hash(target)
    {
        return Err(Refusal::AmbiguousForm);
    }
    if body.is_empty() || !content_type.is_some_and(crate::headers::is_form_content_type) {
        return Ok(());
    }
    if !body.is_ascii() || crate::form::find_any(body, [b'\r', b'\n', 0]).is_some() {
        return Err(Refusal::Rejected(Rejection::MalformedBody));
    }
    // Go's `ParseQuery` drops a pair with a raw `;`, and Go and Tomcat one with an invalid escape:
    // Twilio sends neither (it encodes `;` and `%`).
    if crate::form::count_byte(body, b'&') >= MAX_FORM_PARTS
        || crate::form::find_byte(body, b';').is_some()
        || crate::form::has_bad_escape(body)
        || body
            .split(|&b| b == b'&')
            .any(|part| read_apart(part) || !names_like_twilio(part))
        || is_one_bare_key(body)
        || sorts_before_account_sid(body)
    {
        return Err(Refusal::AmbiguousForm);
    }
    // A body that is not UTF-8 once decoded is the validator's to refuse (`malformed_body`).
    let single = |key: Part<'_>| {
        SINGLE_VALUED_PARAMETERS
            .iter()
            .any(|name| key.cmp_decoded(Part::plain(name.as_bytes())).is_eq())
    };
    let repeats = || crate::canonical::with_form_body(body, |c| c.repeats_a_key(single));
    if !repeats_allowed && repeats() == Some(true) {
        return Err(Refusal::RepeatedParameter);
    }
    Ok(())
}

/// Whether the request target holds a form's first pair glued to its name, as no URL Twilio calls
/// does: `AccountSidAC` (the name of the parameter that sorts first in nearly every form webhook,
/// then the first letters of its value).
///
/// Spec §2 delimits neither the URL from `P` nor a key from its value, so the first pairs of a
/// genuine form can be moved from the body to the end of its URL, as text, and the string to sign is
/// the same (sixth outside attack, A5-F9). An attacker who wrote the SMS text
/// (`hi&From=%2B1999…&Body=transfer+all`) and captured its webhook re-sent it to
/// `/sms?src=twilioAccountSidAC…ApiVersion2010-04-01Bodyhi&From=%2B1999…&Body=transfer+all` with the rest
/// of the body, or to that URL with no body at all (a URL-only signature of the same string): it
/// verified, and Flask's `request.values`, PHP's `$_GET`, Django's `request.GET` and Express's
/// `req.query` read a forged `From`. The moved text starts where `P` starts, with `AccountSid` and
/// its value, byte for byte (no escape can stand in for them), so the glued name is in the target.
pub(super) fn has_glued_pairs(target: &str) -> bool {
    target.contains("AccountSidAC")
}

/// Whether the key of a form part (an empty part has none) is written as Twilio writes its parameter
/// names: an ASCII letter, then letters, digits, `_`, `.` or `-` (`AccountSid`, `MediaUrl0`,
/// `MessagingBinding.Address`, `SipHeader_X-Custom`), never escaped (Twilio escapes none of these).
///
/// Spec §2 delimits neither the URL from `P` nor a key from its value, so the end of a signed URL can be
/// cut off and sent as the first key of the form, with an empty value, whenever it sorts before the
/// other keys (sixth outside attack, A5-F12): a webhook for `/sms?tenant=12` verified as `/sms?tenant=1`
/// with `2=&AccountSid=…`, one for `/sms/status` as `/sms` with `%2Fstatus=&…`, a GET's URL-only
/// signature for `/voice/gather?Digits=1` as `POST /` with the one key `voice%2Fgather%3FDigits%3D1`,
/// and a JSON webhook's for `/events?bodySHA256=…` as a form to `/events`. Such a key holds the URL's
/// punctuation, or starts with a digit.
fn names_like_twilio(part: &[u8]) -> bool {
    let key = part.split(|&b| b == b'=').next().unwrap_or_default();
    match key {
        [] => true,
        [first, rest @ ..] => {
            first.is_ascii_alphabetic()
                && rest
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        }
    }
}

/// Whether a form that carries `AccountSid` has a key that sorts before it. No Twilio name does, and
/// every form webhook that carries `AccountSid` has it first, so the end of a signed URL cut off into the
/// form's first key has to sort before it: `/tenants/AC9999…` verified as `/tenants/` with a key
/// `AC9999…`, and `?env=QA` as `?env=Q` with a key `A` (sixth outside attack, A5-F12r: such keys are
/// written as names). A form without `AccountSid` is not judged by this.
fn sorts_before_account_sid(body: &[u8]) -> bool {
    const FIRST: &[u8] = b"AccountSid";
    let keys = || {
        body.split(|&b| b == b'&')
            .filter_map(|part| part.split(|&b| b == b'=').next())
            .filter(|key| !key.is_empty())
    };
    keys().any(|key| key == FIRST) && keys().any(|key| key < FIRST)
}

/// Whether a form is one key with no value (`me=` or `me`): Twilio never sends a form of one bare name,
/// and a URL-only signature (a GET's, a JSON webhook's) verifies its URL cut short before any tail sent
/// as such a key, letters only included (`?tenant=ac` with `me=` for a webhook to `?tenant=acme`; sixth
/// outside attack, A5-F12).
fn is_one_bare_key(body: &[u8]) -> bool {
    let mut parts = body.split(|&b| b == b'&').filter(|p| !p.is_empty());
    match (parts.next(), parts.next()) {
        (Some(only), None) => only
            .split(|&b| b == b'=')
            .nth(1)
            .is_none_or(<[u8]>::is_empty),
        _ => false,
    }
}

/// Whether some server reads the key of a form part as another name: one with a NUL (PHP cuts the
/// key there), `[` or `]` (PHP and Node's `qs` read arrays and objects), written or percent-encoded;
/// one that starts with a space (PHP drops leading spaces: ` From` is `$_POST['From']`); or an empty
/// key with a value (PHP drops the pair, and with it whatever a re-split put in its value).
fn read_apart(part: &[u8]) -> bool {
    let key = part.split(|&b| b == b'=').next().unwrap_or_default();
    let leading_space = key.starts_with(b" ") || key.starts_with(b"+") || key.starts_with(b"%20");
    (key.is_empty() && !part.is_empty())
        || leading_space
        || key.iter().any(|&b| b == b'[' || b == b']')
        || key.windows(3).any(|w| {
            matches!(w, [b'%', a, b] if (*a == b'0' && *b == b'0')
                || (*a == b'5' && matches!(b.to_ascii_lowercase(), b'b' | b'd')))
        })
}

#[cfg(test)]
mod tests;
