//! A fixed number of validations of one workload, for instruction counts under callgrind:
//! `valgrind --tool=callgrind target/release/examples/hot form 20000`. Counts are repeatable where
//! timings on a shared machine are not.

use std::hint::black_box;

use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};

#[path = "../../twilio-webhook/tests/support/sms.rs"]
mod sms;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const URL: &str = "https://example.com/twilio/sms?tenant=acme";

/// A corpus case: its validator, URL, parameters and signature.
type CorpusCase = (RequestValidator, String, Vec<(String, String)>, String);

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
    let raw: String = params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    // `family`: 60 parameters `Param000`… in a scrambled order, keys that share their first seven bytes
    // in runs of ten (as `MediaUrl0`… do), as in bench/compare's scaling curve.
    let family: Vec<(String, String)> = (0..60)
        .map(|i| ((i * 37) % 60, i))
        .map(|(k, i)| (format!("Param{k:03}"), format!("value-{i}")))
        .collect();
    let family_sig = signer.sign_form(URL, &family);
    let mut ok = 0usize;
    if workload == "corpus" {
        // Every valid form case of the corpus, once per pass: `n` passes.
        let text =
            std::fs::read_to_string("testdata/corpus.jsonl").expect("run from the repository root");
        let cases: Vec<CorpusCase> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|c| c["kind"] == "form" && c["expected"] == true)
            .map(|c| {
                let params = serde_json::from_value(c["params"].clone()).unwrap_or_default();
                let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (
                    RequestValidator::new(text("auth_token")),
                    text("url"),
                    params,
                    text("signature"),
                )
            })
            .collect();
        for _ in 0..n {
            for (v, url, params, sig) in &cases {
                ok += usize::from(v.validate(black_box(url), black_box(params), black_box(sig)));
            }
        }
        println!("corpus: {ok}/{} valid", n * cases.len());
        return;
    }
    for _ in 0..n {
        ok += usize::from(match workload.as_str() {
            "form" => validator.validate(black_box(URL), black_box(&params), black_box(&sig)),
            "family" => {
                validator.validate(black_box(URL), black_box(&family), black_box(&family_sig))
            }
            "rejected" => validator.validate(
                black_box(URL),
                black_box(&params),
                "AAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            ),
            "raw" => validator
                .verify_form_body(
                    black_box(URL),
                    black_box(raw.as_bytes()),
                    SignatureHeaders::new(&sig),
                )
                .is_ok(),
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

/// `application/x-www-form-urlencoded` encoding of one key or value: space as `+`, the rest of the
/// non-alphanumerics (but `*-._`) as `%XX`.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b' ' => "+".to_string(),
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' | b'*' | b'-' | b'.' | b'_' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
