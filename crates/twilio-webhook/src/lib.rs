//! Exact, fast, fail-closed validation of Twilio webhook signatures.
//!
//! Twilio signs every webhook request with an `X-Twilio-Signature` header: an HMAC over the URL it
//! requested and the POST parameters (or, for JSON bodies, over a URL that carries `bodySHA256`). This
//! crate checks that signature exactly as Twilio makes it, in constant time, without allocating, and
//! tells you *why* a request was rejected.
//!
//! ```
//! use twilio_webhook::RequestValidator;
//!
//! let validator = RequestValidator::new("12345"); // your Auth Token
//! let url = "https://mycompany.com/myapp.php?foo=1&bar=2"; // the URL Twilio requested
//! let post_vars = [
//!     ("CallSid", "CA1234567890ABCDE"),
//!     ("Caller", "+12349013030"),
//!     ("Digits", "1234"),
//!     ("From", "+12349013030"),
//!     ("To", "+18005551212"),
//! ];
//! let signature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; // the X-Twilio-Signature header
//! assert!(validator.validate(url, &post_vars, signature));
//! ```
//!
//! # Which function do I call?
//!
//! | you have | call |
//! |---|---|
//! | the URL, the `Content-Type` and the raw body (a web server) | [`RequestValidator::verify_request`]: form or body mode by spec §5 |
//! | decoded POST parameters (a list of pairs; a map keeps one value per repeated key) | [`RequestValidator::validate`] (a `bool`) or [`RequestValidator::verify_form`] (a verdict) |
//! | the raw `application/x-www-form-urlencoded` body | [`RequestValidator::verify_form_body`] |
//! | a JSON (or any non-form) body, URL with `bodySHA256` | [`RequestValidator::verify_body`] |
//! | to sign a request (tests, tools) | [`Signer`], or [`RequestValidator::compute_signature`] |
//!
//! The `verify_*` functions return `Ok(`[`Verified`]`)`, which says which secret, algorithm and URL
//! candidate matched, or `Err(`[`Rejection`]`)` with exactly one reason.
//!
//! # The rules
//!
//! The string to sign is the URL exactly as Twilio requested it, followed by each distinct form
//! parameter `key || value`, sorted by key and then value (UTF-8 bytes), with no separators. Because
//! Twilio is not consistent about ports, the URL as received, without its port, and with the scheme's
//! default port added are all accepted; nothing else is, unless you opt in with
//! [`RequestValidatorBuilder::allow_trailing_slash_variant`] or
//! [`RequestValidatorBuilder::allow_query_reencoding`]. A SharedKey request
//! (`X-Twilio-Webhooks-Signature-Settings`) is checked with that key's secret and named algorithm.
//!
//! A URL that carries `bodySHA256` is in body mode whatever the content type: its body must hash to
//! that value, so an entry point that only has decoded parameters rejects it
//! ([`Rejection::BodyNotHashed`]).
//!
//! # Web servers (feature `http`)
//!
//! | feature | adds |
//! |---|---|
//! | `http` | `WebhookVerifier` (validator + public-URL policy + body limit, verifying `http` 1 requests), `PublicUrl` (base URLs, `Host`, trusted proxies), `Incoming` |
//! | `redis` | `RedisStore`: replay protection shared by several instances through Redis |
//! | `serde` | `payload`: typed incoming message and call, message and call status callbacks |
//! | `diagnose` | `diagnose`: why a request was rejected, what Twilio signed and the setting to change (implies `http`) |
//!
//! With `http`, `WebhookVerifier` also takes a `ReplayGuard` (a second delivery of a signed request is
//! refused) and `AccountSecrets` (a subaccount's own token). The `twilio-webhook-axum` and
//! `twilio-webhook-actix` crates wrap `WebhookVerifier` for their framework; any other server builds
//! an `Incoming` from its request and calls `WebhookVerifier::verify_async`.
//!
//! # Getting the URL right
//!
//! The most common reason a genuine request is rejected is that the application rebuilt the URL
//! differently from what Twilio requested: a TLS-terminating proxy turns `https` into `http`, a tunnel
//! changes the host, a rewrite adds a trailing slash. Validate against the public URL you configured in
//! Twilio, not the one your server sees (with feature `http`, `PublicUrl` builds it).
//! [`Verified::matched_url`] shows what matched.
//!
//! # Untrusted input
//!
//! Every input is treated as hostile: no input makes this crate panic, the library has no `unsafe`,
//! signatures and body hashes are compared in constant time, and secrets are keyed once into HMAC
//! states that are wiped on drop and never printed by `Debug` or in errors. Configuration mistakes
//! (an empty secret, duplicate names) are errors at build time; a request that cannot be checked is a
//! rejection, never an acceptance.
//!
//! Validating a form request with up to 128 parameters performs no heap allocation once the
//! validator exists; 129 to 256 parameters cost two allocations, and the opt-in URL variants allocate
//! the rewritten URLs when they are tried.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
// docs.rs (`--cfg docsrs`, nightly) labels each item with the features it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(
    not(test),
    warn(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

#[cfg(feature = "http")]
mod accounts;
mod canonical;
#[cfg(feature = "diagnose")]
pub mod diagnose;
mod form;
mod headers;
#[cfg(feature = "http")]
mod http;
#[cfg(feature = "serde")]
pub mod payload;
#[cfg(feature = "http")]
mod public_url;
mod relax;
#[cfg(feature = "http")]
mod replay;
mod secret;
mod settings;
mod signature;
mod signer;
#[cfg(feature = "http")]
mod target;
mod url;
mod validator;
mod verdict;

#[cfg(feature = "http")]
pub use accounts::{AccountSecrets, CachedAccounts, LoadTokens, LookupError, StaticAccounts};
#[cfg(feature = "diagnose")]
pub use diagnose::{Cause, CauseCode, Diagnosis, Explanation, Hints, MAX_HMACS, Payload, Suspect};
pub use form::FormParam;
pub use headers::{SINGLE_FIELDS, SignatureHeaders};
#[cfg(feature = "http")]
pub use http::{
    BodyError, BodyExtent, BodyReader, BodySource, Checked, Clock, DEFAULT_BODY_LIMIT,
    DEFAULT_DIAGNOSES_PER_SECOND, Delivery, EnvError, MAX_FORM_PARTS, MAX_HASHED_BYTES, Refusal,
    ReportOnly, SINGLE_VALUED_PARAMETERS, VerifiedRequest, WebhookRejection, WebhookVerifier,
    check_parsed_form, check_parsed_request, check_parsed_webhook, check_shape, diagnoses_setting,
    encode_form, forwarded_cookies,
};
#[cfg(feature = "http")]
pub use public_url::{
    HeaderChange, Incoming, PassedHost, PublicUrl, PublicUrlError, header_folds_to,
    is_routing_header, url_hand_over_changes,
};
pub use relax::Relaxation;
#[cfg(feature = "http")]
pub use replay::{
    BoxFuture, DEFAULT_REPLAY_WINDOW, Duplicates, Entry, LeaseToken, MemoryStore, OnStoreError,
    ReplayGuard, ReplayKey, ReplayRefusal, ReplayStore, Seen, StoreError, StoredAnswer,
};
#[cfg(feature = "redis")]
pub use replay::{RedisStore, RedisTls};
pub use secret::ConfigError;
pub use settings::{SIGNATURE_HEADER, SIGNATURE_SETTINGS_HEADER, settings_header_value};
pub use signature::{Algorithm, body_matches_hex, body_sha256_hex};
pub use signer::{SignError, SignedBody, Signer, string_to_sign};
#[cfg(feature = "http")]
pub use target::{
    MAX_RULED_PATH, MAX_RULED_SEGMENTS, PathDecision, PathRules, TargetError, origin_form,
};
pub use url::PortVariant;
pub use validator::{RequestValidator, RequestValidatorBuilder};
pub use verdict::{Rejection, SecretId, SecretKind, Verified};

/// The crate's README (what crates.io shows), its example run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
