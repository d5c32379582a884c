//! The public-URL policy and the whole HTTP check, for the WSGI and ASGI middleware.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use twilio_webhook::{
    BodyExtent, DEFAULT_BODY_LIMIT, Incoming, PathDecision, PathRules, PublicUrl, Refusal,
    WebhookRejection, WebhookVerifier,
};

use crate::{PyValidator, Verdict};

/// Request headers as `(name, value)` byte pairs (ASGI's shape; WSGI values encoded as latin-1).
type RawHeaders<'py> = Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>;

/// The headers as the core reads them. A header that is not valid HTTP is left out: it can then be
/// neither a signature nor a host nor a trusted proxy's word, so leaving it out never lets a request in.
/// Except the framing headers, whose absence would say "no body": a `Content-Length` or
/// `Transfer-Encoding` whose value is not valid HTTP stays, as a value the core reads as what it is
/// (a length that is not a number, a transfer coding), so that the core's rules refuse it.
fn header_map(headers: &RawHeaders<'_>) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        match HeaderValue::from_bytes(value.as_bytes()) {
            Ok(value) => {
                map.append(name, value);
            }
            Err(_) if name == http::header::CONTENT_LENGTH => {
                map.append(name, HeaderValue::from_static("not valid HTTP"));
            }
            Err(_) if name == http::header::TRANSFER_ENCODING => {
                map.append(name, HeaderValue::from_static("not-valid-http"));
            }
            Err(_) => {}
        }
    }
    map
}

/// A method name as the core reads it: one that is not an HTTP method (a token) is refused
/// (`400`, `bad_method`), never read as a `POST` or any other method.
fn method(name: &str) -> Result<http::Method, WebhookRejection> {
    http::Method::from_bytes(name.as_bytes())
        .map_err(|_| WebhookRejection::new(Refusal::BadMethod, Vec::new()))
}

/// The request as the policy sees it; an unparseable peer address is unknown (so never trusted).
fn incoming<'a>(
    method: &'a http::Method,
    target: &'a str,
    headers: &'a HeaderMap,
    peer: Option<&str>,
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
) -> Incoming<'a> {
    Incoming {
        method,
        target,
        headers,
        peer: peer.and_then(|p| p.parse::<IpAddr>().ok()),
        scheme,
        authority,
    }
}

/// How to rebuild the URL Twilio requested: configured base URLs, or `Host` with forwarded headers from
/// trusted proxies only.
#[pyclass(frozen, name = "PublicUrl", module = "twilio_webhook._native")]
#[derive(Clone)]
pub struct PyPublicUrl {
    inner: PublicUrl,
}

#[pymethods]
impl PyPublicUrl {
    /// `bases`: the public base URLs (`https://example.com[/prefix]`), tried in order; when empty, the
    /// `Host` header is used with the connection's scheme. `trusted_proxies`: IP addresses or CIDR
    /// ranges whose `Forwarded` / `X-Forwarded-*` headers are believed. `ValueError` on a mistake.
    #[new]
    #[pyo3(signature = (bases=Vec::new(), trusted_proxies=Vec::new(), connection_scheme="http"))]
    fn new(
        bases: Vec<String>,
        trusted_proxies: Vec<String>,
        connection_scheme: &str,
    ) -> PyResult<Self> {
        let invalid = |e: twilio_webhook::PublicUrlError| PyValueError::new_err(e.to_string());
        let mut policy = match bases.split_first() {
            Some((first, rest)) => rest
                .iter()
                .try_fold(PublicUrl::base(first).map_err(invalid)?, |policy, base| {
                    policy.also_base(base).map_err(invalid)
                })?,
            None => PublicUrl::from_host(),
        };
        for proxy in &trusted_proxies {
            policy = policy.trust_proxy(proxy).map_err(invalid)?;
        }
        Ok(PyPublicUrl {
            inner: policy.connection_scheme(connection_scheme),
        })
    }

