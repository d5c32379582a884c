//! Which URL Twilio signed (feature `http`): the public-URL policy every adapter uses.
//!
//! Twilio signs the URL it requested, which is rarely the URL the application sees: a TLS-terminating
//! proxy turns `https` into `http`, a tunnel changes the host, an ingress strips a path prefix. The
//! policy rebuilds the public URL from, in order of preference:
//!
//! 1. **configured base URLs** (`https://example.com` or `https://example.com/prefix`): each is joined
//!    with the request target exactly as received (path and query bytes untouched) and tried in turn.
//!    Request headers are not consulted at all;
//! 2. otherwise the **`Host` header** (or the HTTP/2 authority) with the connection's scheme, where
//!    **trusted proxies** may override scheme, host, port and prefix with `Forwarded` (RFC 7239) or
//!    `X-Forwarded-Proto/-Host/-Port/-Prefix`. Those headers are honoured only when the peer address
//!    is in a configured set; from anyone else they are ignored, since whoever sets them chooses the URL
//!    the signature is checked against. When `Forwarded` and `X-Forwarded-Host` (or `-Proto`) both
//!    speak and disagree, the request is refused as `bad_host`: one of them came from the client.
//!
//! The request target is the core's to read ([`origin_form`](crate::origin_form)): an absolute-form
//! target counts by its path and query, any other form gives no URL. A WebSocket handshake (and only
//! a real one: see [`Incoming::is_websocket_handshake`]) maps `https` to `wss` and `http` to `ws`.

use core::fmt;
use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// A mistake in a public-URL configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicUrlError {
    /// A base URL that is not `http(s)://host[:port][/prefix]`; the text says why, without the URL
    /// (which may hold a password).
    InvalidBaseUrl(String),
    /// A trusted proxy that is neither an IP address nor a CIDR range (the entry is not kept: no
    /// setting's value goes into an error).
    InvalidProxy,
}

impl fmt::Display for PublicUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublicUrlError::InvalidBaseUrl(why) => write!(f, "invalid public base URL: {why}"),
            PublicUrlError::InvalidProxy => {
                f.write_str("a trusted proxy is neither an IP address nor a CIDR range")
            }
        }
    }
}

impl std::error::Error for PublicUrlError {}

/// A configured public base URL: `scheme://authority` and a path prefix without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Base {
    scheme: &'static str,
    authority: String,
    prefix: String,
}

/// How to rebuild the URL Twilio requested from a request a server received.
///
/// ```
/// use twilio_webhook::PublicUrl;
///
/// // Behind a tunnel or a TLS-terminating proxy: say what Twilio calls.
/// let fixed = PublicUrl::base("https://abc123.ngrok.app")?;
/// // Or trust the proxy's forwarded headers, from the proxy's address only.
/// let forwarded = PublicUrl::from_host().trust_proxy("10.0.0.0/8")?;
/// # Ok::<(), twilio_webhook::PublicUrlError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    bases: Vec<Base>,
    trusted: Vec<IpNet>,
    connection_scheme: &'static str,
}

impl Default for PublicUrl {
    fn default() -> Self {
        PublicUrl::from_host()
    }
}

/// What the policy needs to know about a received request.
#[derive(Debug, Clone, Copy)]
pub struct Incoming<'a> {
    /// The request method.
    pub method: &'a http::Method,
    /// The request target exactly as received: path and query (`/sms?x=1`), or an absolute-form
    /// target (`http://host/sms?x=1`), of which the path and query count.
    pub target: &'a str,
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The connection's peer address, if known (needed to trust a proxy).
    pub peer: Option<IpAddr>,
    /// The scheme of an absolute request URI or HTTP/2 request, if any.
    pub scheme: Option<&'a str>,
    /// The authority of an absolute request URI or HTTP/2 request, if any (preferred to `Host`).
    pub authority: Option<&'a str>,
}

impl<'a> Incoming<'a> {
    /// A request with this method, target and headers; no peer address, scheme or authority.
    pub fn new(method: &'a http::Method, target: &'a str, headers: &'a HeaderMap) -> Self {
        Incoming {
            method,
            target,
            headers,
            peer: None,
            scheme: None,
            authority: None,
        }
    }

    /// The method, target, scheme and authority of `parts` and its headers; no peer address.
    pub fn from_parts(parts: &'a http::request::Parts) -> Self {
        Incoming {
            method: &parts.method,
            target: parts.uri.path_and_query().map_or("/", |pq| pq.as_str()),
            headers: &parts.headers,
            peer: None,
            scheme: parts.uri.scheme_str(),
            authority: parts.uri.authority().map(|a| a.as_str()),
        }
    }

