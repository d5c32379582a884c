//! The one verdict type Python sees, from a plain validation or from an HTTP request.

use pyo3::prelude::*;
use twilio_webhook::{Rejection, SecretKind, Verified, VerifiedRequest, WebhookRejection};

/// Whether a request came from Twilio, and why. Truthy when valid.
#[pyclass(frozen, get_all, name = "Verdict", module = "twilio_webhook._native")]
#[derive(Debug, Clone, Default)]
pub struct Verdict {
    /// Whether the signature (and body hash, if any) checked out.
    pub valid: bool,
    /// Why not (`signature_mismatch`, `body_hash_mismatch`, …); `None` when valid.
    pub reason: Option<&'static str>,
    /// The name of the Auth Token or the id of the SharedKey that matched.
    pub secret: Option<String>,
    /// `auth_token` or `shared_key`.
    pub secret_kind: Option<&'static str>,
    /// `HMAC_SHA1` or `HMAC_SHA256`.
    pub algorithm: Option<&'static str>,
    /// The exact URL the signature was made over.
    pub matched_url: Option<String>,
    /// The HTTP status a server answers with: 200 when valid, else 400, 403, 413… (HTTP checks only).
    pub status: Option<u16>,
    /// The URLs the public-URL policy built and tried (HTTP checks only).
    pub urls_tried: Vec<String>,
    /// The plain-text body of a refusal: `Twilio webhook rejected: <reason>` (HTTP checks only).
    pub message: Option<String>,
    /// The refusal explained for the server's log: what Twilio signed and the setting to change, when a
    /// diagnosis found it (HTTP checks only). Never for the response.
    pub explanation: Option<String>,
    /// The first cause a diagnosis found (`scheme`, `host`, …; `unexplained`), for a metric.
    pub cause: Option<&'static str>,
    /// The authority (`host[:port]`, never userinfo) of the URL the request was verified against: the
    /// `Host` the app must see, whatever `Host` the client sent (HTTP checks only; `None` when refused).
    pub authority: Option<String>,
    /// That authority's host (an IPv6 literal without its brackets) and port (the one it names, else
    /// 443 for `https`/`wss` and 80 for `http`/`ws`): WSGI's `SERVER_NAME` and `SERVER_PORT`, ASGI's
    /// `server` (HTTP checks only; `None` when refused).
    pub server: Option<(String, u16)>,
    /// The scheme of the URL the request was verified against, `http` or `https` (a WebSocket's `ws`
    /// or `wss` as its HTTP scheme): WSGI's `wsgi.url_scheme`, ASGI's `scheme` (HTTP checks only;
    /// `None` when refused).
    pub scheme: Option<&'static str>,
    /// What the middleware changes in the request's headers before the app reads them, the core's
    /// decision (`VerifiedRequest::hand_over_changes`): `(name, value)` to set one field of that
    /// (lower-case) name in place of every field of it, `(name, None)` to remove every field of it,
    /// in this order. `Host` becomes the verified authority; `X-Forwarded-Host`, `-Proto`, `-Port`
    /// and `-Prefix` name the verified URL's where the request has them; every other header that
    /// tells an app where or how a request was sent (`X-Original-URL`, `X-HTTP-Method-Override`, …)
    /// goes, in every spelling (HTTP checks of a valid request only; empty otherwise).
    pub hand_over: Vec<(String, Option<String>)>,
}

impl Verdict {
    fn valid(url: &str, verified: &Verified) -> Self {
        Verdict {
            valid: true,
            secret: Some(verified.secret().name().to_string()),
            secret_kind: Some(match verified.secret().kind() {
                SecretKind::SharedKey => "shared_key",
                _ => "auth_token",
            }),
            algorithm: Some(verified.algorithm().settings_name()),
            matched_url: Some(verified.matched_url(url)),
            ..Verdict::default()
        }
    }

    /// The verdict of a `verify_*` call made with `url`.
    pub fn of(url: &str, verdict: Result<Verified, Rejection>) -> Self {
        match verdict {
            Ok(verified) => Verdict::valid(url, &verified),
            Err(rejection) => Verdict {
                reason: Some(rejection.as_str()),
                ..Verdict::default()
            },
        }
    }

    /// The verdict of an HTTP request checked with the public-URL policy.
    pub fn of_http(verdict: Result<VerifiedRequest, WebhookRejection>) -> Self {
        Verdict::of_http_headers(verdict, &http::HeaderMap::new())
    }

    /// The verdict of an HTTP request with these `headers`, checked with the public-URL policy: a
    /// valid one says how the headers are handed over ([`hand_over`](Self::hand_over)).
    pub fn of_http_headers(
        verdict: Result<VerifiedRequest, WebhookRejection>,
        headers: &http::HeaderMap,
    ) -> Self {
        match verdict {
            Ok(request) => Verdict {
                status: Some(200),
                scheme: Some(request.scheme()),
                hand_over: request
                    .hand_over_changes(headers)
                    .iter()
                    .map(|change| {
                        (
                            change.name().as_str().to_string(),
                            // The core's values are visible ASCII; were one not, the field goes.
                            change
                                .value()
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_string),
                        )
                    })
                    .collect(),
                urls_tried: vec![request.url().to_string()],
                authority: Some(request.authority().to_string()),
                server: server(&request),
                ..Verdict::valid(request.url(), request.verified())
            },
            Err(rejection) => Verdict {
                reason: Some(rejection.code()),
                status: Some(rejection.status().as_u16()),
                urls_tried: rejection.urls_tried().to_vec(),
                message: Some(rejection.body_text()),
                explanation: rejection.explanation().map(str::to_string),
                cause: rejection.cause(),
                ..Verdict::default()
            },
        }
    }
}

/// The host and port of the authority a request was verified against, as a server reports its own
/// (`SERVER_NAME`, `SERVER_PORT`): the port the authority names, else the default of the URL's scheme.
/// `None` for an authority that is not one (the core built it, so never), which the adapters refuse.
fn server(request: &VerifiedRequest) -> Option<(String, u16)> {
    let authority: http::uri::Authority = request.authority().parse().ok()?;
    let default = if request.scheme() == "https" { 443 } else { 80 };
    let host = authority.host();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    Some((host.to_string(), authority.port_u16().unwrap_or(default)))
}

#[pymethods]
impl Verdict {
    fn __bool__(&self) -> bool {
        self.valid
    }

    fn __repr__(&self) -> String {
        match (&self.reason, &self.secret) {
            (Some(reason), _) => format!("<Verdict rejected: {reason}>"),
            (None, Some(secret)) => format!(
                "<Verdict valid: {} {secret:?}, {}, {:?}>",
                self.secret_kind.unwrap_or_default(),
                self.algorithm.unwrap_or_default(),
                self.matched_url.as_deref().unwrap_or_default()
            ),
            (None, None) => "<Verdict valid>".to_string(),
        }
    }
}
