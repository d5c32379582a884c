use super::*;
use crate::{Relaxation, Signer};

const URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const PARAMS: [(&str, &str); 2] = [("CallSid", "CA1234567890ABCDE"), ("Digits", "1234")];
const KS: &str = "KS3450d4d9ffbd54ba014fdcf9c685490c";

fn sign(secret: &str, algorithm: Algorithm, url: &str) -> String {
    Signer::new(secret, algorithm)
        .unwrap()
        .sign_form(url, PARAMS)
}

#[test]
fn validator_is_cheap_to_share_across_threads() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<RequestValidator>();
    let v = RequestValidator::new("12345");
    let sig = sign("12345", Algorithm::HmacSha1, URL);
    let handle = std::thread::spawn({
        let v = v.clone();
        move || v.validate(URL, PARAMS, &sig)
    });
    assert!(handle.join().unwrap());
}

#[test]
fn debug_never_shows_a_secret() {
    let v = RequestValidator::builder()
        .auth_token("primary", "token-value-1")
        .shared_key(KS, "shared-value-2")
        .build()
        .unwrap();
    let debug = format!("{v:?}");
    assert!(debug.contains("primary") && debug.contains(KS) && debug.contains("REDACTED"));
    assert!(!debug.contains("token-value-1") && !debug.contains("shared-value-2"));
    let builder = format!(
        "{:?}",
        RequestValidator::builder().auth_token("a", "token-value-1")
    );
    assert!(!builder.contains("token-value-1"));
    assert!(builder.contains("RequestValidatorBuilder") && builder.contains("REDACTED"));
}

#[test]
fn builder_refuses_bad_configuration() {
    let err = |b: RequestValidatorBuilder| b.build().unwrap_err();
    assert_eq!(err(RequestValidator::builder()), ConfigError::NoSecrets);
    assert_eq!(
        err(RequestValidator::builder().auth_token("primary", "")),
        ConfigError::EmptySecret("primary".into())
    );
    assert_eq!(
        err(RequestValidator::builder()
            .auth_token("a", "x")
            .auth_token("a", "y")),
        ConfigError::DuplicateName("a".into())
    );
    assert_eq!(
        err(RequestValidator::builder()
            .shared_key(KS, "x")
            .shared_key(KS, "y")),
        ConfigError::DuplicateName(KS.into())
    );
}

#[test]
fn config_errors_name_the_secret_but_not_its_value() {
    assert_eq!(
        ConfigError::EmptySecret("primary".into()).to_string(),
        "the secret \"primary\" is empty"
    );
    assert_eq!(
        ConfigError::DuplicateName("a".into()).to_string(),
        "more than one secret is named \"a\""
    );
    assert!(
        ConfigError::NoSecrets
            .to_string()
            .contains("no Auth Token or SharedKey")
    );
}

#[test]
fn an_empty_token_fails_closed() {
    let v = RequestValidator::new("");
    let sig = sign("x", Algorithm::HmacSha1, URL);
    assert_eq!(
        v.verify_form(URL, PARAMS, SignatureHeaders::new(&sig))
            .err(),
        Some(Rejection::NoSecretConfigured)
    );
    assert_eq!(v.compute_signature(URL, PARAMS), "");
    assert!(!v.validate(URL, PARAMS, ""));
}

#[test]
fn rotation_names_the_token_that_matched() {
    let v = RequestValidator::builder()
        .auth_token("current", "new-token")
        .auth_token("previous", "old-token")
        .build()
        .unwrap();
    let old = sign("old-token", Algorithm::HmacSha1, URL);
    let verified = v
        .verify_form(URL, PARAMS, SignatureHeaders::new(&old))
        .unwrap();
    assert_eq!(verified.secret(), &SecretId::auth_token("previous"));
    assert_eq!(verified.port_variant(), PortVariant::AsReceived);
    assert_eq!(verified.relaxation(), None);
    assert_eq!(
        verified.to_string(),
        "valid: HMAC-SHA1 with Auth Token \"previous\", URL as received"
    );
    assert_eq!(
        v.compute_signature(URL, PARAMS),
        sign("new-token", Algorithm::HmacSha1, URL)
    );
}

