//! What a request brings besides its URL and body: the signature headers, whether its
//! `Content-Type` is a form, and whether that `Content-Type` names a charset other than UTF-8.

use crate::settings;

/// The signature headers of a request, borrowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignatureHeaders<'a> {
    /// `X-Twilio-Signature`, if present.
    pub signature: Option<&'a str>,
    /// `X-Twilio-Webhooks-Signature-Settings`, if present (SharedKey signing).
    pub settings: Option<&'a str>,
}

impl<'a> SignatureHeaders<'a> {
    /// Just an `X-Twilio-Signature` value (a legacy Auth Token request).
    pub fn new(signature: &'a str) -> Self {
        SignatureHeaders {
            signature: Some(signature),
            settings: None,
        }
    }

    /// Adds an `X-Twilio-Webhooks-Signature-Settings` value.
    #[must_use]
    pub fn with_settings(mut self, settings: Option<&'a str>) -> Self {
        self.settings = settings;
        self
    }

    /// Picks both headers out of `(name, value)` pairs; names are matched case-insensitively and the
    /// first occurrence of each wins.
    ///
    /// Names and values may be `&str`, `&[u8]` or anything that is `AsRef<[u8]>`, so an
    /// `http::HeaderMap` works as it is (`HeaderValue` is bytes). A value that is not UTF-8 cannot be a
    /// signature or a settings list: it is kept as `"\u{FFFD}"`, which is rejected as malformed.
    ///
    /// ```
    /// use twilio_webhook::SignatureHeaders;
    ///
    /// let pairs = [("x-twilio-signature", "abc="), ("content-type", "text/plain")];
    /// assert_eq!(SignatureHeaders::from_pairs(pairs).signature, Some("abc="));
    /// let raw: [(&[u8], &[u8]); 1] = [(b"X-Twilio-Signature", b"abc=")];
    /// assert_eq!(SignatureHeaders::from_pairs(raw).signature, Some("abc="));
    /// ```
    pub fn from_pairs<I, N, V>(headers: I) -> Self
    where
        I: IntoIterator<Item = (N, &'a V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]> + ?Sized + 'a,
    {
        Self::scan(headers).0
    }

    /// The signature headers, and whether either comes more than once (found in the same pass).
    pub(crate) fn scan<I, N, V>(headers: I) -> (Self, bool)
    where
        I: IntoIterator<Item = (N, &'a V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]> + ?Sized + 'a,
    {
        let text = |value: &'a V| std::str::from_utf8(value.as_ref()).unwrap_or(NOT_UTF8);
        let mut found = SignatureHeaders::default();
        let mut twice = false;
        for (name, value) in headers {
            let name = name.as_ref();
            if name.eq_ignore_ascii_case(settings::SIGNATURE_HEADER.as_bytes()) {
                twice |= found.signature.is_some();
                found.signature = found.signature.or(Some(text(value)));
            } else if name.eq_ignore_ascii_case(settings::SIGNATURE_SETTINGS_HEADER.as_bytes()) {
                twice |= found.settings.is_some();
                found.settings = found.settings.or(Some(text(value)));
            }
        }
        (found, twice)
    }
}

/// The fields the verification reads that a request may carry once at most: the core reads the
/// first, and an app or framework that read another (the last, or all of them joined) would act on
/// one no check covered. A second one is [`Refusal::DuplicateHeader`](crate::Refusal::DuplicateHeader).
pub const SINGLE_FIELDS: [&str; 3] = [
    "content-type",
    settings::SIGNATURE_HEADER,
    settings::SIGNATURE_SETTINGS_HEADER,
];

/// What a header value that is not UTF-8 becomes: one character, which no signature or settings list is.
const NOT_UTF8: &str = "\u{FFFD}";

/// Whether a `Content-Type` value is `application/x-www-form-urlencoded`, its parameters (such as
/// `charset`) ignored and its case not significant.
pub(crate) fn is_form_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/x-www-form-urlencoded")
}

/// Whether a raw body (without `bodySHA256` in its URL) is read as form parameters: an empty one, or one
/// sent as `application/x-www-form-urlencoded` (spec §5). Any other is a body no signature covers.
pub(crate) fn is_form_body(content_type: Option<&str>, body: &[u8]) -> bool {
    body.is_empty() || content_type.is_some_and(is_form_content_type)
}

/// The charsets a `Content-Type` may name: Twilio encodes its parameters as UTF-8, and the core verifies
/// their UTF-8 reading. `us-ascii` is not among them: a framework that honours it reads a parameter with
/// a non-ASCII character (`José`) as other text (`Jos\u{FFFD}\u{FFFD}`) or fails, so what the app sees
/// is no longer what was signed; and Twilio never sends it.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
const UTF8_NAMES: [&[u8]; 2] = [b"utf-8", b"utf8"];

/// Whether a `Content-Type` value names no charset other than UTF-8 (spec: Twilio encodes parameters as
/// UTF-8). Frameworks decode the query and the form in the charset the client names (Django decodes
/// `request.GET` and `request.POST` with `charset=utf-7`, where `a+ACY-b` reads as `a&b`), and the
/// `Content-Type` is not signed: any other charset lets the app see parameters no signature covers.
///
/// Fails closed: every `;`-separated piece of the value that contains `charset` in any case must be
/// exactly `charset=utf-8` or `charset=utf8` (case not significant, the value quoted or not, spaces and
/// tabs around each part allowed). Any other spelling a framework might still read as a charset
/// (`charset*=`, `charset="utf\-8"`, a latin-1 no-break space before the name, a piece of a
/// comma-joined second field) is refused, since quoted `;`, RFC 2231 names and what counts as a blank
/// differ between parsers. Works on bytes: a value that is not UTF-8 is judged the same way.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn charset_is_utf8(content_type: &[u8]) -> bool {
    content_type.split(|&b| b == b';').all(|piece| {
        if !contains_ignore_ascii_case(piece, b"charset") {
            return true;
        }
        let Some(eq) = piece.iter().position(|&b| b == b'=') else {
            return false;
        };
        let (name, value) = piece.split_at(eq);
        let value = trim_ows(value.get(1..).unwrap_or_default());
        let value = match value {
            [b'"', inner @ .., b'"'] => inner,
            other => other,
        };
        trim_ows(name).eq_ignore_ascii_case(b"charset")
            && UTF8_NAMES
                .iter()
                .any(|utf8| value.eq_ignore_ascii_case(utf8))
    })
}

/// Whether `needle` occurs in `haystack`, ASCII letters compared without case.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window.eq_ignore_ascii_case(needle))
}

/// `bytes` without the spaces and tabs (HTTP's optional whitespace) at either end.
#[cfg_attr(not(feature = "http"), allow(dead_code))]
fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    bytes.get(start..end).unwrap_or_default()
}

#[cfg(test)]
mod tests;
