//! `twilio-webhook verify` for one request.

use twilio_webhook::{ConfigError, RequestValidator, SignatureHeaders};

use crate::args::VerifyArgs;
use crate::request::{self, Request};
use crate::{Outcome, UsageError, secrets};

/// A validator for one secret: the SharedKey `key_id` when given, else the Auth Token, with the opt-in
/// relaxations the arguments name.
pub(crate) fn validator(
    secret: &str,
    key_id: Option<&str>,
    args: &VerifyArgs,
) -> Result<RequestValidator, ConfigError> {
    let mut builder = match key_id {
        Some(id) => RequestValidator::builder().shared_key(id, secret),
        None => RequestValidator::builder().auth_token("primary", secret),
    };
    if args.allow_trailing_slash {
        builder = builder.allow_trailing_slash_variant();
    }
    if args.allow_query_reencoding {
        builder = builder.allow_query_reencoding();
    }
    builder.build()
}

/// A validator for one secret with no relaxation: what `explain` reports against.
pub(crate) fn strict_validator(
    secret: &str,
    key_id: Option<&str>,
) -> Result<RequestValidator, UsageError> {
    let builder = match key_id {
        Some(id) => RequestValidator::builder().shared_key(id, secret),
        None => RequestValidator::builder().auth_token("primary", secret),
    };
    builder.build().map_err(|e| UsageError(e.to_string()))
}

/// Verifies `request` through the entry point its kind calls for.
pub(crate) fn check(
    validator: &RequestValidator,
    url: &str,
    request: &Request,
    headers: SignatureHeaders<'_>,
) -> Result<twilio_webhook::Verified, twilio_webhook::Rejection> {
    match request {
        Request::Params(params) => validator.verify_form(url, params, headers),
        Request::FormBody(body) => validator.verify_form_body(url, body, headers),
        Request::Body(body) => validator.verify_body(url, body, headers),
    }
}

pub(crate) fn run(args: &VerifyArgs) -> Result<Outcome, UsageError> {
    let (url, request) = request::read(&args.request)?;
    let signature = args
        .signature
        .as_deref()
        .ok_or_else(|| UsageError("--signature is required (or --batch)".into()))?;
    if args.secret.key_id.is_some() && args.settings.is_none() {
        return Err(UsageError(
            "--key-id needs the X-Twilio-Webhooks-Signature-Settings header the request carried: \
             pass --settings 'key=KS…,algorithm=HMAC_SHA256' (or HMAC_SHA1)"
                .into(),
        ));
    }
    let secret = secrets::read(&args.secret)?;
    let validator = validator(&secret, args.secret.key_id.as_deref(), args)
        .map_err(|e| UsageError(e.to_string()))?;
    let headers = SignatureHeaders::new(signature).with_settings(args.settings.as_deref());
    let verdict = check(&validator, &url, &request, headers);
    match verdict {
        Ok(v) => {
            crate::output::out!("{v}");
            crate::output::out!("matched URL: {}", v.matched_url(&url));
            Ok(Outcome::Success)
        }
        Err(reason) => {
            eprintln!("rejected ({}): {reason}", reason.as_str());
            Ok(Outcome::Rejected)
        }
    }
}
