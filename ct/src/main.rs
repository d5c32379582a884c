//! dudect-style timing tests: does rejecting a request take longer when the presented value is right in
//! more of its leading bytes? Each test times two classes of rejected requests (wrong in the first byte vs
//! wrong in the last byte) and reports Welch's t statistic; |t| above 5 would suggest a timing leak.

use base64::Engine as _;
use dudect_bencher::rand::Rng;
use dudect_bencher::{BenchRng, Class, CtRunner, ctbench_main};
use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer, body_sha256_hex};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const URL: &str = "https://example.com/twilio/sms?tenant=acme";
const SAMPLES: usize = 1_000_000;
const PARAMS: [(&str, &str); 4] = [
    ("From", "+15017250604"),
    ("To", "+15558675310"),
    ("Body", "Hello"),
    ("NumMedia", "0"),
];

fn signer() -> Signer {
    Signer::new(TOKEN, Algorithm::HmacSha1).expect("signer")
}

/// `good` with one byte flipped (first or last), re-encoded.
fn flipped(good: &[u8], last: bool) -> Vec<u8> {
    let mut bad = good.to_vec();
    let i = if last { bad.len() - 1 } else { 0 };
    bad[i] ^= 0x01;
    bad
}

/// The signature, wrong in its first byte (Left) or its last byte (Right).
fn signature_first_vs_last_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    let validator = RequestValidator::new(TOKEN);
    let good = base64::engine::general_purpose::STANDARD
        .decode(signer().sign_form(URL, PARAMS))
        .expect("base64");
    let left = base64::engine::general_purpose::STANDARD.encode(flipped(&good, false));
    let right = base64::engine::general_purpose::STANDARD.encode(flipped(&good, true));
    for _ in 0..SAMPLES {
        let (class, sig) = if rng.random::<bool>() {
            (Class::Left, &left)
        } else {
            (Class::Right, &right)
        };
        runner.run_one(class, || validator.validate(URL, PARAMS, sig));
    }
}

/// An authentic URL whose bodySHA256 is wrong in its first byte (Left) or its last byte (Right).
fn body_hash_first_vs_last_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    let validator = RequestValidator::new(TOKEN);
    let body = br#"{"AccountSid":"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX","Body":"hello"}"#;
    let hex = body_sha256_hex(body);
    let variant = |last: bool| {
        let mut bytes = hex.clone().into_bytes();
        let i = if last { bytes.len() - 1 } else { 0 };
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        let url = format!(
            "{URL}&bodySHA256={}",
            String::from_utf8(bytes).expect("hex")
        );
        let sig = signer().sign_form(&url, [("", ""); 0]);
        (url, sig)
    };
    let (left, right) = (variant(false), variant(true));
    for _ in 0..SAMPLES {
        let (class, (url, sig)) = if rng.random::<bool>() {
            (Class::Left, &left)
        } else {
            (Class::Right, &right)
        };
        runner.run_one(class, || {
            validator
                .verify_body(url, body, SignatureHeaders::new(sig))
                .is_ok()
        });
    }
}

ctbench_main!(signature_first_vs_last_byte, body_hash_first_vs_last_byte);
