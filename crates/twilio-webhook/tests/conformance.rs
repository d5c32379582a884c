//! Every case of the conformance data (testdata/, see its README) gives its expected verdict.

use std::path::PathBuf;

use serde_json::Value;
use twilio_webhook::{
    Rejection, Relaxation, RequestValidator, SignatureHeaders, Verified, body_sha256_hex,
};

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn jsonl(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(testdata(name)).expect("testdata file");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("valid JSON line"))
        .collect()
}

fn str_field<'a>(case: &'a Value, name: &str) -> Option<&'a str> {
    case.get(name).and_then(Value::as_str)
}

/// `params` as `(key, value)` pairs; a JSON `null` value (java's vector) is passed as empty.
fn params(case: &Value) -> Vec<(String, String)> {
    case.get("params")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let s = |i: usize| p.get(i).and_then(Value::as_str).unwrap_or("").to_string();
                    (s(0), s(1))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn settings_header(case: &Value) -> Option<&str> {
    case.get("headers")?.as_object()?.iter().find_map(|(k, v)| {
        k.eq_ignore_ascii_case("x-twilio-webhooks-signature-settings")
            .then(|| v.as_str())
            .flatten()
    })
}

fn validator_for(
    case: &Value,
    builder: impl Fn(twilio_webhook::RequestValidatorBuilder) -> twilio_webhook::RequestValidatorBuilder,
) -> RequestValidator {
    let secret = str_field(case, "auth_token").unwrap_or("");
    let b = match str_field(case, "key_id") {
        Some(id) => RequestValidator::builder().shared_key(id, secret),
        None => RequestValidator::builder().auth_token("primary", secret),
    };
    builder(b).build().expect("valid configuration")
}

/// The form-encoded body a client would send for these params.
fn form_body(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

struct Outcome {
    verdict: Result<String, Rejection>,
    relaxation: Option<Relaxation>,
}

fn outcome(url: &str, v: Result<Verified, Rejection>) -> Outcome {
    Outcome {
        relaxation: v.as_ref().ok().and_then(Verified::relaxation),
        verdict: v.map(|ok| ok.matched_url(url)),
    }
}

/// Runs one request-shaped case (the schema of corpus.jsonl) through the right entry point(s).
fn run_case(case: &Value, validator: &RequestValidator) -> Outcome {
    let url = str_field(case, "url").unwrap_or("");
    let headers = SignatureHeaders {
        signature: str_field(case, "signature"),
        settings: settings_header(case),
    };
    match str_field(case, "body") {
        Some(body) if str_field(case, "kind") != Some("form") => {
            outcome(url, validator.verify_body(url, body.as_bytes(), headers))
        }
        _ => {
            let params = params(case);
            let from_params = outcome(url, validator.verify_form(url, &params, headers));
            // The raw-body path must agree with the decoded-params path on every form case.
            let body = form_body(&params);
            let from_body = outcome(
                url,
                validator.verify_form_body(url, body.as_bytes(), headers),
            );
            assert_eq!(
                from_params.verdict, from_body.verdict,
                "{}: raw form body and decoded params disagree",
                case["id"]
            );
            from_params
        }
    }
}

fn check_file(name: &str, expected_field: &str) -> usize {
    let cases = jsonl(name);
    let mut failures = Vec::new();
    for case in &cases {
        let expected = case[expected_field].as_bool().expect("expected verdict");
        let got = run_case(case, &validator_for(case, |b| b));
        if got.verdict.is_ok() != expected {
            failures.push(format!(
                "{} expected {expected}, got {:?}",
                case["id"], got.verdict
            ));
            continue;
        }
        // A valid case must have matched the very URL Twilio signed (the label is for checking only).
        if let (Ok(matched), Some(signed)) = (&got.verdict, str_field(case, "signed_url")) {
            if matched != signed {
                failures.push(format!(
                    "{} matched {matched:?}, signed {signed:?}",
                    case["id"]
                ));
            }
        }
        if let (Ok(matched), Some(signed)) = (&got.verdict, str_field(case, "signed_url_string")) {
            if !signed.starts_with(matched.as_str()) {
                failures.push(format!(
                    "{} matched {matched:?}, signed {signed:?}",
                    case["id"]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    cases.len()
}

#[test]
fn corpus() {
    assert_eq!(check_file("corpus.jsonl", "expected"), 2000);
}

#[test]
fn public_extra() {
    assert_eq!(check_file("public-extra.jsonl", "expected"), 332);
}

#[test]
fn sdk_edge_probes() {
    assert_eq!(check_file("sdk-edge-probes.jsonl", "expected"), 23);
}

/// Vectors that pin one SDK's own API or behaviour rather than the signature rules (testdata/README.md).
fn pinned(vector: &Value) -> Option<&'static str> {
    let name = str_field(vector, "test_name").unwrap_or("");
    let sdk = str_field(vector, "sdk").unwrap_or("");
    let node_quote = sdk == "node"
        && vector["expected_valid"] == true
        && vector["matched_url_variant"]
            .as_array()
            .is_some_and(Vec::is_empty)
        && str_field(vector, "kind") == Some("validate");
    if node_quote {
        Some("node re-encodes the query (' <-> %27): accepted only with allow_query_reencoding()")
    } else if sdk == "go" && name.contains("succeeds with form body") {
        Some(
            "go's ValidateBody parses a form body when bodySHA256 is absent: verify_form_body accepts it",
        )
    } else if sdk == "java" && name == "testValidateWithNullParameterValues" {
        Some("java appends a null value as '': Rust has no null string, the value is passed empty")
    } else {
        None
    }
}

#[test]
fn sdk_vectors() {
    let text = std::fs::read_to_string(testdata("sdk-vectors.json")).expect("testdata file");
    let vectors: Vec<Value> = serde_json::from_str(&text).expect("JSON array");
    let mut failures = Vec::new();
    let mut pinned_seen = Vec::new();
    for v in &vectors {
        let expected = v["expected_valid"].as_bool().expect("expected_valid");
        let id = format!("{}: {}", v["sdk"], v["test_name"]);
        let validator = validator_for(v, |b| b);
        let ok = match str_field(v, "kind").unwrap_or("") {
            "body_hash" => {
                let body = str_field(v, "body").unwrap_or("");
                body_sha256_hex(body.as_bytes()) == str_field(v, "body_sha256").unwrap_or("")
            }
            "compute_signature" => {
                validator.compute_signature(str_field(v, "url").unwrap_or(""), params(v))
                    == str_field(v, "signature").unwrap_or("")
            }
            _ => {
                // validate, validate_body and middleware all carry a whole request.
                let is_body = str_field(v, "body").is_some() && params(v).is_empty()
                    || str_field(v, "kind") == Some("validate_body");
                let case = with_kind(v, if is_body { "json" } else { "form" });
                if let Some(reason) = pinned(v) {
                    check_pinned(v, &case, &validator, reason);
                    pinned_seen.push(id);
                    continue;
                }
                run_case(&case, &validator).verdict.is_ok()
            }
        };
        if ok != expected {
            failures.push(format!("{id}: expected {expected}, got {ok}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(vectors.len(), 142);
    assert_eq!(pinned_seen.len(), 5, "pinned vectors: {pinned_seen:#?}");
}

fn with_kind(v: &Value, kind: &str) -> Value {
    let mut case = v.clone();
    case["kind"] = Value::from(kind);
    case
}

/// Asserts the project's verdict on a pinned vector, and the SDK-compatible way to accept it.
fn check_pinned(v: &Value, case: &Value, strict: &RequestValidator, reason: &str) {
    let url = str_field(v, "url").unwrap_or("");
    let sig = SignatureHeaders::new(str_field(v, "signature").unwrap_or(""));
    assert_eq!(v["expected_valid"], true, "{reason}");
    if reason.starts_with("node") {
        assert_eq!(
            run_case(case, strict).verdict,
            Err(Rejection::SignatureMismatch),
            "{reason}"
        );
        let lenient = validator_for(v, |b| b.allow_query_reencoding());
        let got = run_case(case, &lenient);
        assert!(got.verdict.is_ok(), "{reason}: {:?}", got.verdict);
        assert!(
            matches!(
                got.relaxation,
                Some(Relaxation::QueryEncoded | Relaxation::QueryDecoded)
            ),
            "{reason}"
        );
    } else if reason.starts_with("go") {
        let body = str_field(v, "body").unwrap_or("").as_bytes();
        assert_eq!(
            strict.verify_body(url, body, sig).err(),
            Some(Rejection::BodyHashMissing)
        );
        assert!(strict.verify_form_body(url, body, sig).is_ok(), "{reason}");
    } else {
        assert!(run_case(case, strict).verdict.is_ok(), "{reason}");
    }
}
