//! The guard's configuration: flags win over the environment (clap reads both), which win over an
//! optional TOML file (`--config`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use twilio_webhook::{
    Duplicates, PathRules, PublicUrl, RedisTls, RequestValidator, WebhookVerifier,
};

use twilio_webhook_guard::{Config, Target};

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
    max_body_memory: Option<String>,
    client_timeout: Option<String>,
    send_timeout: Option<String>,
    upstream_timeout: Option<String>,
    replay: Option<String>,
    replay_duplicates: Option<String>,
    redis_ca: Option<PathBuf>,
    redis_client_cert: Option<PathBuf>,
    redis_client_key: Option<PathBuf>,
    admin_listen: Option<String>,
    diagnose: Option<String>,
    max_connections: Option<usize>,
    workers: Option<usize>,
    require: Option<Vec<String>>,
    pass: Option<Vec<String>>,
    log_json: Option<bool>,
    auth_token_file: Option<PathBuf>,
    /// Allowed, with a warning: a secret in a configuration file is easy to leak.
    auth_token: Option<String>,
    shared_key: Option<Vec<String>>,
}

/// The TLS material the flags name, read now (a file that cannot be read is a usage error naming the
/// flag, never showing the contents); only for a `rediss://` store.
fn redis_tls(
    ca: Option<&PathBuf>,
    cert: Option<&PathBuf>,
    key: Option<&PathBuf>,
    replay: Option<&str>,
) -> Result<Option<RedisTls>, UsageError> {
    if ca.is_none() && cert.is_none() && key.is_none() {
        return Ok(None);
    }
    // The scheme in any case, as the store reads it; the value itself is never shown.
    let scheme = replay
        .and_then(|r| r.trim_start().split_once("://"))
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    if !matches!(scheme.as_deref(), Some("rediss" | "rediss-cluster")) {
        return Err(UsageError(
            "--redis-ca, --redis-client-cert and --redis-client-key need --replay rediss://… or \
             rediss-cluster://…"
                .into(),
        ));
    }
    let read = |path: &PathBuf, flag: &str| {
        std::fs::read(path)
            .map_err(|e| UsageError(format!("{flag}: cannot read {}: {e}", path.display())))
    };
    let mut tls = RedisTls::default();
    if let Some(ca) = ca {
        tls = tls.ca_pem(read(ca, "--redis-ca")?);
    }
    match (cert, key) {
        (Some(cert), Some(key)) => {
            tls = tls.client_pem(
                read(cert, "--redis-client-cert")?,
                read(key, "--redis-client-key")?,
            );
        }
        (None, None) => {}
        _ => {
            return Err(UsageError(
                "--redis-client-cert and --redis-client-key go together".into(),
            ));
        }
    }
    Ok(Some(tls))
}

/// The default `--max-body-memory` (raised to `--max-body` when that is larger): 256 bodies of the
/// default 1 MiB limit, a quarter of the default 1024 connections each holding one. Genuine webhooks
/// are a few KiB (thousands of them fit in flight at once), while taking the whole budget costs
/// sending 256 MiB within each client time-out, and the guard's peak stays a few hundred MB instead
/// of the 1 GiB that 1024 slow clients held.
const DEFAULT_MAX_BODY_MEMORY: usize = 256 * 1024 * 1024;

/// `1048576`, `512KiB`, `1MiB`, `2MB`.
pub(crate) fn size(text: &str, what: &str) -> Result<usize, UsageError> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: usize = number
        .parse()
        .map_err(|_| UsageError(format!("{what} is not a size (use B, KiB, MiB, KB or MB)")))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" => 1000,
        "kib" => 1024,
        "m" | "mb" => 1_000_000,
        "mib" => 1024 * 1024,
        _ => {
            return Err(UsageError(format!(
                "{what} is not a size (use B, KiB, MiB, KB or MB)"
            )));
        }
    };
    n.checked_mul(factor)
        .ok_or_else(|| UsageError(format!("{what} is too large")))
}

