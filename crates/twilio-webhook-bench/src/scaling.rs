//! How validation time grows with the number of parameters and with the body size.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};

use crate::cases::{Floor, params_string};
use crate::measure::{median, time_loop};

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const URL: &str = "https://example.com/twilio/voice?tenant=acme";
const ROUNDS: usize = 5;

/// One point of a scaling curve: ns per validation for this library and for its floor.
#[derive(Debug, Serialize)]
pub struct Point {
    pub x: usize,
    pub ours_ns: f64,
    pub floor_ns: f64,
}

#[derive(Debug, Serialize)]
pub struct Scaling {
    /// Form validation against the number of parameters (in a fixed random order: reverse-sorted input
    /// is not the sort's worst case); the floor is HMAC-SHA1 + base64 over the same string to sign.
    pub params: Vec<Point>,
    /// JSON validation against the body size; the floor is SHA-256 of the body plus HMAC-SHA1 + base64
    /// of the URL.
    pub body_bytes: Vec<Point>,
}

fn interleaved(mut ours: impl FnMut() -> f64, mut floor: impl FnMut() -> f64) -> (f64, f64) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        a.push(ours());
        b.push(floor());
    }
    (median(&a), median(&b))
}

/// `n` parameters `Param000`… in a random order, the same on every run (a fixed-seed xorshift).
fn shuffled_params(n: usize) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = (0..n)
        .map(|i| (format!("Param{i:03}"), format!("value-{i}")))
        .collect();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..params.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        params.swap(i, (state % (i as u64 + 1)) as usize);
    }
    params
}

pub fn run(min_ms: u64) -> Scaling {
    let validator = RequestValidator::new(TOKEN);
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).unwrap_or_else(|_| unreachable!());
    let mut params_curve = Vec::new();
    for n in [1usize, 2, 5, 10, 20, 35, 50, 64, 65, 100, 150, 200] {
        let params = shuffled_params(n);
        let sig = signer.sign_form(URL, &params);
        let floor = Floor::from_parts(TOKEN, URL, &params_string(&params));
        let one = [()];
        let (ours_ns, floor_ns) = interleaved(
            || time_loop(&one, min_ms, |_| validator.validate(URL, &params, &sig)),
            || time_loop(&one, min_ms, |_| floor.run()),
        );
        params_curve.push(Point {
            x: n,
            ours_ns,
            floor_ns,
        });
        eprintln!("scaling: {n} params done");
    }
    let keyed = Hmac::<Sha1>::new_from_slice(TOKEN.as_bytes()).unwrap_or_else(|_| unreachable!());
    let mut body_curve = Vec::new();
    for size in [100usize, 1024, 4096, 16384, 32768, 65536] {
        let body = format!("{{\"data\":\"{}\"}}", "x".repeat(size.saturating_sub(11)));
        let signed = signer
            .sign_body(URL, body.as_bytes())
            .unwrap_or_else(|_| unreachable!());
        let one = [()];
        let (ours_ns, floor_ns) = interleaved(
            || {
                time_loop(&one, min_ms, |_| {
                    validator
                        .verify_body(
                            &signed.url,
                            body.as_bytes(),
                            SignatureHeaders::new(&signed.signature),
                        )
                        .is_ok()
                })
            },
            || {
                time_loop(&one, min_ms, |_| {
                    let digest = Sha256::digest(body.as_bytes());
                    let mut mac = keyed.clone();
                    mac.update(signed.url.as_bytes());
                    let sig = base64::engine::general_purpose::STANDARD
                        .encode(mac.finalize().into_bytes());
                    (digest, sig)
                })
            },
        );
        body_curve.push(Point {
            x: body.len(),
            ours_ns,
            floor_ns,
        });
        eprintln!("scaling: {size} byte body done");
    }
    Scaling {
        params: params_curve,
        body_bytes: body_curve,
    }
}
