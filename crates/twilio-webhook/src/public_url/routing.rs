//! The headers that tell an application where and how a request was sent (host, scheme, port, path
//! prefix, URL, method) or through whom, and what a verified request is handed over with
//! ([`VerifiedRequest::hand_over`](crate::VerifiedRequest::hand_over)): one list for the guard, which
//! strips every client copy before it sets its own, and for every in-process adapter, whose app must
//! read only the origin, path and method that were verified.

use http::{HeaderMap, HeaderName, HeaderValue};

/// What an in-process hand-over does with a routing header the request carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// `X-Forwarded-Host`: set to the verified authority.
    Host,
    /// `X-Forwarded-Proto`: set to the verified scheme.
    Proto,
    /// `X-Forwarded-Port`: set to the verified URL's port.
    Port,
    /// `X-Forwarded-Prefix`: set to the verified URL's prefix, removed when it has none.
    Prefix,
    /// `Forwarded`: removed when it names a `host` or a `proto` (its `for=` and `by=` say through
    /// whom, not where).
    Forwarded,
    /// `X-Forwarded-For`: through whom, not where; kept (the guard rebuilds it, as a proxy).
    Chain,
    /// Everything else: removed.
    Other,
}

/// The routing headers: apps route or build URLs on them (Symfony and IIS `X-Original-URL`, Express
/// `method-override`, Django `USE_X_FORWARDED_HOST`, werkzeug's `ProxyFix`, Rails and Spring
/// forwarded-header filters, Rack's `X-Forwarded-Scheme` and `-Ssl`), each with what a hand-over does
/// with it. A name counts in every spelling a server folds to it ([`header_folds_to`]).
const ROUTING: &[(&str, Role)] = &[
    ("forwarded", Role::Forwarded),
    ("x-forwarded-for", Role::Chain),
    ("x-forwarded-host", Role::Host),
    ("x-forwarded-proto", Role::Proto),
    ("x-forwarded-port", Role::Port),
    ("x-forwarded-prefix", Role::Prefix),
    ("x-forwarded-scheme", Role::Other),
    ("x-forwarded-ssl", Role::Other),
    ("x-forwarded-server", Role::Other),
    ("x-forwarded-uri", Role::Other),
    ("x-forwarded-path", Role::Other),
    ("front-end-https", Role::Other),
    ("x-url-scheme", Role::Other),
    ("x-host", Role::Other),
    ("x-original-host", Role::Other),
    ("x-original-url", Role::Other),
    ("x-original-uri", Role::Other),
    ("x-rewrite-url", Role::Other),
    ("x-http-method-override", Role::Other),
    ("x-http-method", Role::Other),
    ("x-method-override", Role::Other),
    ("x-original-method", Role::Other),
    // The Flask `ReverseProxied` recipe's prefix, gunicorn's and Rack's scheme headers, and the
    // original-path headers of Envoy, IIS/ARR and CGI-style servers (third outside attack).
    ("x-script-name", Role::Other),
    ("script-name", Role::Other),
    ("x-scheme", Role::Other),
    ("x-forwarded-protocol", Role::Other),
    ("x-forwarded-https", Role::Other),
    ("x-original-path", Role::Other),
    ("x-original-proto", Role::Other),
    ("x-envoy-original-path", Role::Other),
    ("x-envoy-original-host", Role::Other),
    ("x-request-uri", Role::Other),
    ("x-ms-original-url", Role::Other),
    ("x-http-host-override", Role::Other),
    ("x-forwarded-hostname", Role::Other),
    // `Proxy` reaches CGI and FastCGI apps as `HTTP_PROXY`, which many HTTP clients take as their
    // outbound proxy ("httpoxy"), credentials included; CloudFront's and IIS ARR's scheme headers,
    // which Django `SECURE_PROXY_SSL_HEADER` recipes and ASP.NET read (sixth outside attack, A5-F11).
    ("proxy", Role::Other),
    ("cloudfront-forwarded-proto", Role::Other),
    ("x-arr-ssl", Role::Other),
];

