//! `twilio-webhook verify` for one request.

use twilio_webhook::{RequestValidator, RequestValidatorBuilder, SignatureHeaders};

use crate::args::VerifyArgs;
use crate::request::{self, Request};
use crate::{Outcome, UsageError, secrets};

/// The builder with the opt-in relaxations the arguments name.
pub(crate) fn relaxed(
    mut builder: RequestValidatorBuilder,
    args: &VerifyArgs,
) -> RequestValidatorBuilder {
    if args.allow_trailing_slash {
        builder = builder.allow_trailing_slash_variant();
    }
    if args.allow_query_reencoding {
        builder = builder.allow_query_reencoding();
    }
    builder
}

pub(crate) fn run(args: &VerifyArgs) -> Result<Outcome, UsageError> {
    let (url, request) = request::read(&args.request)?;
    let signature = args
        .signature
        .as_deref()
        .ok_or_else(|| UsageError("--signature is required (or --batch)".into()))?;
    let secret = secrets::read(&args.secret)?;
    let builder = match &args.secret.key_id {
        Some(id) => RequestValidator::builder().shared_key(id, secret),
        None => RequestValidator::builder().auth_token("primary", secret),
    };
    let validator = relaxed(builder, args)
        .build()
        .map_err(|e| UsageError(e.to_string()))?;
    let headers = SignatureHeaders::new(signature).with_settings(args.settings.as_deref());
    let verdict = match &request {
        Request::Params(params) => validator.verify_form(&url, params, headers),
        Request::FormBody(body) => validator.verify_form_body(&url, body, headers),
        Request::Body(body) => validator.verify_body(&url, body, headers),
    };
    match verdict {
        Ok(v) => {
            println!("{v}");
            println!("matched URL: {}", v.matched_url());
            Ok(Outcome::Success)
        }
        Err(reason) => {
            eprintln!("rejected ({}): {reason}", reason.as_str());
            Ok(Outcome::Rejected)
        }
    }
}
