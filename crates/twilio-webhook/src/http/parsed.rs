//! Forms that a framework's parser already decoded: the drop-in APIs are handed parameters, not the
//! body, yet the app reads them the same way. They get the core's form rules by being encoded back
//! into the body Twilio would have sent for them.

use super::{WebhookRejection, shape};

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

    #[test]
    fn encoding_keeps_every_byte_apart() {
        assert_eq!(encode_form(&[("a b", "é+\0")]), "a%20b=%C3%A9%2B%00");
        assert_eq!(encode_form(&[("k", ""), ("", "")]), "k=&=");
    }
}
