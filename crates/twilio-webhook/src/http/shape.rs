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
        || body.split(|&b| b == b'&').any(read_apart)
        || !body.split(|&b| b == b'&').all(names_like_twilio)
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
mod tests {
    use super::*;
    use crate::{Incoming, PublicUrl, RequestValidator, WebhookVerifier};
    use http::{HeaderMap, HeaderValue, Method};

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn a_name_with_two_values_is_refused_unless_allowed() {
        let check = |body: &str| check_form("/sms", FORM, body.as_bytes(), false);
        assert_eq!(check("Body=hi&From=%2B1555"), Ok(()));
        // Third outside attack, F19: the SMS `Body=helloFrom+10005550000` re-split.
        let resplit = "Body=hello&From=%2B10005550000&From=%2B15551234&To=%2B15556666";
        assert_eq!(check(resplit), Err(Refusal::RepeatedParameter));
        assert_eq!(check("From=a&From=b"), Err(Refusal::RepeatedParameter));
        // An escaped name is never Twilio's (it escapes no letter): refused before it is compared.
        assert_eq!(check("Fr%6Fm=a&From=b"), Err(Refusal::AmbiguousForm));
        assert_eq!(check("From=a&From=a&To=b"), Ok(()));
        assert_eq!(check("From=a&FROM=b&from=c"), Ok(()));
        assert_eq!(check_form("/sms", FORM, resplit.as_bytes(), true), Ok(()));
        // More fields than the stack holds, and more than the sort indexes.
        // Names Twilio may repeat, or an app's own.
        assert_eq!(
            check("MediaUrl0=a&MediaUrl0=b&NumMedia=2&Tag=x&Tag=y"),
            Ok(())
        );
        assert_eq!(check("Body=Hello&Body=again&Digits=1&Digits=2"), Ok(()));
        for name in SINGLE_VALUED_PARAMETERS {
            let twice = format!("{name}=a&{name}=b");
            assert_eq!(check(&twice), Err(Refusal::RepeatedParameter), "{name}");
        }
        let many: String = (0..300).map(|i| format!("K{i}=v&")).collect();
        assert_eq!(check(&format!("{many}K7=w")), Ok(()));
        assert_eq!(
            check(&format!("{many}To=1&To=2")),
            Err(Refusal::RepeatedParameter)
        );
        // Not a form: not read here.
        let json = Some("application/json");
        assert_eq!(check_form("/sms", json, b"From=a&From=b", false), Ok(()));
        assert_eq!(check_form("/sms", None, b"", false), Ok(()));
    }

    #[test]
    fn a_content_coding_is_refused() {
        let with = |fields: &[(&str, &str)]| {
            let mut headers = http::HeaderMap::new();
            for (n, v) in fields {
                let name = http::HeaderName::from_bytes(n.as_bytes()).expect("name");
                headers.append(name, v.parse().expect("value"));
            }
            check_codings(&headers)
        };
        let refused = Err(Refusal::UnsupportedContentEncoding);
        assert_eq!(with(&[]), Ok(()));
        assert_eq!(with(&[("content-encoding", "identity")]), Ok(()));
        assert_eq!(with(&[("content-encoding", " Identity ")]), Ok(()));
        assert_eq!(with(&[("transfer-encoding", "chunked")]), Ok(()));
        for coded in [
            [("content-encoding", "deflate")],
            [("content-encoding", "gzip")],
            [("content-encoding", "identity, gzip")],
            [("content-encoding", "")],
            [("content-encoding", "br")],
            [("transfer-encoding", "gzip, chunked")],
            [("transfer-encoding", "deflate")],
        ] {
            assert_eq!(with(&coded), refused, "{coded:?}");
        }
        let two = [
            ("content-encoding", "identity"),
            ("content-encoding", "gzip"),
        ];
        assert_eq!(with(&two), refused);
    }