#[test]
fn shared_key_selection() {
    let v = RequestValidator::builder()
        .auth_token("primary", "auth")
        .shared_key(KS, "shared")
        .build()
        .unwrap();
    let check = |sig: &str, settings: Option<&str>| {
        v.verify_form(
            URL,
            PARAMS,
            SignatureHeaders::new(sig).with_settings(settings),
        )
        .map(|ok| (ok.secret().clone(), ok.algorithm()))
    };
    let sha256 = sign("shared", Algorithm::HmacSha256, URL);
    let named = format!("key={KS},algorithm=HMAC_SHA256");
    assert_eq!(
        check(&sha256, Some(&named)),
        Ok((SecretId::shared_key(KS), Algorithm::HmacSha256))
    );
    // A downgrade: the header says SHA-256, the signature is SHA-1 with the same secret.
    let sha1_shared = sign("shared", Algorithm::HmacSha1, URL);
    assert_eq!(
        check(&sha1_shared, Some(&named)),
        Err(Rejection::MalformedSignature)
    );
    // Key without algorithm: that SharedKey with SHA-1 first, then the Auth Token.
    let key_only = format!("key={KS}");
    assert_eq!(
        check(&sha1_shared, Some(&key_only)),
        Ok((SecretId::shared_key(KS), Algorithm::HmacSha1))
    );
    let sha1_auth = sign("auth", Algorithm::HmacSha1, URL);
    assert_eq!(
        check(&sha1_auth, Some(&key_only)),
        Ok((SecretId::auth_token("primary"), Algorithm::HmacSha1))
    );
    // An explicit algorithm pins the SharedKey: the Auth Token is not tried.
    let explicit_sha1 = format!("key={KS},algorithm=HMAC_SHA1");
    assert_eq!(
        check(&sha1_auth, Some(&explicit_sha1)),
        Err(Rejection::SignatureMismatch)
    );
    assert_eq!(
        check(&sha256, Some("key=KS0,algorithm=HMAC_SHA256")),
        Err(Rejection::UnknownKeyId)
    );
    assert_eq!(
        check(&sha256, Some("algorithm=HMAC_SHA256")),
        Err(Rejection::UnknownKeyId)
    );
    assert_eq!(
        check(&sha256, Some("key=KS0,algorithm=HMAC_MD5")),
        Err(Rejection::UnknownAlgorithm)
    );
    // No header: the legacy scheme, so the SharedKey signature does not match the Auth Token.
    assert_eq!(check(&sha1_shared, None), Err(Rejection::SignatureMismatch));
}

#[test]
fn reasons_come_in_a_fixed_order() {
    let v = RequestValidator::new("12345");
    let body_url = "https://a.com/hook?bodySHA256=0000";
    // Missing signature wins over everything, then settings, then the signature's form, then the body.
    let reason = |sig: Option<&str>, settings: Option<&str>, url: &str| {
        v.verify_body(
            url,
            b"{}",
            SignatureHeaders {
                signature: sig,
                settings,
            },
        )
        .err()
    };
    assert_eq!(
        reason(None, Some("algorithm=X,key=K"), body_url),
        Some(Rejection::MissingSignature)
    );
    assert_eq!(
        reason(Some(""), None, body_url),
        Some(Rejection::MissingSignature)
    );
    assert_eq!(
        reason(Some("x"), Some("algorithm=X,key=K"), body_url),
        Some(Rejection::UnknownAlgorithm)
    );
    assert_eq!(
        reason(Some("x"), None, body_url),
        Some(Rejection::MalformedSignature)
    );
    let sig = "AAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    assert_eq!(
        reason(Some(sig), None, body_url),
        Some(Rejection::BodyHashMalformed)
    );
    assert_eq!(
        reason(Some(sig), None, "https://a.com/hook"),
        Some(Rejection::BodyHashMissing)
    );
    // An authentic URL with another body is a body mismatch; a forged URL is a signature mismatch.
    let signed = Signer::new("12345", Algorithm::HmacSha1)
        .unwrap()
        .sign_body("https://a.com/h", b"{}")
        .unwrap();
    let headers = SignatureHeaders::new(&signed.signature);
    assert_eq!(
        v.verify_body(&signed.url, b"{ }", headers).err(),
        Some(Rejection::BodyHashMismatch)
    );
    let forged = signed.url.replace("a.com", "b.com");
    assert_eq!(
        v.verify_body(&forged, b"{}", headers).err(),
        Some(Rejection::SignatureMismatch)
    );
    assert!(v.verify_body(&signed.url, b"{}", headers).is_ok());
}

#[test]
fn form_body_that_is_not_utf8_is_rejected() {
    let v = RequestValidator::new("12345");
    let sig = sign("12345", Algorithm::HmacSha1, URL);
    let got = v.verify_form_body(URL, b"Body=%FF", SignatureHeaders::new(&sig));
    assert_eq!(got.err(), Some(Rejection::MalformedBody));
}

#[test]
fn relaxations_are_opt_in_and_reported() {
    let signed_with_slash = sign("12345", Algorithm::HmacSha1, "https://a.com/twilio/");
    let strict = RequestValidator::new("12345");
    let got = strict.verify_form(
        "https://a.com/twilio",
        PARAMS,
        SignatureHeaders::new(&signed_with_slash),
    );
    assert_eq!(got.err(), Some(Rejection::SignatureMismatch));
    let lenient = RequestValidator::builder()
        .auth_token("primary", "12345")
        .allow_trailing_slash_variant()
        .build()
        .unwrap();
    let ok = lenient
        .verify_form(
            "https://a.com/twilio",
            PARAMS,
            SignatureHeaders::new(&signed_with_slash),
        )
        .unwrap();
    assert_eq!(ok.relaxation(), Some(Relaxation::TrailingSlashAdded));
    assert_eq!(
        ok.matched_url("https://a.com/twilio"),
        "https://a.com/twilio/"
    );
    assert!(ok.to_string().ends_with("trailing slash added (opt-in)"));
    // The slash relaxation composes with the port candidates.
    let ok = lenient
        .verify_form(
            "https://a.com:443/twilio",
            PARAMS,
            SignatureHeaders::new(&signed_with_slash),
        )
        .unwrap();
    assert_eq!(
        (
            ok.port_variant(),
            ok.matched_url("https://a.com:443/twilio").as_str()
        ),
        (PortVariant::PortRemoved, "https://a.com/twilio/")
    );
}

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