/// Whether a header name reads as `canonical` (lower case) once a server folds it: letters and
/// digits case-insensitively, and every other character alike (CGI and WSGI map `-` to `_`, PHP maps
/// `.` and ` ` to `_` too: `X.Forwarded.Host` is `$_SERVER['HTTP_X_FORWARDED_HOST']`).
///
/// ```
/// use twilio_webhook::header_folds_to;
///
/// assert!(header_folds_to("X_Forwarded.Prefix", "x-forwarded-prefix"));
/// assert!(!header_folds_to("x-forwarded-prefix2", "x-forwarded-prefix"));
/// ```
pub fn header_folds_to(name: &str, canonical: &str) -> bool {
    name.len() == canonical.len()
        && name.bytes().zip(canonical.bytes()).all(|(a, b)| {
            if b.is_ascii_alphanumeric() {
                a.eq_ignore_ascii_case(&b)
            } else {
                !a.is_ascii_alphanumeric()
            }
        })
}

/// The role of a header name that folds to a routing header, if it does.
fn role(name: &str) -> Option<(&'static str, Role)> {
    ROUTING
        .iter()
        .find(|(canonical, _)| header_folds_to(name, canonical))
        .copied()
}

/// Whether a header name, in any spelling a server folds ([`header_folds_to`]), is one that tells an
/// application where or how a request was sent, or through whom (`Forwarded`, `X-Forwarded-*`,
/// `X-Original-URL`, `X-HTTP-Method-Override`, `X-Script-Name`, …): a proxy sends none of the
/// client's, an in-process adapter hands a verified request over with the verified ones
/// ([`VerifiedRequest::hand_over`](crate::VerifiedRequest::hand_over)).
///
/// ```
/// use twilio_webhook::is_routing_header;
///
/// assert!(is_routing_header("X-HTTP-Method-Override"));
/// assert!(is_routing_header("x_original_url"));
/// assert!(!is_routing_header("x-twilio-signature"));
/// ```
pub fn is_routing_header(name: &str) -> bool {
    role(name).is_some()
}

/// One change an in-process adapter makes to a verified request's headers before its app reads them
/// ([`VerifiedRequest::hand_over_changes`](crate::VerifiedRequest::hand_over_changes)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderChange {
    /// Every field of this name is replaced by one field with this value.
    Set(HeaderName, HeaderValue),
    /// Every field of this name goes.
    Remove(HeaderName),
}

impl HeaderChange {
    /// The header name the change is about.
    pub fn name(&self) -> &HeaderName {
        match self {
            HeaderChange::Set(name, _) | HeaderChange::Remove(name) => name,
        }
    }

    /// The value set, or `None` for a removal.
    pub fn value(&self) -> Option<&HeaderValue> {
        match self {
            HeaderChange::Set(_, value) => Some(value),
            HeaderChange::Remove(_) => None,
        }
    }
}

/// Whether a `Forwarded` value mentions `host` or `proto`, however spaced or quoted (`host =x`, and
/// actix splits inside quotes): a reader that trims names reads it (fifth outside attack, A4-F3).
fn names_origin(value: &HeaderValue) -> bool {
    let v = value.as_bytes().to_ascii_lowercase();
    v.windows(4).any(|w| w == b"host") || v.windows(5).any(|w| w == b"proto")
}

/// The port an authority names, else the default of `scheme` (`http` or `https`).
fn port_of<'a>(scheme: &str, authority: &'a str) -> &'a str {
    let host = super::host::without_port(authority);
    match authority
        .get(host.len()..)
        .and_then(|p| p.strip_prefix(':'))
    {
        Some(port) if !port.is_empty() => port,
        _ if scheme == "https" => "443",
        _ => "80",
    }
}

/// The origin a request was verified for, as a hand-over names it.
struct Origin<'a> {
    scheme: &'static str,
    authority: &'a str,
    port: &'a str,
    prefix: &'a str,
}

