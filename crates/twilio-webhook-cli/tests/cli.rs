//! Runs the built `twilio-webhook` binary as a user would.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const TOKEN: &str = "s3cr3t-token-value";
const DOC_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
const DOC_PARAMS: [&str; 5] = [
    "CallSid=CA1234567890ABCDE",
    "Caller=+12349013030",
    "Digits=1234",
    "From=+12349013030",
    "To=+18005551212",
];

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"));
    c.env_remove("TWILIO_AUTH_TOKEN");
    c
}

fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary runs");
    // Written from a thread: the child may fill its stdout pipe before it has read all of stdin.
    let mut pipe = child.stdin.take().expect("stdin");
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || pipe.write_all(&input));
    let output = child.wait_with_output().expect("binary finishes");
    writer.join().expect("writer thread").expect("write stdin");
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn testdata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(name)
}

fn data_args(cmd: &mut Command) -> &mut Command {
    for p in DOC_PARAMS {
        cmd.args(["-d", p]);
    }
    cmd
}

#[test]
fn sign_prints_the_docs_signature() {
    let out = run(
        data_args(
            bin()
                .args(["sign", "--url", DOC_URL])
                .env("TWILIO_AUTH_TOKEN", "12345"),
        ),
        b"",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "0/KCTR6DLpKmkAf8muzZqo1nDgQ=\n");
}

#[test]
fn verify_exit_codes_and_reasons() {
    let verify = |url: &str, sig: &str| {
        run(
            data_args(
                bin()
                    .args(["verify", "--url", url, "--signature", sig])
                    .env("TWILIO_AUTH_TOKEN", "12345"),
            ),
            b"",
        )
    };
    let ok = verify(
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("matched URL: https://mycompany.com/myapp.php?foo=1&bar=2"));

    let spoofed = verify(
        "https://evil.example/myapp.php?foo=1&bar=2",
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
    );
    assert_eq!(spoofed.status.code(), Some(1));
    assert!(text(&spoofed.stderr).contains("signature_mismatch"));

    let malformed = verify(DOC_URL, "not-base64");
    assert_eq!(malformed.status.code(), Some(1));
    assert!(text(&malformed.stderr).contains("malformed_signature"));

    let usage = run(
        bin()
            .args([
                "verify",
                "--url",
                DOC_URL,
                "--signature",
                "x",
                "-d",
                "novalue",
            ])
            .env("TWILIO_AUTH_TOKEN", "1"),
        b"",
    );
    assert_eq!(usage.status.code(), Some(2));
    assert!(text(&usage.stderr).contains("KEY=VALUE"));

    let no_secret = run(
        bin().args(["verify", "--url", DOC_URL, "--signature", "x"]),
        b"",
    );
    assert_eq!(no_secret.status.code(), Some(2));
    assert!(text(&no_secret.stderr).contains("TWILIO_AUTH_TOKEN"));

    let unknown_flag = run(bin().args(["verify", "--nope"]), b"");
    assert_eq!(unknown_flag.status.code(), Some(2));
}

