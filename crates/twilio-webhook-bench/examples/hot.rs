//! A fixed number of validations of one workload, for instruction counts under callgrind:
//! `valgrind --tool=callgrind target/release/examples/hot form 20000`. Counts are repeatable where
//! timings on a shared machine are not.

use std::hint::black_box;

use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};

#[path = "../../twilio-webhook/tests/support/sms.rs"]
mod sms;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const URL: &str = "https://example.com/twilio/sms?tenant=acme";

fn main() {
    let mut args = std::env::args().skip(1);
    let workload = args.next().unwrap_or_else(|| "form".into());
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let validator = RequestValidator::new(TOKEN);
    let signer = Signer::new(TOKEN, Algorithm::HmacSha1).expect("a token");
    let params = sms::sms_params();
    let sig = signer.sign_form(URL, &params);
    let json =
        br#"{"type":"com.twilio.messaging.message.delivered","data":{"status":"delivered"}}"#;
    let signed = signer.sign_body(URL, json).expect("a URL");
    let mut ok = 0usize;
    for _ in 0..n {
        ok += usize::from(match workload.as_str() {
            "form" => validator.validate(black_box(URL), black_box(&params), black_box(&sig)),
            "rejected" => validator.validate(
                black_box(URL),
                black_box(&params),
                "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            "json" => validator
                .verify_body(
                    black_box(&signed.url),
                    black_box(json),
                    SignatureHeaders::new(&signed.signature),
                )
                .is_ok(),
            other => panic!("unknown workload {other}"),
        });
    }
    println!("{workload}: {ok}/{n} valid");
}