    /// The URLs Twilio may have requested, in the order they are tried; none for a `method` that is
    /// not an HTTP method.
    #[pyo3(signature = (target, headers, peer=None, scheme=None, authority=None, method="POST"))]
    fn urls(
        &self,
        target: &str,
        headers: RawHeaders<'_>,
        peer: Option<&str>,
        scheme: Option<&str>,
        authority: Option<&str>,
        method: &str,
    ) -> Vec<String> {
        let map = header_map(&headers);
        match self::method(method) {
            Ok(method) => self
                .inner
                .urls(&incoming(&method, target, &map, peer, scheme, authority)),
            Err(_) => Vec::new(),
        }
    }
}

/// A validator, a public-URL policy, a body limit and the paths it guards: the whole check a web
/// server makes.
#[pyclass(frozen, name = "WebhookVerifier", module = "twilio_webhook._native")]
pub struct PyWebhookVerifier {
    inner: WebhookVerifier,
    paths: PathRules,
}

#[pymethods]
impl PyWebhookVerifier {
    /// `body_limit` defaults to 1 MiB; a larger body is refused with 413 without being hashed.
    /// `paths`: the path prefixes to verify (every request when `None`); `ValueError` for a prefix that
    /// is not a path in normal form. `diagnoses_per_second`: how many refusals a second are explained
    /// with a diagnosis (`verdict.explanation`; default 10, 0 is off).
    #[new]
    #[pyo3(signature = (validator, public_url=None, body_limit=None, paths=None, diagnoses_per_second=None))]
    fn new(
        validator: &PyValidator,
        public_url: Option<&PyPublicUrl>,
        body_limit: Option<usize>,
        paths: Option<Vec<String>>,
        diagnoses_per_second: Option<u32>,
    ) -> PyResult<Self> {
        let mut inner = WebhookVerifier::new(validator.inner.clone())
            .body_limit(body_limit.unwrap_or(DEFAULT_BODY_LIMIT))
            .diagnoses_per_second(
                diagnoses_per_second.unwrap_or(twilio_webhook::DEFAULT_DIAGNOSES_PER_SECOND),
            );
        if let Some(policy) = public_url {
            inner = inner.public_url(policy.inner.clone());
        }
        let paths = match paths {
            Some(prefixes) => PathRules::only(&prefixes)
                .map_err(|e| PyValueError::new_err(format!("paths: {e}")))?,
            None => PathRules::new(),
        };
        Ok(PyWebhookVerifier { inner, paths })
    }

    /// What the path rules decide for a request to `target` (as received): `(verify, refusal)`. When
    /// `refusal` is a verdict (400, `bad_request_target`), answer it; otherwise `verify` says whether
    /// the request must be verified or passes unverified.
    fn decide(&self, target: &str) -> (bool, Option<Verdict>) {
        self.decision(target)
    }

    /// [`decide`](Self::decide) for the path the application routes on, decoded, as bytes: ASGI's
    /// `path` without `root_path` encoded as UTF-8, WSGI's `PATH_INFO` encoded as latin-1 (PEP 3333),
    /// Django's `path_info`. The bytes are what the router compares, so the rules see exactly them.
    fn decide_path(&self, path: &[u8]) -> (bool, Option<Verdict>) {
        self.decision(&crate::target::encode_path(path))
    }

    /// The verdict for a body that could not be read whole, or that another part of the app already
    /// took: 400, `body_unreadable`. Nothing is verified against what is left of a body.
    fn unreadable(&self) -> Verdict {
        Verdict::of_http(Err(WebhookRejection::new(
            Refusal::BodyUnreadable,
            Vec::new(),
        )))
    }

    /// The verdict for a verified request the app had already read with another host than the
    /// authority it was verified against (a framework that routed on `Host`, or cached it, before the
    /// check ran): 400, `bad_host`, with the verified URL as the one tried. The app never runs with a
    /// host that no signature named.
    #[pyo3(signature = (verified_url=None))]
    fn bad_host(&self, verified_url: Option<String>) -> Verdict {
        Verdict::of_http(Err(WebhookRejection::new(
            Refusal::BadHost,
            verified_url.into_iter().collect(),
        )))
    }

    /// The body limit in bytes.
    #[getter]
    fn body_limit(&self) -> usize {
        self.inner.limit()
    }

