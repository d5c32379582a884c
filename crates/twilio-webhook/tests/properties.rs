//! Property tests: round trips, tamper detection, order invariance, and no panic on arbitrary input.

use proptest::prelude::*;
use twilio_webhook::{Algorithm, Rejection, RequestValidator, SignatureHeaders, Signer};

const TOKEN: &str = "prop-test-token";

fn url_strategy() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["http", "https", "wss", "HTTPS"]),
        prop::option::of("[a-z]{1,6}:[a-z]{1,6}@"),
        prop::sample::select(vec![
            "example.com",
            "[2001:db8::1]",
            "10.0.0.1",
            "xn--caf-dma.example",
        ]),
        "(/[a-zA-Z0-9._~%-]{0,8}){0,3}",
        prop::option::of("[a-zA-Z0-9=&%+'é ]{0,20}"),
    )
        .prop_map(|(scheme, user, host, path, query)| {
            let mut url = format!("{scheme}://{}{host}{path}", user.unwrap_or_default());
            if let Some(q) = query {
                url.push('?');
                url.push_str(&q);
            }
            url
        })
}

fn params_strategy() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::vec(("[A-Za-z][A-Za-z0-9]{0,10}", "\\PC{0,24}"), 0..25)
}

fn form_body(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// Replaces the char at `index` (modulo the length) with a different printable ASCII char.
fn replace_one_char(s: &str, index: usize, replacement: char) -> Option<String> {
    let (pos, old) = s.char_indices().nth(index % s.chars().count().max(1))?;
    let new = if old == replacement {
        if replacement == 'x' { 'y' } else { 'x' }
    } else {
        replacement
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..pos]);
    out.push(new);
    out.push_str(&s[pos + old.len_utf8()..]);
    Some(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn sign_then_verify_round_trips(url in url_strategy(), params in params_strategy(), body in ".{0,200}") {
        let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
        let validator = RequestValidator::new(TOKEN);
        let sig = signer.sign_form(&url, &params);
        prop_assert!(validator.validate(&url, &params, &sig));
        prop_assert_eq!(&validator.compute_signature(&url, &params), &sig);

        let raw = form_body(&params);
        prop_assert_eq!(&signer.sign_form_body(&url, raw.as_bytes()).unwrap(), &sig);
        let v = validator.verify_form_body(&url, raw.as_bytes(), SignatureHeaders::new(&sig));
        prop_assert_eq!(v.map(|v| v.matched_url(&url)), Ok(url.clone()));

        let url_no_fragment = url.split('#').next().unwrap_or("").to_string();
        let signed = signer.sign_body(&url_no_fragment, body.as_bytes()).unwrap();
        let v = validator.verify_body(&signed.url, body.as_bytes(), SignatureHeaders::new(&signed.signature));
        prop_assert!(v.is_ok(), "{:?}", v);
    }

    #[test]
    fn shared_key_sha256_round_trips(url in url_strategy(), params in params_strategy()) {
        let id = "KS00000000000000000000000000000000";
        let signer = Signer::new("shared", Algorithm::HmacSha256).unwrap();
        let validator = RequestValidator::builder().shared_key(id, "shared").build().unwrap();
        let sig = signer.sign_form(&url, &params);
        let settings = twilio_webhook::settings_header_value(id, Algorithm::HmacSha256);
        let headers = SignatureHeaders::new(&sig).with_settings(Some(&settings));
        let v = validator.verify_form(&url, &params, headers).unwrap();
        prop_assert_eq!(v.algorithm(), Algorithm::HmacSha256);
        prop_assert_eq!(v.secret(), &twilio_webhook::SecretId::shared_key(id));
        // The same signature without the settings header is a legacy request: no Auth Token here.
        prop_assert_eq!(validator.verify_form(&url, &params, SignatureHeaders::new(&sig)).err(),
            Some(Rejection::NoSecretConfigured));
    }

    #[test]
    fn one_changed_byte_is_rejected(
        url in url_strategy(),
        params in params_strategy().prop_filter("some params", |p| !p.is_empty()),
        which in 0usize..4,
        index in any::<usize>(),
        replacement in prop::char::range('!', '~'),
        body in ".{1,100}",
    ) {
        // URLs are signed without a port, so no one-byte change can land on another port candidate.
        let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
        let validator = RequestValidator::new(TOKEN);
        let sig = signer.sign_form(&url, &params);
        let (mut url2, mut params2, mut sig2) = (url.clone(), params.clone(), sig.clone());
        let p = index % params.len();
        match which {
            0 => url2 = replace_one_char(&url, index, replacement).unwrap(),
            1 => params2[p].0 = replace_one_char(&params[p].0, index, replacement).unwrap(),
            2 => match replace_one_char(&params[p].1, index, replacement) {
                Some(v) => params2[p].1 = v,
                None => params2[p].1 = replacement.to_string(),
            },
            _ => sig2 = replace_one_char(&sig, index % 27, replacement).unwrap(),
        }
        let verdict = validator.verify_form(&url2, &params2, SignatureHeaders::new(&sig2));
        prop_assert!(
            matches!(verdict, Err(Rejection::SignatureMismatch | Rejection::MalformedSignature)),
            "{:?}", verdict
        );

        // A changed body byte under an authentic URL is a body hash mismatch.
        let signed = signer.sign_body("https://example.com/hook", body.as_bytes()).unwrap();
        let tampered = replace_one_char(&body, index, replacement).unwrap();
        let verdict = validator.verify_body(&signed.url, tampered.as_bytes(), SignatureHeaders::new(&signed.signature));
        prop_assert_eq!(verdict.err(), Some(Rejection::BodyHashMismatch));
    }

    #[test]
    fn order_and_duplicate_pairs_do_not_change_the_signature(
        url in url_strategy(),
        params in params_strategy(),
        seed in any::<u64>(),
    ) {
        let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap();
        let mut shuffled = params.clone();
        // A deterministic shuffle and some duplicated pairs.
        let mut state = seed | 1;
        for i in (1..shuffled.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            shuffled.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let dups: Vec<_> = shuffled.iter().step_by(3).cloned().collect();
        shuffled.extend(dups);
        prop_assert_eq!(signer.sign_form(&url, &params), signer.sign_form(&url, &shuffled));
    }

    #[test]
    fn arbitrary_input_never_panics_and_never_validates(
        url in "\\PC{0,80}|.{0,80}",
        body in prop::collection::vec(any::<u8>(), 0..300),
        signature in prop::option::of(".{0,50}"),
        settings in prop::option::of("((key|algorithm|x)? ?= ?(KS1|HMAC_SHA1|HMAC_SHA256|hmac_sha256|)?,?){0,4}"),
    ) {
        let validator = RequestValidator::builder()
            .auth_token("primary", TOKEN)
            .shared_key("KS1", "shared")
            .allow_trailing_slash_variant()
            .allow_query_reencoding()
            .build()
            .unwrap();
        let headers = SignatureHeaders { signature: signature.as_deref(), settings: settings.as_deref() };
        prop_assert!(validator.verify_form_body(&url, &body, headers).is_err());
        prop_assert!(validator.verify_body(&url, &body, headers).is_err());
        let text = String::from_utf8_lossy(&body);
        prop_assert!(validator.verify_form(&url, [("k", text.as_ref())], headers).is_err());
        let signer = Signer::new(TOKEN, Algorithm::HmacSha256).unwrap();
        let _ = signer.sign_form_body(&url, &body);
        let _ = signer.sign_body(&url, &body);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Spec §5: a URL with `bodySHA256` is accepted only with the body that was hashed, through every
    /// entry point; decoded parameters, an empty body, a GET or another body never pass.
    #[test]
    fn no_entry_point_accepts_a_body_mode_url_without_its_body(
        url in url_strategy(),
        body in prop::collection::vec(any::<u8>(), 0..200),
        other in prop::collection::vec(any::<u8>(), 0..200),
        params in params_strategy(),
        content_type in prop::sample::select(vec![
            None,
            Some("application/json"),
            Some("application/x-www-form-urlencoded; charset=UTF-8"),
            Some("text/plain"),
        ]),
    ) {
        let url = url.split('#').next().unwrap_or("").to_string();
        let signed = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap().sign_body(&url, &body).unwrap();
        let validator = RequestValidator::new(TOKEN);
        let headers = SignatureHeaders::new(&signed.signature);
        prop_assert!(validator.verify_request(&signed.url, content_type, &body, headers).is_ok());
        prop_assert!(validator.verify_form_body(&signed.url, &body, headers).is_ok());

        prop_assert_eq!(validator.verify_form(&signed.url, &params, headers).err(),
            Some(Rejection::BodyNotHashed));
        prop_assert!(!validator.validate(&signed.url, &params, &signed.signature));
        let raw = form_body(&params);
        for replayed in [&b""[..], raw.as_bytes(), &other] {
            if replayed == body.as_slice() {
                continue;
            }
            prop_assert_eq!(validator.verify_body(&signed.url, replayed, headers).err(),
                Some(Rejection::BodyHashMismatch));
            prop_assert_eq!(validator.verify_form_body(&signed.url, replayed, headers).err(),
                Some(Rejection::BodyHashMismatch));
            prop_assert_eq!(validator.verify_request(&signed.url, content_type, replayed, headers).err(),
                Some(Rejection::BodyHashMismatch));
        }
    }
}