/// A JSON webhook as Twilio signs it: the URL with `bodySHA256`, its signature, and the body.
fn json_request() -> (String, String, &'static [u8]) {
    let body: &[u8] = br#"[{"specversion":"1.0","type":"com.twilio.messaging.message.delivered"}]"#;
    let signed = Signer::new("12345", Algorithm::HmacSha1)
        .unwrap()
        .sign_body("https://example.com/events?x=1", body)
        .unwrap();
    (signed.url, signed.signature, body)
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
fn try_new_refuses_an_empty_token_at_startup() {
    assert_eq!(
        RequestValidator::try_new("").err(),
        Some(ConfigError::EmptySecret("primary".into()))
    );
    let v = RequestValidator::try_new("12345").unwrap();
    assert!(v.validate(URL, PARAMS, &sign("12345", Algorithm::HmacSha1, URL)));
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

#[test]
fn an_empty_name_or_key_id_is_a_configuration_error() {
    let empty_id = RequestValidator::builder().shared_key("", "secret").build();
    assert_eq!(empty_id.err(), Some(ConfigError::EmptyName));
    let blank_name = RequestValidator::builder().auth_token(" ", "token").build();
    assert_eq!(blank_name.err(), Some(ConfigError::EmptyName));
    assert!(ConfigError::EmptyName.to_string().contains("empty"));
}

#[test]
fn a_fragment_is_never_signed_in_any_mode() {
    // Spec §4.4: Twilio's connection overrides live in the fragment and are never signed.
    let v = RequestValidator::new("12345");
    let plain = "https://a.com/sms";
    let sig = sign("12345", Algorithm::HmacSha1, plain);
    let with_overrides = "https://a.com/sms#rc=2&rp=all";
    let ok = v
        .verify_form(with_overrides, PARAMS, SignatureHeaders::new(&sig))
        .unwrap();
    assert!(ok.fragment_removed());
    assert_eq!(ok.port_variant(), PortVariant::AsReceived);
    assert_eq!(ok.matched_url(with_overrides), plain);
    assert!(ok.to_string().ends_with("as received, fragment removed"));
    // The port variant of the URL without its fragment.
    let ok = v
        .verify_form(
            "https://a.com:443/sms#ct=5000",
            PARAMS,
            SignatureHeaders::new(&sig),
        )
        .unwrap();
    assert!(ok.fragment_removed());
    assert_eq!(ok.port_variant(), PortVariant::PortRemoved);
    // A signature over the URL with its fragment still matches first, as received.
    let sig_fragment = sign("12345", Algorithm::HmacSha1, with_overrides);
    let ok = v
        .verify_form(with_overrides, PARAMS, SignatureHeaders::new(&sig_fragment))
        .unwrap();
    assert!(!ok.fragment_removed());
    // Cutting the fragment never drops anything else: the query still counts.
    let got = v.verify_form(
        "https://a.com/sms?x=1#rc=2",
        PARAMS,
        SignatureHeaders::new(&sig),
    );
    assert_eq!(got.err(), Some(Rejection::SignatureMismatch));
    // JSON: the body mode is the query's, never the fragment's, and the cut URL carries the hash.
    let (url, sig, body) = json_request();
    let h = SignatureHeaders::new(&sig);
    let fragmented = format!("{url}#rp=all");
    let ok = v.verify_body(&fragmented, body, h).unwrap();
    assert!(ok.fragment_removed());
    assert_eq!(ok.matched_url(&fragmented), url);
    assert_eq!(
        v.verify_body(&fragmented, b"[]", h).err(),
        Some(Rejection::BodyHashMismatch)
    );
    // With an opt-in relaxation too: the slash added before the fragment, then the fragment cut.
    let lenient = RequestValidator::builder()
        .auth_token("primary", "12345")
        .allow_trailing_slash_variant()
        .build()
        .unwrap();
    let sig_slash = sign("12345", Algorithm::HmacSha1, "https://a.com/sms/");
    let ok = lenient
        .verify_form(with_overrides, PARAMS, SignatureHeaders::new(&sig_slash))
        .unwrap();
    assert_eq!(ok.relaxation(), Some(Relaxation::TrailingSlashAdded));
    assert!(ok.fragment_removed());
    assert_eq!(ok.matched_url(with_overrides), "https://a.com/sms/");
}