/// `500ms`, `10s`, `2m`, or seconds.
pub(crate) fn duration(text: &str, what: &str) -> Result<Duration, UsageError> {
    let t = text.trim();
    let bad = || UsageError(format!("{what} is not a duration (use ms, s or m)"));
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
        .map_err(|_| UsageError(format!("{what} must be ADDR:PORT")))
}

/// The secret in the file at `path`, given with `flag`. The error names the flag, never the path: a
/// secret passed where its file's path belongs would otherwise be printed.
fn read_secret(path: &Path, flag: &str) -> Result<String, UsageError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        UsageError(format!(
            "cannot read the secret file given to {flag}: {}",
            e.kind()
        ))
    })?;
    Ok(text.trim().to_string())
}

pub(crate) fn load(args: &GuardArgs) -> Result<Config, UsageError> {
    load_with(args, |name| std::env::var(name).ok())
}

/// A TOML error as it may be shown: where it is and what kind, never the text of the file (a line
/// may hold a secret, and `toml`'s messages quote values).
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> UsageError {
    let place = e.span().map_or_else(String::new, |span| {
        let before = text.get(..span.start).unwrap_or_default();
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" line {line}, column {column}:")
    });
    // An unknown setting's message names only the setting; any other message may quote a value.
    let message = e.message();
    let what = if message.starts_with("unknown field") {
        message
            .split(", expected")
            .next()
            .unwrap_or("unknown field")
    } else {
        "invalid setting (its value is not shown: it may hold a secret)"
    };
    UsageError(format!("{}:{place} {what}", path.display()))
}

