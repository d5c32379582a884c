//! `twilio-webhook` for JavaScript: the core compiled to WebAssembly, behind wasm-bindgen.
//!
//! This layer only translates: strings, byte arrays and arrays of strings in; the core's verdicts out.
//! Every rule (the string to sign, URL candidates, body mode, the public-URL policy, path rules,
//! statuses, the diagnosis) is the core's. The npm package in `js/` adds the twilio-node-shaped API,
//! the rich API and the framework adapters on top, in TypeScript.

#![forbid(unsafe_code)]

mod packed;
mod verdict;
mod verifier;

use twilio_webhook::diagnose::{Hints, Payload, Suspect};
use twilio_webhook::{Algorithm, RequestValidator, SignatureHeaders, Signer};
use wasm_bindgen::prelude::*;

pub use verdict::Verdict;
pub use verifier::Verifier;

/// Decoded form parameters, repeated keys included, as JavaScript packs them: keys and values in turn,
/// joined and encoded, with their lengths (see [`packed`]).
fn pairs<'a>(bytes: &'a [u8], lengths: &[u32]) -> Result<Vec<(&'a str, &'a str)>, JsError> {
    packed::pairs(bytes, lengths).ok_or_else(|| JsError::new("packed parameters do not add up"))
}

/// A configuration mistake as a JavaScript error (it names the secret, never its value).
fn config_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// A validator with named Auth Tokens and SharedKeys, keyed once.
#[wasm_bindgen]
pub struct Validator {
    inner: RequestValidator,
}

#[wasm_bindgen]
impl Validator {
    /// Auth Tokens and SharedKeys as parallel arrays of names and secrets, tried in order; the two
    /// opt-in URL relaxations. Throws on a configuration mistake (no secret, an empty one, a repeated
    /// name), naming the secret, never showing it.
    #[wasm_bindgen(constructor)]
    pub fn new(
        token_names: Vec<String>,
        tokens: Vec<String>,
        key_ids: Vec<String>,
        key_secrets: Vec<String>,
        trailing_slash: bool,
        query_reencoding: bool,
    ) -> Result<Validator, JsError> {
        let mut builder = RequestValidator::builder();
        for (name, token) in token_names.into_iter().zip(tokens) {
            builder = builder.auth_token(name, token);
        }
        for (id, secret) in key_ids.into_iter().zip(key_secrets) {
            builder = builder.shared_key(id, secret);
        }
        if trailing_slash {
            builder = builder.allow_trailing_slash_variant();
        }
        if query_reencoding {
            builder = builder.allow_query_reencoding();
        }
        builder
            .build()
            .map(|inner| Validator { inner })
            .map_err(config_error)
    }

    /// Whether a form request is signed: the drop-in's fast path, in one crossing. `packed` and
    /// `lengths` hold the URL and the signature, then the parameters (keys and values in turn), with
    /// their UTF-16 lengths; lengths that do not add up are `false`. `settings`: the signature
    /// settings header the secrets are chosen by (none: the Auth Tokens, HMAC-SHA1).
    #[wasm_bindgen(js_name = validateForm)]
    pub fn validate_form(&self, packed: &[u8], lengths: &[u32], settings: Option<String>) -> bool {
        let Some(mut params) = packed::pairs(packed, lengths) else {
            return false;
        };
        if params.is_empty() {
            return false;
        }
        // The same parameter type as every other call: one instantiation of the core, not two.
        let (url, signature) = params.remove(0);
        let headers = SignatureHeaders {
            signature: Some(signature),
            settings: settings.as_deref(),
        };
        self.inner.verify_form(url, params, headers).is_ok()
    }

    /// A form request from its decoded parameters (a URL with `bodySHA256` is `body_not_hashed`).
    #[wasm_bindgen(js_name = verifyForm)]
    pub fn verify_form(
        &self,
        url: &str,
        params: &[u8],
        lengths: &[u32],
        signature: Option<String>,
        settings: Option<String>,
    ) -> Result<Verdict, JsError> {
        let headers = SignatureHeaders {
            signature: signature.as_deref(),
            settings: settings.as_deref(),
        };
        let pairs = pairs(params, lengths)?;
        Ok(Verdict::of(
            url,
            self.inner.verify_form(url, pairs, headers),
        ))
    }

    /// A request from its raw body: the URL and the `Content-Type` pick the mode (spec §5).
    #[wasm_bindgen(js_name = verifyRequest)]
    pub fn verify_request(
        &self,
        url: &str,
        content_type: Option<String>,
        body: &[u8],
        signature: Option<String>,
        settings: Option<String>,
    ) -> Verdict {
        let headers = SignatureHeaders {
            signature: signature.as_deref(),
            settings: settings.as_deref(),
        };
        Verdict::of(
            url,
            self.inner
                .verify_request(url, content_type.as_deref(), body, headers),
        )
    }

