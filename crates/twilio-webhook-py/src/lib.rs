//! `twilio_webhook._native`: the core of twilio-webhook for Python (built by maturin from `python/`).
//!
//! This layer only translates: Python values in, the core's verdicts out. Every rule (the string to sign,
//! URL candidates, body mode, the public-URL policy, statuses) is the core's; the Python package
//! (`python/twilio_webhook`) adds the twilio-python-shaped API and the WSGI/ASGI middleware on top.

mod http_verify;
mod params;
mod signing;
mod target;
mod verdict;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use twilio_webhook::{RequestValidator, SignatureHeaders};

use crate::params::Params;

pub use verdict::Verdict;

/// A validator with named Auth Tokens and SharedKeys, keyed once. Cheap to share between threads.
#[pyclass(frozen, name = "Validator", module = "twilio_webhook._native")]
pub struct PyValidator {
    pub(crate) inner: RequestValidator,
}

/// The signature headers of a request, as the core reads them.
fn headers<'a>(signature: Option<&'a str>, settings: Option<&'a str>) -> SignatureHeaders<'a> {
    SignatureHeaders {
        signature,
        settings,
    }
}

#[pymethods]
impl PyValidator {
    /// `auth_tokens` and `shared_keys` are `(name, secret)` pairs, tried in order. A configuration
    /// mistake (no secret, an empty one, a repeated name) raises `ValueError` naming the secret, never
    /// showing it.
    #[new]
    #[pyo3(signature = (auth_tokens, shared_keys=Vec::new(), *, allow_trailing_slash_variant=false, allow_query_reencoding=false))]
    fn new(
        auth_tokens: Vec<(String, String)>,
        shared_keys: Vec<(String, String)>,
        allow_trailing_slash_variant: bool,
        allow_query_reencoding: bool,
    ) -> PyResult<Self> {
        let mut builder = RequestValidator::builder();
        for (name, token) in auth_tokens {
            builder = builder.auth_token(name, token);
        }
        for (id, secret) in shared_keys {
            builder = builder.shared_key(id, secret);
        }
        if allow_trailing_slash_variant {
            builder = builder.allow_trailing_slash_variant();
        }
        if allow_query_reencoding {
            builder = builder.allow_query_reencoding();
        }
        let inner = builder
            .build()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PyValidator { inner })
    }

    /// A form request from its decoded `(key, value)` pairs (spec §2; a URL with `bodySHA256` is
    /// rejected as `body_not_hashed`).
    #[pyo3(signature = (url, params, signature, settings=None))]
    fn verify_form(
        &self,
        url: &str,
        params: Params<'_>,
        signature: Option<&str>,
        settings: Option<&str>,
    ) -> PyResult<Verdict> {
        params.with(|pairs| {
            Verdict::of(
                url,
                self.inner
                    .verify_form(url, pairs, headers(signature, settings)),
            )
        })
    }

    /// Whether a form request is signed, without building a verdict: the drop-in's fast path.
    fn validate_form(&self, url: &str, params: Params<'_>, signature: &str) -> PyResult<bool> {
        params.with(|pairs| self.inner.validate(url, pairs, signature))
    }

    /// A request from what a server holds: its `Content-Type` and raw body pick the mode (spec §5).
    #[pyo3(signature = (url, content_type, body, signature, settings=None))]
    fn verify_request(
        &self,
        url: &str,
        content_type: Option<&str>,
        body: &[u8],
        signature: Option<&str>,
        settings: Option<&str>,
    ) -> Verdict {
        let verdict =
            self.inner
                .verify_request(url, content_type, body, headers(signature, settings));
        Verdict::of(url, verdict)
    }

    /// The signature Twilio would send for a form request, made with the first Auth Token (empty when
    /// there is none).
    fn compute_signature(&self, url: &str, params: Params<'_>) -> PyResult<String> {
        params.with(|pairs| self.inner.compute_signature(url, pairs))
    }

    fn __repr__(&self) -> String {
        // The core's Debug names the secrets, never their values.
        format!("{:?}", self.inner)
    }
}

/// The lowercase hex SHA-256 of a body, as in a `bodySHA256` query parameter.
#[pyfunction]
fn body_sha256_hex(body: &[u8]) -> String {
    twilio_webhook::body_sha256_hex(body)
}

/// The core's form rules for parameters a framework already parsed, with the URL they are verified
/// against (`check_parsed_webhook`): the refusal's code (`repeated_parameter`, `ambiguous_form`), or
/// `None` when the request is one Twilio could have sent.
#[pyfunction]
fn parsed_form_refusal(url: &str, params: Params<'_>) -> PyResult<Option<&'static str>> {
    params.with(|pairs| {
        twilio_webhook::check_parsed_webhook(url, pairs)
            .err()
            .map(|r| r.code())
    })
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<PyValidator>()?;
    m.add_class::<Verdict>()?;
    m.add_class::<signing::PySigner>()?;
    m.add_class::<http_verify::PyPublicUrl>()?;
    m.add_class::<http_verify::PyWebhookVerifier>()?;
    m.add_function(wrap_pyfunction!(body_sha256_hex, m)?)?;
    m.add_function(wrap_pyfunction!(parsed_form_refusal, m)?)?;
    m.add_function(wrap_pyfunction!(target::origin_target, m)?)?;
    Ok(())
}