impl Origin<'_> {
    /// The changes of [`VerifiedRequest::hand_over_changes`](crate::VerifiedRequest::hand_over_changes).
    fn changes(&self, headers: &HeaderMap) -> Vec<HeaderChange> {
        let mut changes = Vec::new();
        let mut present = [false; 4];
        for name in headers.keys() {
            let Some((canonical, role)) = role(name.as_str()) else {
                continue;
            };
            let slot = match role {
                Role::Chain => continue,
                Role::Forwarded => {
                    if headers.get_all(name).iter().any(names_origin) {
                        changes.push(HeaderChange::Remove(name.clone()));
                    }
                    continue;
                }
                Role::Other => {
                    changes.push(HeaderChange::Remove(name.clone()));
                    continue;
                }
                Role::Host => 0,
                Role::Proto => 1,
                Role::Port => 2,
                Role::Prefix => 3,
            };
            if let Some(flag) = present.get_mut(slot) {
                *flag = true;
            }
            if name.as_str() != canonical {
                changes.push(HeaderChange::Remove(name.clone()));
            }
        }
        let prefix = self.prefix;
        let values = [
            (http::header::HOST, Some(self.authority)),
            (
                HeaderName::from_static("x-forwarded-host"),
                Some(self.authority),
            ),
            (
                HeaderName::from_static("x-forwarded-proto"),
                Some(self.scheme),
            ),
            (HeaderName::from_static("x-forwarded-port"), Some(self.port)),
            (
                HeaderName::from_static("x-forwarded-prefix"),
                (!prefix.is_empty()).then_some(prefix),
            ),
        ];
        for (i, (name, value)) in values.into_iter().enumerate() {
            // `Host` always; the others when the request has them.
            let wanted = match i.checked_sub(1) {
                None => true,
                Some(slot) => present.get(slot).copied().unwrap_or(false),
            };
            if !wanted {
                continue;
            }
            // The core built these from a plain authority and a prefix without controls: always a
            // header value. Were one not, the client's goes all the same.
            match value.and_then(|v| HeaderValue::from_str(v).ok()) {
                Some(value) => changes.push(HeaderChange::Set(name, value)),
                None => changes.push(HeaderChange::Remove(name)),
            }
        }
        changes
    }
}

/// [`VerifiedRequest::hand_over_changes`](crate::VerifiedRequest::hand_over_changes) for a request
/// verified against `url` (`scheme://authority/path…`, a `ws`/`wss` URL as its HTTP scheme) outside
/// the core's public-URL policy, where the URL has no prefix before the request's own target: an
/// adapter that checked a URL it built itself (the Express middleware after a body parser) hands its
/// app the same origin, and no other routing header. `None` for a URL without `://`.
///
/// ```
/// use twilio_webhook::{HeaderChange, url_hand_over_changes};
///
/// let mut headers = http::HeaderMap::new();
/// headers.insert("x-original-url", "/admin".parse()?);
/// let changes = url_hand_over_changes("https://hooks.example.com/sms", &headers).unwrap();
/// assert_eq!(changes, [
///     HeaderChange::Remove("x-original-url".parse()?),
///     HeaderChange::Set("host".parse()?, "hooks.example.com".parse()?),
/// ]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn url_hand_over_changes(url: &str, headers: &HeaderMap) -> Option<Vec<HeaderChange>> {
    if !url.contains("://") {
        return None;
    }
    let (scheme, authority) = super::host::origin_of(url);
    let origin = Origin {
        scheme,
        authority,
        port: port_of(scheme, authority),
        prefix: "",
    };
    Some(origin.changes(headers))
}

impl crate::VerifiedRequest {
    /// The path prefix the verified [`url`](Self::url) has before the request's own target: a base
    /// URL's (`/twilio` of `https://example.com/twilio`), or a trusted proxy's `X-Forwarded-Prefix`;
    /// empty for none.
    pub fn prefix(&self) -> &str {
        let url = self.url();
        let origin_end = url
            .find("://")
            .and_then(|at| {
                let rest = url.get(at + 3..)?;
                Some(at + 3 + rest.find(['/', '?']).unwrap_or(rest.len()))
            })
            .unwrap_or(0);
        url.get(origin_end..self.prefix_end()).unwrap_or_default()
    }

    /// The port of the verified origin, as `X-Forwarded-Port` says it: the one the
    /// [`authority`](Self::authority) names, else the [`scheme`](Self::scheme)'s default.
    pub fn port(&self) -> &str {
        port_of(self.scheme(), self.authority())
    }

