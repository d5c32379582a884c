//! The guard's configuration: flags win over the environment (clap reads both), which win over an
//! optional TOML file (`--config`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use twilio_webhook::{PublicUrl, RequestValidator, WebhookVerifier};

use crate::UsageError;
use crate::args::GuardArgs;

/// The TOML file: the same settings as the flags, by their long names with underscores.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    listen: Option<String>,
    upstream: Option<String>,
    public_url: Option<Vec<String>>,
    trusted_proxy: Option<Vec<String>>,
    max_body: Option<String>,
    client_timeout: Option<String>,
    upstream_timeout: Option<String>,
    replay: Option<String>,
    admin_listen: Option<String>,
    require: Option<Vec<String>>,
    pass: Option<Vec<String>>,
    log_json: Option<bool>,
    auth_token_file: Option<PathBuf>,
    /// Allowed, with a warning: a secret in a configuration file is easy to leak.
    auth_token: Option<String>,
    shared_key: Option<Vec<String>>,
}

/// Everything the guard runs with.
pub(crate) struct Config {
    pub(crate) listen: SocketAddr,
    pub(crate) upstream: String,
    pub(crate) admin_listen: Option<SocketAddr>,
    pub(crate) client_timeout: Duration,
    pub(crate) upstream_timeout: Duration,
    pub(crate) replay: Option<String>,
    pub(crate) log_json: bool,
    /// Path prefixes passed through without verification; everything else is verified.
    pub(crate) pass: Vec<String>,
    /// Path prefixes that require verification (they win over a shorter `pass` prefix).
    pub(crate) require: Vec<String>,
    pub(crate) verifier: WebhookVerifier,
    /// What was worth a warning while reading the configuration.
    pub(crate) warnings: Vec<String>,
}

/// `1048576`, `512KiB`, `1MiB`, `2MB`.
pub(crate) fn size(text: &str) -> Result<usize, UsageError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| UsageError(format!("not a size: {text:?}")))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        _ => {
            return Err(UsageError(format!(
                "not a size: {text:?} (use B, KiB, MiB, KB or MB)"
            )));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| UsageError(format!("size too large: {text:?}")))
}

/// `500ms`, `10s`, `2m`, or seconds.
pub(crate) fn duration(text: &str) -> Result<Duration, UsageError> {
    let t = text.trim();
    let bad = || UsageError(format!("not a duration: {text:?} (use ms, s or m)"));
    let (number, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60.0)
    } else {
        (t, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| bad())?;
    if !value.is_finite() || value <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(value * scale))
}

fn addr(text: &str, what: &str) -> Result<SocketAddr, UsageError> {
    text.parse()
        .map_err(|_| UsageError(format!("{what} must be ADDR:PORT, got {text:?}")))
}

fn read_secret(path: &Path) -> Result<String, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "cannot read the secret file {}: {e}",
            path.display()
        ))
    })?;
    Ok(text.trim().to_string())
}

pub(crate) fn load(args: &GuardArgs) -> Result<Config, UsageError> {
    load_with(args, |name| std::env::var(name).ok())
}

