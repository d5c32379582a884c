//! The public-URL policy and the whole HTTP check, for the WSGI and ASGI middleware.

use std::net::IpAddr;

use http::{HeaderMap, HeaderName, HeaderValue};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use twilio_webhook::{
    DEFAULT_BODY_LIMIT, Incoming, PublicUrl, Refusal, WebhookRejection, WebhookVerifier,
};

use crate::{PyValidator, Verdict};

/// Request headers as `(name, value)` byte pairs (ASGI's shape; WSGI values encoded as latin-1).
type RawHeaders<'py> = Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>;

/// The headers as the core reads them. A header that is not valid HTTP is left out: it can then be
/// neither a signature nor a host nor a trusted proxy's word, so leaving it out never lets a request in.
fn header_map(headers: &RawHeaders<'_>) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            map.append(name, value);
        }
    }
    map
}

/// The request as the policy sees it; an unparseable peer address is unknown (so never trusted).
fn incoming<'a>(
    target: &'a str,
    headers: &'a HeaderMap,
    peer: Option<&str>,
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
) -> Incoming<'a> {
    Incoming {
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

    /// The URLs Twilio may have requested, in the order they are tried.
    #[pyo3(signature = (target, headers, peer=None, scheme=None, authority=None))]
    fn urls(
        &self,
        target: &str,
        headers: RawHeaders<'_>,
        peer: Option<&str>,
        scheme: Option<&str>,
        authority: Option<&str>,
    ) -> Vec<String> {
        let map = header_map(&headers);
        self.inner
            .urls(&incoming(target, &map, peer, scheme, authority))
    }
}

/// A validator, a public-URL policy and a body limit: the whole check a web server makes.
#[pyclass(frozen, name = "WebhookVerifier", module = "twilio_webhook._native")]
pub struct PyWebhookVerifier {
    inner: WebhookVerifier,
}

#[pymethods]
impl PyWebhookVerifier {
    /// `body_limit` defaults to 1 MiB; a larger body is refused with 413 without being hashed.
    #[new]
    #[pyo3(signature = (validator, public_url=None, body_limit=None))]
    fn new(
        validator: &PyValidator,
        public_url: Option<&PyPublicUrl>,
        body_limit: Option<usize>,
    ) -> Self {
        let mut inner = WebhookVerifier::new(validator.inner.clone())
            .body_limit(body_limit.unwrap_or(DEFAULT_BODY_LIMIT));
        if let Some(policy) = public_url {
            inner = inner.public_url(policy.inner.clone());
        }
        PyWebhookVerifier { inner }
    }

    /// The body limit in bytes.
    #[getter]
    fn body_limit(&self) -> usize {
        self.inner.limit()
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

    /// Checks a request: `target` is the path and query exactly as received, `headers` the raw
    /// `(name, value)` byte pairs, `body` the raw body (read up to the limit plus one byte, so a longer
    /// one is seen as too large). The verdict carries the status and text to answer with.
    #[pyo3(signature = (target, headers, body, peer=None, scheme=None, authority=None))]
    fn check(
        &self,
        target: &str,
        headers: RawHeaders<'_>,
        body: &[u8],
        peer: Option<&str>,
        scheme: Option<&str>,
        authority: Option<&str>,
    ) -> Verdict {
        let map = header_map(&headers);
        let request = incoming(target, &map, peer, scheme, authority);
        Verdict::of_http(self.inner.verify(&request, body))
    }
}
