//! Signing requests exactly as Twilio does, for tests and for emulating Twilio.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use twilio_webhook::{Algorithm, Signer};

use crate::params::Params;

/// Parses `HMAC_SHA1` / `HMAC_SHA256` (any case).
pub(crate) fn algorithm(name: &str) -> PyResult<Algorithm> {
    match name.to_ascii_uppercase().as_str() {
        "HMAC_SHA1" => Ok(Algorithm::HmacSha1),
        "HMAC_SHA256" => Ok(Algorithm::HmacSha256),
        _ => Err(PyValueError::new_err(format!(
            "unsupported webhook signature algorithm {name:?}: expected HMAC_SHA1 or HMAC_SHA256"
        ))),
    }
}

/// Signs requests with one secret and algorithm.
#[pyclass(frozen, name = "Signer", module = "twilio_webhook._native")]
pub struct PySigner {
    inner: Signer,
}

#[pymethods]
impl PySigner {
    /// `algorithm` is `HMAC_SHA1` (Auth Tokens) or `HMAC_SHA256` (SharedKeys).
    #[new]
    #[pyo3(signature = (secret, algorithm="HMAC_SHA1"))]
    fn new(secret: &str, algorithm: &str) -> PyResult<Self> {
        let inner = Signer::new(secret, self::algorithm(algorithm)?)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        Ok(PySigner { inner })
    }

    /// The `X-Twilio-Signature` of a form request with these decoded `(key, value)` pairs.
    fn sign_form(&self, url: &str, params: Params<'_>) -> PyResult<String> {
        params.with(|pairs| self.inner.sign_form(url, pairs))
    }

    /// The signature of a form request given its raw `application/x-www-form-urlencoded` body.
    fn sign_form_body(&self, url: &str, body: &[u8]) -> PyResult<String> {
        self.inner
            .sign_form_body(url, body)
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// A non-form (JSON) request: the URL with `bodySHA256` appended, and its signature.
    fn sign_body(&self, url: &str, body: &[u8]) -> PyResult<(String, String)> {
        self.inner
            .sign_body(url, body)
            .map(|signed| (signed.url, signed.signature))
            .map_err(|e| PyValueError::new_err(e.to_string()))
    }

    fn __repr__(&self) -> String {
        format!("<Signer {}>", self.inner.algorithm().settings_name())
    }
}