    /// Sets the peer address (from the server's connection info).
    #[must_use]
    pub fn with_peer(mut self, peer: Option<IpAddr>) -> Self {
        self.peer = peer;
        self
    }

    /// Replaces the target: for a router that strips a prefix before the handler sees the URI
    /// (axum's `OriginalUri` holds the one received).
    #[must_use]
    pub fn with_target(mut self, target: &'a str) -> Self {
        self.target = target;
        self
    }

    /// Whether this is a WebSocket handshake (RFC 6455): a `GET` with `Upgrade: websocket`,
    /// `Connection: upgrade` (as tokens, any case) and no body framing (no `Transfer-Encoding`, no
    /// `Content-Length` other than `0`). Only such a request is verified against the `ws`/`wss` URL
    /// and may have its body left unread ([`WebhookVerifier::reads_body`](crate::WebhookVerifier::reads_body)):
    /// anything else is read and verified as a plain request, and one that asks for a WebSocket
    /// without being a handshake is refused. (HTTP/2's extended `CONNECT` is not recognised.)
    ///
    /// ```
    /// use twilio_webhook::Incoming;
    ///
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("connection", "keep-alive, Upgrade".parse()?);
    /// headers.insert("upgrade", "websocket".parse()?);
    /// assert!(Incoming::new(&http::Method::GET, "/ws", &headers).is_websocket_handshake());
    /// assert!(!Incoming::new(&http::Method::POST, "/ws", &headers).is_websocket_handshake());
    /// headers.insert("content-length", "12".parse()?);
    /// assert!(!Incoming::new(&http::Method::GET, "/ws", &headers).is_websocket_handshake());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_websocket_handshake(&self) -> bool {
        let headers = self.headers;
        *self.method == http::Method::GET
            && has_token(headers, http::header::UPGRADE, "websocket")
            && has_token(headers, http::header::CONNECTION, "upgrade")
            && !headers.contains_key(http::header::TRANSFER_ENCODING)
            && headers
                .get_all(http::header::CONTENT_LENGTH)
                .iter()
                .all(|v| v.as_bytes() == b"0")
    }

    /// Whether the request asks for a WebSocket (`Upgrade: websocket`), handshake or not.
    pub(crate) fn asks_for_websocket(&self) -> bool {
        has_token(self.headers, http::header::UPGRADE, "websocket")
    }
}

