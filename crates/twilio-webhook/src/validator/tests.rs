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
    assert_eq!(verified.secret(), SecretId::AuthToken("previous"));
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
        .map(|ok| (ok.secret(), ok.algorithm()))
    };
    let sha256 = sign("shared", Algorithm::HmacSha256, URL);
    let named = format!("key={KS},algorithm=HMAC_SHA256");
    assert_eq!(
        check(&sha256, Some(&named)),
        Ok((SecretId::SharedKey(KS), Algorithm::HmacSha256))
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
        Ok((SecretId::SharedKey(KS), Algorithm::HmacSha1))
    );
    let sha1_auth = sign("auth", Algorithm::HmacSha1, URL);
    assert_eq!(
        check(&sha1_auth, Some(&key_only)),
        Ok((SecretId::AuthToken("primary"), Algorithm::HmacSha1))
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
    assert_eq!(ok.matched_url(), "https://a.com/twilio/");
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
        (ok.port_variant(), ok.matched_url().as_str()),
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
