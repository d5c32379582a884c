//! What a form body must look like before any HMAC is computed: the shapes a genuine Twilio form
//! never has and a re-split one (the boundary between a key and its value is not signed) can.

use super::{Refusal, Rejection};

/// Refuses a form body Twilio never sends:
/// - a raw CR, LF or NUL (Twilio percent-encodes them): a re-split genuine form could carry an HTTP
///   request that an app leaving the body unread parses as the next one (`malformed_body`);
/// - unless `repeats_allowed`, a parameter name with two different values (Twilio sends each name
///   once): a re-split genuine SMS can put a forged `From` ahead of the real one
///   ([`Refusal::RepeatedParameter`]).
///
/// Bodies of another content type are not forms, and are left to the validator.
pub(super) fn check_form(
    content_type: Option<&str>,
    body: &[u8],
    repeats_allowed: bool,
) -> Result<(), Refusal> {
    if body.is_empty() || !content_type.is_some_and(crate::headers::is_form_content_type) {
        return Ok(());
    }
    if crate::form::find_any(body, [b'\r', b'\n', 0]).is_some() {
        return Err(Refusal::Rejected(Rejection::MalformedBody));
    }
    // A body that is not UTF-8 once decoded is the validator's to refuse (`malformed_body`).
    let repeats = || crate::canonical::with_form_body(body, |c| c.repeats_a_key());
    if !repeats_allowed && repeats() == Some(true) {
        return Err(Refusal::RepeatedParameter);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn a_name_with_two_values_is_refused_unless_allowed() {
        let check = |body: &str| check_form(FORM, body.as_bytes(), false);
        assert_eq!(check("Body=hi&From=%2B1555"), Ok(()));
        // Third outside attack, F19: the SMS `Body=helloFrom+10005550000` re-split.
        let resplit = "Body=hello&From=%2B10005550000&From=%2B15551234&To=%2B15556666";
        assert_eq!(check(resplit), Err(Refusal::RepeatedParameter));
        assert_eq!(check("From=a&From=b"), Err(Refusal::RepeatedParameter));
        assert_eq!(check("Fr%6Fm=a&From=b"), Err(Refusal::RepeatedParameter));
        assert_eq!(check("From=a&From=a&To=b"), Ok(()));
        assert_eq!(check("From=a&FROM=b&from=c"), Ok(()));
        assert_eq!(check_form(FORM, resplit.as_bytes(), true), Ok(()));
        // More fields than the stack holds, and more than the sort indexes.
        let many: String = (0..300).map(|i| format!("K{i}=v&")).collect();
        assert_eq!(check(&many), Ok(()));
        assert_eq!(
            check(&format!("{many}K7=w")),
            Err(Refusal::RepeatedParameter)
        );
        // Not a form: not read here.
        let json = Some("application/json");
        assert_eq!(check_form(json, b"From=a&From=b", false), Ok(()));
        assert_eq!(check_form(None, b"", false), Ok(()));
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
                check_form(FORM, body.as_bytes(), true),
                malformed,
                "{body:?}"
            );
        }
        assert_eq!(check_form(FORM, b"Body=a%0D%0Ab", false), Ok(()));
    }
}
