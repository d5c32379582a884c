//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Sign and verify Twilio webhook signatures (X-Twilio-Signature).
#[derive(Debug, Parser)]
#[command(name = "twilio-webhook", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the signature Twilio would send for a request.
    ///
    /// A form request prints the signature. A body request (--body-file) prints the signature, then the
    /// URL with bodySHA256 appended, each on its own line.
    Sign(SignArgs),
    /// Check a request's signature: exit 0 valid, 1 rejected (reason on stderr), 2 usage error.
    ///
    /// With --batch, read JSON Lines on stdin (fields: id, url, params, body, signature, auth_token,
    /// optional headers and key_id) and write one JSON verdict per line to stdout, in order.
    Verify(VerifyArgs),
    /// Verify, then say why a request fails and how to fix it: tries other schemes, ports, trailing
    /// slashes, path prefixes, query encodings, body modes and algorithms. The exit code is verify's:
    /// 0 valid, 1 rejected, 2 usage error.
    ///
    /// Give the request as for verify, or as a captured raw HTTP request (--raw FILE) with --public-url
    /// when its request line holds only a path.
    Explain(ExplainArgs),
    /// Emulate Twilio: build a realistic webhook of one kind, sign it for the URL Twilio would have
    /// called (--public-url, else the target), send it to your app and show the answer. Exit 0 when
    /// the target answered 2xx, 1 otherwise, 2 on a usage error.
    ///
    /// With --repeat N --concurrency C, a bounded load generator (fresh SIDs on every request) with a
    /// latency summary.
    Send(SendArgs),
    /// A validating reverse proxy: only requests verified as Twilio's reach the upstream app.
    ///
    /// Refusals: 400 missing signature, 403 invalid, 409 replay, 413 too large, 408 slow client, 503
    /// bodies over --max-body-memory; 502 upstream down, 504 upstream slow. Verified requests carry X-Twilio-Webhook-Verified: <secret
    /// name>. SIGTERM drains in-flight requests.
    Guard(Box<GuardArgs>),
}