/// Whether a comma-separated header holds `token` (any case) in any of its occurrences.
fn has_token(headers: &HeaderMap, name: http::header::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

impl PublicUrl {
    /// No base URL: `Host` plus the connection's scheme (`http` unless set with
    /// [`connection_scheme`](Self::connection_scheme)).
    pub fn from_host() -> Self {
        PublicUrl {
            bases: Vec::new(),
            trusted: Vec::new(),
            connection_scheme: "http",
        }
    }

    /// One public base URL: `http(s)://host[:port][/prefix]`, as configured in Twilio.
    pub fn base(url: &str) -> Result<Self, PublicUrlError> {
        PublicUrl::from_host().also_base(url)
    }

    /// Adds another base URL (one app under several domains): each is tried in the order added.
    pub fn also_base(mut self, url: &str) -> Result<Self, PublicUrlError> {
        self.bases.push(parse_base(url)?);
        Ok(self)
    }

    /// Trusts `Forwarded` and `X-Forwarded-*` from peers in `proxy` (`10.0.0.7`, `10.0.0.0/8`,
    /// `::1`). Only used when no base URL is configured.
    pub fn trust_proxy(mut self, proxy: &str) -> Result<Self, PublicUrlError> {
        let proxy = proxy.trim();
        let net = match proxy.parse::<IpNet>() {
            Ok(net) => net,
            Err(_) => proxy
                .parse::<IpAddr>()
                .map(IpNet::from)
                .map_err(|_| PublicUrlError::InvalidProxy)?,
        };
        self.trusted.push(net);
        Ok(self)
    }

    /// The scheme of connections to this server when no proxy says otherwise: `"https"` when the
    /// server terminates TLS itself. Anything but `https` (any case) means `http`.
    #[must_use]
    pub fn connection_scheme(mut self, scheme: &str) -> Self {
        self.connection_scheme = if scheme.eq_ignore_ascii_case("https") {
            "https"
        } else {
            "http"
        };
        self
    }

    /// The path prefixes of the configured base URLs (`/twilio` of `https://example.com/twilio`).
    #[cfg_attr(not(feature = "diagnose"), allow(dead_code))]
    pub(crate) fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.bases
            .iter()
            .map(|b| b.prefix.as_str())
            .filter(|p| !p.is_empty())
    }

    /// Whether any proxy is trusted.
    pub(crate) fn trusts_proxies(&self) -> bool {
        !self.trusted.is_empty()
    }

    /// Whether a peer's forwarded headers are honoured.
    pub fn is_trusted(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|ip| self.trusted.iter().any(|net| net.contains(&ip)))
    }

    /// The URLs Twilio may have requested, in the order to try them. Empty when there is no base URL
    /// and no host to build one from, when the host to build one from is not a plain authority
    /// (spec §4.5: [`WebhookVerifier`](crate::WebhookVerifier) refuses such a request as `bad_host`), or
    /// when the request target is neither in origin nor in absolute form
    /// ([`origin_form`](crate::origin_form)).
    pub fn urls(&self, request: &Incoming<'_>) -> Vec<String> {
        self.try_urls(request).unwrap_or_default()
    }

    /// [`urls`](Self::urls), or [`BadHost`] when a URL would be rebuilt from a host that is not a plain
    /// authority (spec §4.5): a `Host` (or HTTP/2 authority, or a trusted proxy's forwarded host) with
    /// userinfo, a path, a query, a fragment, `%`, spaces or other characters a host cannot have, or
    /// more than one `Host` field, or a trusted proxy's `Forwarded` and `X-Forwarded-Host` (or
    /// `-Proto`) that disagree. Configured base URLs never consult the request's host.
    pub(crate) fn try_urls(&self, request: &Incoming<'_>) -> Result<Vec<String>, BadHost> {
        let Ok(target) = crate::target::origin_form(request.target) else {
            return Ok(Vec::new());
        };
        let websocket = request.is_websocket_handshake();
        let join = |scheme: &str, authority: &str, prefix: &str| {
            let scheme = if websocket { ws_scheme(scheme) } else { scheme };
            // One allocation of the right size, without the formatting machinery: this runs for
            // every request.
            let mut url = String::with_capacity(
                scheme.len() + 3 + authority.len() + prefix.len() + target.len(),
            );
            for part in [scheme, "://", authority, prefix, &target] {
                url.push_str(part);
            }
            url
        };
        if !self.bases.is_empty() {
            // Several base URLs and a `Host` naming one of them: only that host's are tried, so that
            // a request signed for one host is never handed to an app that reads another from `Host`
            // (a tenant picked by host). A `Host` naming none (a proxy's internal name) tries them all.
            let host = match self.bases.as_slice() {
                [_, _, ..] => request_host(request).ok().flatten(),
                _ => None,
            };
            let named = |b: &&Base| host.is_some_and(|h| b.authority.eq_ignore_ascii_case(h));
            let any_named = self.bases.iter().any(|b| named(&b));
            return Ok(self
                .bases
                .iter()
                .filter(|b| !any_named || named(b))
                .map(|b| join(b.scheme, &b.authority, &b.prefix))
                .collect());
        }
        let mut scheme = request.scheme.map_or(self.connection_scheme, known_scheme);
        let mut authority = request_host(request)?.map(std::borrow::Cow::Borrowed);
        let mut prefix = "";
        if self.is_trusted(request.peer) {
            let forwarded = Forwarded::from_headers(request.headers)?;
            if let Some(proto) = forwarded.proto {
                scheme = proto;
            }
            if let Some(host) = forwarded.host {
                if !is_authority(host) {
                    return Err(BadHost);
                }
                authority = Some(std::borrow::Cow::Borrowed(host));
            }
            if let (Some(port), Some(a)) = (forwarded.port, authority.as_mut()) {
                *a = std::borrow::Cow::Owned(with_port(a, port));
            }
            if let Some(p) = forwarded.prefix {
                prefix = p;
            }
        }
        Ok(authority
            .map(|a| join(scheme, &a, prefix))
            .into_iter()
            .collect())
    }
}

/// A URL would be rebuilt from a host that is not a plain authority (spec §4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadHost;

