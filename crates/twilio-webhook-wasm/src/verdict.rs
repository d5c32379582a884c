//! The one verdict JavaScript sees, from a plain validation or from an HTTP request.

use twilio_webhook::{Rejection, SecretKind, Verified, VerifiedRequest, WebhookRejection};
use wasm_bindgen::prelude::*;

/// Whether a request came from Twilio, and why.
#[wasm_bindgen(getter_with_clone)]
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Whether the signature (and the body hash, if any) checked out.
    pub valid: bool,
    /// Why not (`signature_mismatch`, …); absent when valid.
    pub reason: Option<String>,
    /// The name of the Auth Token or the id of the SharedKey that matched.
    pub secret: Option<String>,
    /// `auth_token` or `shared_key`.
    #[wasm_bindgen(js_name = secretKind)]
    pub secret_kind: Option<String>,
    /// `HMAC_SHA1` or `HMAC_SHA256`.
    pub algorithm: Option<String>,
    /// The exact URL the signature was made over.
    #[wasm_bindgen(js_name = matchedUrl)]
    pub matched_url: Option<String>,
    /// HTTP checks: the status to answer (200 when valid, else 400, 403, 413…).
    pub status: Option<u16>,
    /// HTTP checks: the plain-text body of a refusal.
    pub message: Option<String>,
    /// HTTP checks: the refusal explained for the log (what Twilio signed and the setting to change).
    pub explanation: Option<String>,
    /// HTTP checks: the first cause the diagnosis found, for a metric.
    pub cause: Option<String>,
    /// HTTP checks: the URLs the public-URL policy built and tried.
    #[wasm_bindgen(js_name = urlsTried)]
    pub urls_tried: Vec<String>,
}

impl Verdict {
    fn valid(url: &str, verified: &Verified) -> Self {
        Verdict {
            valid: true,
            secret: Some(verified.secret().name().to_string()),
            secret_kind: Some(
                match verified.secret().kind() {
                    SecretKind::SharedKey => "shared_key",
                    _ => "auth_token",
                }
                .to_string(),
            ),
            algorithm: Some(verified.algorithm().settings_name().to_string()),
            matched_url: Some(verified.matched_url(url)),
            ..Verdict::default()
        }
    }

    /// The verdict of a `verify_*` call made with `url`.
    pub(crate) fn of(url: &str, verdict: Result<Verified, Rejection>) -> Self {
        match verdict {
            Ok(verified) => Verdict::valid(url, &verified),
            Err(rejection) => Verdict {
                reason: Some(rejection.as_str().to_string()),
                ..Verdict::default()
            },
        }
    }

    /// The verdict of an HTTP request checked with the public-URL policy.
    pub(crate) fn of_http(verdict: Result<VerifiedRequest, WebhookRejection>) -> Self {
        match verdict {
            Ok(request) => Verdict {
                status: Some(200),
                urls_tried: vec![request.url().to_string()],
                ..Verdict::valid(request.url(), request.verified())
            },
            Err(rejection) => Verdict {
                reason: Some(rejection.code().to_string()),
                status: Some(rejection.status().as_u16()),
                message: Some(rejection.body_text()),
                explanation: rejection.explanation().map(str::to_string),
                cause: rejection.cause().map(str::to_string),
                urls_tried: rejection.urls_tried().to_vec(),
                ..Verdict::default()
            },
        }
    }
}
