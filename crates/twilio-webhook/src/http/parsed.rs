//! Forms that a framework's parser already decoded: the drop-in APIs are handed parameters, not the
//! body, yet the app reads them the same way. They get the core's form rules by being encoded back
//! into the body Twilio would have sent for them.

use super::{Refusal, WebhookRejection, shape};

/// `pairs` percent-encoded as Twilio encodes a form body: every byte but ASCII letters, digits and
/// `-._~` escaped (a space as `%20`), in the order given.
///
/// ```
/// assert_eq!(twilio_webhook::encode_form(&[("Body", "Hi & bye"), ("To", "+1")]), "Body=Hi%20%26%20bye&To=%2B1");
/// ```
pub fn encode_form(pairs: &[(&str, &str)]) -> String {
    fn encode_into(out: &mut String, text: &str) {
        for b in text.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(b));
            } else {
                out.push('%');
                for nibble in [b >> 4, b & 0xf] {
                    let digit = char::from_digit(u32::from(nibble), 16).unwrap_or('0');
                    out.push(digit.to_ascii_uppercase());
                }
            }
        }
    }
    let mut out = String::new();
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, key);
        out.push('=');
        encode_into(&mut out, value);
    }
    out
}

/// The form rules of [`check_shape`](super::check_shape) for parameters a parser already decoded
/// (Flask's `request.form`, Django's `request.POST`): a second value of a parameter Twilio sends once
/// is [`Refusal::RepeatedParameter`](super::Refusal::RepeatedParameter), and a name some server reads
/// as another, or more than [`MAX_FORM_PARTS`](super::MAX_FORM_PARTS) parameters, is
/// [`Refusal::AmbiguousForm`](super::Refusal::AmbiguousForm). The signature does not cover where a
/// key ends and its value begins, so a genuine SMS whose `Body` holds `From+1555…` re-split verifies
/// with two values of `From`, and `request.form["From"]` is the forged one.
///
/// ```
/// use twilio_webhook::{Refusal, check_parsed_form};
///
/// assert!(check_parsed_form(&[("Body", "hi"), ("From", "+15551234")]).is_ok());
/// let resplit = [("Body", "hi"), ("From", "+10005550000"), ("From", "+15551234")];
/// assert_eq!(check_parsed_form(&resplit).unwrap_err().refusal(), Refusal::RepeatedParameter);
/// ```
pub fn check_parsed_form(pairs: &[(&str, &str)]) -> Result<(), WebhookRejection> {
    let body = encode_form(pairs);
    shape::check_form("", Some(FORM), body.as_bytes(), false)
        .map_err(|r| WebhookRejection::new(r, Vec::new()))
}

/// The rules on the shape of a received request whose body a parser already decoded into `pairs`
/// and whose bytes are gone (the drop-in's `validateExpressRequest`, Express `webhook()` after a
/// parser): [`check_shape`](super::check_shape) with `pairs` percent-encoded back into the form they
/// came from, so that its form rules apply to them too; then the body must have been a form.
///
/// Parameters decoded from a body sent as anything but `application/x-www-form-urlencoded` are
/// [`Refusal::AmbiguousForm`]: the signature covers form parameters, and the app reads another
/// body than the one they stand for. A multipart parser (multer) hands the app its text fields as
/// the body and its file parts beside them, in no parameter: a captured SMS re-sent as
/// `multipart/form-data` with an extra file verified on its text fields, and a URL-only signature
/// (any captured `GET` webhook) verified a body of files alone (sixth outside attack, A5-F7). Twilio
/// never sends such a body, and the core refuses it raw. A request without a `Content-Type` is left
/// to the other rules (no parser decodes a body without one; twilio-node's request objects have
/// none), and a target with `bodySHA256` to the validator, which refuses decoded parameters for it
/// (`body_not_hashed`).
///
/// ```
/// use twilio_webhook::{Refusal, check_parsed_request};
///
/// let with = |content_type: &'static str| {
///     http::HeaderMap::from_iter([(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type))])
/// };
/// let fields = [("Body", "hi"), ("From", "+15551234")];
/// let form = with("application/x-www-form-urlencoded");
/// assert!(check_parsed_request(&http::Method::POST, "/sms", &form, &fields).is_ok());
/// let multipart = with("multipart/form-data; boundary=x");
/// let refused = check_parsed_request(&http::Method::POST, "/sms", &multipart, &fields).unwrap_err();
/// assert_eq!(refused.refusal(), Refusal::AmbiguousForm);
/// // Files alone: no text field, and still not a form.
/// let refused = check_parsed_request(&http::Method::POST, "/sms", &multipart, &[]).unwrap_err();
/// assert_eq!(refused.refusal(), Refusal::AmbiguousForm);
/// ```
pub fn check_parsed_request(
    method: &http::Method,
    target: &str,
    headers: &http::HeaderMap,
    pairs: &[(&str, &str)],
) -> Result<(), WebhookRejection> {
    let body = encode_form(pairs);
    super::check_shape(method, target, headers, body.as_bytes())?;
    // `check_shape` refused a second Content-Type: the first is the one.
    let not_a_form = headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| !v.to_str().is_ok_and(crate::headers::is_form_content_type));
    if not_a_form && !crate::url::carries_body_hash(target) {
        return Err(WebhookRejection::new(Refusal::AmbiguousForm, Vec::new()));
    }
    Ok(())
}