/// [`load`] with the environment looked up through `env` (tests pass their own).
fn load_with(args: &GuardArgs, env: impl Fn(&str) -> Option<String>) -> Result<Config, UsageError> {
    let file: File = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
            toml::from_str(&text).map_err(|e| UsageError(format!("{}: {e}", path.display())))?
        }
        None => File::default(),
    };
    let mut warnings = Vec::new();
    let pick = |flag: &Option<String>, file: &Option<String>| flag.clone().or_else(|| file.clone());
    let list = |flag: &Vec<String>, file: &Option<Vec<String>>| {
        if flag.is_empty() {
            file.clone().unwrap_or_default()
        } else {
            flag.clone()
        }
    };
    let upstream = pick(&args.upstream, &file.upstream)
        .ok_or_else(|| UsageError("--upstream URL is required (the app to protect)".into()))?;
    if !upstream.starts_with("http://") {
        return Err(UsageError(format!(
            "--upstream must be an http:// URL, got {upstream:?}"
        )));
    }
    let token = if let Some(token) = &args.secret.token {
        Some(token.clone())
    } else if let Some(path) = args
        .secret
        .token_file
        .as_ref()
        .or(file.auth_token_file.as_ref())
    {
        Some(read_secret(path)?)
    } else if let Some(token) = env(crate::secrets::TOKEN_ENV) {
        Some(token)
    } else if let Some(token) = &file.auth_token {
        warnings.push("the Auth Token is read from the configuration file in plain text: prefer TWILIO_AUTH_TOKEN or auth_token_file".to_string());
        Some(token.clone())
    } else {
        None
    };
    let mut builder = RequestValidator::builder();
    if let Some(token) = token.filter(|t| !t.trim().is_empty()) {
        builder = builder.auth_token("primary", token.trim());
    }
    for entry in list(&args.shared_key, &file.shared_key) {
        let (id, path) = entry
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--shared-key takes ID=FILE, got {entry:?}")))?;
        builder = builder.shared_key(id, read_secret(Path::new(path))?);
    }
    let validator = builder.build().map_err(|e| match e {
        twilio_webhook::ConfigError::NoSecrets => UsageError(
            "no secret: set TWILIO_AUTH_TOKEN, or pass --token-file FILE or --shared-key ID=FILE"
                .into(),
        ),
        other => UsageError(other.to_string()),
    })?;
    let mut policy = PublicUrl::from_host();
    for base in list(&args.public_url, &file.public_url) {
        policy = policy
            .also_base(&base)
            .map_err(|e| UsageError(e.to_string()))?;
    }
    for proxy in list(&args.trusted_proxy, &file.trusted_proxy) {
        policy = policy
            .trust_proxy(&proxy)
            .map_err(|e| UsageError(e.to_string()))?;
    }
    let max_body = size(&pick(&args.max_body, &file.max_body).unwrap_or_else(|| "1MiB".into()))?;
    let verifier = WebhookVerifier::new(validator)
        .public_url(policy)
        .body_limit(max_body);
    let admin_listen = pick(&args.admin_listen, &file.admin_listen)
        .map(|a| addr(&a, "--admin-listen"))
        .transpose()?;
    Ok(Config {
        listen: addr(
            &pick(&args.listen, &file.listen).unwrap_or_else(|| "127.0.0.1:8080".into()),
            "--listen",
        )?,
        upstream: upstream.trim_end_matches('/').to_string(),
        admin_listen,
        client_timeout: duration(
            &pick(&args.client_timeout, &file.client_timeout).unwrap_or_else(|| "10s".into()),
        )?,
        upstream_timeout: duration(
            &pick(&args.upstream_timeout, &file.upstream_timeout).unwrap_or_else(|| "30s".into()),
        )?,
        replay: pick(&args.replay, &file.replay),
        log_json: args.log_json || file.log_json.unwrap_or(false),
        pass: list(&args.pass, &file.pass),
        require: list(&args.require, &file.require),
        verifier,
        warnings,
    })
}

impl Config {
    /// Whether `path` must be verified: the longest matching prefix decides; by default, yes.
    pub(crate) fn requires_verification(&self, path: &str) -> bool {
        let longest = |prefixes: &[String]| {
            prefixes
                .iter()
                .filter(|p| path.starts_with(p.as_str()))
                .map(String::len)
                .max()
        };
        match (longest(&self.pass), longest(&self.require)) {
            (Some(pass), Some(require)) => require >= pass,
            (Some(_), None) => false,
            _ => true,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn guard_args(args: &[&str]) -> GuardArgs {
        use clap::Parser as _;
        let cli = crate::args::Cli::try_parse_from(["twilio-webhook", "guard"].iter().chain(args))
            .unwrap();
        match cli.command {
            crate::args::Command::Guard(g) => g,
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
            config.upstream, "http://127.0.0.1:3000",
            "the file fills what flags leave"
        );
        assert_eq!(config.verifier.limit(), 65_536);
        assert!(
            config.warnings.is_empty(),
            "the flag's token is used, the file's is not read"
        );
        assert!(!config.requires_verification("/health"));
        assert!(
            config.requires_verification("/health/twilio/sms"),
            "the longer require prefix wins"
        );
        assert!(
            config.requires_verification("/sms"),
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
    fn sizes_and_durations() {
        assert_eq!(size("1MiB").unwrap(), 1_048_576);
        assert_eq!(size("512 KiB").unwrap(), 524_288);
        assert_eq!(size("2000").unwrap(), 2000);
        assert!(size("1 parsec").is_err() && size("").is_err());
        assert_eq!(duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(duration("3").unwrap(), Duration::from_secs(3));
        assert!(duration("-1s").is_err() && duration("soon").is_err());
    }
}
