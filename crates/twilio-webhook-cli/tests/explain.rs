//! `explain` finds the cause of each mis-configuration: the failing request is built with the library,
//! and the code, the URL that really matched and the exit code are checked. The `--json` shape is a
//! contract and is pinned here.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::Value;
use twilio_webhook::{Algorithm, Signer, settings_header_value};

const TOKEN: &str = "explain-test-token";
const PARAMS: [(&str, &str); 2] = [("Body", "Hello"), ("From", "+15551234567")];

fn sign(url: &str, algorithm: Algorithm) -> String {
    Signer::new(TOKEN, algorithm)
        .expect("signer")
        .sign_form(url, PARAMS)
}

fn explain(args: &[&str]) -> (Option<i32>, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"));
    cmd.arg("explain")
        .args(args)
        .arg("--json")
        .env("TWILIO_AUTH_TOKEN", TOKEN);
    for (k, v) in PARAMS {
        cmd.args(["-d", &format!("{k}={v}")]);
    }
    let out = cmd.output().expect("binary runs");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), json)
}

/// Checks that explaining a request signed for `signed` but checked as `checked` names `codes`.
fn finds(signed: &str, checked: &str, codes: &[&str]) {
    let sig = sign(signed, Algorithm::HmacSha1);
    let (code, report) = explain(&["--url", checked, "--signature", &sig]);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(report["valid"], false);
    assert_eq!(report["reason"], "signature_mismatch");
    let causes = report["causes"].as_array().expect("causes");
    let got: Vec<&str> = causes.iter().filter_map(|c| c["code"].as_str()).collect();
    assert_eq!(got, codes, "{report}");
    for cause in causes {
        assert_eq!(cause["signed_url"], signed, "{report}");
        assert!(
            cause["fix"].as_str().is_some_and(|f| f.len() > 40),
            "{report}"
        );
    }
}

#[test]
fn a_tls_terminating_proxy_is_a_scheme_cause() {
    finds(
        "https://example.com/sms",
        "http://example.com/sms",
        &["scheme"],
    );
}

#[test]
fn a_port_mapping_is_a_port_cause() {
    // (A port removed or the default one added is valid by spec §4: not a cause.)
    finds(
        "https://example.com:8443/sms",
        "https://example.com:8080/sms",
        &["port"],
    );
    finds(
        "http://example.com:3000/sms",
        "http://example.com/sms",
        &["port"],
    );
}

#[test]
fn a_rewrite_is_a_trailing_slash_cause() {
    finds(
        "https://example.com/sms/",
        "https://example.com/sms",
        &["trailing_slash"],
    );
}

#[test]
fn a_stripped_or_added_prefix_is_a_path_prefix_cause() {
    finds(
        "https://example.com/twilio/sms",
        "https://example.com/sms",
        &["path_prefix"],
    );
    finds(
        "https://example.com/sms",
        "https://example.com/api/sms",
        &["path_prefix"],
    );
    // A prefix given on the command line is tried too.
    let sig = sign("https://example.com/custom-mount/sms", Algorithm::HmacSha1);
    let (_, report) = explain(&[
        "--url",
        "https://example.com/sms",
        "--signature",
        &sig,
        "--prefix",
        "custom-mount",
    ]);
    assert_eq!(report["causes"][0]["code"], "path_prefix", "{report}");
}

/// Issue 19: a two-segment mount is found without `--prefix`, and `--public-url` counts in `--url` mode.
#[test]
fn two_segment_prefixes_and_the_public_url_in_url_mode() {
    finds(
        "https://example.com/api/v2/sms",
        "https://example.com/sms",
        &["path_prefix"],
    );
    // A tunnel's host that no list could guess, given as the public URL Twilio calls.
    let sig = sign(
        "https://abc123.ngrok-free.app/hooks/sms",
        Algorithm::HmacSha1,
    );
    let (code, report) = explain(&[
        "--url",
        "http://127.0.0.1:3000/sms",
        "--signature",
        &sig,
        "--public-url",
        "https://abc123.ngrok-free.app/hooks",
    ]);
    assert_eq!(code, Some(1), "{report}");
    let codes: Vec<&str> = report["causes"]
        .as_array()
        .expect("causes")
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert_eq!(codes, ["scheme", "host", "port", "path_prefix"], "{report}");
    assert!(
        report["causes"][0]["fix"]
            .as_str()
            .is_some_and(|f| f.contains("TWILIO_PUBLIC_URL=https://abc123.ngrok-free.app/hooks")),
        "{report}"
    );
}

#[test]
fn a_reencoded_query_is_a_query_encoding_cause() {
    finds(
        "https://example.com/sms?name=O'Brien",
        "https://example.com/sms?name=O%27Brien",
        &["query_encoding"],
    );
    finds(
        "https://example.com/sms?q=a+b",
        "https://example.com/sms?q=a%20b",
        &["query_encoding"],
    );
}

#[test]
fn several_mistakes_at_once_are_each_named() {
    finds(
        "https://example.com/twilio/sms",
        "http://example.com:8080/sms",
        &["scheme", "port", "path_prefix"],
    );
}

