//! `twilio-webhook verify --batch`: JSON Lines in, one JSON verdict per line out, in order.
//!
//! Input fields are those of the conformance corpus: `id`, `url`, `params` (a list of `[key, value]`),
//! `body` (a string, or null for a form request given by its `params`; with `"kind": "form"` the body
//! is a raw `application/x-www-form-urlencoded` body), `signature`, `auth_token`, and optionally `headers`
//! (an object; `X-Twilio-Webhooks-Signature-Settings` is honoured, names case-insensitive) and `key_id`
//! (when present, `auth_token` is the secret of the SharedKey with that id). A line without
//! `auth_token` uses the configured secret. A line that cannot be read yields `{"id": …, "valid":
//! false, "reason": "bad_input", ...}` (its id when that much could be read) and the run goes on.
//! The exit code is 0 once every line is answered, or with `--fail-on-reject` 1 when any line was
//! rejected or bad.

use std::io::BufRead as _;

use serde::Serialize;
use serde_json::{Map, Value};
use twilio_webhook::SignatureHeaders;

use crate::args::VerifyArgs;
use crate::verify::validator;
use crate::{Outcome, UsageError, secrets};

/// One output line.
#[derive(Debug, Serialize)]
struct Verdict {
    id: Value,
    valid: bool,
    reason: Option<&'static str>,
    matched_url: Option<String>,
    /// Why a line was bad input (never contains the line's secret).
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Verdict {
    fn bad_input(id: Value, error: String) -> Self {
        Verdict {
            id,
            valid: false,
            reason: Some("bad_input"),
            matched_url: None,
            error: Some(error),
        }
    }
}

/// A request line, checked.
struct Line<'a> {
    id: Value,
    url: &'a str,
    params: Vec<(&'a str, &'a str)>,
    body: Option<&'a str>,
    raw_form: bool,
    signature: Option<&'a str>,
    settings: Option<&'a str>,
    secret: &'a str,
    key_id: Option<&'a str>,
}

fn optional_str<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string or null")),
    }
}

fn parse_line<'a>(
    obj: &'a Map<String, Value>,
    configured: Option<&'a str>,
) -> Result<Line<'a>, String> {
    let url = optional_str(obj, "url")?.ok_or("url is required")?;
    let secret = optional_str(obj, "auth_token")?
        .or(configured)
        .ok_or("auth_token is required (or configure TWILIO_AUTH_TOKEN or --token-file)")?;
    let params = match obj.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item.as_array().map(Vec::as_slice) {
                Some([Value::String(k), Value::String(v)]) => Ok((k.as_str(), v.as_str())),
                _ => Err("params must be a list of [key, value] string pairs".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("params must be a list".into()),
    };
    let settings = match obj.get("headers") {
        None | Some(Value::Null) => None,
        Some(Value::Object(headers)) => headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(twilio_webhook::SIGNATURE_SETTINGS_HEADER))
            .map(|(_, v)| v.as_str().ok_or("header values must be strings"))
            .transpose()?,
        Some(_) => return Err("headers must be an object".into()),
    };
    Ok(Line {
        id: obj.get("id").cloned().unwrap_or(Value::Null),
        url,
        params,
        body: optional_str(obj, "body")?,
        raw_form: optional_str(obj, "kind")? == Some("form"),
        signature: optional_str(obj, "signature")?,
        settings,
        secret,
        key_id: optional_str(obj, "key_id")?,
    })
}

fn check(line: &Line<'_>, args: &VerifyArgs) -> Result<Verdict, String> {
    let validator = validator(line.secret, line.key_id, args).map_err(|e| e.to_string())?;
    let headers = SignatureHeaders {
        signature: line.signature,
        settings: line.settings,
    };
    let verdict = match line.body {
        Some(body) if line.raw_form => {
            validator.verify_form_body(line.url, body.as_bytes(), headers)
        }
        Some(body) => validator.verify_body(line.url, body.as_bytes(), headers),
        None => validator.verify_form(line.url, &line.params, headers),
    };
    Ok(Verdict {
        id: line.id.clone(),
        valid: verdict.is_ok(),
        reason: verdict.as_ref().err().map(|r| r.as_str()),
        matched_url: verdict.ok().map(|v| v.matched_url(line.url)),
        error: None,
    })
}

fn verdict_for(raw: &[u8], args: &VerifyArgs, configured: Option<&str>) -> Verdict {
    let parsed = std::str::from_utf8(raw)
        .map_err(|_| "the line is not UTF-8".to_string())
        .and_then(|text| serde_json::from_str::<Value>(text).map_err(|e| format!("not JSON: {e}")));
    match parsed {
        Ok(Value::Object(obj)) => {
            let id = obj.get("id").cloned().unwrap_or(Value::Null);
            parse_line(&obj, configured)
                .and_then(|line| check(&line, args))
                .unwrap_or_else(|e| Verdict::bad_input(id, e))
        }
        Ok(_) => Verdict::bad_input(Value::Null, "the line is not a JSON object".to_string()),
        Err(e) => Verdict::bad_input(Value::Null, e),
    }
}

/// Writes one verdict line; `Ok(false)` when stdout was closed (the reader has what it wanted).
fn write(out: &mut impl std::io::Write, verdict: &Verdict) -> Result<bool, UsageError> {
    let written = serde_json::to_writer(&mut *out, verdict)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"));
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(UsageError(format!("cannot write to stdout: {e}"))),
    }
}

pub(crate) fn run(args: &VerifyArgs) -> Result<Outcome, UsageError> {
    let configured = secrets::configured(&args.secret)?;
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (mut valid, mut rejected, mut bad) = (0usize, 0usize, 0usize);
    for line in stdin.split(b'\n') {
        let mut raw = line.map_err(|e| UsageError(format!("cannot read stdin: {e}")))?;
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
        let verdict = verdict_for(&raw, args, configured.as_deref());
        match (verdict.valid, verdict.error.is_some()) {
            (true, _) => valid += 1,
            (false, true) => bad += 1,
            (false, false) => rejected += 1,
        }
        if !write(&mut out, &verdict)? {
            break;
        }
        let done = valid + rejected + bad;
        if progress && done % 10_000 == 0 {
            eprint!("\r{done} lines…");
        }
    }
    match std::io::Write::flush(&mut out) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            return Err(UsageError(format!("cannot write to stdout: {e}")));
        }
        _ => {}
    }
    let total = valid + rejected + bad;
    let noun = if total == 1 { "line" } else { "lines" };
    if progress && total >= 10_000 {
        eprint!("\r");
    }
    eprintln!("{total} {noun}: {valid} valid, {rejected} rejected, {bad} bad input");
    Ok(if args.fail_on_reject && rejected + bad > 0 {
        Outcome::Rejected
    } else {
        Outcome::Success
    })
}
