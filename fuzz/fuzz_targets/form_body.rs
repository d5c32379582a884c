//! The raw form-body parser against the `form_urlencoded` crate (WHATWG): where the body decodes to UTF-8,
//! signing the raw body and signing its decoded pairs give the same signature, and it validates.
#![no_main]

use libfuzzer_sys::fuzz_target;
use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};

const URL: &str = "https://example.com/hook";

fuzz_target!(|body: &[u8]| {
    let signer = Signer::new("fuzz-token", Algorithm::HmacSha1).expect("signer");
    let Ok(from_body) = signer.sign_form_body(URL, body) else {
        // Refused: some key or value must decode to invalid UTF-8, which form_urlencoded replaces.
        let lossy = form_urlencoded::parse(body)
            .any(|(k, v)| k.contains('\u{fffd}') || v.contains('\u{fffd}'));
        assert!(lossy, "a body that decodes to UTF-8 was refused");
        return;
    };
    // Accepted: every part decodes to UTF-8, so form_urlencoded sees exactly the same strings.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    assert_eq!(
        from_body,
        signer.sign_form(URL, &pairs),
        "raw body and decoded pairs differ"
    );
    let validator = RequestValidator::new("fuzz-token");
    assert!(
        validator
            .verify_form_body(URL, body, SignatureHeaders::new(&from_body))
            .is_ok()
    );
});