    /// Fourth outside attack: PHP cuts a key at a NUL (`From%00X` is `$_POST['From']`) and stops
    /// after `max_input_vars` parts, empty ones counted; the core skips empty parts.
    #[test]
    fn forms_servers_read_apart_are_refused() {
        let check = |body: &str| check_form("/sms", FORM, body.as_bytes(), true);
        let ambiguous = Err(Refusal::AmbiguousForm);
        for body in [
            "Body=hi&From%00X=%2B1555&From%2B1666=",
            "Body=hi&From[]=x",
            "Body=hi&From%5B%5D=x",
            "Body=hi&From%5bx%5d=x",
            "Body=hi&From]=x",
            // Fourth outside attack (F10): PHP drops a key's leading spaces, and an empty key's pair.
            "=AccountSidAC1Bodyhi&+From=%2B1555&From=%2B1666",
            "Body=hi&%20From=%2B1555",
            "Body=hi& From=%2B1555",
            "=x&From=%2B1555",
            // Fourth outside attack (F15): Go drops a pair with a raw `;`, Go and Tomcat one with
            // an invalid escape, and with it the genuine parameters a re-split put in its key.
            "Body=hi&From=%2B1555&K;=FromCityX",
            "Body=hi&From=%2B1555&K%zz=FromCityX",
            "Body=hi%&From=%2B1555",
            "Body=hi%4&From=%2B1555",
        ] {
            assert_eq!(check(body), ambiguous, "{body:?}");
        }
        let empties = format!("Body=hi{}&From=%2B1555", "&".repeat(MAX_FORM_PARTS));
        assert_eq!(check(&empties), ambiguous);
        let many: String = (0..=MAX_FORM_PARTS).map(|i| format!("K{i}=v&")).collect();
        assert_eq!(check(many.trim_end_matches('&')), ambiguous);
        let fewer: String = (0..MAX_FORM_PARTS).map(|i| format!("K{i}=v&")).collect();
        assert_eq!(check(fewer.trim_end_matches('&')), Ok(()));
        // In a value, all of these are just text.
        assert_eq!(check("Body=%00%5B%5D[]&From=%2B1555"), Ok(()));
        assert_eq!(check("Body=a&&From=b"), Ok(()));
    }

    /// Fourth outside attack (F6): a JSON webhook verified on its bytes, replayed as a form, was
    /// parsed by Express and PHP into fields made of `&` and `=` inside its strings.
    #[test]
    fn a_body_verified_as_bytes_is_never_a_form() {
        let target = "/events?bodySHA256=0123";
        let json = br#"{"x":"a&From=+1555&EventType=admin"}"#;
        for ct in [
            "application/x-www-form-urlencoded",
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
            "multipart/form-data; boundary=x",
            // Fourth outside attack (F12): PHP reads the type up to a `,` or a space too.
            "application/x-www-form-urlencoded,application/json",
            "application/x-www-form-urlencoded x",
            "application/json, application/x-www-form-urlencoded",
        ] {
            let refused = check_form(target, Some(ct), json, false);
            assert_eq!(refused, Err(Refusal::AmbiguousForm), "{ct}");
            assert_eq!(check_form(target, Some(ct), b"", false), Ok(()));
        }
        for ct in [Some("application/json"), Some("text/plain"), None] {
            assert_eq!(check_form(target, ct, json, false), Ok(()), "{ct:?}");
        }
        assert_eq!(check_form("/events?x=1", FORM, b"a=1", false), Ok(()));
    }

    #[test]
    fn raw_line_breaks_and_nul_are_malformed() {
        let malformed = Err(Refusal::Rejected(Rejection::MalformedBody));
        for body in [
            "Body=a\r\nb",
            "Body=a\nb",
            "Bo\0dy=a",
            "\r\nPOST /x HTTP/1.1",
        ] {
            assert_eq!(
                check_form("/sms", FORM, body.as_bytes(), true),
                malformed,
                "{body:?}"
            );
        }
        assert_eq!(check_form("/sms", FORM, b"Body=a%0D%0Ab", false), Ok(()));
        // Raw non-ASCII (fourth outside attack, F5): malformed; percent-encoded, fine.
        assert_eq!(
            check_form("/sms", FORM, "Body=José".as_bytes(), false),
            malformed
        );
        assert_eq!(check_form("/sms", FORM, b"Body=caf\xe9", false), malformed);
        assert_eq!(check_form("/sms", FORM, b"Body=Jos%C3%A9", false), Ok(()));
    }

    // The drop-in's check against the verifier's.

