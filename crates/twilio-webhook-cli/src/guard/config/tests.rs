//! The guard's configuration: flags, environment and file, and their mistakes.

#![allow(clippy::unwrap_used)]

use super::*;
use twilio_webhook_guard::redact;

fn no_env(_: &str) -> Option<String> {
    None
}

fn guard_args(args: &[&str]) -> GuardArgs {
    use clap::Parser as _;
    let cli =
        crate::args::Cli::try_parse_from(["twilio-webhook", "guard"].iter().chain(args)).unwrap();
    match cli.command {
        crate::args::Command::Guard(g) => *g,
        _ => unreachable!("parsed the guard subcommand"),
    }
}

#[test]
fn flags_win_over_the_file_and_a_plain_text_token_is_a_warning() {
    let dir = std::env::temp_dir().join(format!("guard-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("guard.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:9001\"\nupstream = \"http://127.0.0.1:3000\"\nmax_body = \"64KiB\"\n\
         pass = [\"/health\"]\nrequire = [\"/health/twilio\"]\nauth_token = \"from-file\"\n",
    )
    .unwrap();
    let path = file.to_string_lossy().into_owned();
    let config = load_with(
        &guard_args(&[
            "--config",
            &path,
            "--listen",
            "127.0.0.1:9002",
            "--token",
            "flag-token",
        ]),
        no_env,
    )
    .unwrap();
    assert_eq!(
        config.listen,
        "127.0.0.1:9002".parse().unwrap(),
        "the flag wins"
    );
    assert_eq!(
        config.upstream_url, "http://127.0.0.1:3000",
        "the file fills what flags leave"
    );
    assert_eq!(config.verifier.limit(), 65_536);
    assert!(
        !config.warnings.iter().any(|w| w.contains("plain text")),
        "the flag's token is used, the file's is not read: {:?}",
        config.warnings
    );
    use twilio_webhook::PathDecision::{Pass, Verify};
    assert_eq!(config.paths.decide("/health"), Ok(Pass));
    assert_eq!(
        config.paths.decide("/health/twilio/sms"),
        Ok(Verify),
        "the longer require prefix wins"
    );
    assert_eq!(
        config.paths.decide("/sms"),
        Ok(Verify),
        "everything else is verified"
    );
    let from_file = load_with(&guard_args(&["--config", &path]), no_env).unwrap();
    assert!(
        from_file.warnings.iter().any(|w| w.contains("plain text")),
        "{:?}",
        from_file.warnings
    );
    std::fs::write(&file, "upstream = \"http://x\"\nunknown_setting = 1\n").unwrap();
    assert!(
        load_with(&guard_args(&["--config", &path, "--token", "t"]), no_env).is_err(),
        "unknown settings are errors"
    );
    assert!(
        load_with(
            &guard_args(&["--upstream", "https://x", "--token", "t"]),
            no_env
        )
        .is_err()
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn sizes_take_their_units_and_refuse_others() {
    for (text, bytes) in [
        ("1048576", 1_048_576),
        ("7b", 7),
        ("2k", 2_000),
        ("2KB", 2_000),
        ("512KiB", 524_288),
        ("3m", 3_000_000),
        ("3 MB", 3_000_000),
        ("1MiB", 1_048_576),
    ] {
        assert_eq!(
            size(text, "--max-body").map_err(|e| e.0),
            Ok(bytes),
            "{text}"
        );
    }
    for bad in [
        "",
        "MB",
        "1GB",
        "1.5MB",
        "99999999999999999999",
        "18446744073709551615MiB",
    ] {
        assert!(size(bad, "--max-body").is_err(), "{bad:?}");
    }
}

#[test]
fn secrets_come_from_their_files_trimmed_and_the_log_format_from_the_flag() {
    use twilio_webhook::SignatureHeaders;
    let dir = std::env::temp_dir().join(format!("guard-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token = dir.join("token");
    std::fs::write(&token, "  file-secret\n").unwrap();
    let path = token.to_string_lossy().into_owned();
    let config = load_with(
        &guard_args(&[
            "--upstream",
            "http://127.0.0.1:3000",
            "--token-file",
            &path,
            "--log-json",
        ]),
        no_env,
    )
    .unwrap();
    assert!(config.log_json, "--log-json alone turns JSON logs on");
    let validator = config.verifier.validator();
    let url = "https://example.com/sms";
    let signed_with = |secret: &str| {
        twilio_webhook::RequestValidator::new(secret).compute_signature(url, [("A", "1")])
    };
    let check = |signature: &str| {
        validator
            .verify_form(url, [("A", "1")], SignatureHeaders::new(signature))
            .is_ok()
    };
    assert!(
        check(&signed_with("file-secret")),
        "the file's secret, trimmed"
    );
    assert!(!check(&signed_with("  file-secret\n")));
    let missing = dir.join("missing").to_string_lossy().into_owned();
    let e = load_with(
        &guard_args(&["--upstream", "http://x", "--token-file", &missing]),
        no_env,
    )
    .err()
    .map(|e| e.0)
    .unwrap_or_default();
    // The flag is named; the path is not (a secret given in its place would be printed).
    assert!(
        e.contains("cannot read the secret file given to --token-file") && !e.contains("missing"),
        "{e}"
    );
    let e = load_with(
        &guard_args(&[
            "--upstream",
            "http://x",
            "--shared-key",
            "KS1=s3cr3t-not-a-path",
        ]),
        no_env,
    )
    .err()
    .map(|e| e.0)
    .unwrap_or_default();
    assert!(
        e.contains("--shared-key") && !e.contains("s3cr3t-not-a-path"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn config_errors_show_where_never_what() {
    let dir = std::env::temp_dir().join(format!("guard-config-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("guard.toml");
    let path = file.to_string_lossy().into_owned();
    let load = |text: &str| {
        std::fs::write(&file, text).unwrap();
        load_with(&guard_args(&["--config", &path, "--token", "t"]), no_env)
            .err()
            .map(|e| e.0)
            .unwrap_or_default()
    };
    // A type error whose message would quote the value, a syntax error, an unknown setting.
    let e = load("upstream = \"http://x\"\nlog_json = \"hunter2-secret\"\n");
    assert!(
        e.contains("line 2, column 12") && !e.contains("hunter2"),
        "{e}"
    );
    let e = load("auth_token = \"hunter2-secret\ntimeout = 1\n");
    assert!(e.contains("line 1") && !e.contains("hunter2"), "{e}");
    let e = load("upstream = \"http://x\"\nauth_tokn = \"hunter2-secret\"\n");
    assert!(
        e.contains("unknown field `auth_tokn`") && !e.contains("hunter2"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn userinfo_is_redacted_from_logged_urls() {
    assert_eq!(
        redact("redis://user:hunter2@redis:6379/0"),
        "redis://REDACTED@redis:6379/0"
    );
    assert_eq!(redact("rediss://:p@a@h/x?y@z"), "rediss://REDACTED@h/x?y@z");
    assert_eq!(redact("http://127.0.0.1:3000"), "http://127.0.0.1:3000");
    assert_eq!(redact("memory"), "memory");
}

#[test]
fn bad_prefixes_and_connection_caps_are_usage_errors() {
    for args in [
        &["--upstream", "http://x", "--token", "t", "--pass", "health"][..],
        &[
            "--upstream",
            "http://x",
            "--token",
            "t",
            "--require",
            "/a/../b",
        ],
        &[
            "--upstream",
            "http://x",
            "--token",
            "t",
            "--max-connections",
            "0",
        ],
    ] {
        assert!(load_with(&guard_args(args), no_env).is_err(), "{args:?}");
    }
    let config = load_with(
        &guard_args(&["--upstream", "http://x", "--token", "t"]),
        no_env,
    )
    .unwrap();
    assert_eq!(config.max_connections, 1024);
    assert!(
        config.warnings.iter().any(|w| w.contains("no public URL")),
        "{:?}",
        config.warnings
    );
}

#[test]
fn sizes_and_durations() {
    assert_eq!(size("1MiB", "--max-body").unwrap(), 1_048_576);
    assert_eq!(size("512 KiB", "--max-body").unwrap(), 524_288);
    assert_eq!(size("2000", "--max-body").unwrap(), 2000);
    assert!(size("1 parsec", "--max-body").is_err() && size("", "--max-body").is_err());
    assert_eq!(
        duration("500ms", "--client-timeout").unwrap(),
        Duration::from_millis(500)
    );
    assert_eq!(
        duration("2m", "--client-timeout").unwrap(),
        Duration::from_secs(120)
    );
    assert_eq!(
        duration("3", "--client-timeout").unwrap(),
        Duration::from_secs(3)
    );
    assert!(
        duration("-1s", "--client-timeout").is_err()
            && duration("soon", "--client-timeout").is_err()
    );
}

#[test]
fn the_send_timeout_is_nginxs_by_default_and_set_like_the_client_timeout() {
    let base = ["--upstream", "http://127.0.0.1:3000", "--token", "t"];
    let config = load_with(&guard_args(&base), no_env).unwrap();
    assert_eq!(config.send_timeout, Duration::from_secs(60));
    let flag: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--send-timeout", "1500ms"])
        .collect();
    let config = load_with(&guard_args(&flag), no_env).unwrap();
    assert_eq!(config.send_timeout, Duration::from_millis(1500));
    let dir = std::env::temp_dir().join(format!("guard-send-timeout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("guard.toml");
    std::fs::write(&file, "send_timeout = \"5\"\n").unwrap();
    let path = file.to_string_lossy().into_owned();
    let from_file: Vec<&str> = base.iter().copied().chain(["--config", &path]).collect();
    let config = load_with(&guard_args(&from_file), no_env).unwrap();
    assert_eq!(config.send_timeout, Duration::from_secs(5));
    let bad: Vec<&str> = base
        .iter()
        .copied()
        .chain(["--send-timeout", "0"])
        .collect();
    assert!(load_with(&guard_args(&bad), no_env).is_err());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_body_memory_budget_defaults_to_256_mib_and_holds_at_least_one_body() {
    let base = ["--upstream", "http://127.0.0.1:3000", "--token", "t"];
    let with = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        load_with(&guard_args(&args), no_env)
    };
    assert_eq!(with(&[]).unwrap().max_body_memory, 256 * 1024 * 1024);
    assert_eq!(
        with(&["--max-body", "300MiB"]).unwrap().max_body_memory,
        300 * 1024 * 1024,
        "the default is raised to one body of the limit"
    );
    assert_eq!(
        with(&["--max-body-memory", "2MiB"])
            .unwrap()
            .max_body_memory,
        2 * 1024 * 1024
    );
    for bad in [
        &["--max-body-memory", "512KiB"][..],
        &["--max-body-memory", "0"],
        &["--max-body", "4MiB", "--max-body-memory", "3MiB"],
        &["--max-body-memory", "lots"],
    ] {
        assert!(with(bad).is_err(), "{bad:?}");
    }
    let dir = std::env::temp_dir().join(format!("guard-body-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("guard.toml");
    std::fs::write(&file, "max_body_memory = \"64MiB\"\n").unwrap();
    let path = file.to_string_lossy().into_owned();
    assert_eq!(
        with(&["--config", &path]).unwrap().max_body_memory,
        64 * 1024 * 1024
    );
    assert_eq!(
        with(&["--config", &path, "--max-body-memory", "8MiB"])
            .unwrap()
            .max_body_memory,
        8 * 1024 * 1024,
        "the flag wins over the file"
    );
    let _ = std::fs::remove_dir_all(dir);
}

/// A setting's error names the setting and what is wrong with it, never its value (third outside
/// attack, F15: `--max-body`, `--client-timeout`, `--admin-listen` and `--trusted-proxy` echoed theirs).
#[test]
fn setting_errors_never_echo_the_value() {
    let value = "SECRETX-value";
    let errors = [
        size(value, "--max-body").unwrap_err().0,
        duration(value, "--client-timeout").unwrap_err().0,
        addr(value, "--admin-listen").unwrap_err().0,
        twilio_webhook::PublicUrl::from_host()
            .trust_proxy(value)
            .unwrap_err()
            .to_string(),
    ];
    for (error, setting) in errors.iter().zip([
        "--max-body",
        "--client-timeout",
        "--admin-listen",
        "trusted proxy",
    ]) {
        assert!(!error.contains("SECRETX"), "{error}");
        assert!(error.contains(setting), "{error}");
    }
}