    /// A request from its raw body, as a server received it (the drop-in's `validateExpressRequest`):
    /// the core's rules on its shape first ([`twilio_webhook::check_shape`]: the method, a body on
    /// `POST` alone, the charset, a raw line break in a form), then [`verify_request`](Self::verify_request).
    /// A refusal of the shape is a verdict with its reason (`method_not_allowed`, …); a method that is
    /// not a method token is `bad_method`. The `Content-Type` is read as a header is: a value that is not
    /// one counts as none, for the rules and for the body mode alike.
    #[wasm_bindgen(js_name = verifyReceived)]
    pub fn verify_received(
        &self,
        method: &str,
        url: &str,
        content_type: Option<String>,
        body: &[u8],
        signature: Option<String>,
        settings: Option<String>,
    ) -> Verdict {
        let Some((method, headers)) = received(method, content_type.as_deref()) else {
            return verifier::bad_method();
        };
        if let Err(rejection) = twilio_webhook::check_shape(&method, url, &headers, body) {
            return Verdict::of_http(Err(rejection));
        }
        self.verify_request(url, header_text(&headers), body, signature, settings)
    }

    /// A form request from the parameters a parser decoded from its body, as a server received it (the
    /// drop-in after `express.urlencoded()`): the core's rules on its shape, with the parameters
    /// percent-encoded back into the form they came from (its bytes are gone), so that the form rules
    /// (a second `From`, a key PHP reads as another name) apply to them too, and a `Content-Type` that
    /// is not a form refused ([`twilio_webhook::check_parsed_request`]: `ambiguous_form`, a multipart
    /// body's text fields stand for no signed form), then [`verify_form`](Self::verify_form).
    #[wasm_bindgen(js_name = verifyReceivedForm)]
    #[allow(clippy::too_many_arguments)]
    pub fn verify_received_form(
        &self,
        method: &str,
        url: &str,
        content_type: Option<String>,
        params: &[u8],
        lengths: &[u32],
        signature: Option<String>,
        settings: Option<String>,
    ) -> Result<Verdict, JsError> {
        let Some((method, headers)) = received(method, content_type.as_deref()) else {
            return Ok(verifier::bad_method());
        };
        // The parameters, percent-encoded back into the form they came from, so that the core's
        // form rules (a repeated `From`, a key PHP reads as another name) apply to them too; and
        // only from a form (a multipart body's text fields are not its files).
        let parsed = pairs(params, lengths)?;
        if let Err(rejection) =
            twilio_webhook::check_parsed_request(&method, url, &headers, &parsed)
        {
            return Ok(Verdict::of_http(Err(rejection)));
        }
        self.verify_form(url, params, lengths, signature, settings)
    }

    /// The signature Twilio would send for a form request, with the first Auth Token.
    #[wasm_bindgen(js_name = computeSignature)]
    pub fn compute_signature(
        &self,
        url: &str,
        params: &[u8],
        lengths: &[u32],
    ) -> Result<String, JsError> {
        Ok(self.inner.compute_signature(url, pairs(params, lengths)?))
    }

    /// The core's `explain` as its JSON document (`{"valid", "reason", "matched_url", "causes"}`), for
    /// packed form parameters (`params`, `lengths`) or else for a raw body and its content type.
    #[wasm_bindgen]
    #[allow(clippy::too_many_arguments)]
    pub fn explain(
        &self,
        url: &str,
        params: Option<Vec<u8>>,
        lengths: &[u32],
        content_type: Option<String>,
        body: &[u8],
        signature: &str,
        settings: Option<String>,
        public_url: Option<String>,
    ) -> Result<String, JsError> {
        let params: Option<Vec<(String, String)>> = match &params {
            Some(packed) => Some(
                pairs(packed, lengths)?
                    .into_iter()
                    .map(|(key, value)| (key.to_string(), value.to_string()))
                    .collect(),
            ),
            None => None,
        };
        let payload = match &params {
            Some(params) => Payload::Params(params),
            None => Payload::raw(content_type.as_deref(), body),
        };
        let hints = match &public_url {
            Some(base) => Hints::new().public_url(base),
            None => Hints::new(),
        };
        let suspect = Suspect::new(url, payload, signature)
            .settings(settings.as_deref())
            .hints(hints);
        Ok(self.inner.explain(&suspect).to_json())
    }
}

