//! `twilio-webhook explain`: the strict verdict first, then why a request fails and how to fix it. A thin
//! layer over the core's diagnosis (`twilio_webhook::diagnose`), which the servers' logs use too.

use twilio_webhook::diagnose::{Explanation, Hints, Payload, Suspect};

use crate::args::ExplainArgs;
use crate::request::{self, Request};
use crate::{Outcome, UsageError, raw, secrets, verify};

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
    let explained = validator.explain(&suspect);
    if args.json {
        crate::output::line(&explained.to_json())?;
    } else {
        print(&explained, &input.url)?;
    }
    Ok(match explained.verdict() {
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Rejected,
    })
}

fn print(explained: &Explanation, url: &str) -> Result<(), UsageError> {
    match (explained.verdict(), explained.diagnosis()) {
        (Ok(verified), _) => {
            crate::output::out!("{verified}");
            crate::output::out!("Twilio signed: {}", explained.signed_url().unwrap_or(url));
            crate::output::out!(
                "the string that was signed (it holds no secret): {}",
                explained.string_to_sign().unwrap_or_default()
            );
            for cause in explained.causes() {
                crate::output::out!("note, {}: {}", cause.code(), cause.fix());
            }
        }
        (Err(reason), diagnosis) => {
            crate::output::out!("rejected ({}): {reason}", reason.as_str());
            crate::output::out!("checked URL: {url}");
            match (explained.signed_url(), explained.string_to_sign()) {
                (Some(signed), Some(string)) => {
                    crate::output::out!("Twilio signed: {signed}");
                    crate::output::out!(
                        "the string that was signed (it holds no secret): {string}"
                    );
                    crate::output::out!("why, and the fix:");
                    for cause in explained.causes() {
                        crate::output::out!("  - {}: {}", cause.code(), cause.fix());
                    }
                }
                _ => {
                    crate::output::out!(
                        "nothing matched ({} signed strings tried: schemes, hosts, ports, trailing slash, \
                         path prefixes, query encodings, fragment, body modes, algorithms, secrets). Likely \
                         causes:",
                        diagnosis.map_or(0, |d| d.hmacs())
                    );
                    for cause in explained.causes() {
                        crate::output::out!("  - {}", cause.fix());
                    }
                }
            }
        }
    }
    Ok(())
}
