//! `twilio-webhook explain`: the strict verdict first, then why a request fails and how to fix it.

use serde::Serialize;
use twilio_webhook::{Algorithm, SignatureHeaders, string_to_sign};

use crate::args::ExplainArgs;
use crate::diagnose::{self, Cause, Checked, Code};
use crate::request::{self, Request};
use crate::{Outcome, UsageError, raw, secrets, verify};

/// The `--json` document. Its fields are a contract: keep them.
#[derive(Debug, Serialize)]
struct Report {
    valid: bool,
    reason: Option<&'static str>,
    matched_url: Option<String>,
    causes: Vec<Cause>,
}

/// The request to explain, from flags or from a captured raw request.
struct Input {
    url: String,
    request: Request,
    signature: String,
    settings: Option<String>,
}

fn input(args: &ExplainArgs) -> Result<Input, UsageError> {
    let Some(path) = &args.raw else {
        let (url, request) = request::read(&args.request)?;
        let signature = args
            .signature
            .clone()
            .ok_or_else(|| UsageError("--signature is required (or --raw FILE)".into()))?;
        return Ok(Input {
            url,
            request,
            signature,
            settings: args.settings.clone(),
        });
    };
    let captured = raw::parse(&request::read_file(path)?)?;
    let url = captured.url(args.public_url.as_deref())?;
    let form = captured.header("content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    let body = captured.body.clone();
    let request = if form || body.is_empty() {
        Request::FormBody(body)
    } else {
        Request::Body(body)
    };
    let signature = captured
        .header("x-twilio-signature")
        .ok_or_else(|| UsageError("--raw: the request has no X-Twilio-Signature header".into()))?
        .to_string();
    let settings = captured
        .header("x-twilio-webhooks-signature-settings")
        .map(str::to_string);
    Ok(Input {
        url,
        request,
        signature,
        settings,
    })
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub(crate) fn run(args: &ExplainArgs) -> Result<Outcome, UsageError> {
    let input = input(args)?;
    let secret = secrets::read(&args.secret)?;
    let validator = verify::strict_validator(&secret, args.secret.key_id.as_deref())?;
    let headers = SignatureHeaders::new(&input.signature).with_settings(input.settings.as_deref());
    let verdict = verify::check(&validator, &input.url, &input.request, headers);
    let (params, alternative) = match &input.request {
        Request::Params(pairs) => (Some(pairs.clone()), None),
        Request::FormBody(body) => (Some(form_pairs(body)), None),
        Request::Body(body) => (
            None,
            std::str::from_utf8(body)
                .ok()
                .filter(|b| b.contains('='))
                .map(|b| form_pairs(b.as_bytes())),
        ),
    };
    let sha256 = input
        .settings
        .as_deref()
        .is_some_and(|s| s.to_ascii_uppercase().contains("HMAC_SHA256"));
    let algorithm = if sha256 {
        Algorithm::HmacSha256
    } else {
        Algorithm::HmacSha1
    };
    let report = match &verdict {
        Ok(verified) => {
            let matched = verified.matched_url(&input.url);
            let signed = match &params {
                Some(pairs) if !matches!(input.request, Request::Body(_)) => {
                    string_to_sign(&matched, pairs.iter())
                }
                _ => matched.clone(),
            };
            if !args.json {
                crate::output::out!("{verified}");
                crate::output::out!("Twilio signed: {matched}");
                crate::output::out!("the string that was signed (it holds no secret): {signed}");
            }
            // A valid request may still have needed its fragment cut off: say so, it explains why
            // the signed URL differs from the one checked.
            let causes: Vec<Cause> = verified
                .fragment_removed()
                .then(|| Cause {
                    code: Code::Fragment,
                    signed_url: Some(matched.clone()),
                    fix: diagnose::fragment_fix(),
                })
                .into_iter()
                .collect();
            if !args.json {
                for cause in &causes {
                    crate::output::out!("note, {}: {}", code_name(cause.code), cause.fix);
                }
            }
            Report {
                valid: true,
                reason: None,
                matched_url: Some(matched),
                causes,
            }
        }
        Err(reason) => {
            let checked = Checked {
                url: &input.url,
                params: params.as_deref(),
                alternative_params: alternative.as_deref(),
                signature: &input.signature,
                secret: &secret,
                algorithm,
                prefixes: &args.prefix,
            };
            let (found, tried) = diagnose::diagnose(&checked);
            let causes = match &found {
                Some(found) => found.causes.clone(),
                None => vec![Cause {
                    code: Code::Secret,
                    signed_url: None,
                    fix: "no URL, body mode or algorithm variant matched with this secret: the Auth Token \
                          is probably not the one that signed (test credentials, another account or \
                          subaccount, a rotated token), or the parameters were changed on the way"
                        .into(),
                }],
            };
            if !args.json {
                crate::output::out!("rejected ({}): {reason}", reason.as_str());
                crate::output::out!("checked URL: {}", input.url);
                match &found {
                    Some(found) => {
                        crate::output::out!("Twilio signed: {}", found.signed_url);
                        crate::output::out!(
                            "the string that was signed (it holds no secret): {}",
                            found.string_to_sign
                        );
                        crate::output::out!("why, and the fix:");
                        for cause in &causes {
                            crate::output::out!("  - {}: {}", code_name(cause.code), cause.fix);
                        }
                    }
                    None => {
                        crate::output::out!(
                            "nothing matched ({tried} signed strings tried: schemes, ports, trailing slash, \
                                  path prefixes, query encodings, body modes, algorithms). Likely causes:"
                        );
                        for cause in &causes {
                            crate::output::out!("  - {}", cause.fix);
                        }
                        crate::output::out!(
                            "  - the host differs (a tunnel or proxy rewrote Host): pass --public-url with \
                                  the URL configured in Twilio"
                        );
                    }
                }
            }
            Report {
                valid: false,
                reason: Some(reason.as_str()),
                matched_url: None,
                causes,
            }
        }
    };
    if args.json {
        let json = serde_json::to_string(&report).map_err(|e| UsageError(e.to_string()))?;
        crate::output::line(&json)?;
    }
    Ok(if report.valid {
        Outcome::Success
    } else {
        Outcome::Rejected
    })
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Scheme => "scheme",
        Code::Port => "port",
        Code::TrailingSlash => "trailing slash",
        Code::PathPrefix => "path prefix",
        Code::QueryEncoding => "query encoding",
        Code::Fragment => "fragment",
        Code::BodyMode => "body mode",
        Code::Secret => "algorithm",
    }
}
