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

/// Building a validator: what it refuses, what it shows of a secret, how it is shared.
mod config;

/// Whole requests: headers from pairs or bytes, JSON bodies, the path `verify_request` picks.
mod requests;
