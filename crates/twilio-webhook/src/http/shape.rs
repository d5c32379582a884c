//! The core's rules on a request's shape, for callers that verify a request without
//! [`WebhookVerifier`](crate::WebhookVerifier): the drop-in APIs that are handed a request and a URL
//! (twilio-node's `validateExpressRequest`), which would otherwise apply none of them.

use crate::headers::SignatureHeaders;
use crate::http::{Refusal, WebhookRejection};
use crate::verdict::Rejection;

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
/// - a form body with a raw CR, LF or NUL (Twilio percent-encodes them) is
///   [`Rejection::MalformedBody`].
///
/// `body` is the raw body as received. A caller that has only the parameters a parser decoded from it
/// passes a non-empty stand-in when there were any (what counts then is that there was a body).
///
/// ```
/// use twilio_webhook::{Refusal, check_shape};
///
/// let form = http::HeaderMap::from_iter([(
///     http::header::CONTENT_TYPE,
///     http::HeaderValue::from_static("application/x-www-form-urlencoded"),
/// )]);
/// assert!(check_shape(&http::Method::POST, &form, b"Body=Hi").is_ok());
/// let replayed = check_shape(&http::Method::DELETE, &form, b"Body=Hi").unwrap_err();
/// assert_eq!(replayed.refusal(), Refusal::MethodNotAllowed);
/// let as_get = check_shape(&http::Method::GET, &form, b"Body=Hi").unwrap_err();
/// assert_eq!(as_get.refusal(), Refusal::BodyNotAllowed);
/// ```
pub fn check_shape(
    method: &http::Method,
    headers: &http::HeaderMap,
    body: &[u8],
) -> Result<(), WebhookRejection> {
    if method != http::Method::GET && method != http::Method::POST {
        return Err(WebhookRejection::new(Refusal::MethodNotAllowed, Vec::new()));
    }
    if !body.is_empty() && method != http::Method::POST {
        return Err(WebhookRejection::new(Refusal::BodyNotAllowed, Vec::new()));
    }
    let (_, twice) = SignatureHeaders::scan(headers);
    let mut content_types = headers.get_all(http::header::CONTENT_TYPE).iter();
    let content_type = content_types.next();
    if twice || content_types.next().is_some() {
        return Err(WebhookRejection::new(Refusal::DuplicateHeader, Vec::new()));
    }
    if !content_type.is_none_or(|v| crate::headers::charset_is_utf8(v.as_bytes())) {
        return Err(WebhookRejection::new(
            Refusal::UnsupportedCharset,
            Vec::new(),
        ));
    }
    let form = content_type
        .map(|v| v.to_str().unwrap_or("\u{FFFD}"))
        .is_some_and(crate::headers::is_form_content_type);
    if form && crate::form::find_any(body, [b'\r', b'\n', 0]).is_some() {
        return Err(WebhookRejection::new(
            Refusal::Rejected(Rejection::MalformedBody),
            Vec::new(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check_shape;
    use crate::{Incoming, PublicUrl, Refusal, Rejection, RequestValidator, WebhookVerifier};
    use http::{HeaderMap, HeaderValue, Method};

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
                    let shape = check_shape(&method, &headers, body).err();
                    assert_eq!(shape.map(|r| r.refusal()), before_url, "{what}");
                    refused += usize::from(before_url.is_some());
                    cases += 1;
                }
            }
        }
        // The matrix exercises refusals and passes alike.
        assert!(refused > 0 && refused < cases, "{refused} of {cases}");
    }
}
