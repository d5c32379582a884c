//! dudect-style timing tests: does rejecting a request take longer when the presented value is right in
//! more of its leading bytes? Each test times two classes of rejected requests (wrong in the first byte vs
//! wrong in the last byte) and reports Welch's t statistic; |t| above 5 would suggest a timing leak.

use base64::Engine as _;
use dudect_bencher::rand::RngExt;
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
    // Each signature at the start of its own cache line, as for the bodies below.
    let place = |sig: &str| {
        let mut a = Aligned([0; 64]);
        a.0[..sig.len()].copy_from_slice(sig.as_bytes());
        a
    };
    let (placed, len) = ([place(&left), place(&right)], left.len());
    let sigs = [
        std::str::from_utf8(&placed[0].0[..len]).expect("base64 is ASCII"),
        std::str::from_utf8(&placed[1].0[..len]).expect("base64 is ASCII"),
    ];
    for _ in 0..SAMPLES {
        let k = std::hint::black_box(usize::from(rng.random::<bool>()));
        let (class, sig) = (CLASSES[k], sigs[k]);
        runner.run_one(class, || validator.validate(URL, PARAMS, sig));
    }
}

/// The same authentic URL and signature for both classes; only the body changes, always of the same
/// length: its SHA-256 differs from the URL's `bodySHA256` in the first byte (Left), or matches its first
/// three bytes and differs later (Right, found by search). An early-exit comparison would take longer for
/// Right; URL parsing, the HMAC and the SHA-256 itself cost the same for both.
fn body_hash_first_vs_later_byte(runner: &mut CtRunner, rng: &mut BenchRng) {
    let validator = RequestValidator::new(TOKEN);
    let body = |n: u64| format!("{{\"n\":{n:020}}}").into_bytes();
    let reference = body(0);
    let target = sha256(&reference);
    let signed = signer().sign_body(URL, &reference).expect("sign");
    let mut left = Vec::new();
    let mut right = Vec::new();
    let mut n = 1u64;
    while left.len() < 4 || right.len() < 4 {
        let candidate = body(n);
        let digest = sha256(&candidate);
        if digest[..3] == target[..3] && digest != target {
            right.push(candidate);
        } else if digest[0] != target[0] && left.len() < 4 {
            left.push(candidate);
        }
        n += 1;
    }
    // Every body at the start of its own cache line: where the allocator happened to put a body must
    // not be what is measured.
    let aligned = |bodies: Vec<Vec<u8>>| -> Vec<Aligned> {
        let mut out = Vec::new();
        for b in bodies {
            let mut a = Aligned([0; 64]);
            a.0[..b.len()].copy_from_slice(&b);
            out.push(a);
        }
        out
    };
    let (left, right, len) = (aligned(left), aligned(right), reference.len());
    let headers = SignatureHeaders::new(&signed.signature);
    let sets = [&left, &right];
    for i in 0..SAMPLES {
        let k = std::hint::black_box(usize::from(rng.random::<bool>()));
        let (class, body) = (CLASSES[k], &sets[k][i % 4].0[..len]);
        runner.run_one(class, || {
            validator.verify_body(&signed.url, body, headers).is_ok()
        });
    }
}

#[repr(align(64))]
struct Aligned([u8; 64]);

/// The two classes, indexed: both classes go through one call site, selected by an index rather than
/// a branch, so the compiler cannot time a separately placed copy of the code for each class (with
/// branches, swapping the data between the classes kept the sign of t: the label, not the data, was
/// being measured).
const CLASSES: [Class; 2] = [Class::Left, Class::Right];

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let hex = body_sha256_hex(bytes);
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.as_bytes().chunks(2)) {
        *o = u8::from_str_radix(std::str::from_utf8(pair).expect("hex"), 16).expect("hex");
    }
    out
}

ctbench_main!(signature_first_vs_last_byte, body_hash_first_vs_later_byte);
