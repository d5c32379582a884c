//! `twilio-webhook sign`.

use twilio_webhook::{Algorithm, Signer, settings_header_value};

use crate::args::{AlgorithmArg, SignArgs};
use crate::request::{self, Request};
use crate::{Outcome, UsageError, secrets};

pub(crate) fn run(args: &SignArgs) -> Result<Outcome, UsageError> {
    let (url, request) = request::read(&args.request)?;
    let algorithm = match args.algorithm {
        AlgorithmArg::HmacSha1 => Algorithm::HmacSha1,
        AlgorithmArg::HmacSha256 => Algorithm::HmacSha256,
    };
    let secret = secrets::read(&args.secret)?;
    let signer = Signer::new(secret, algorithm).map_err(|e| UsageError(e.to_string()))?;
    let sign_error = |e: twilio_webhook::SignError| UsageError(e.to_string());
    match request {
        Request::Params(params) => crate::output::out!("{}", signer.sign_form(&url, &params)),
        Request::FormBody(body) => {
            crate::output::out!(
                "{}",
                signer.sign_form_body(&url, &body).map_err(sign_error)?
            )
        }
        Request::Body(body) => {
            let signed = signer.sign_body(&url, &body).map_err(sign_error)?;
            crate::output::out!("{}\n{}", signed.signature, signed.url);
        }
    }
    if let Some(id) = &args.secret.key_id {
        eprintln!(
            "send with the header {}: {}",
            twilio_webhook::SIGNATURE_SETTINGS_HEADER,
            settings_header_value(id, algorithm)
        );
    }
    Ok(Outcome::Success)
}