#[test]
fn body_sign_then_verify_from_a_token_file() {
    let dir = std::env::temp_dir().join(format!("twilio-webhook-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let body = dir.join("body.json");
    std::fs::write(&body, br#"{"EventType":"onMessageAdded"}"#).unwrap();
    let tf = token_file.to_str().unwrap();
    let signed = run(
        bin().args([
            "sign",
            "--url",
            "https://example.com/hook?x=1",
            "--body-file",
            body.to_str().unwrap(),
            "--token-file",
            tf,
        ]),
        b"",
    );
    assert_eq!(signed.status.code(), Some(0));
    let stdout = text(&signed.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let [sig, url] = lines[..] else {
        panic!("two lines expected: {lines:?}")
    };
    assert!(url.starts_with("https://example.com/hook?x=1&bodySHA256="));
    let verify_body = |body: &[u8]| {
        let args = [
            "verify",
            "--url",
            url,
            "--signature",
            sig,
            "--body-file",
            "-",
            "--token-file",
            tf,
        ];
        run(bin().args(args), body)
    };
    let ok = verify_body(br#"{"EventType":"onMessageAdded"}"#);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    let tampered = verify_body(br#"{"EventType":"onMessageRemoved"}"#);
    assert_eq!(tampered.status.code(), Some(1));
    assert!(text(&tampered.stderr).contains("body_hash_mismatch"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn shared_key_sha256_round_trip() {
    let id = "KS3450d4d9ffbd54ba014fdcf9c685490c";
    let signed = run(
        data_args(bin().args([
            "sign",
            "--url",
            DOC_URL,
            "--algorithm",
            "hmac-sha256",
            "--key-id",
            id,
            "--token",
            TOKEN,
        ])),
        b"",
    );
    assert_eq!(signed.status.code(), Some(0));
    let sig = text(&signed.stdout).trim().to_string();
    assert_eq!(sig.len(), 44);
    let settings = format!("key={id},algorithm=HMAC_SHA256");
    assert!(text(&signed.stderr).contains(&settings));
    let ok = run(
        data_args(bin().args([
            "verify",
            "--url",
            DOC_URL,
            "--signature",
            &sig,
            "--settings",
            &settings,
            "--key-id",
            id,
            "--token",
            TOKEN,
        ])),
        b"",
    );
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("HMAC-SHA256 with SharedKey KS3450d4d9ffbd54ba014fdcf9c685490c")
    );
}

#[test]
fn batch_gives_every_expected_verdict_in_order() {
    let mut input = std::fs::read(testdata("corpus.jsonl")).unwrap();
    input.extend(std::fs::read(testdata("public-extra.jsonl")).unwrap());
    let cases: Vec<Value> = text(&input)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let out = run(bin().args(["verify", "--batch"]), &input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let verdicts: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts.len(), 2332);
    assert_eq!(cases.len(), verdicts.len());
    let mut failures = Vec::new();
    for (case, verdict) in cases.iter().zip(&verdicts) {
        assert_eq!(case["id"], verdict["id"], "order kept");
        if case["expected"] != verdict["valid"] {
            failures.push(format!("{}: {verdict}", case["id"]));
        }
        match verdict["valid"].as_bool() {
            Some(true) => {
                assert_eq!(verdict["reason"], Value::Null);
                assert_eq!(verdict["matched_url"], case["signed_url"], "{}", case["id"]);
            }
            _ => {
                assert!(
                    verdict["reason"].as_str().is_some_and(|r| r != "bad_input"),
                    "{verdict}"
                );
                assert_eq!(verdict["matched_url"], Value::Null);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The summary counts what the data expects (every verdict matched it above).
    let valid = cases.iter().filter(|c| c["expected"] == true).count();
    let summary = format!(
        "2332 lines: {valid} valid, {} rejected, 0 bad input",
        2332 - valid
    );
    assert!(text(&out.stderr).contains(&summary), "{summary}");
}

#[test]
fn batch_bad_lines_do_not_stop_the_run() {
    let good = r#"{"id":"ok","url":"https://mycompany.com/myapp.php?foo=1&bar=2","params":[["CallSid","CA1234567890ABCDE"],["Caller","+12349013030"],["Digits","1234"],["From","+12349013030"],["To","+18005551212"]],"body":null,"signature":"0/KCTR6DLpKmkAf8muzZqo1nDgQ=","auth_token":"12345"}"#;
    let input = format!(
        "not json\n{good}\n[1,2]\n{{\"id\":\"p\",\"url\":\"https://a\",\"params\":[[\"k\"]],\"auth_token\":\"{TOKEN}\"}}\n\u{e9}\n{good}\r\n"
    );
    let mut bytes = input.into_bytes();
    // Turn the 'é' line into a byte that is not UTF-8.
    let pos = bytes.iter().position(|&b| b == 0xc3).unwrap();
    bytes.splice(pos..pos + 2, [0xff]);
    let out = run(bin().args(["verify", "--batch"]), &bytes);
    assert_eq!(out.status.code(), Some(0));
    let verdicts: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(Value, Value)> = verdicts
        .iter()
        .map(|v| (v["id"].clone(), v["reason"].clone()))
        .collect();
    let bad = (Value::Null, Value::from("bad_input"));
    let ok = (Value::from("ok"), Value::Null);
    // The bad line whose id could be read keeps it.
    let bad_p = (Value::from("p"), Value::from("bad_input"));
    assert_eq!(
        summary,
        vec![bad.clone(), ok.clone(), bad.clone(), bad_p, bad, ok]
    );
    assert!(!text(&out.stdout).contains(TOKEN) && !text(&out.stderr).contains(TOKEN));
}

/// Spec §5: a captured JSON webhook, replayed without its body as a form (decoded params or a raw form
/// body), is rejected; with its body it is valid through both the body and the raw-form paths.
#[test]
fn batch_rejects_a_json_request_replayed_as_a_form() {
    use twilio_webhook::{Algorithm, Signer};
    let body = r#"{"type":"com.twilio.messaging.message.delivered"}"#;
    let signed = Signer::new(TOKEN, Algorithm::HmacSha1)
        .unwrap()
        .sign_body("https://example.com/events", body.as_bytes())
        .unwrap();
    let line = |id: &str, kind: &str, body: Value| {
        serde_json::json!({
            "id": id, "kind": kind, "url": signed.url, "params": [], "body": body,
            "signature": signed.signature, "auth_token": TOKEN,
        })
        .to_string()
    };
    let input = [
        line("json", "json", Value::from(body)),
        line("raw-form-with-body", "form", Value::from(body)),
        line("params", "form", Value::Null),
        line("raw-form-empty", "form", Value::from("")),
        line("raw-form-other", "form", Value::from("Body=hi")),
    ]
    .join("\n");
    let out = run(bin().args(["verify", "--batch"]), input.as_bytes());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got: Vec<(Value, Value, Value)> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .map(|v| (v["id"].clone(), v["valid"].clone(), v["reason"].clone()))
        .collect();
    let want = [
        ("json", true, Value::Null),
        ("raw-form-with-body", true, Value::Null),
        ("params", false, Value::from("body_not_hashed")),
        ("raw-form-empty", false, Value::from("body_hash_mismatch")),
        ("raw-form-other", false, Value::from("body_hash_mismatch")),
    ]
    .map(|(id, valid, reason)| (Value::from(id), Value::from(valid), reason));
    assert_eq!(got, want);
}

#[test]
fn the_secret_never_appears_in_output() {
    for args in [
        vec![
            "verify",
            "--url",
            DOC_URL,
            "--signature",
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
        ],
        vec!["verify", "--url", DOC_URL, "--signature", "bad"],
        vec![
            "verify",
            "--url",
            DOC_URL,
            "--signature",
            "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
            "--settings",
            "key=KS1,algorithm=HMAC_SHA256",
            "--key-id",
            "KS2",
        ],
        vec!["sign", "--url", DOC_URL],
    ] {
        let out = run(bin().args(&args).args(["--token", TOKEN]), b"");
        assert!(out.status.code().is_some());
        assert!(!text(&out.stdout).contains(TOKEN), "{args:?}");
        assert!(!text(&out.stderr).contains(TOKEN), "{args:?}");
    }
}

#[test]
fn help_warns_that_token_is_visible() {
    let out = run(bin().args(["verify", "--help"]), b"");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("Visible to other users of this machine"));
}

const DOC_LINE: &str = r#"{"id":"doc","url":"https://mycompany.com/myapp.php?foo=1&bar=2","params":[["CallSid","CA1234567890ABCDE"],["Caller","+12349013030"],["Digits","1234"],["From","+12349013030"],["To","+18005551212"]],"body":null,"signature":"0/KCTR6DLpKmkAf8muzZqo1nDgQ="}"#;

#[test]
fn batch_lines_without_a_token_use_the_configured_one() {
    let out = run(
        bin()
            .args(["verify", "--batch"])
            .env("TWILIO_AUTH_TOKEN", "12345"),
        DOC_LINE.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0));
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (verdict["id"].clone(), verdict["valid"].clone()),
        (Value::from("doc"), Value::from(true))
    );
    assert!(
        text(&out.stderr).contains("1 line: 1 valid, 0 rejected, 0 bad input"),
        "{}",
        text(&out.stderr)
    );
    // No secret anywhere: a bad line that says what is missing, with its id.
    let out = run(bin().args(["verify", "--batch"]), DOC_LINE.as_bytes());
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["id"], "doc");
    assert_eq!(verdict["reason"], "bad_input");
    assert!(
        verdict["error"]
            .as_str()
            .unwrap()
            .contains("TWILIO_AUTH_TOKEN"),
        "{verdict}"
    );
}

#[test]
fn batch_exit_codes_and_fail_on_reject() {
    let rejected = DOC_LINE.replace("1234\"]", "9999\"]");
    let input = format!("{DOC_LINE}\n{rejected}\n");
    let plain = run(
        bin()
            .args(["verify", "--batch"])
            .env("TWILIO_AUTH_TOKEN", "12345"),
        input.as_bytes(),
    );
    assert_eq!(plain.status.code(), Some(0), "every line answered");
    assert!(
        text(&plain.stderr).contains("2 lines: 1 valid, 1 rejected"),
        "{}",
        text(&plain.stderr)
    );
    let strict = run(
        bin()
            .args(["verify", "--batch", "--fail-on-reject"])
            .env("TWILIO_AUTH_TOKEN", "12345"),
        input.as_bytes(),
    );
    assert_eq!(strict.status.code(), Some(1));
    let all_valid = run(
        bin()
            .args(["verify", "--batch", "--fail-on-reject"])
            .env("TWILIO_AUTH_TOKEN", "12345"),
        DOC_LINE.as_bytes(),
    );
    assert_eq!(all_valid.status.code(), Some(0));
}

#[test]
fn a_closed_stdout_pipe_never_panics() {
    let input = format!("{DOC_LINE}\n").repeat(20_000);
    let mut child = bin()
        .args(["verify", "--batch"])
        .env("TWILIO_AUTH_TOKEN", "12345")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("panicked"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn key_id_without_settings_or_with_an_empty_id_is_a_usage_error() {
    let out = run(
        data_args(bin().args([
            "verify",
            "--url",
            DOC_URL,
            "--signature",
            "x",
            "--key-id",
            "KS1",
        ]))
        .env("TWILIO_AUTH_TOKEN", "12345"),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--settings"),
        "{}",
        text(&out.stderr)
    );
    let out = run(
        data_args(bin().args([
            "verify",
            "--url",
            DOC_URL,
            "--signature",
            "x",
            "--key-id",
            "",
            "--settings",
            "key=,algorithm=HMAC_SHA256",
        ]))
        .env("TWILIO_AUTH_TOKEN", "12345"),
        b"",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("empty"), "{}", text(&out.stderr));
}
