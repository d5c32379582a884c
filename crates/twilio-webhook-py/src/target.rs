//! Paths as Python servers hand them over (decoded), turned back into a request target the core reads.

use pyo3::prelude::*;

/// The bytes a path keeps as they are when encoded: unreserved characters, `/`, and the sub-delimiters,
/// `:` and `@` that a path may hold (RFC 3986 §3.3). Every other byte, `%` included, is percent-encoded,
/// so that decoding the result gives back exactly `path`.
fn kept(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~/;=,@:+$!*'()".contains(&byte)
}

/// `path` (decoded bytes) percent-encoded as the path of a request target.
pub(crate) fn encode_path(path: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(path.len());
    for &byte in path {
        if kept(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    out
}

/// The request target rebuilt from a decoded path (bytes: WSGI's `SCRIPT_NAME` and `PATH_INFO` encoded
/// as latin-1, as PEP 3333 delivers them) and the query string as received. For servers that do not
/// pass the target as received; it may differ from what Twilio signed, and then the check fails closed.
#[pyfunction]
pub fn origin_target(path: &[u8], query: &str) -> String {
    let path = encode_path(path);
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}