    /// The core's rule on the request's `Content-Length`, before the body is read: a refusal for a
    /// value that is not a number of bytes (400, `bad_content_length`: `+12`, `1_0`, `²`, lengths
    /// that disagree) or one over the limit (413), `None` otherwise. For a host whose server frames
    /// the body (ASGI); a WSGI host asks [`body_extent`](Self::body_extent).
    fn check_declared_length(&self, headers: RawHeaders<'_>) -> Option<Verdict> {
        self.inner
            .check_declared_length(&header_map(&headers))
            .err()
            .map(|e| Verdict::of_http(Err(e)))
    }

    /// How much of the body to read from a stream the host reads itself (WSGI's `wsgi.input`), as
    /// the core decides from the framing headers: `(length, refusal)`. `stream_ends` says whether the
    /// stream ends where the body ends (`wsgi.input_terminated`). `length` is the number of bytes to
    /// read, or `None` to read to the end of the stream (at most the limit and one byte more). A
    /// refusal comes before anything is read: a `Content-Length` that is not a number (400), one
    /// over the limit (413), a `Transfer-Encoding` body on a stream that does not end (411,
    /// `length_required`).
    fn body_extent(
        &self,
        headers: RawHeaders<'_>,
        stream_ends: bool,
    ) -> (Option<usize>, Option<Verdict>) {
        match self.inner.body_extent(&header_map(&headers), stream_ends) {
            Ok(BodyExtent::Length(length)) => (Some(length), None),
            Ok(BodyExtent::ToEnd) => (None, None),
            Ok(_) => (Some(0), None),
            Err(e) => (Some(0), Some(Verdict::of_http(Err(e)))),
        }
    }

    /// The verdict for a body over the limit, for a server that knows it from `Content-Length` before
    /// reading it: 413, `body_too_large`.
    fn too_large(&self) -> Verdict {
        let limit = self.inner.limit();
        Verdict::of_http(Err(WebhookRejection::new(
            Refusal::BodyTooLarge { limit },
            Vec::new(),
        )))
    }

    /// Checks a request: `target` is the path and query exactly as received (or an absolute-form
    /// target), `headers` the raw `(name, value)` byte pairs, `body` the raw body (read up to the limit
    /// plus one byte, so a longer one is seen as too large), `method` the request method (a `GET`
    /// WebSocket handshake is checked against its `ws`/`wss` URL). The verdict carries the status and
    /// text to answer with. As in the Rust adapters, a request that asks for a WebSocket without being
    /// a handshake is `400` `upgrade_not_handshake`, and a body whose length is not its declared
    /// `Content-Length` is `400` `body_length_mismatch`. A `method` that is not an HTTP method is
    /// `400` `bad_method`.
    #[pyo3(signature = (target, headers, body, peer=None, scheme=None, authority=None, method="POST"))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        target: &str,
        headers: RawHeaders<'_>,
        body: &[u8],
        peer: Option<&str>,
        scheme: Option<&str>,
        authority: Option<&str>,
        method: &str,
    ) -> Verdict {
        let map = header_map(&headers);
        let verdict = self::method(method).and_then(|method| {
            self.verify(
                &incoming(&method, target, &map, peer, scheme, authority),
                body,
            )
        });
        Verdict::of_http_headers(verdict, &map)
    }
}

impl PyWebhookVerifier {
    fn decision(&self, target: &str) -> (bool, Option<Verdict>) {
        match self.paths.decide(target) {
            Ok(PathDecision::Verify) => (true, None),
            Ok(_) => (false, None),
            Err(e) => (
                true,
                Some(Verdict::of_http(Err(WebhookRejection::new(
                    Refusal::BadTarget(e),
                    Vec::new(),
                )))),
            ),
        }
    }

    /// The core's sequence for a body read whole ([`WebhookVerifier::verify_read_body`]), as the
    /// Rust adapters run it: a request that asks for a WebSocket without being a handshake is refused
    /// (as axum and actix refuse it), then a declared length over the limit, a body over it, and a
    /// body whose length differs from its declared `Content-Length` (it is what is left of a body, not
    /// what was sent), then the check.
    fn verify(
        &self,
        request: &Incoming<'_>,
        body: &[u8],
    ) -> Result<twilio_webhook::VerifiedRequest, WebhookRejection> {
        self.inner.verify_read_body(request, body)
    }
}
