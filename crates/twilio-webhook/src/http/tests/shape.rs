use super::*;

/// The audit's attack: a captured GET webhook whose signed query holds `Body=hi+ACY-Digits+AD0-1234`
/// replayed with `Content-Type: text/plain; charset=utf-7`. Django decodes the query as UTF-7 and sees
/// `Digits=1234`, which no signature covers. The signature is genuine; the request is refused as
/// `unsupported_charset` (400) before any HMAC, whatever the method and wherever the charset is.
#[test]
fn a_charset_other_than_utf8_is_refused_before_any_hmac() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let target = "/voice?AccountSid=AC123&Body=hi+ACY-Digits+AD0-1234";
    let sig = sign_form(&format!("http://a.com{target}"), &[]);
    let get = |content_types: &[&str]| {
        let mut builder = http::Request::get(target)
            .header("host", "a.com")
            .header("x-twilio-signature", &sig);
        for ct in content_types {
            builder = builder.header("content-type", *ct);
        }
        let parts = builder.body(()).unwrap().into_parts().0;
        verifier.verify_parts(&parts, b"")
    };
    assert!(get(&[]).is_ok(), "the genuine request verifies");
    assert!(get(&["text/plain; charset=UTF-8"]).is_ok());
    for refused in [
        &["text/plain; charset=utf-7"][..],
        &["text/plain; charset=\"UTF-7\""],
        &["text/plain; charset=us-ascii"],
    ] {
        let e = get(refused).unwrap_err();
        assert_eq!(e.refusal(), Refusal::UnsupportedCharset, "{refused:?}");
        assert_eq!(e.code(), "unsupported_charset");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.urls_tried().is_empty(), "no URL was tried: no HMAC");
        assert_eq!(
            e.to_string(),
            "the Content-Type names a charset other than UTF-8"
        );
        assert_eq!(
            e.body_text(),
            "Twilio webhook rejected: unsupported_charset\n"
        );
    }

    // A POST form the same way: refused with charset=utf-7, accepted as Twilio sends it.
    let sig = sign_form("http://a.com/sms", &[("Body", "hi ACY-Digits AD0-1234")]);
    let post = |content_type: &str| {
        let parts = request(
            "/sms",
            &[
                ("host", "a.com"),
                ("content-type", content_type),
                ("x-twilio-signature", &sig),
            ],
        );
        verifier.verify_parts(&parts, b"Body=hi+ACY-Digits+AD0-1234")
    };
    assert!(post(FORM).is_ok());
    assert_eq!(
        post("application/x-www-form-urlencoded; charset=utf-7")
            .unwrap_err()
            .code(),
        "unsupported_charset"
    );
}

/// A field the verification reads, twice: the core reads the first, a framework may read the last
/// (Django with a second `Content-Type` naming another charset) or join them. Refused as
/// `duplicate_header` (400) before any HMAC, the request otherwise genuine.
#[test]
fn a_content_type_or_signature_field_twice_is_refused_before_any_hmac() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let sig = sign_form("http://a.com/sms", &[("Body", "Hi")]);
    let post = |extra: &[(&str, &str)]| {
        let mut builder = http::Request::post("/sms")
            .header("host", "a.com")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", &sig);
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        let parts = builder.body(()).unwrap().into_parts().0;
        verifier.verify_parts(&parts, b"Body=Hi")
    };
    assert!(post(&[]).is_ok(), "the genuine request verifies");
    let settings = ("x-twilio-webhooks-signature-settings", "v1;HMAC-SHA256;K");
    for extra in [
        &[("content-type", "text/plain; charset=utf-7")][..],
        &[("content-type", "application/x-www-form-urlencoded")],
        &[("X-Twilio-Signature", sig.as_str())],
        &[settings, settings],
    ] {
        let e = post(extra).unwrap_err();
        assert_eq!(e.refusal(), Refusal::DuplicateHeader, "{extra:?}");
        assert_eq!(e.code(), "duplicate_header");
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
        assert!(e.urls_tried().is_empty(), "no URL was tried: no HMAC");
    }
    // One settings header is no duplicate.
    let one = post(&[settings]).map_err(|e| e.refusal());
    assert_ne!(one.err(), Some(Refusal::DuplicateHeader));
}

/// A client-chosen text in a log line is cut to at most `LOGGED_TEXT` bytes, at a character
/// boundary before the limit (never after it), and says how long it was.
#[test]
fn logged_text_is_cut_before_the_limit_at_a_character_boundary() {
    use rejection::{LOGGED_TEXT, clipped};
    let exact = "a".repeat(LOGGED_TEXT);
    assert!(matches!(clipped(&exact), std::borrow::Cow::Borrowed(t) if t == exact));
    let over = "a".repeat(LOGGED_TEXT + 1);
    assert_eq!(
        clipped(&over),
        format!("{}… ({} bytes)", exact, LOGGED_TEXT + 1)
    );
    // A two-byte character across the limit is left out whole.
    let across = format!("{}éb", "a".repeat(LOGGED_TEXT - 1));
    assert_eq!(
        clipped(&across),
        format!(
            "{}… ({} bytes)",
            "a".repeat(LOGGED_TEXT - 1),
            LOGGED_TEXT + 2
        )
    );
}

/// A form body with a raw CR, LF or NUL is `malformed_body` before any HMAC (Twilio percent-encodes
/// them; a re-split genuine form could otherwise carry an HTTP request); encoded, they verify, and a
/// body that is not a form (JSON under `bodySHA256`) may hold line breaks.
#[test]
fn a_form_body_with_a_raw_line_break_is_malformed() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let post = |content_type: &str, url: &str, body: &[u8], sig: &str| {
        let parts = http::Request::post(url.trim_start_matches("http://a.com"))
            .header("host", "a.com")
            .header("content-type", content_type)
            .header("x-twilio-signature", sig)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        verifier.verify_parts(&parts, body).map_err(|e| e.code())
    };
    let form = "application/x-www-form-urlencoded";
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
    for body in [
        &b"Body=a\r\nb"[..],
        b"Body=a\nb",
        b"Body=a\rb",
        b"Body=a\0b",
        b"x\r\n=1",
    ] {
        let sig = signer.sign_form_body("http://a.com/sms", body).unwrap();
        assert_eq!(
            post(form, "http://a.com/sms", body, &sig),
            Err("malformed_body"),
            "{body:?}"
        );
    }
    let encoded = b"Body=a%0D%0Ab%00";
    let sig = signer.sign_form_body("http://a.com/sms", encoded).unwrap();
    assert!(post(form, "http://a.com/sms", encoded, &sig).is_ok());
    let json = b"{\n  \"a\": 1\n}\r\n";
    let signed = signer.sign_body("http://a.com/events", json).unwrap();
    assert!(post("application/json", &signed.url, json, &signed.signature).is_ok());
}

/// A form body that does not decode to UTF-8 is `malformed_body`, and its log line says so.
#[test]
fn a_form_body_that_is_not_utf8_is_explained() {
    let verifier = WebhookVerifier::new(RequestValidator::new(TOKEN));
    let parts = http::Request::post("/sms")
        .header("host", "a.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-twilio-signature", sign_form("http://a.com/sms", &[]))
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let e = verifier.verify_parts(&parts, b"Body=%FF").unwrap_err();
    assert_eq!(e.code(), "malformed_body");
    assert!(
        e.explanation()
            .is_some_and(|x| x.contains("does not decode to UTF-8")),
        "{:?}",
        e.explanation()
    );
}
