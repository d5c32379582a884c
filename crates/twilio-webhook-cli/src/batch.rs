//! `twilio-webhook verify --batch`: JSON Lines in, one JSON verdict per line out, in order.
//!
//! Input fields are those of the conformance corpus: `id`, `url`, `params` (a list of `[key, value]`),
//! `body` (a string, or null for a form request given by its `params`; with `"kind": "form"` the body
//! is a raw `application/x-www-form-urlencoded` body), `signature`, `auth_token`, and optionally `headers`
//! (an object; `X-Twilio-Webhooks-Signature-Settings` is honoured, names case-insensitive) and `key_id`
//! (when present, `auth_token` is the secret of the SharedKey with that id). A line that cannot be read
//! yields `{"id": null, "valid": false, "reason": "bad_input", ...}` and the run goes on.

use std::io::{BufRead as _, Write as _};

use serde::Serialize;
use serde_json::{Map, Value};
use twilio_webhook::SignatureHeaders;

use crate::args::VerifyArgs;
use crate::verify::validator;
use crate::{Outcome, UsageError};

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
    fn bad_input(error: String) -> Self {
        Verdict {
            id: Value::Null,
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

fn parse_line(obj: &Map<String, Value>) -> Result<Line<'_>, String> {
    let url = optional_str(obj, "url")?.ok_or("url is required")?;
    let secret = optional_str(obj, "auth_token")?.ok_or("auth_token is required")?;
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

fn verdict_for(raw: &[u8], args: &VerifyArgs) -> Verdict {
    let parsed = std::str::from_utf8(raw)
        .map_err(|_| "the line is not UTF-8".to_string())
        .and_then(|text| serde_json::from_str::<Value>(text).map_err(|e| format!("not JSON: {e}")));
    let result = match parsed {
        Ok(Value::Object(obj)) => parse_line(&obj).and_then(|line| check(&line, args)),
        Ok(_) => Err("the line is not a JSON object".to_string()),
        Err(e) => Err(e),
    };
    result.unwrap_or_else(Verdict::bad_input)
}

pub(crate) fn run(args: &VerifyArgs) -> Result<Outcome, UsageError> {
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let io_error = |e: std::io::Error| UsageError(format!("I/O error: {e}"));
    let (mut valid, mut rejected, mut bad) = (0usize, 0usize, 0usize);
    for line in stdin.split(b'\n') {
        let mut raw = line.map_err(io_error)?;
        if raw.last() == Some(&b'\r') {
            raw.pop();
        }
        let verdict = verdict_for(&raw, args);
        match (verdict.valid, verdict.error.is_some()) {
            (true, _) => valid += 1,
            (false, true) => bad += 1,
            (false, false) => rejected += 1,
        }
        serde_json::to_writer(&mut out, &verdict).map_err(|e| UsageError(e.to_string()))?;
        out.write_all(b"\n").map_err(io_error)?;
    }
    out.flush().map_err(io_error)?;
    eprintln!(
        "{} lines: {valid} valid, {rejected} rejected, {bad} bad input",
        valid + rejected + bad
    );
    Ok(Outcome::Success)
}
