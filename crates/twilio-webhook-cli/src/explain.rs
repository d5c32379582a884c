//! `twilio-webhook explain`: the strict verdict first, then why a request fails and how to fix it. A thin
//! layer over the core's diagnosis (`twilio_webhook::diagnose`), which the servers' logs use too.

use serde::Serialize;
use twilio_webhook::diagnose::{Cause, CauseCode, Diagnosis, Hints, Payload, Suspect};
use twilio_webhook::{SignatureHeaders, string_to_sign};

use crate::args::ExplainArgs;
use crate::request::{self, Request};
use crate::{Outcome, UsageError, raw, secrets, verify};

/// The `--json` document. Its fields are a contract: keep them.
#[derive(Debug, Serialize)]
struct Report {
    valid: bool,
    reason: Option<&'static str>,
    matched_url: Option<String>,
    causes: Vec<JsonCause>,
}

/// One cause in `--json`: `{"code", "signed_url", "fix"}`.
#[derive(Debug, Serialize)]
struct JsonCause {
    code: &'static str,
    signed_url: Option<String>,
    fix: String,
}

impl From<&Cause> for JsonCause {
    fn from(cause: &Cause) -> Self {
        JsonCause {
            code: cause.code().as_str(),
            signed_url: cause.signed_url().map(str::to_string),
            fix: cause.fix().to_string(),
        }
    }
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

pub(crate) fn run(args: &ExplainArgs) -> Result<Outcome, UsageError> {
    let input = input(args)?;
    let secret = secrets::read(&args.secret)?;
    let validator = verify::strict_validator(&secret, args.secret.key_id.as_deref())?;
    let headers = SignatureHeaders::new(&input.signature).with_settings(input.settings.as_deref());
    let verdict = verify::check(&validator, &input.url, &input.request, headers);
    let report = match &verdict {
        Ok(verified) => {
            let matched = verified.matched_url(&input.url);
            let signed = match &input.request {
                Request::Params(pairs) => string_to_sign(&matched, pairs.iter()),
                Request::FormBody(body) => string_to_sign(&matched, form_pairs(body).iter()),
                Request::Body(_) => matched.clone(),
            };
            // A valid request may still have needed its fragment cut off: that explains why the
            // signed URL differs from the one checked.
            let causes: Vec<JsonCause> = verified
                .fragment_removed()
                .then(|| JsonCause {
                    code: CauseCode::Fragment.as_str(),
                    signed_url: Some(matched.clone()),
                    fix: FRAGMENT.to_string(),
                })
                .into_iter()
                .collect();
            if !args.json {
                crate::output::out!("{verified}");
                crate::output::out!("Twilio signed: {matched}");
                crate::output::out!("the string that was signed (it holds no secret): {signed}");
                for cause in &causes {
                    crate::output::out!("note, {}: {}", cause.code.replace('_', " "), cause.fix);
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
            let diagnosis = diagnose(&validator, &input, args);
            if !args.json {
                print_rejection(reason.as_str(), &reason.to_string(), &input.url, &diagnosis)?;
            }
            Report {
                valid: false,
                reason: Some(reason.as_str()),
                matched_url: None,
                causes: diagnosis.causes().iter().map(JsonCause::from).collect(),
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

/// What `explain` says of a cut-off fragment on a valid request: the core's own words.
const FRAGMENT: &str = "Twilio never signs a URL's fragment (its connection overrides such as #rc=2&rp=all \
    or #ct=… live there): the signed URL is the one without it. Validation already tries it that way (spec \
    §4.4), so nothing needs to change for the fragment itself";

/// The core's diagnosis of the rejected request, with the prefixes and public URL given.
fn diagnose(
    validator: &twilio_webhook::RequestValidator,
    input: &Input,
    args: &ExplainArgs,
) -> Diagnosis {
    let payload = match &input.request {
        Request::Params(pairs) => Payload::Params(pairs),
        Request::FormBody(body) => Payload::FormBody(body),
        Request::Body(body) => Payload::Body(body),
    };
    let mut hints = args.prefix.iter().fold(Hints::new(), |h, p| h.prefix(p));
    if let Some(public) = &args.public_url {
        hints = hints.public_url(public);
    }
    let suspect = Suspect::new(&input.url, payload, &input.signature)
        .settings(input.settings.as_deref())
        .hints(hints);
    validator.diagnose(&suspect)
}

fn print_rejection(
    code: &str,
    reason: &str,
    url: &str,
    diagnosis: &Diagnosis,
) -> Result<(), UsageError> {
    crate::output::out!("rejected ({code}): {reason}");
    crate::output::out!("checked URL: {url}");
    match (diagnosis.signed_url(), diagnosis.string_to_sign()) {
        (Some(signed), Some(string)) => {
            crate::output::out!("Twilio signed: {signed}");
            crate::output::out!("the string that was signed (it holds no secret): {string}");
            crate::output::out!("why, and the fix:");
            for cause in diagnosis.causes() {
                crate::output::out!("  - {}: {}", cause.code(), cause.fix());
            }
        }
        _ => {
            crate::output::out!(
                "nothing matched ({} signed strings tried: schemes, hosts, ports, trailing slash, path \
                 prefixes, query encodings, fragment, body modes, algorithms, secrets). Likely causes:",
                diagnosis.hmacs()
            );
            for cause in diagnosis.causes() {
                crate::output::out!("  - {}", cause.fix());
            }
        }
    }
    Ok(())
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}
