//! `twilio-webhook send`: emulate Twilio. Builds a realistic request of one kind, signs it for the URL
//! Twilio would have called, sends it to a local target and shows the answer; with `--repeat` and
//! `--concurrency`, a bounded load generator.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use twilio_webhook::{Algorithm, Signer, body_sha256_hex, settings_header_value};

use crate::args::{AlgorithmArg, SendArgs, SendKind};
use crate::kinds::{self, Ids};
use crate::output::out;
use crate::{Outcome, UsageError, request, secrets};

use twilio_webhook_cli::wire as http1;

/// Where the requests go: `http://host[:port]/path?query`.
struct Target {
    addr: String,
    /// The `Host` sent: the target's, or with `--public-url` the public URL's, as Twilio sends it and a
    /// tunnel forwards it (an app behind an extractor refuses a `Host` it was not signed for).
    host: String,
    path_and_query: String,
    url: String,
}

/// `url` without its fragment: Twilio neither sends nor signs it (spec §4.4), and neither does `send`.
fn without_fragment(url: &str) -> &str {
    url.split('#').next().unwrap_or(url)
}

fn target(url: &str) -> Result<Target, UsageError> {
    let url = without_fragment(url);
    let rest = url.strip_prefix("http://").ok_or_else(|| {
        UsageError(format!(
            "--target must be an http:// URL of your app (got {url:?}); give the public https:// address \
             Twilio calls with --public-url"
        ))
    })?;
    let (host, path) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    if host.is_empty() {
        return Err(UsageError(format!("--target has no host: {url:?}")));
    }
    let has_port = host.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']'));
    let addr = if has_port {
        host.to_string()
    } else {
        format!("{host}:80")
    };
    let path_and_query = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    Ok(Target {
        addr,
        host: host.to_string(),
        path_and_query,
        url: url.to_string(),
    })
}

/// Everything that stays the same from one request to the next.
struct Plan {
    kind: SendKind,
    target: Target,
    signed_base: String,
    overrides: Vec<(String, String)>,
    raw_body: Option<Vec<u8>>,
    signer: Signer,
    settings: Option<String>,
    mode: Mode,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Signed,
    NoSignature,
    BadSignature,
    Tamper,
}

fn append_query(url: &str, param: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{param}")
}

impl Plan {
    /// Request number `n`: fresh ids, signed (or not, or badly) as the mode says.
    fn request(&self, n: usize) -> Result<http1::RawRequest, UsageError> {
        let mut ids = Ids::new(n as u64);
        let sign_error = |e: twilio_webhook::SignError| UsageError(e.to_string());
        let json_body = match (&self.raw_body, self.kind) {
            (Some(body), _) => Some(body.clone()),
            (None, SendKind::EventStream) => Some(kinds::event_stream(&mut ids).into_bytes()),
            _ => None,
        };
        let (mut body, mut path, signed_url, content_type) = match json_body {
            Some(body) => {
                let param = format!("bodySHA256={}", body_sha256_hex(&body));
                let path = append_query(&self.target.path_and_query, &param);
                (
                    body,
                    path,
                    append_query(&self.signed_base, &param),
                    "application/json",
                )
            }
            None => {
                let mut params = kinds::params(self.kind, &mut ids);
                if self.kind == SendKind::Raw {
                    // Your own pairs, repeated keys kept.
                    params.clone_from(&self.overrides);
                } else {
                    kinds::apply_overrides(&mut params, &self.overrides);
                }
                let body = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(&params)
                    .finish()
                    .into_bytes();
                let url = self.signed_base.clone();
                (
                    body,
                    self.target.path_and_query.clone(),
                    url,
                    "application/x-www-form-urlencoded; charset=UTF-8",
                )
            }
        };
        let mut signature = if content_type.starts_with("application/json") {
            self.signer
                .sign_form(&signed_url, std::iter::empty::<(&str, &str)>())
        } else {
            self.signer
                .sign_form_body(&signed_url, &body)
                .map_err(sign_error)?
        };
        match self.mode {
            Mode::BadSignature => signature = flip_first(&signature),
            Mode::Tamper if content_type.starts_with("application/json") => {
                body.extend_from_slice(b" ")
            }
            Mode::Tamper => body.extend_from_slice(b"&Tampered=1"),
            Mode::Signed | Mode::NoSignature => {}
        }
        path = path.replace(' ', "%20");
        let mut headers = vec![
            ("Host".to_string(), self.target.host.clone()),
            ("Content-Type".to_string(), content_type.to_string()),
            ("User-Agent".to_string(), "TwilioProxy/1.1".to_string()),
            ("I-Twilio-Idempotency-Token".to_string(), ids.sid("")),
        ];
        if self.mode != Mode::NoSignature {
            headers.push(("X-Twilio-Signature".to_string(), signature));
        }
        if let Some(settings) = &self.settings {
            headers.push((
                twilio_webhook::SIGNATURE_SETTINGS_HEADER.to_string(),
                settings.clone(),
            ));
        }
        Ok(http1::RawRequest {
            method: "POST",
            target: path,
            headers,
            body,
        })
    }
}

