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
    /// HTTP checks of a valid request: what the adapter changes in the request's headers before its
    /// handler reads them, the core's decision (`VerifiedRequest::hand_over_changes`), in order:
    /// name, value, name, value…, every field of the name removed, then one set to the value unless
    /// it is empty; empty otherwise.
    #[wasm_bindgen(js_name = handOver)]
    pub hand_over: Vec<String>,
}

/// The core's hand-over changes as JavaScript applies them, in order: name, value, name, value…,
/// every field of the name removed, then one set to the value unless it is empty (the core sets no
/// empty value). `Host` becomes the verified authority, `X-Forwarded-Host`, `-Proto`, `-Port` and
/// `-Prefix` the verified URL's where the request has them, and every other header that tells an
/// app where or how a request was sent goes, in every spelling.
pub(crate) fn hand_over(changes: &[twilio_webhook::HeaderChange]) -> Vec<String> {
    let mut flat = Vec::with_capacity(changes.len() * 2);
    for change in changes {
        flat.push(change.name().as_str().to_string());
        // The core's values are visible ASCII; were one not, the field goes.
        let value = change.value().and_then(|v| v.to_str().ok());
        flat.push(value.unwrap_or_default().to_string());
    }
    flat
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
        Verdict::of_http_headers(verdict, &http::HeaderMap::new())
    }

    /// The verdict of an HTTP request with these `headers`: a valid one says how they are handed
    /// over ([`hand_over`]).
    pub(crate) fn of_http_headers(
        verdict: Result<VerifiedRequest, WebhookRejection>,
        headers: &http::HeaderMap,
    ) -> Self {
        match verdict {
            Ok(request) => Verdict {
                status: Some(200),
                hand_over: hand_over(&request.hand_over_changes(headers)),
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