#[derive(Debug, Args)]
pub(crate) struct GuardArgs {
    /// A TOML file with any of these settings (flags and environment win).
    #[arg(long, value_name = "FILE", env = "TWILIO_GUARD_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Where to listen (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT", env = "TWILIO_GUARD_LISTEN")]
    pub(crate) listen: Option<String>,
    /// The app to protect: http://HOST[:PORT][/PREFIX] (a prefix goes before every path; no credentials
    /// or query).
    #[arg(long, value_name = "URL", env = "TWILIO_GUARD_UPSTREAM")]
    pub(crate) upstream: Option<String>,
    /// The URL Twilio calls, up to the path (repeat, or comma-separate, for several domains).
    #[arg(
        long,
        value_name = "URL",
        env = "TWILIO_PUBLIC_URL",
        value_delimiter = ','
    )]
    pub(crate) public_url: Vec<String>,
    /// A proxy in front of the guard whose Forwarded / X-Forwarded-* headers count, and whose
    /// X-Forwarded-For list (and X-Real-IP) the guard keeps, appending the proxy's address (repeat,
    /// or comma-separate).
    #[arg(
        long,
        value_name = "CIDR",
        env = "TWILIO_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub(crate) trusted_proxy: Vec<String>,
    /// The largest body accepted (default 1MiB).
    #[arg(long, value_name = "SIZE", env = "TWILIO_GUARD_MAX_BODY")]
    pub(crate) max_body: Option<String>,
    /// The most bytes of request bodies held at once by all connections together (default 256MiB,
    /// or --max-body if larger; at least --max-body). A body that would go over it is refused with
    /// 503 and Retry-After, never forwarded: slow clients cannot make the guard hold
    /// --max-connections x --max-body.
    #[arg(long, value_name = "SIZE", env = "TWILIO_GUARD_MAX_BODY_MEMORY")]
    pub(crate) max_body_memory: Option<String>,
    /// How long a client may take to send its headers, and its body (default 10s): then 408.
    #[arg(long, value_name = "DURATION")]
    pub(crate) client_timeout: Option<String>,
    /// How long a client may leave an answer unread: each write to it must make progress within
    /// this (default 60s, as nginx's send_timeout), else the connection closes, and with it the
    /// upstream connection of an answer being relayed.
    #[arg(long, value_name = "DURATION")]
    pub(crate) send_timeout: Option<String>,
    /// How long the upstream may take to answer (default 30s): then 504.
    #[arg(long, value_name = "DURATION")]
    pub(crate) upstream_timeout: Option<String>,
    /// Replay protection: off (default); memory (this process); or a Redis shared by several guards:
    /// redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss://… (TLS), redis-cluster://HOST:PORT,HOST:PORT
    /// (a Redis Cluster, given some of its nodes), rediss-cluster://… (a cluster over TLS), or
    /// redis-sentinel://[USER:PASSWORD@]HOST:PORT,HOST:PORT/SERVICE (the master Sentinel names).
    /// Schemes in any case. Start-up fails if Redis cannot be reached or refuses this client.
    #[arg(long, value_name = "STORE", env = "TWILIO_REPLAY")]
    pub(crate) replay: Option<String>,
    /// With --replay, what a duplicate (the same signed request again inside the window, such as
    /// Twilio's retry after a read time-out) gets: reject (default: 409) or answer (the first
    /// delivery's response, kept with the key; one still in flight is waited for, up to
    /// --upstream-timeout). A request in flight holds its key as a lease of at most 10 s, renewed
    /// while the upstream works on it: a guard that dies mid-delivery lets Twilio's retry through.
    #[arg(long, value_name = "reject|answer", env = "TWILIO_REPLAY_DUPLICATES")]
    pub(crate) replay_duplicates: Option<String>,
    /// With --replay rediss://… or rediss-cluster://…: the CA certificate(s) to trust (PEM) instead of
    /// the system's roots.
    #[arg(long, value_name = "FILE", env = "TWILIO_REDIS_CA")]
    pub(crate) redis_ca: Option<PathBuf>,
    /// With --replay rediss://… or rediss-cluster://…: a client certificate (PEM) for mutual TLS, with
    /// --redis-client-key.
    #[arg(long, value_name = "FILE", env = "TWILIO_REDIS_CLIENT_CERT")]
    pub(crate) redis_client_cert: Option<PathBuf>,
    /// The private key (PEM) of --redis-client-cert.
    #[arg(long, value_name = "FILE", env = "TWILIO_REDIS_CLIENT_KEY")]
    pub(crate) redis_client_key: Option<PathBuf>,
    /// Where to serve /healthz and Prometheus /metrics.
    #[arg(long, value_name = "ADDR:PORT", env = "TWILIO_GUARD_ADMIN_LISTEN")]
    pub(crate) admin_listen: Option<String>,
    /// How many refusals a second are explained in the log with what Twilio signed and the setting to
    /// change: a number, or off (default 10).
    #[arg(long, value_name = "N|off", env = "TWILIO_DIAGNOSE")]
    pub(crate) diagnose: Option<String>,
    /// The most client connections open at once (default 1024); more wait in the listen backlog.
    #[arg(long, value_name = "N", env = "TWILIO_GUARD_MAX_CONNECTIONS")]
    pub(crate) max_connections: Option<usize>,
    /// Worker threads, each a single-threaded runtime that serves its connections start to end
    /// (default: one per CPU core).
    #[arg(long, value_name = "N", env = "TWILIO_GUARD_WORKERS")]
    pub(crate) workers: Option<usize>,
    /// A path prefix that requires verification (the longest matching prefix decides, on whole
    /// segments of the decoded path; by default every path does).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) require: Vec<String>,
    /// A path prefix passed through WITHOUT verification (health checks, static files), on whole
    /// segments: /health covers /health/live, not /healthcheck. A path passes only if it does under
    /// every reading a server may give it (;params, trailing dots or spaces, case, double escapes).
    /// Once set, a path with dot segments in any encoding, encoded slashes, empty segments, NUL,
    /// %u or overlong UTF-8 is refused (400).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) pass: Vec<String>,
    /// A SharedKey: its id and a file holding its secret (repeat).
    #[arg(long, value_name = "ID=FILE")]
    pub(crate) shared_key: Vec<String>,
    /// Log as JSON lines.
    #[arg(long)]
    pub(crate) log_json: bool,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
}

/// What `send` emulates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SendKind {
    /// An incoming message (SMS).
    Sms,
    /// An incoming call.
    Voice,
    /// A message status callback.
    MessageStatus,
    /// A call status callback.
    CallStatus,
    /// An Event Streams delivery: a JSON CloudEvents array, signed with bodySHA256.
    EventStream,
    /// Your own -d KEY=VALUE pairs, or --body-file (signed with bodySHA256).
    Raw,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// What to send.
    #[arg(value_enum)]
    pub(crate) kind: SendKind,
    /// Where to send it: your app's http:// URL (e.g. http://127.0.0.1:3000/sms).
    #[arg(long, value_name = "URL")]
    pub(crate) target: String,
    /// The URL Twilio would have called (a tunnel's https:// address): the request is signed for it
    /// and carries its host as `Host`, as Twilio's does through a tunnel.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// Override or add a form parameter (repeat for each).
    #[arg(short = 'd', long = "data", value_name = "KEY=VALUE")]
    pub(crate) data: Vec<String>,
    /// With raw: a body to send as JSON with bodySHA256; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub(crate) body_file: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The algorithm; hmac-sha256 signs the SharedKey way (with --key-id and the settings header).
    #[arg(long, value_enum, default_value = "hmac-sha1")]
    pub(crate) algorithm: AlgorithmArg,
    /// Send no X-Twilio-Signature (expect 400).
    #[arg(long, conflicts_with_all = ["bad_signature", "tamper"])]
    pub(crate) no_signature: bool,
    /// Send a well-formed but wrong signature (expect 403).
    #[arg(long, conflicts_with = "tamper")]
    pub(crate) bad_signature: bool,
    /// Change the body after signing (expect 403).
    #[arg(long)]
    pub(crate) tamper: bool,
    /// How many requests to send.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub(crate) repeat: usize,
    /// How many at once (with --repeat).
    #[arg(long, default_value_t = 1, value_name = "C")]
    pub(crate) concurrency: usize,
    /// Print JSON: {"status", "latency_ms", "body", "error"}, or with --repeat {"requests",
    /// "concurrency", "duration_s", "rate_per_s", "statuses", "errors", "latency_ms"}.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Where the secret comes from. `TWILIO_AUTH_TOKEN` is read when neither option is given.