/// [`check_parsed_form`] for a signature-level check that is also given the URL it verifies (the Python
/// drop-in's `validate(url, request.form, signature)`): a URL holding a form's first pair glued to its
/// name (`AccountSidAC…`) is [`Refusal::AmbiguousForm`](super::Refusal::AmbiguousForm) as
/// [`check_shape`](super::check_shape) refuses such a request target. A captured SMS re-sent as a `GET`
/// whose query holds its whole string to sign validated, and `request.values` read a forged `From`
/// (sixth outside attack, A5-F9r).
///
/// ```
/// use twilio_webhook::{Refusal, check_parsed_webhook};
///
/// assert!(check_parsed_webhook("https://h/sms", &[("Body", "hi")]).is_ok());
/// let moved = "https://h/sms?x=AccountSidAC0123Bodyhi&From=%2B1999";
/// assert_eq!(check_parsed_webhook(moved, &[]).unwrap_err().refusal(), Refusal::AmbiguousForm);
/// ```
pub fn check_parsed_webhook(url: &str, pairs: &[(&str, &str)]) -> Result<(), WebhookRejection> {
    if shape::has_glued_pairs(url) {
        return Err(WebhookRejection::new(
            super::Refusal::AmbiguousForm,
            Vec::new(),
        ));
    }
    check_parsed_form(pairs)
}

const FORM: &str = "application/x-www-form-urlencoded";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Refusal;

    #[test]
    fn parsed_forms_get_the_form_rules() {
        let refusal = |pairs: &[(&str, &str)]| check_parsed_form(pairs).err().map(|r| r.refusal());
        assert_eq!(refusal(&[]), None);
        assert_eq!(refusal(&[("Body", "a=b&c;d%zz\0é"), ("To", "+1")]), None);
        assert_eq!(refusal(&[("To", "+1"), ("To", "+1")]), None);
        assert_eq!(
            refusal(&[("To", "+1"), ("To", "+2")]),
            Some(Refusal::RepeatedParameter)
        );
        assert_eq!(refusal(&[("Body", "a"), ("Body", "b")]), None);
        assert_eq!(refusal(&[(" From", "+1")]), Some(Refusal::AmbiguousForm));
        assert_eq!(refusal(&[("From[x]", "+1")]), Some(Refusal::AmbiguousForm));
        assert_eq!(refusal(&[("From\0x", "+1")]), Some(Refusal::AmbiguousForm));
        assert_eq!(refusal(&[("", "AccountSid")]), Some(Refusal::AmbiguousForm));
        let many: Vec<(String, String)> = (0..600).map(|i| (format!("K{i}"), "v".into())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(refusal(&many), Some(Refusal::AmbiguousForm));
    }

    /// Sixth outside attack, A5-F7: the text fields of a multipart body (or a JSON body) decoded by a
    /// parser were verified as a form, and its file parts reached the app beside them.
    #[test]
    fn parsed_parameters_stand_for_a_form_alone() {
        let post = http::Method::POST;
        let with = |ct: Option<&'static str>| {
            let mut headers = http::HeaderMap::new();
            if let Some(ct) = ct {
                headers.insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(ct),
                );
            }
            headers
        };
        let fields = [("Body", "hi"), ("From", "+15551234")];
        let refusal = |target: &str, ct, pairs: &[(&str, &str)]| {
            check_parsed_request(&post, target, &with(ct), pairs)
                .err()
                .map(|r| r.refusal())
        };
        for ct in [
            Some(FORM),
            Some("Application/X-WWW-Form-Urlencoded ; charset=utf-8"),
            None,
        ] {
            assert_eq!(refusal("/sms", ct, &fields), None, "{ct:?}");
            assert_eq!(refusal("/sms", ct, &[]), None, "{ct:?}");
        }
        for ct in [
            "multipart/form-data; boundary=x",
            "MULTIPART/FORM-DATA;boundary=x",
            "application/json",
            "text/plain",
            "application/x-www-form-urlencoded, multipart/form-data",
            "application/x-www-form-urlencoded-x",
        ] {
            for pairs in [&fields[..], &[]] {
                assert_eq!(
                    refusal("/sms", Some(ct), pairs),
                    Some(Refusal::AmbiguousForm),
                    "{ct} {pairs:?}"
                );
            }
        }
        // A JSON webhook: the validator says why decoded parameters cannot pass (body_not_hashed).
        let json = "/events?bodySHA256=0123";
        assert_eq!(refusal(json, Some("application/json"), &fields), None);
        // The other rules still come first: a repeated From, a method Twilio never uses.
        let twice = [("From", "+1"), ("From", "+2")];
        assert_eq!(
            refusal("/sms", Some(FORM), &twice),
            Some(Refusal::RepeatedParameter)
        );
        let put = check_parsed_request(&http::Method::PUT, "/sms", &with(Some(FORM)), &fields);
        assert_eq!(put.unwrap_err().refusal(), Refusal::MethodNotAllowed);
    }

    #[test]
    fn encoding_keeps_every_byte_apart() {
        assert_eq!(encode_form(&[("a b", "é+\0")]), "a%20b=%C3%A9%2B%00");
        assert_eq!(encode_form(&[("k", ""), ("", "")]), "k=&=");
    }
}