    /// What an in-process adapter changes in a verified request's headers so that its app reads only
    /// the origin, path and method that were verified, whatever the client sent
    /// ([`hand_over`](Self::hand_over) applies them to an `http` header map; a binding applies them to
    /// its own). Removals come first:
    ///
    /// - `Host` is set to the verified [`authority`](Self::authority);
    /// - `X-Forwarded-Host`, `-Proto` and `-Port`, when the request has them (in any spelling a
    ///   server folds to them, [`header_folds_to`]), are set to the verified authority, scheme and
    ///   [`port`](Self::port), each spelling but the canonical one removed;
    /// - `X-Forwarded-Prefix`, when the request has one, is set to the verified URL's
    ///   [`prefix`](Self::prefix), or removed when it has none. A trusted proxy's prefix was part of
    ///   the URL verified (the policy joined it), and a base URL's prefix is the path the proxy in
    ///   front removed: an app behind that proxy builds its URLs with it and keeps doing so, reading
    ///   the URL that was verified. A prefix the URL did not have is the client's alone (werkzeug's
    ///   `ProxyFix` moved a genuine SMS to `/admin/sms`, sixth outside attack, A5-F2);
    /// - a `Forwarded` field that names a `host` or a `proto` is removed (its other parameters too:
    ///   it cannot be rewritten in part without reading it as every app would);
    /// - every other [routing header](is_routing_header) is removed in every spelling
    ///   (`X-Original-URL`, `X-Rewrite-URL`, `X-HTTP-Method-Override`, `X-Script-Name`,
    ///   `X-Forwarded-Scheme`, …): no signature covers them, and an app routing or building URLs on
    ///   them would run another path or method than the one verified. `X-Forwarded-For` and a
    ///   `Forwarded` without a host or proto (through whom, not where) stay.
    ///
    /// ```
    /// # use twilio_webhook::{HeaderChange, Incoming, PublicUrl, RequestValidator, WebhookVerifier};
    /// # let validator = RequestValidator::try_new("12345")?;
    /// # let signature = validator.compute_signature("https://hooks.example.com/sms", [("Body", "Hi")]);
    /// # let verifier = WebhookVerifier::new(validator).public_url(PublicUrl::base("https://hooks.example.com")?);
    /// let mut headers = http::HeaderMap::new();
    /// # headers.insert("content-type", "application/x-www-form-urlencoded".parse()?);
    /// # headers.insert("x-twilio-signature", signature.parse()?);
    /// headers.insert("host", "admin.internal".parse()?);
    /// headers.insert("x-http-method-override", "DELETE".parse()?);
    /// headers.insert("x-forwarded-prefix", "/admin".parse()?);
    /// let verified = verifier.verify(&Incoming::new(&http::Method::POST, "/sms", &headers), b"Body=Hi")?;
    /// let changes = verified.hand_over_changes(&headers);
    /// assert!(changes.contains(&HeaderChange::Remove("x-http-method-override".parse()?)));
    /// assert!(changes.contains(&HeaderChange::Remove("x-forwarded-prefix".parse()?)));
    /// assert!(changes.contains(&HeaderChange::Set("host".parse()?, "hooks.example.com".parse()?)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hand_over_changes(&self, headers: &HeaderMap) -> Vec<HeaderChange> {
        let origin = Origin {
            scheme: self.scheme(),
            authority: self.authority(),
            port: self.port(),
            prefix: self.prefix(),
        };
        origin.changes(headers)
    }

    /// Makes `headers` name only the origin, path and method the request was verified for, as an
    /// in-process adapter hands the request to its app: the changes of
    /// [`hand_over_changes`](Self::hand_over_changes), applied. So an app that picks its tenant,
    /// virtual host, path prefix or method from any of them reads the one the signature was made for,
    /// whatever the client sent: with one public URL configured, the client's `Host` decides nothing
    /// in the verification, and must decide nothing after it either.
    pub fn hand_over(&self, headers: &mut HeaderMap) {
        for change in self.hand_over_changes(headers) {
            match change {
                HeaderChange::Set(name, value) => {
                    headers.insert(name, value);
                }
                HeaderChange::Remove(name) => {
                    headers.remove(name);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
