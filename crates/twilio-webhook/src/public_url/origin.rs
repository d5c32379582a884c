//! What a handler can read as a verified request's origin, against the origin the signature was made
//! for (issue 28, F17). A layer or middleware hands the request over first
//! ([`VerifiedRequest::hand_over`](crate::VerifiedRequest::hand_over)); an extractor cannot change
//! what the handler's other extractors read (axum's `HeaderMap` and `Host`, actix's
//! `connection_info().host()`, which reads `X-Forwarded-Host` and `Forwarded` from any peer), so the
//! request must already name the verified origin wherever a handler may read one.

use std::borrow::Cow;

use super::forwarded::{split_quoted, unquote};
use super::host::without_port;
use super::{Forwarded, Incoming, PublicUrl, target_authority, with_port};
use crate::VerifiedRequest;

/// Where a request names another origin than the verified one, and what it says there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OtherOrigin<'h> {
    /// The field: `Host`, `X-Forwarded-Host`, `X-Forwarded-Proto`, `Forwarded`, or the request URI.
    pub(crate) field: &'static str,
    /// What it says (`(not text)` for a value that is not visible ASCII).
    pub(crate) value: Cow<'h, str>,
}

impl OtherOrigin<'_> {
    /// Whether a trusted proxy may send this field with an internal value (`Host` and the URI's
    /// authority: nginx's default `proxy_pass` sets its upstream's name), unlike the forwarded fields,
    /// which a proxy sets to the public origin.
    pub(crate) fn is_host(&self) -> bool {
        matches!(self.field, HOST | URI)
    }
}

const HOST: &str = "Host";
const URI: &str = "the request URI's authority";
const XF_HOST: &str = "X-Forwarded-Host";
const XF_PROTO: &str = "X-Forwarded-Proto";
const FORWARDED: &str = "Forwarded";
const FORWARDED_HOST: &str = "Forwarded (host=)";
const FORWARDED_PROTO: &str = "Forwarded (proto=)";
const NOT_TEXT: &str = "(not text)";

impl PublicUrl {
    /// The first place where `request`, verified as `verified`, names another origin than the one
    /// verified, as a handler can read it; `None` when it names the verified origin everywhere:
    ///
    /// - every `X-Forwarded-Host` and `X-Forwarded-Proto` element, and every `host=` and `proto=` of
    ///   every `Forwarded` element, whatever the peer: Twilio never sends them, and a proxy that sets
    ///   them sets the public origin. An `X-Forwarded-Host` without a port may take it from the
    ///   nearest `X-Forwarded-Port`, as the policy joins them;
    /// - every `Host` field and the URI's authority (HTTP/2 `:authority`, an absolute-form target),
    ///   unless the peer is a trusted proxy, which may set an internal `Host` on purpose.
    ///
    /// Hosts compare as [`VerifiedRequest::names_authority`] does (ASCII case aside, a default port
    /// the same as none), schemes as [`VerifiedRequest::names_scheme`].
    pub(crate) fn other_origin<'h>(
        &self,
        verified: &VerifiedRequest,
        request: &Incoming<'h>,
    ) -> Option<OtherOrigin<'h>> {
        let headers = request.headers;
        let other = |field: &'static str, value: Option<&'h str>| OtherOrigin {
            field,
            value: Cow::Borrowed(value.unwrap_or(NOT_TEXT)),
        };
        let port = Forwarded::from_headers(headers).ok().and_then(|f| f.port);
        let names_host = |host: &str| {
            verified.names_authority(host)
                || port.is_some_and(|p| {
                    without_port(host) == host && verified.names_authority(&with_port(host, p))
                })
        };
        for value in headers.get_all("x-forwarded-host") {
            let Some(text) = value.to_str().ok() else {
                return Some(other(XF_HOST, None));
            };
            if let Some(host) = text.split(',').map(str::trim).find(|h| !names_host(h)) {
                return Some(other(XF_HOST, Some(host)));
            }
        }
        for value in headers.get_all("x-forwarded-proto") {
            let Some(text) = value.to_str().ok() else {
                return Some(other(XF_PROTO, None));
            };
            if let Some(proto) = text
                .split(',')
                .map(str::trim)
                .find(|p| !verified.names_scheme(p))
            {
                return Some(other(XF_PROTO, Some(proto)));
            }
        }
        for value in headers.get_all(http::header::FORWARDED) {
            let Some(text) = value.to_str().ok() else {
                return Some(other(FORWARDED, None));
            };
            // Read as RFC 7239 says (quoted strings kept whole) and as actix's `connection_info`
            // reads it (split at every `;` and `,`, quotes trimmed from either end): a value a
            // handler may read either way must name the verified origin (fifth outside attack,
            // A4-F7: `for="x;host=admin.internal"`).
            let quoted = split_quoted(text, b',')
                .flat_map(|element| split_quoted(element, b';'))
                .filter_map(|pair| pair.split_once('='))
                .map(|(name, value)| (name, unquote(value.trim())));
            let naive = text
                .split([',', ';'])
                .filter_map(|pair| pair.split_once('='))
                .map(|(name, value)| (name, value.trim().trim_matches('"')));
            for (name, value) in quoted.chain(naive) {
                let name = name.trim();
                if name.eq_ignore_ascii_case("host") && !verified.names_authority(value) {
                    return Some(other(FORWARDED_HOST, Some(value)));
                }
                if name.eq_ignore_ascii_case("proto") && !verified.names_scheme(value) {
                    return Some(other(FORWARDED_PROTO, Some(value)));
                }
            }
        }
        if self.is_trusted(request.peer) {
            return None;
        }
        for value in headers.get_all(http::header::HOST) {
            match value.to_str() {
                Ok(host) if verified.names_authority(host) => {}
                Ok(host) => return Some(other(HOST, Some(host))),
                Err(_) => return Some(other(HOST, None)),
            }
        }
        let authority = request
            .authority
            .or_else(|| target_authority(request.target));
        authority
            .filter(|a| !verified.names_authority(a))
            .map(|a| other(URI, Some(a)))
    }
}
