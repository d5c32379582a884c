//! Arbitrary URL, params, body, signature and settings header: no panic, and never valid.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use twilio_webhook::{RequestValidator, SignatureHeaders};

#[derive(Debug, Arbitrary)]
struct Input<'a> {
    url: &'a str,
    params: Vec<(&'a str, &'a str)>,
    body: &'a [u8],
    signature: Option<&'a str>,
    settings: Option<&'a str>,
    content_type: Option<&'a str>,
    lenient: bool,
}

fuzz_target!(|input: Input<'_>| {
    let mut builder = RequestValidator::builder()
        .auth_token("primary", "fuzz-token")
        .shared_key("KS1", "fuzz-shared");
    if input.lenient {
        builder = builder
            .allow_trailing_slash_variant()
            .allow_query_reencoding();
    }
    let validator = builder.build().expect("valid configuration");
    let headers = SignatureHeaders {
        signature: input.signature,
        settings: input.settings,
    };
    // The fuzzer cannot know the secrets, so nothing it makes may validate.
    assert!(
        validator
            .verify_form(input.url, &input.params, headers)
            .is_err()
    );
    assert!(
        validator
            .verify_form_body(input.url, input.body, headers)
            .is_err()
    );
    assert!(
        validator
            .verify_body(input.url, input.body, headers)
            .is_err()
    );
    assert!(
        validator
            .verify_request(input.url, input.content_type, input.body, headers)
            .is_err()
    );
});