/// The host a request names: its HTTP/2 or absolute-form authority, else its one `Host` field; `None`
/// when it names none. More than one `Host` field, a value that is not text, or one that is not a
/// plain authority is [`BadHost`] (spec §4.5, RFC 9112 §3.2), and so is a `Host` field that names
/// another host than the request's authority (RFC 9113 §8.3.1): the server verifies on the
/// authority while the app reads `Host`, so a request signed for one virtual host would run
/// another's handler.
fn request_host<'h>(request: &Incoming<'h>) -> Result<Option<&'h str>, BadHost> {
    let field = only_host(request.headers)?;
    let authority = request
        .authority
        .or_else(|| target_authority(request.target));
    match (authority, field) {
        (Some(authority), _) if !is_authority(authority) => Err(BadHost),
        (Some(authority), Some(field)) => plain_host(field)?
            .eq_ignore_ascii_case(authority)
            .then_some(Some(authority))
            .ok_or(BadHost),
        (Some(authority), None) => Ok(Some(authority)),
        (None, field) => field.map(plain_host).transpose(),
    }
}

/// The authority of an absolute-form target (`http://host/sms`), if it is one.
fn target_authority(target: &str) -> Option<&str> {
    if target.starts_with('/') {
        return None;
    }
    let (_, rest) = target.split_once("://")?;
    rest.get(..rest.find(['/', '?', '#']).unwrap_or(rest.len()))
}

/// The one `Host` field of `headers`, if there is one; more than one is [`BadHost`].
fn only_host(headers: &HeaderMap) -> Result<Option<&http::HeaderValue>, BadHost> {
    let mut fields = headers.get_all(http::header::HOST).iter();
    let first = fields.next();
    match fields.next() {
        Some(_) => Err(BadHost),
        None => Ok(first),
    }
}

/// A `Host` value as a plain authority, or [`BadHost`].
fn plain_host(value: &http::HeaderValue) -> Result<&str, BadHost> {
    value
        .to_str()
        .ok()
        .filter(|host| is_authority(host))
        .ok_or(BadHost)
}

fn parse_base(url: &str) -> Result<Base, PublicUrlError> {
    // What is wrong, never the value: a URL may carry a password (`https://user:password@…`).
    let bad = |why: &str| PublicUrlError::InvalidBaseUrl(why.to_string());
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| bad("expected http:// or https://"))?;
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else if scheme.eq_ignore_ascii_case("http") {
        "http"
    } else {
        return Err(bad("the scheme must be http or https"));
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if !is_authority(authority) {
        return Err(bad(
            "the host is empty or has characters a host cannot have (a user:password@ among them)",
        ));
    }
    if path.contains(['?', '#']) || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(bad(
            "a base URL has no query, fragment, spaces or control characters",
        ));
    }
    Ok(Base {
        scheme,
        authority: authority.to_string(),
        prefix: path.trim_end_matches('/').to_string(),
    })
}

/// A plain authority (spec §4.5): a name of letters, digits, `-`, `.`, `_` and `~` (which covers an IPv4
/// address) or a bracketed IPv6 literal, then optionally `:` and a port of one to five digits. No
/// userinfo, path, query, fragment, `%`, space or other character.
fn is_authority(a: &str) -> bool {
    let (host_ok, after) = match a.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((inside, after)) => (
                inside.contains(':')
                    && inside
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.')),
                after,
            ),
            None => (false, ""),
        },
        None => {
            let (host, after) = a.split_at(a.find(':').unwrap_or(a.len()));
            (
                !host.is_empty()
                    && host.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'~')
                    }),
                after,
            )
        }
    };
    host_ok
        && (after.is_empty()
            || after.strip_prefix(':').is_some_and(|port| {
                (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit())
            }))
}

/// `https` for a TLS scheme (`https`, or `wss` as an ASGI WebSocket scope says), else `http`.
fn known_scheme(s: &str) -> &'static str {
    if s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("wss") {
        "https"
    } else {
        "http"
    }
}

fn ws_scheme(scheme: &str) -> &'static str {
    if scheme == "https" { "wss" } else { "ws" }
}

/// `authority` with its port set to `port`.
fn with_port(authority: &str, port: &str) -> String {
    let host_end = if authority.starts_with('[') {
        authority.find(']').map_or(authority.len(), |i| i + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    let host = authority.get(..host_end).unwrap_or(authority);
    format!("{host}:{port}")
}

mod forwarded;
use forwarded::Forwarded;
#[cfg(feature = "diagnose")]
pub(crate) use forwarded::{split_quoted, unquote};

mod host;
pub use host::PassedHost;

mod origin;
pub(crate) use origin::OtherOrigin;

mod routing;
pub use routing::{HeaderChange, header_folds_to, is_routing_header, url_hand_over_changes};

#[cfg(test)]
mod tests;