#[test]
fn a_fragment_is_cut_off_and_named_as_a_fragment_cause() {
    // Spec §4.4: the URL configured in Twilio with connection overrides, pasted into the app. Valid,
    // and explain says why the signed URL has no fragment.
    let sig = sign("https://example.com/sms", Algorithm::HmacSha1);
    let (code, report) = explain(&[
        "--url",
        "https://example.com/sms#rc=2&rp=all",
        "--signature",
        &sig,
    ]);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["matched_url"], "https://example.com/sms");
    assert_eq!(report["causes"][0]["code"], "fragment", "{report}");
    // Rejected for another reason: the fragment is named beside it.
    finds(
        "https://example.com/sms",
        "http://example.com/sms#rc=2",
        &["scheme", "fragment"],
    );
}

#[test]
fn a_valid_request_says_valid_once() {
    let sig = sign("https://example.com/sms", Algorithm::HmacSha1);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"));
    cmd.args([
        "explain",
        "--url",
        "https://example.com/sms",
        "--signature",
        &sig,
    ])
    .env("TWILIO_AUTH_TOKEN", TOKEN);
    for (k, v) in PARAMS {
        cmd.args(["-d", &format!("{k}={v}")]);
    }
    let out = cmd.output().expect("binary runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert_eq!(text.matches("valid:").count(), 1, "{text}");
}

#[test]
fn body_mode_and_algorithm_causes() {
    // Twilio signed the URL alone (no parameters), the app checked it with its form parameters.
    let url_only = Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form(
            "https://example.com/sms",
            std::iter::empty::<(&str, &str)>(),
        );
    let (_, report) = explain(&["--url", "https://example.com/sms", "--signature", &url_only]);
    assert_eq!(report["causes"][0]["code"], "body_mode", "{report}");
    // The settings header says HMAC-SHA256; the signature is HMAC-SHA1 with the same secret.
    let settings =
        settings_header_value("KS00000000000000000000000000000000", Algorithm::HmacSha256);
    let sha1 = sign("https://example.com/sms", Algorithm::HmacSha1);
    let (code, report) = explain(&[
        "--url",
        "https://example.com/sms",
        "--signature",
        &sha1,
        "--settings",
        &settings,
        "--key-id",
        "KS00000000000000000000000000000000",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(report["causes"][0]["code"], "secret", "{report}");
}

#[test]
fn nothing_is_invented_when_nothing_matches() {
    let other = Signer::new("another-token", Algorithm::HmacSha1)
        .expect("signer")
        .sign_form("https://example.com/sms", PARAMS);
    let (code, report) = explain(&["--url", "https://example.com/sms", "--signature", &other]);
    assert_eq!(code, Some(1));
    let causes = report["causes"].as_array().expect("causes");
    assert!(
        !causes.is_empty() && causes.iter().all(|c| c["signed_url"].is_null()),
        "{report}"
    );
}

#[test]
fn the_json_shape_is_pinned() {
    let sig = sign("https://example.com/sms", Algorithm::HmacSha1);
    let (code, valid) = explain(&["--url", "https://example.com/sms", "--signature", &sig]);
    assert_eq!(code, Some(0));
    assert_eq!(
        valid,
        serde_json::json!({"valid": true, "reason": null, "matched_url": "https://example.com/sms", "causes": []})
    );
    let (_, rejected) = explain(&["--url", "http://example.com/sms", "--signature", &sig]);
    let keys: Vec<&String> = rejected.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["causes", "matched_url", "reason", "valid"]);
    let cause_keys: Vec<&String> = rejected["causes"][0]
        .as_object()
        .expect("object")
        .keys()
        .collect();
    assert_eq!(cause_keys, ["code", "fix", "signed_url"]);
}

#[test]
fn a_captured_raw_request_with_the_public_url() {
    let sig = Signer::new(TOKEN, Algorithm::HmacSha1)
        .expect("signer")
        .sign_form("https://abc123.ngrok.app/sms", PARAMS);
    let body = "Body=Hello&From=%2B15551234567";
    let raw = format!(
        "POST /sms HTTP/1.1\r\nHost: localhost:3000\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         X-Twilio-Signature: {sig}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let path = std::env::temp_dir().join(format!("twilio-webhook-raw-{}.http", std::process::id()));
    std::fs::write(&path, raw).expect("temp file");
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
            .args(["explain", "--raw"])
            .arg(&path)
            .args(extra)
            .env("TWILIO_AUTH_TOKEN", TOKEN)
            .output()
            .expect("binary runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = run(&["--public-url", "https://abc123.ngrok.app"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("Twilio signed: https://abc123.ngrok.app/sms"),
        "{text}"
    );
    // Without it, the Host the server saw: a tunnel's URL cannot be guessed, and nothing is invented.
    let (code, text) = run(&[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("checked URL: http://localhost:3000/sms") && text.contains("--public-url"),
        "{text}"
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn a_closed_stdout_pipe_ends_quietly_with_the_verdicts_exit_code() {
    let sig = sign("https://example.com/sms", Algorithm::HmacSha1);
    let mut child = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
        .args([
            "explain",
            "--url",
            "http://example.com/sms",
            "--signature",
            &sig,
            "-d",
            "Body=Hello",
            "-d",
            "From=+15551234567",
        ])
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::io::stderr().flush();
}