/// [`load`] with the environment looked up through `env` (tests pass their own).
fn load_with(args: &GuardArgs, env: impl Fn(&str) -> Option<String>) -> Result<Config, UsageError> {
    let file: File = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
            toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?
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
    let upstream_target = Target::parse(upstream.trim()).map_err(UsageError)?;
    let token = if let Some(token) = &args.secret.token {
        Some(token.clone())
    } else if let Some(path) = args
        .secret
        .token_file
        .as_ref()
        .or(file.auth_token_file.as_ref())
    {
        Some(read_secret(path, "--token-file")?)
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
        let (id, path) = entry.split_once('=').ok_or_else(|| {
            UsageError("--shared-key takes ID=FILE (an id, `=`, and a file's path)".to_string())
        })?;
        builder = builder.shared_key(id, read_secret(Path::new(path), "--shared-key")?);
    }
    let validator = builder.build().map_err(|e| match e {
        twilio_webhook::ConfigError::NoSecrets => UsageError(
            "no secret: set TWILIO_AUTH_TOKEN, or pass --token-file FILE or --shared-key ID=FILE"
                .into(),
        ),
        other => UsageError(other.to_string()),
    })?;
    let mut policy = PublicUrl::from_host();
    let bases = list(&args.public_url, &file.public_url);
    if bases.is_empty() {
        warnings.push(
            "no public URL (--public-url, TWILIO_PUBLIC_URL): each request is checked against http:// + its \
             Host header, which a TLS terminator or tunnel in front changes; set the URL Twilio calls"
                .to_string(),
        );
    }
    for base in bases {
        policy = policy
            .also_base(base.trim())
            .map_err(|e| UsageError(e.to_string()))?;
    }
    for proxy in list(&args.trusted_proxy, &file.trusted_proxy) {
        policy = policy
            .trust_proxy(&proxy)
            .map_err(|e| UsageError(e.to_string()))?;
    }
    let max_body = size(
        &pick(&args.max_body, &file.max_body).unwrap_or_else(|| "1MiB".into()),
        "--max-body",
    )?;
    let max_body_memory = match pick(&args.max_body_memory, &file.max_body_memory) {
        Some(text) => {
            let n = size(&text, "--max-body-memory")?;
            if n < max_body {
                return Err(UsageError(format!(
                    "--max-body-memory must be at least --max-body ({max_body} bytes): no body of \
                     that size could ever be read"
                )));
            }
            n
        }
        None => DEFAULT_MAX_BODY_MEMORY.max(max_body),
    };
    let diagnose =
        twilio_webhook::diagnoses_setting(pick(&args.diagnose, &file.diagnose).as_deref())
            .map_err(|e| UsageError(e.to_string().replace("TWILIO_DIAGNOSE", "--diagnose")))?;
    let verifier = WebhookVerifier::new(validator)
        .public_url(policy)
        .body_limit(max_body)
        .diagnoses_per_second(diagnose);
    let admin_listen = pick(&args.admin_listen, &file.admin_listen)
        .map(|a| addr(&a, "--admin-listen"))
        .transpose()?;
    let prefix_error = |flag: &str, prefix: &str, e: twilio_webhook::TargetError| {
        UsageError(format!(
            "{flag} {prefix:?}: a prefix must be a path such as /health ({e})"
        ))
    };
    let mut paths = PathRules::new();
    for prefix in list(&args.pass, &file.pass) {
        paths = paths
            .pass(&prefix)
            .map_err(|e| prefix_error("--pass", &prefix, e))?;
    }
    for prefix in list(&args.require, &file.require) {
        paths = paths
            .require(&prefix)
            .map_err(|e| prefix_error("--require", &prefix, e))?;
    }
    let max_connections = args
        .max_connections
        .or(file.max_connections)
        .unwrap_or(1024);
    if max_connections == 0 {
        return Err(UsageError("--max-connections must be at least 1".into()));
    }
    let workers = match args.workers.or(file.workers) {
        Some(0) => return Err(UsageError("--workers must be at least 1".into())),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, usize::from),
    };
    let upstream_timeout = duration(
        &pick(&args.upstream_timeout, &file.upstream_timeout).unwrap_or_else(|| "30s".into()),
        "--upstream-timeout",
    )?;
    let replay = pick(&args.replay, &file.replay);
    let redis_tls = redis_tls(
        args.redis_ca.as_ref().or(file.redis_ca.as_ref()),
        args.redis_client_cert
            .as_ref()
            .or(file.redis_client_cert.as_ref()),
        args.redis_client_key
            .as_ref()
            .or(file.redis_client_key.as_ref()),
        replay.as_deref(),
    )?;
    let duplicates = match pick(&args.replay_duplicates, &file.replay_duplicates) {
        None => Duplicates::Reject,
        Some(text) => match Duplicates::parse(&text)
            .map_err(|e| UsageError(format!("--replay-duplicates: {e}")))?
        {
            Duplicates::Answer { max_body, .. } => {
                if replay.is_none() {
                    return Err(UsageError(
                        "--replay-duplicates answer needs --replay (memory or redis://…)".into(),
                    ));
                }
                Duplicates::Answer {
                    max_body,
                    wait: upstream_timeout,
                }
            }
            other => other,
        },
    };
    Ok(Config {
        listen: addr(
            &pick(&args.listen, &file.listen).unwrap_or_else(|| "127.0.0.1:8080".into()),
            "--listen",
        )?,
        upstream: upstream_target,
        upstream_url: upstream,
        admin_listen,
        client_timeout: duration(
            &pick(&args.client_timeout, &file.client_timeout).unwrap_or_else(|| "10s".into()),
            "--client-timeout",
        )?,
        send_timeout: duration(
            &pick(&args.send_timeout, &file.send_timeout).unwrap_or_else(|| "60s".into()),
            "--send-timeout",
        )?,
        upstream_timeout,
        duplicates,
        redis_tls,
        replay,
        log_json: args.log_json || file.log_json.unwrap_or(false),
        max_connections,
        max_body_memory,
        workers,
        paths,
        verifier,
        warnings,
    })
}

#[cfg(test)]
mod tests;
