//! Whole requests: headers read from pairs or bytes, a JSON request and its body hash, the path
//! `verify_request` picks from the URL and content type, and what a `Verified` borrows.

use super::*;

#[test]
fn headers_from_pairs_are_case_insensitive_and_first_wins() {
    let pairs = [
        ("content-type", "application/json"),
        ("x-twilio-signature", "first"),
        ("X-Twilio-Signature", "second"),
        ("X-TWILIO-WEBHOOKS-SIGNATURE-SETTINGS", "key=KS1"),
        ("X-Twilio-Webhooks-Signature-Settings", "key=KS2"),
        ("user-agent", "TwilioProxy/1.1"),
    ];
    let h = SignatureHeaders::from_pairs(pairs.iter().map(|(n, v)| (*n, *v)));
    assert_eq!(h.signature, Some("first"));
    assert_eq!(h.settings, Some("key=KS1"));
    assert_eq!(
        SignatureHeaders::from_pairs(std::iter::empty::<(&str, &str)>()),
        SignatureHeaders::default()
    );
}

#[test]
fn a_json_request_replayed_without_its_body_is_rejected_everywhere() {
    let v = RequestValidator::new("12345");
    let (url, sig, body) = json_request();
    let h = SignatureHeaders::new(&sig);
    // Genuine: the body matches its hash, through every entry point that holds the raw body.
    assert!(v.verify_body(&url, body, h).is_ok());
    assert!(v.verify_form_body(&url, body, h).is_ok());
    assert!(
        v.verify_request(&url, Some("application/json"), body, h)
            .is_ok()
    );
    // Replayed as an empty form, a GET, or with another body: the URL decides the mode.
    let none: [(&str, &str); 0] = [];
    assert_eq!(
        v.verify_form(&url, none, h).err(),
        Some(Rejection::BodyNotHashed)
    );
    assert_eq!(
        v.verify_form(&url, PARAMS, h).err(),
        Some(Rejection::BodyNotHashed)
    );
    assert!(!v.validate(&url, none, &sig));
    assert_eq!(
        v.verify_form_body(&url, b"", h).err(),
        Some(Rejection::BodyHashMismatch)
    );
    let form = Some("application/x-www-form-urlencoded");
    for (content_type, replayed) in [
        (None, &b""[..]),
        (form, b""),
        (form, b"Body=hi"),
        (Some("application/json"), b"[]"),
    ] {
        assert_eq!(
            v.verify_request(&url, content_type, replayed, h).err(),
            Some(Rejection::BodyHashMismatch),
            "{content_type:?} {replayed:?}"
        );
    }
    // A malformed or repeated bodySHA256 is still body mode, with its own reason.
    let twice = format!("{url}&bodySHA256=00");
    assert_eq!(
        v.verify_form_body(&twice, body, h).err(),
        Some(Rejection::BodyHashMalformed)
    );
    assert_eq!(
        v.verify_form(&twice, none, h).err(),
        Some(Rejection::BodyNotHashed)
    );
    // The header checks still come first.
    assert_eq!(
        v.verify_form(&url, none, SignatureHeaders::default()).err(),
        Some(Rejection::MissingSignature)
    );
}

#[test]
fn verify_request_picks_the_path_from_url_and_content_type() {
    let v = RequestValidator::new("12345");
    let url = "https://example.com/sms";
    let sig = sign("12345", Algorithm::HmacSha1, url);
    let h = SignatureHeaders::new(&sig);
    let body = b"CallSid=CA1234567890ABCDE&Digits=1234";
    for content_type in [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded ;charset=utf-8",
        " application/x-www-form-urlencoded",
    ] {
        assert!(
            v.verify_request(url, Some(content_type), body, h).is_ok(),
            "{content_type}"
        );
    }
    // A non-form body without bodySHA256 is unauthenticated, whatever the signature.
    for content_type in [Some("application/json"), Some("text/plain"), None] {
        assert_eq!(
            v.verify_request(url, content_type, body, h).err(),
            Some(Rejection::BodyHashMissing),
            "{content_type:?}"
        );
    }
    assert_eq!(
        v.verify_request(url, None, body, SignatureHeaders::default())
            .err(),
        Some(Rejection::MissingSignature)
    );
    // An empty body is a form request with no parameters (a GET).
    let get = Signer::new("12345", Algorithm::HmacSha1)
        .unwrap()
        .sign_form(url, [("", ""); 0]);
    assert!(
        v.verify_request(url, None, b"", SignatureHeaders::new(&get))
            .is_ok()
    );
    assert!(
        v.verify_request(
            url,
            Some("application/json"),
            b"",
            SignatureHeaders::new(&get)
        )
        .is_ok()
    );
    // JSON with bodySHA256, through the same entry point.
    let (url, sig, body) = json_request();
    let json = Some("application/json; charset=utf-8");
    assert!(
        v.verify_request(&url, json, body, SignatureHeaders::new(&sig))
            .is_ok()
    );
}

#[test]
fn headers_from_bytes_and_non_utf8_values() {
    let sig = sign("12345", Algorithm::HmacSha1, URL);
    let raw: Vec<(&[u8], &[u8])> = vec![
        (b"Content-Type", b"text/plain"),
        (b"x-twilio-signature", sig.as_bytes()),
    ];
    let h = SignatureHeaders::from_pairs(raw.iter().map(|(n, v)| (*n, *v)));
    assert_eq!(h.signature, Some(sig.as_str()));
    assert!(
        RequestValidator::new("12345")
            .verify_form(URL, PARAMS, h)
            .is_ok()
    );
    // Owned strings, borrowed.
    let owned = [("X-Twilio-Signature".to_string(), sig.clone())];
    let h = SignatureHeaders::from_pairs(owned.iter().map(|(n, v)| (n, v.as_str())));
    assert_eq!(h.signature, Some(sig.as_str()));
    // A value that is not UTF-8 is malformed, not missing and never valid.
    let bad: [(&str, &[u8]); 2] = [
        ("x-twilio-signature", b"\xff\xfe"),
        ("x-twilio-webhooks-signature-settings", b"key=\xff"),
    ];
    let h = SignatureHeaders::from_pairs(bad);
    assert_eq!(
        RequestValidator::new("12345")
            .verify_form(URL, PARAMS, h)
            .err(),
        Some(Rejection::MalformedSignature)
    );
    assert_eq!(h.settings, Some("\u{FFFD}"));
}

#[test]
fn verified_outlives_the_url_it_was_made_from() {
    fn verify_built_url(
        v: &RequestValidator,
        host: &str,
        sig: &str,
    ) -> Result<Verified, Rejection> {
        let url = format!("https://{host}/myapp.php?foo=1&bar=2");
        v.verify_form(&url, PARAMS, SignatureHeaders::new(sig))
    }
    let v = RequestValidator::new("12345");
    let sig = sign(
        "12345",
        Algorithm::HmacSha1,
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
    );
    let verified = verify_built_url(&v, "mycompany.com", &sig).unwrap();
    drop(v);
    assert_eq!(verified.port_variant(), PortVariant::DefaultPortAdded);
    assert_eq!(
        verified.matched_url(URL),
        "https://mycompany.com:443/myapp.php?foo=1&bar=2"
    );
    assert_eq!(verified.secret().kind(), SecretKind::AuthToken);
    assert_eq!(verified.secret().name(), "primary");
}