#[derive(Debug, Args)]
pub(crate) struct SecretArgs {
    /// Read the secret from this file (surrounding whitespace is ignored).
    #[arg(long, value_name = "FILE", conflicts_with = "token")]
    pub(crate) token_file: Option<PathBuf>,
    /// The secret itself. Visible to other users of this machine (ps, shell history): prefer
    /// TWILIO_AUTH_TOKEN or --token-file.
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: Option<String>,
    /// The secret is the SharedKey with this id (KS…) rather than the Auth Token.
    #[arg(long, value_name = "ID")]
    pub(crate) key_id: Option<String>,
}

/// The request: a URL plus form parameters, a raw form body, or a non-form body.
#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// The URL Twilio requested, exactly as configured (scheme, host, port, path, query).
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// A form parameter, decoded (repeat for each; repeated keys are kept).
    #[arg(short = 'd', long = "data", value_name = "KEY=VALUE", conflicts_with_all = ["body_file", "form_body_file"])]
    pub(crate) data: Vec<String>,
    /// A raw application/x-www-form-urlencoded body, as sent.
    #[arg(long, value_name = "FILE", conflicts_with = "body_file")]
    pub(crate) form_body_file: Option<PathBuf>,
    /// A non-form body (JSON or other) for the bodySHA256 scheme; `-` reads stdin.
    #[arg(long, value_name = "FILE")]
    pub(crate) body_file: Option<PathBuf>,
}

/// The HMAC algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AlgorithmArg {
    /// HMAC-SHA1: every Auth Token signature.
    HmacSha1,
    /// HMAC-SHA256: SharedKey signing.
    HmacSha256,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) request: RequestArgs,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The algorithm to sign with.
    #[arg(long, value_enum, default_value = "hmac-sha1")]
    pub(crate) algorithm: AlgorithmArg,
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    #[command(flatten)]
    pub(crate) request: RequestArgs,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The X-Twilio-Signature header value.
    #[arg(long, value_name = "SIG", conflicts_with = "raw")]
    pub(crate) signature: Option<String>,
    /// The X-Twilio-Webhooks-Signature-Settings header value (SharedKey signing).
    #[arg(long, value_name = "HEADER", conflicts_with = "raw")]
    pub(crate) settings: Option<String>,
    /// A captured raw HTTP/1.1 request (request line, headers, blank line, body); `-` reads stdin.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["url", "data", "form_body_file", "body_file"])]
    pub(crate) raw: Option<PathBuf>,
    /// The URL configured in Twilio up to the path (https://abc.ngrok.app): with --raw, joined with the
    /// request target as received; with --url, its scheme, host, port and prefix are tried first.
    #[arg(long, value_name = "URL")]
    pub(crate) public_url: Option<String>,
    /// Another path prefix a proxy or router may strip or add (repeat for each).
    #[arg(long, value_name = "PREFIX")]
    pub(crate) prefix: Vec<String>,
    /// Print one JSON document: {"valid", "reason", "matched_url", "causes": [{"code", "signed_url", "fix"}]}.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) request: RequestArgs,
    #[command(flatten)]
    pub(crate) secret: SecretArgs,
    /// The X-Twilio-Signature header value.
    #[arg(long, value_name = "SIG")]
    pub(crate) signature: Option<String>,
    /// The X-Twilio-Webhooks-Signature-Settings header value (SharedKey signing).
    #[arg(long, value_name = "HEADER")]
    pub(crate) settings: Option<String>,
    /// Read JSON Lines requests on stdin and write one JSON verdict per line. A line without
    /// `auth_token` uses the configured secret (TWILIO_AUTH_TOKEN, --token-file, --token). Exits 0 once
    /// every line is answered, whatever the verdicts (see --fail-on-reject).
    #[arg(long, conflicts_with_all = ["url", "data", "form_body_file", "body_file", "signature", "settings", "key_id"])]
    pub(crate) batch: bool,
    /// With --batch: exit 1 when any line is rejected or is bad input.
    #[arg(long, requires = "batch")]
    pub(crate) fail_on_reject: bool,
    /// Opt-in: also accept the path with or without a trailing slash.
    #[arg(long)]
    pub(crate) allow_trailing_slash: bool,
    /// Opt-in: also accept the query re-encoded as WHATWG URL parsers do, and the reverse.
    #[arg(long)]
    pub(crate) allow_query_reencoding: bool,
}