    const METHODS: [&str; 8] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "get", "PROPFIND",
    ];
    const TYPES: [Option<&str>; 7] = [
        None,
        Some("application/x-www-form-urlencoded"),
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        Some("application/x-www-form-urlencoded; charset=utf-7"),
        Some("application/x-www-form-urlencoded; charset=\"utf8\""),
        Some("application/json; charset=latin1"),
        Some("application/json"),
    ];
    const BODIES: [&[u8]; 4] = [b"", b"Body=Hi", b"Body=a\rb", b"{\"a\":\n1}"];

    /// The headers of a case: its content type, and the signature field once or twice.
    fn headers(content_type: Option<&'static str>, signatures: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(v) = content_type {
            headers.append(http::header::CONTENT_TYPE, HeaderValue::from_static(v));
        }
        for _ in 0..signatures {
            headers.append("x-twilio-signature", HeaderValue::from_static("c2ln"));
        }
        headers
    }

    /// Every combination of method, content type, signature fields and body: `check_shape` refuses
    /// exactly what the verifier refuses before the URL, with the same refusal, and lets through
    /// exactly what the verifier goes on to check the signature of.
    #[test]
    fn refuses_what_the_verifier_refuses_before_the_url() {
        let base = PublicUrl::base("https://example.com").unwrap_or_else(|_| unreachable!());
        let verifier = WebhookVerifier::new(RequestValidator::new("token"))
            .public_url(base)
            .diagnoses_per_second(0);
        let mut refused = 0;
        let mut cases = 0;
        for method in METHODS {
            let method = Method::from_bytes(method.as_bytes()).unwrap_or_default();
            for (content_type, signatures) in TYPES.iter().flat_map(|t| [(*t, 1), (*t, 2)]) {
                let headers = headers(content_type, signatures);
                for body in BODIES {
                    let what = format!("{method} {content_type:?} x{signatures} {body:?}");
                    let verdict = verifier.verify(&Incoming::new(&method, "/sms", &headers), body);
                    // Past the shape, the signature's own refusals (these bodies are UTF-8: a
                    // malformed body is the shape's raw line break).
                    let before_url = verdict.err().map(|r| r.refusal()).filter(|r| {
                        !matches!(r, Refusal::Rejected(why) if *why != Rejection::MalformedBody)
                    });
                    let shape = check_shape(&method, "/sms", &headers, body).err();
                    assert_eq!(shape.map(|r| r.refusal()), before_url, "{what}");
                    refused += usize::from(before_url.is_some());
                    cases += 1;
                }
            }
        }
        // The matrix exercises refusals and passes alike.
        assert!(refused > 0 && refused < cases, "{refused} of {cases}");
    }

    /// A target holding a form's first pair glued to its name is refused, in the path or the query,
    /// with or without a body; one naming the parameter with its `=` (a GET webhook's query) is not.
    #[test]
    fn pairs_glued_into_the_target_are_ambiguous() {
        let form = headers(Some("application/x-www-form-urlencoded"), 1);
        let sid = "AC0123456789abcdef0123456789abcdef";
        for (method, target, body) in [
            (
                Method::POST,
                format!("/sms?src=twilioAccountSid{sid}Bodyhi&From=x"),
                &b"To=1"[..],
            ),
            (
                Method::GET,
                format!("/sms?AccountSid{sid}ApiVersion2010-04-01"),
                &b""[..],
            ),
            (
                Method::POST,
                format!("/smsAccountSid{sid}?x=1"),
                &b"To=1"[..],
            ),
        ] {
            assert_eq!(
                check_shape(&method, &target, &form, body).map_err(|r| r.refusal()),
                Err(Refusal::AmbiguousForm),
                "{target}"
            );
        }
        for target in [
            format!("/sms?AccountSid={sid}&ApiVersion=2010-04-01"),
            "/sms?src=twilio".to_string(),
            "/accountsidac/sms".to_string(),
        ] {
            assert!(
                check_shape(&Method::GET, &target, &form, b"").is_ok(),
                "{target}"
            );
        }
        assert!(has_glued_pairs("AccountSidAC"));
        assert!(!has_glued_pairs("AccountSidA"));
    }

    /// Keys are read as Twilio writes its names; one bare name is never a Twilio form.
    #[test]
    fn keys_not_written_as_twilios_and_one_bare_name_are_ambiguous() {
        let check = |body: &str| check_form("/sms", FORM, body.as_bytes(), false);
        for twilio in [
            "AccountSid=AC1&Body=",
            "MediaUrl0=a&NumMedia=1",
            "MessagingBinding.Address=%2B1&Author=x",
            "SipHeader_X-Custom=1&CallSid=CA1",
            "Body=hi",
        ] {
            assert_eq!(check(twilio), Ok(()), "{twilio}");
        }
        for cut in [
            "2=&AccountSid=AC1",
            "%2Fstatus=&AccountSid=AC1",
            "voice%2Fgather%3FDigits%3D1=",
            "%3FbodySHA256%3Dab=",
            "_x=1&Body=hi",
            "-x=1&Body=hi",
            "A%41=1&Body=hi",
            "A+B=1&Body=hi",
            "A~B=1&Body=hi",
            "me=",
            "me",
            "&me&",
            "Body=",
        ] {
            assert_eq!(check(cut), Err(Refusal::AmbiguousForm), "{cut}");
        }
        // Keys sorting before `AccountSid` in a form that carries it: a URL's end cut into the first key.
        for cut in [
            "AC9999=&AccountSid=AC1&Body=hi",
            "A=&AccountSid=AC1",
            "AccountSid=AC1&Acc=x",
            "AB=1&AccountSid=AC1",
        ] {
            assert_eq!(check(cut), Err(Refusal::AmbiguousForm), "{cut}");
        }
        for twilio in [
            "AccountSid=AC1&AddOns=x&ApiVersion=1",
            "A=1&B=2",
            "AccountSid=AC1&AccountSidX=1",
        ] {
            assert_eq!(check(twilio), Ok(()), "{twilio}");
        }
        assert!(names_like_twilio(b""));
        assert!(names_like_twilio(b"=x"));
        assert!(!is_one_bare_key(b"me=x"));
        assert!(!is_one_bare_key(b"a=&b="));
        assert!(!is_one_bare_key(b""));
    }
}
