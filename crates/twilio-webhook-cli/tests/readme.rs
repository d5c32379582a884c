//! The README's command-line examples run as written: the block after the README's "tested by" marker
//! is run with bash from the repository root, with the built binary first on `PATH`.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn the_readme_cli_examples_run_as_written() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let marker = "<!-- tested by crates/twilio-webhook-cli/tests/readme.rs -->";
    let after = readme.split_once(marker).expect("the marker").1;
    let block = after
        .split_once("```sh\n")
        .and_then(|(_, rest)| rest.split_once("\n```"))
        .expect("a sh block after the marker")
        .0;
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_twilio-webhook"))
        .parent()
        .expect("binary directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", block])
        .current_dir(&root)
        .env("PATH", path)
        .env_remove("TWILIO_AUTH_TOKEN")
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"0/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        "{stdout}"
    );
    assert_eq!(stdout.matches("valid: HMAC-SHA1").count(), 2, "{stdout}");
    // The explain output the README shows is what explain prints now.
    for line in lines
        .iter()
        .filter(|l| l.starts_with("  - ") || l.starts_with("Twilio signed"))
    {
        assert!(
            readme.contains(line),
            "README shows a different explain output; now: {line}"
        );
    }
}
