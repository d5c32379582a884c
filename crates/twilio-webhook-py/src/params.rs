//! Form parameters from Python: any iterable of two-item sequences of `str`, read without copying into
//! Rust strings (each text is encoded to UTF-8 once, by Python, and borrowed from there).

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

/// The UTF-8 encodings of every key and value, held while the core reads them.
pub struct Params<'py> {
    held: Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>,
}

fn utf8<'py>(text: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
    let text = text.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "form parameters must be str, not {}",
            text.get_type()
                .name()
                .map_or_else(|_| "?".into(), |n| n.to_string())
        ))
    })?;
    text.encode_utf8()
}

fn pair<'py>(item: &Bound<'py, PyAny>) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    if let Ok(tuple) = item.cast::<PyTuple>() {
        if tuple.len() == 2 {
            return Ok((tuple.get_item(0)?, tuple.get_item(1)?));
        }
    } else if item.len().is_ok_and(|n| n == 2) && !item.is_instance_of::<PyString>() {
        return Ok((item.get_item(0)?, item.get_item(1)?));
    }
    Err(PyTypeError::new_err(
        "form parameters must be (key, value) pairs",
    ))
}

impl<'py> FromPyObject<'_, 'py> for Params<'py> {
    type Error = PyErr;

    fn extract(params: Borrowed<'_, 'py, PyAny>) -> PyResult<Self> {
        let mut held = Vec::with_capacity(params.len().unwrap_or(0));
        for item in params.try_iter()? {
            let (key, value) = pair(&item?)?;
            held.push((utf8(&key)?, utf8(&value)?));
        }
        Ok(Params { held })
    }
}

/// Python's UTF-8 encoder only produces valid UTF-8; checked all the same, never assumed.
fn text<'a>(bytes: &'a Bound<'_, PyBytes>) -> PyResult<&'a str> {
    std::str::from_utf8(bytes.as_bytes()).map_err(|e| PyTypeError::new_err(e.to_string()))
}

impl Params<'_> {
    /// Runs `f` on the pairs as text.
    pub fn with<R>(&self, f: impl FnOnce(&[(&str, &str)]) -> R) -> PyResult<R> {
        let pairs = self
            .held
            .iter()
            .map(|(k, v)| Ok((text(k)?, text(v)?)))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(f(&pairs))
    }
}