/// The same signature with its first character changed: well-formed, and wrong.
fn flip_first(signature: &str) -> String {
    let mut chars: Vec<char> = signature.chars().collect();
    if let Some(c) = chars.first_mut() {
        *c = if *c == 'A' { 'B' } else { 'A' };
    }
    chars.into_iter().collect()
}

/// The authority of `url` (without userinfo), as `Host`; `None` when it has none.
fn host_of_url(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.get(..rest.find(['/', '?', '#']).unwrap_or(rest.len()))?;
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    (!host.is_empty()).then_some(host)
}

fn plan(args: &SendArgs) -> Result<Plan, UsageError> {
    let mut target = target(&args.target)?;
    if let Some(host) = args.public_url.as_deref().and_then(host_of_url) {
        target.host = host.to_string();
    }
    let signed_base = args
        .public_url
        .as_deref()
        .map_or_else(|| target.url.clone(), |u| without_fragment(u).to_string());
    let algorithm = match args.algorithm {
        AlgorithmArg::HmacSha1 => Algorithm::HmacSha1,
        AlgorithmArg::HmacSha256 => Algorithm::HmacSha256,
    };
    let settings = match (&args.secret.key_id, algorithm) {
        (Some(id), _) => Some(settings_header_value(id, algorithm)),
        (None, Algorithm::HmacSha1) => None,
        (None, _) => {
            return Err(UsageError(
                "--algorithm hmac-sha256 signs the SharedKey way: give --key-id KS…".into(),
            ));
        }
    };
    let secret = secrets::read(&args.secret)?;
    let signer = Signer::new(secret, algorithm).map_err(|e| UsageError(e.to_string()))?;
    let overrides = args
        .data
        .iter()
        .map(|d| {
            d.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| UsageError(format!("-d takes KEY=VALUE, got {d:?}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let raw_body = args
        .body_file
        .as_deref()
        .map(request::read_file)
        .transpose()?;
    if args.kind == SendKind::Raw && raw_body.is_none() && overrides.is_empty() {
        return Err(UsageError(
            "send raw needs -d KEY=VALUE pairs or --body-file".into(),
        ));
    }
    let mode = if args.no_signature {
        Mode::NoSignature
    } else if args.bad_signature {
        Mode::BadSignature
    } else if args.tamper {
        Mode::Tamper
    } else {
        Mode::Signed
    };
    Ok(Plan {
        kind: args.kind,
        target,
        signed_base,
        overrides,
        raw_body,
        signer,
        settings,
        mode,
    })
}

/// One answer, or why there was none.
type Answer = Result<(u16, Duration, String), String>;

fn send_one(plan: &Plan, n: usize) -> Result<Answer, UsageError> {
    let request = plan.request(n)?;
    let start = Instant::now();
    Ok(http1::send_to(&plan.target.addr, &request).map(|r| (r.status, start.elapsed(), r.text())))
}

#[derive(Serialize)]
struct Single {
    status: Option<u16>,
    latency_ms: Option<f64>,
    body: Option<String>,
    error: Option<String>,
}

pub(crate) fn run(args: &SendArgs) -> Result<Outcome, UsageError> {
    if args.repeat == 0 || args.concurrency == 0 {
        return Err(UsageError(
            "--repeat and --concurrency must be at least 1".into(),
        ));
    }
    let plan = plan(args)?;
    if args.repeat > 1 {
        return load(&plan, args);
    }
    let answer = send_one(&plan, 0)?;
    let ok = matches!(answer, Ok((status, _, _)) if (200..300).contains(&status));
    if args.json {
        let single = match &answer {
            Ok((status, latency, body)) => Single {
                status: Some(*status),
                latency_ms: Some(latency.as_secs_f64() * 1000.0),
                body: Some(body.clone()),
                error: None,
            },
            Err(e) => Single {
                status: None,
                latency_ms: None,
                body: None,
                error: Some(e.clone()),
            },
        };
        out!(
            "{}",
            serde_json::to_string(&single).map_err(|e| UsageError(e.to_string()))?
        );
    } else {
        match &answer {
            Ok((status, latency, body)) => {
                out!("{status} in {:.1} ms", latency.as_secs_f64() * 1000.0);
                out!("{}", pretty(body));
            }
            Err(e) => eprintln!("error: no answer: {e}"),
        }
    }
    Ok(if ok {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

/// TwiML (or any XML) one element a line, indented; anything else as it is.
fn pretty(body: &str) -> String {
    let trimmed = body.trim();
    if !trimmed.starts_with('<') {
        return trimmed.to_string();
    }
    let mut out = String::new();
    let mut depth: usize = 0;
    for piece in trimmed.split_inclusive('>') {
        let (text, tag) = piece.split_at(piece.find('<').unwrap_or(piece.len()));
        if !text.trim().is_empty() {
            out.push_str(&"  ".repeat(depth));
            out.push_str(text.trim());
            out.push('\n');
        }
        if tag.is_empty() {
            continue;
        }
        let closing = tag.starts_with("</");
        if closing {
            depth = depth.saturating_sub(1);
        }
        out.push_str(&"  ".repeat(depth));
        out.push_str(tag);
        out.push('\n');
        if !closing && !tag.ends_with("/>") && !tag.starts_with("<?") {
            depth += 1;
        }
    }
    out.trim_end().to_string()
}

#[derive(Serialize)]
struct Load {
    requests: usize,
    concurrency: usize,
    duration_s: f64,
    rate_per_s: f64,
    statuses: BTreeMap<String, usize>,
    errors: usize,
    latency_ms: BTreeMap<&'static str, f64>,
}

fn load(plan: &Plan, args: &SendArgs) -> Result<Outcome, UsageError> {
    let workers = args.concurrency.min(args.repeat);
    let (next, done, left) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(workers),
    );
    let answers: Mutex<Vec<Answer>> = Mutex::new(Vec::with_capacity(args.repeat));
    let failure: Mutex<Option<UsageError>> = Mutex::new(None);
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr()) && !args.json;
    let start = Instant::now();
    std::thread::scope(|scope| {
        let (next, done, left, answers, failure) = (&next, &done, &left, &answers, &failure);
        for _ in 0..workers {
            scope.spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= args.repeat {
                        break;
                    }
                    match send_one(plan, n) {
                        Ok(answer) => answers
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(answer),
                        Err(e) => {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                            next.store(args.repeat, Ordering::Relaxed);
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                left.fetch_sub(1, Ordering::Relaxed);
            });
        }
        if progress {
            scope.spawn(move || {
                while left.load(Ordering::Relaxed) > 0 {
                    let d = done.load(Ordering::Relaxed);
                    let filled = d * 30 / args.repeat.max(1);
                    eprint!(
                        "\r[{}{}] {d}/{}",
                        "#".repeat(filled),
                        " ".repeat(30 - filled),
                        args.repeat
                    );
                    std::thread::sleep(Duration::from_millis(100));
                }
                eprint!("\r{}\r", " ".repeat(50));
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let elapsed = start.elapsed().as_secs_f64();
    let answers = answers.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut statuses = BTreeMap::new();
    let mut latencies: Vec<f64> = Vec::new();
    let mut errors = 0;
    for answer in &answers {
        match answer {
            Ok((status, latency, _)) => {
                *statuses.entry(status.to_string()).or_insert(0) += 1;
                latencies.push(latency.as_secs_f64() * 1000.0);
            }
            Err(_) => errors += 1,
        }
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len().max(1)) - 1;
        latencies.get(i).copied().unwrap_or(0.0)
    };
    let latency_ms = BTreeMap::from([
        ("p50", at(0.50)),
        ("p90", at(0.90)),
        ("p99", at(0.99)),
        ("max", at(1.0)),
    ]);
    let report = Load {
        requests: answers.len(),
        concurrency: args.concurrency,
        duration_s: elapsed,
        rate_per_s: answers.len() as f64 / elapsed.max(f64::EPSILON),
        statuses,
        errors,
        latency_ms,
    };
    let all_ok = errors == 0 && report.statuses.keys().all(|s| s.starts_with('2'));
    if args.json {
        out!(
            "{}",
            serde_json::to_string(&report).map_err(|e| UsageError(e.to_string()))?
        );
    } else {
        out!(
            "{} requests, concurrency {}, {:.2} s, {:.0} requests/s",
            report.requests,
            report.concurrency,
            report.duration_s,
            report.rate_per_s
        );
        let counts: Vec<String> = report
            .statuses
            .iter()
            .map(|(s, n)| format!("{s}: {n}"))
            .collect();
        out!(
            "statuses: {}{}",
            counts.join(", "),
            if errors > 0 {
                format!(", no answer: {errors}")
            } else {
                String::new()
            }
        );
        out!(
            "latency ms: p50 {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}",
            at(0.50),
            at(0.90),
            at(0.99),
            at(1.0)
        );
    }
    Ok(if all_ok {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn twiml_is_pretty_printed() {
        assert_eq!(
            pretty(
                "<?xml version=\"1.0\"?><Response><Message>Hi there</Message><Pause/></Response>"
            ),
            "<?xml version=\"1.0\"?>\n<Response>\n  <Message>\n    Hi there\n  </Message>\n  <Pause/>\n</Response>"
        );
        assert_eq!(pretty(" ok \n"), "ok");
    }

    #[test]
    fn targets_are_http_only_with_a_default_port() {
        let t = target("http://127.0.0.1:3000/sms?x=1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.addr.as_str(), t.path_and_query.as_str()),
            ("127.0.0.1:3000", "/sms?x=1")
        );
        // The fragment (Twilio's connection overrides) is neither sent nor signed.
        let t = target("http://127.0.0.1:3000/sms#rc=2&rp=all").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.path_and_query.as_str(), t.url.as_str()),
            ("/sms", "http://127.0.0.1:3000/sms")
        );
        let t = target("http://localhost").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (t.addr.as_str(), t.path_and_query.as_str()),
            ("localhost:80", "/")
        );
        assert!(target("https://a.ngrok.app/sms").is_err());
    }

    #[test]
    fn the_public_urls_host_is_its_authority_without_userinfo() {
        assert_eq!(
            host_of_url("https://abc123.ngrok.app/sms?x=1"),
            Some("abc123.ngrok.app")
        );
        assert_eq!(
            host_of_url("https://user:pw@[::1]:8443#rc=2"),
            Some("[::1]:8443")
        );
        assert_eq!(host_of_url("https:///sms"), None);
        assert_eq!(host_of_url("abc123.ngrok.app"), None);
    }
}
