//! `twilio-webhook` for JavaScript: the core, compiled to WebAssembly. This layer only translates values.
#![forbid(unsafe_code)]

use wasm_bindgen::prelude::*;

/// The lowercase hex SHA-256 of a body.
#[wasm_bindgen(js_name = bodySha256Hex)]
pub fn body_sha256_hex(body: &[u8]) -> String {
    twilio_webhook::body_sha256_hex(body)
}
