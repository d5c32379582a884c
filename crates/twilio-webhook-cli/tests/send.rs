//! `send` against the axum example server, started by the test: each kind verifies, the negative flags
//! get the documented statuses, and load mode's counts add up.

use std::process::Command;

use serde_json::Value;
use twilio_webhook_http_suite as suite;

fn send(port: u16, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
        .arg("send")
        .args(args)
        .args(["--json"])
        .env("TWILIO_AUTH_TOKEN", suite::TOKEN)
        .output()
        .expect("binary runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !text.is_empty() || port == 0,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

const TUNNEL: &str = "https://abc123.ngrok.app";

#[test]
fn every_kind_verifies_and_the_negative_flags_are_refused() {
    let config = suite::Config {
        name: "send",
        public_url: Some(TUNNEL),
        trusted_proxies: None,
    };
    let server = suite::spawn_example("axum", &config);
    let target = |path: &str| format!("http://127.0.0.1:{}{path}", server.port);
    for (kind, path) in [
        ("sms", "/sms"),
        ("voice", "/sms"),
        ("message-status", "/sms"),
        ("call-status", "/sms"),
        ("event-stream", "/events"),
    ] {
        let public = format!("{TUNNEL}{path}");
        let (code, text) = send(
            server.port,
            &[kind, "--target", &target(path), "--public-url", &public],
        );
        let answer = json(&text);
        assert_eq!(
            (code, answer["status"].clone()),
            (Some(0), Value::from(200)),
            "{kind}: {text}"
        );
    }
    let sms = [
        "sms",
        "--target",
        &target("/sms"),
        "--public-url",
        &format!("{TUNNEL}/sms"),
    ]
    .map(String::from);
    let with = |extra: &[&str]| {
        let mut args: Vec<&str> = sms.iter().map(String::as_str).collect();
        args.extend_from_slice(extra);
        let (code, text) = send(server.port, &args);
        (code, json(&text))
    };
    // -d overrides a parameter; the example counts what it received.
    let (code, answer) = with(&["-d", "Body=Overridden", "-d", "Extra=1"]);
    assert_eq!(code, Some(0));
    assert!(
        answer["body"]
            .as_str()
            .unwrap_or("")
            .contains("Verified: 20 parameters"),
        "{answer}"
    );
    for (flag, status, reason) in [
        ("--no-signature", 400, "missing_signature"),
        ("--bad-signature", 403, "signature_mismatch"),
        ("--tamper", 403, "signature_mismatch"),
    ] {
        let (code, answer) = with(&[flag]);
        assert_eq!(
            (code, answer["status"].clone()),
            (Some(1), Value::from(status)),
            "{flag}: {answer}"
        );
        assert!(
            answer["body"].as_str().unwrap_or("").contains(reason),
            "{flag}: {answer}"
        );
    }
    // raw: your own pairs, repeated keys kept.
    let public = format!("{TUNNEL}/sms");
    let (code, text) = send(
        server.port,
        &[
            "raw",
            "--target",
            &target("/sms"),
            "--public-url",
            &public,
            "-d",
            "Body=a",
            "-d",
            "Body=b",
            "-d",
            "From=+1",
        ],
    );
    assert_eq!(code, Some(0), "{text}");
    assert!(
        json(&text)["body"]
            .as_str()
            .unwrap_or("")
            .contains("Verified: 3 parameters"),
        "{text}"
    );
    // Signed for the target instead of the public URL Twilio calls: refused, as Twilio's would be.
    let (code, text) = send(server.port, &["sms", "--target", &target("/sms")]);
    assert_eq!(
        (code, json(&text)["status"].clone()),
        (Some(1), Value::from(403))
    );
    // An event stream whose body changed after signing: its hash no longer matches.
    let events = [
        "event-stream",
        "--target",
        &target("/events"),
        "--public-url",
        &format!("{TUNNEL}/events"),
        "--tamper",
    ];
    let (code, text) = send(server.port, &events);
    assert_eq!(code, Some(1));
    assert!(
        json(&text)["body"]
            .as_str()
            .unwrap_or("")
            .contains("body_hash_mismatch"),
        "{text}"
    );
    // SharedKey signing sends the settings header: this server has no SharedKey.
    let (_, text) = send(
        server.port,
        &[
            "sms",
            "--target",
            &target("/sms"),
            "--algorithm",
            "hmac-sha256",
            "--key-id",
            "KS00000000000000000000000000000001",
        ],
    );
    assert!(
        json(&text)["body"]
            .as_str()
            .unwrap_or("")
            .contains("unknown_key_id"),
        "{text}"
    );
}

#[test]
fn load_mode_counts_add_up_and_every_request_is_distinct() {
    let config = suite::Config {
        name: "send load",
        public_url: None,
        trusted_proxies: None,
    };
    // With replay protection on: a request repeated verbatim would be a 409.
    let server = suite::spawn_example_with("axum", &config, &[("TWILIO_REPLAY", "memory".into())]);
    let target = format!("http://127.0.0.1:{}/sms", server.port);
    let (code, text) = send(
        server.port,
        &[
            "sms",
            "--target",
            &target,
            "--repeat",
            "60",
            "--concurrency",
            "4",
        ],
    );
    let report = json(&text);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(report["requests"], 60);
    assert_eq!(report["statuses"], serde_json::json!({"200": 60}));
    assert_eq!(report["errors"], 0);
    let l = &report["latency_ms"];
    let (p50, p90, p99, max) = (
        l["p50"].as_f64(),
        l["p90"].as_f64(),
        l["p99"].as_f64(),
        l["max"].as_f64(),
    );
    assert!(
        p50 <= p90 && p90 <= p99 && p99 <= max && max.is_some_and(|m| m > 0.0),
        "{report}"
    );
    // Refused requests are counted by status, and the exit code says so.
    let (code, text) = send(
        server.port,
        &[
            "sms",
            "--target",
            &target,
            "--repeat",
            "10",
            "--concurrency",
            "3",
            "--no-signature",
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(json(&text)["statuses"], serde_json::json!({"400": 10}));
}

#[test]
fn usage_errors_exit_2() {
    let (code, _) = send(0, &["sms", "--target", "https://abc123.ngrok.app/sms"]);
    assert_eq!(code, Some(2));
    let (code, _) = send(0, &["raw", "--target", "http://127.0.0.1:9/x"]);
    assert_eq!(code, Some(2));
    let (code, _) = send(
        0,
        &[
            "sms",
            "--target",
            "http://127.0.0.1:9/x",
            "--algorithm",
            "hmac-sha256",
        ],
    );
    assert_eq!(code, Some(2));
}