/// A received request's method and its `Content-Type` as a header map (a value that is not a header
/// value is left out, as the adapters' headers are); `None` for a method that is not one (the caller
/// answers `bad_method`).
fn received(method: &str, content_type: Option<&str>) -> Option<(http::Method, http::HeaderMap)> {
    let method = http::Method::from_bytes(method.as_bytes()).ok()?;
    let mut headers = http::HeaderMap::new();
    if let Some(value) = content_type.and_then(|v| http::HeaderValue::from_str(v).ok()) {
        headers.insert(http::header::CONTENT_TYPE, value);
    }
    Some((method, headers))
}

/// The `Content-Type` of a header map as text, if it has one.
fn header_text(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// The signature Twilio would send for a form request, made with `secret` (an Auth Token or a
/// SharedKey secret) and `algorithm` (`HMAC_SHA1` or `HMAC_SHA256`, any case). Throws on another
/// algorithm, an empty secret or packed parameters that do not add up (never showing the secret).
#[wasm_bindgen(js_name = signForm)]
pub fn sign_form(
    secret: &str,
    algorithm: &str,
    url: &str,
    params: &[u8],
    lengths: &[u32],
) -> Result<String, JsError> {
    let algorithm = if algorithm.eq_ignore_ascii_case("HMAC_SHA1") {
        Algorithm::HmacSha1
    } else if algorithm.eq_ignore_ascii_case("HMAC_SHA256") {
        Algorithm::HmacSha256
    } else {
        return Err(JsError::new("unsupported webhook signature algorithm"));
    };
    let signer = Signer::new(secret, algorithm).map_err(config_error)?;
    Ok(signer.sign_form(url, pairs(params, lengths)?))
}

/// The URL a request was made to, rebuilt by the core's public-URL policy (spec §4.5) from the
/// scheme (`https`, else `http`), the authority (a `Host` header, or the host configured instead of
/// it) and the request target as received: `undefined` when the authority is not a plain host and
/// port, or the target is not one a server can receive. The twilio-node drop-in builds every URL it
/// checks a request against here, never from the `Host` header in JavaScript.
#[wasm_bindgen(js_name = requestUrl)]
pub fn request_url(scheme: Option<String>, authority: &str, target: &str) -> Option<String> {
    let headers = http::HeaderMap::new();
    let incoming = twilio_webhook::Incoming {
        // The drop-in's URL is never a WebSocket's (twilio-node has none): a method that is no
        // handshake's.
        method: &http::Method::POST,
        target,
        headers: &headers,
        peer: None,
        scheme: Some(scheme.as_deref().unwrap_or("http")),
        authority: Some(authority),
    };
    twilio_webhook::PublicUrl::from_host()
        .urls(&incoming)
        .into_iter()
        .next()
}

/// The URL a request was made to under a configured base URL (`https://host[:port][/prefix]`),
/// joined by the core's public-URL policy with the request target as received: `undefined` when the
/// base is not one or the target is not one a server can receive. The Express drop-in's `url` option
/// checks a request against the URL Twilio called for this request's own target through it.
#[wasm_bindgen(js_name = baseUrl)]
pub fn base_url(base: &str, target: &str) -> Option<String> {
    let headers = http::HeaderMap::new();
    let incoming = twilio_webhook::Incoming {
        method: &http::Method::POST,
        target,
        headers: &headers,
        peer: None,
        scheme: None,
        authority: None,
    };
    twilio_webhook::PublicUrl::base(base)
        .ok()?
        .urls(&incoming)
        .into_iter()
        .next()
}

/// The header changes a request verified against `url` (checked outside the public-URL policy: the
/// Express middleware after a body parser) is handed over with, for its headers (packed names and
/// values, as `Verifier.check` takes them): the core's decision (`url_hand_over_changes`), as a verdict's
/// `handOver` says it; `undefined` for a URL without a scheme.
#[wasm_bindgen(js_name = urlHandOver)]
pub fn url_hand_over(
    url: &str,
    headers: &[u8],
    lengths: &[u32],
) -> Result<Option<Vec<String>>, JsError> {
    let headers = verifier::header_map(headers, lengths)?;
    Ok(twilio_webhook::url_hand_over_changes(url, &headers)
        .map(|changes| verdict::hand_over(&changes)))
}

/// The lowercase hex SHA-256 of a body, as in `bodySHA256`.
#[wasm_bindgen(js_name = bodySha256Hex)]
pub fn body_sha256_hex(body: &[u8]) -> String {
    twilio_webhook::body_sha256_hex(body)
}

/// Whether `hash` is the `bodySHA256` of `body`, compared in constant time.
#[wasm_bindgen(js_name = bodyMatches)]
pub fn body_matches(body: &[u8], hash: &str) -> bool {
    twilio_webhook::body_matches_hex(body, hash)
}
