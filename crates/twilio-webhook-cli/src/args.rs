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
    /// With --raw: the URL configured in Twilio up to the path (https://abc.ngrok.app), joined with the
    /// request target as received.
    #[arg(long, value_name = "URL", requires = "raw")]
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
