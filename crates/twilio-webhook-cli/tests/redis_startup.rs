//! `--replay` at start-up, against a real `redis-server` that wants a password: a guard whose URL
//! lacks it stops at start (`NOAUTH`), as one with a wrong password does, instead of answering `503`
//! to every request; a scheme in mixed case (`Redis://`) is read as `redis://`; and no error, for
//! `--replay` or `--public-url`, shows the setting's value (its password).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use twilio_webhook_http_suite as suite;

mod support;
use support::redis::{Redis, Scratch};
use support::{Echo, Guard, TOKEN};

const PASSWORD: &str = "pw-s3cret-4711";

/// `redis-server` on a free port that wants `PASSWORD`.
fn locked_redis(scratch: &Scratch) -> (Redis, u16) {
    let port = suite::free_port();
    let server = Redis::start(
        scratch.path(),
        &[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    );
    suite::wait_for(port);
    (server, port)
}

/// The guard's exit status and stderr when it must stop at start: a guard still running after 15 s
/// (it started serving) fails the test.
fn fails_to_start(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
        .args([
            "guard",
            "--listen",
            &format!("127.0.0.1:{}", suite::free_port()),
            "--upstream",
            "http://127.0.0.1:9",
        ])
        .args(args)
        .env("TWILIO_AUTH_TOKEN", TOKEN)
        .env_remove("TWILIO_REPLAY")
        .env_remove("TWILIO_PUBLIC_URL")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("guard runs");
    let start = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "the guard started instead of failing: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_redis_that_wants_a_password_the_url_lacks_stops_the_guard_at_start() {
    let scratch = Scratch::new("redis-noauth");
    let (_redis, port) = locked_redis(&scratch);
    let (code, stderr) = fails_to_start(&["--replay", &format!("redis://127.0.0.1:{port}")], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--replay") && stderr.contains("NOAUTH") && stderr.contains("password"),
        "{stderr}"
    );
    // A wrong password stops it too, and is never shown.
    let wrong = format!("redis://:wrong-{PASSWORD}@127.0.0.1:{port}");
    let (code, stderr) = fails_to_start(&["--replay", &wrong], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

/// Mutation testing found the start-up PING's other refusals unchecked: a Redis that refuses the
/// command for another reason than a missing password stops the guard with its own error, not
/// `NOAUTH`.
#[test]
fn a_redis_that_refuses_ping_for_another_reason_stops_the_guard_with_that_reason() {
    let scratch = Scratch::new("redis-no-ping");
    let port = suite::free_port();
    let _redis = Redis::start(
        scratch.path(),
        &[
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--rename-command",
            "PING",
            "",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    );
    suite::wait_for(port);
    let (code, stderr) = fails_to_start(&["--replay", &format!("redis://127.0.0.1:{port}")], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("refused the start-up PING") && !stderr.contains("NOAUTH"),
        "{stderr}"
    );
}

#[test]
fn a_scheme_in_mixed_case_is_read_and_the_password_never_shown() {
    let scratch = Scratch::new("redis-mixed-case");
    let (_redis, port) = locked_redis(&scratch);
    let echo = Echo::start();
    // `Redis://` is `redis://`: the guard starts, and replays are refused through the store.
    let url = format!("Redis://:{PASSWORD}@127.0.0.1:{port}");
    let args = [
        "--replay",
        &url,
        "--public-url",
        "https://hooks.example.com",
    ];
    let guard = Guard::start(&echo.url(), &args);
    let request = support::signed_public("/sms", b"Body=mixed+case");
    assert_eq!(
        suite::send(guard.port, &request).expect("guard").status,
        200
    );
    assert_eq!(
        suite::send(guard.port, &request).expect("guard").status,
        409
    );
    assert_eq!(echo.hits(), 1);
    // A scheme of no store, in the flag or in TWILIO_REPLAY: the setting is named, never its value.
    let unknown = format!("Rediz://:{PASSWORD}@127.0.0.1:{port}");
    let (code, stderr) = fails_to_start(&["--replay", &unknown], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--replay") && stderr.contains("scheme") && !stderr.contains(PASSWORD),
        "{stderr}"
    );
    let (code, stderr) = fails_to_start(&[], &[("TWILIO_REPLAY", &unknown)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("TWILIO_REPLAY") && !stderr.contains(PASSWORD),
        "{stderr}"
    );
    // A mixed-case scheme with TLS settings is a rediss:// URL too (and its CA is checked first).
    let tls = format!("REDISS://:{PASSWORD}@127.0.0.1:{port}");
    let (code, stderr) = fails_to_start(&["--replay", &tls, "--redis-ca", "/etc/hostname"], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("CA file") && !stderr.contains(PASSWORD),
        "{stderr}"
    );
}

#[test]
fn a_public_url_with_a_password_is_refused_without_showing_it() {
    let url = format!("https://user:{PASSWORD}@hooks.example.com/twilio");
    let (code, stderr) = fails_to_start(&["--public-url", &url], &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("public base URL") && !stderr.contains(PASSWORD),
        "{stderr}"
    );
    let (code, stderr) = fails_to_start(&[], &[("TWILIO_PUBLIC_URL", &url)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("public base URL") && !stderr.contains(PASSWORD),
        "{stderr}"
    );
}

#[test]
fn guard_help_lists_every_replay_store() {
    let out = Command::new(env!("CARGO_BIN_EXE_twilio-webhook"))
        .args(["guard", "--help"])
        .output()
        .expect("runs");
    let help = String::from_utf8_lossy(&out.stdout);
    let replay = help
        .split("--replay <STORE>")
        .nth(1)
        .and_then(|rest| rest.split("--replay-duplicates").next())
        .expect("--replay is described");
    for form in [
        "off",
        "memory",
        "redis://",
        "rediss://",
        "redis-cluster://",
        "rediss-cluster://",
        "redis-sentinel://",
    ] {
        assert!(replay.contains(form), "{form} missing from: {replay}");
    }
}
