//! What a request brings besides its URL and body: the signature headers, and whether its
//! `Content-Type` is a form.

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
        let text = |value: &'a V| std::str::from_utf8(value.as_ref()).unwrap_or(NOT_UTF8);
        let mut found = SignatureHeaders::default();
        for (name, value) in headers {
            let name = name.as_ref();
            if found.signature.is_none()
                && name.eq_ignore_ascii_case(settings::SIGNATURE_HEADER.as_bytes())
            {
                found.signature = Some(text(value));
            } else if found.settings.is_none()
                && name.eq_ignore_ascii_case(settings::SIGNATURE_SETTINGS_HEADER.as_bytes())
            {
                found.settings = Some(text(value));
            }
        }
        found
    }
}

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
