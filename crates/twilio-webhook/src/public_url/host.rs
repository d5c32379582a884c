//! The `Host` a proxy forwards: the authority a request was verified against, or for a request passed
//! unverified, the first base URL's or the request's own single plain `Host`. And what it says in
//! `X-Forwarded-Proto` and `X-Forwarded-Host`: the scheme and authority of the URL the policy built.

use http::HeaderMap;

use super::{PublicUrl, only_host, plain_host};

/// The `Host` a proxy sends upstream with a request it passes without verifying it
/// ([`PublicUrl::passed_host`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PassedHost<'a> {
    /// This authority (`host[:port]`): the first base URL's, or the request's own single `Host`.
    Authority(&'a str),
    /// No base URL and no `Host` (HTTP/1.0): the proxy's own choice, its upstream's.
    Missing,
    /// No base URL, and several `Host` fields or one that is not a plain authority: refuse it
    /// (`400`), forward no guess.
    Bad,
}

impl PublicUrl {
    /// What a proxy sends as `Host` with a request it passes unverified: the authority of the first
    /// base URL when there is one (the app sees the same virtual host as for a verified request),
    /// else the request's own `Host` when it has exactly one and it is a plain authority.
    ///
    /// ```
    /// use http::HeaderMap;
    /// use twilio_webhook::{PassedHost, PublicUrl};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("host", "admin.internal".parse().unwrap());
    /// let fixed = PublicUrl::base("https://hooks.example.com/twilio")?;
    /// assert_eq!(fixed.passed_host(&headers), PassedHost::Authority("hooks.example.com"));
    /// let from_host = PublicUrl::from_host();
    /// assert_eq!(from_host.passed_host(&headers), PassedHost::Authority("admin.internal"));
    /// headers.append("host", "hooks.example.com".parse().unwrap());
    /// assert_eq!(from_host.passed_host(&headers), PassedHost::Bad);
    /// assert_eq!(from_host.passed_host(&HeaderMap::new()), PassedHost::Missing);
    /// # Ok::<(), twilio_webhook::PublicUrlError>(())
    /// ```
    pub fn passed_host<'a>(&'a self, headers: &'a HeaderMap) -> PassedHost<'a> {
        if let Some(base) = self.bases.first() {
            return PassedHost::Authority(host_of(&base.authority));
        }
        match only_host(headers).and_then(|field| field.map(plain_host).transpose()) {
            Ok(Some(host)) => PassedHost::Authority(host),
            Ok(None) => PassedHost::Missing,
            Err(_) => PassedHost::Bad,
        }
    }
}

impl PublicUrl {
    /// The scheme (`http` or `https`) and authority a proxy tells its upstream
    /// (`X-Forwarded-Proto`, `X-Forwarded-Host`) with a request it passes unverified: those of the
    /// first URL this policy builds for the request ([`urls`](Self::urls): a base URL's, or the
    /// request's `Host` with a trusted proxy's forwarded headers); `None` when it builds none.
    ///
    /// ```
    /// use http::{HeaderMap, Method};
    /// use twilio_webhook::{Incoming, PublicUrl};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("host", "admin.internal".parse().unwrap());
    /// headers.insert("x-forwarded-host", "evil.example".parse().unwrap());
    /// let request = Incoming::new(&Method::GET, "/health", &headers);
    /// let fixed = PublicUrl::base("https://hooks.example.com/twilio")?;
    /// assert_eq!(fixed.passed_origin(&request), Some(("https", "hooks.example.com".into())));
    /// // The client's forwarded headers count only from a trusted proxy.
    /// let from_host = PublicUrl::from_host();
    /// assert_eq!(from_host.passed_origin(&request), Some(("http", "admin.internal".into())));
    /// # Ok::<(), twilio_webhook::PublicUrlError>(())
    /// ```
    pub fn passed_origin(&self, request: &crate::Incoming<'_>) -> Option<(&'static str, String)> {
        let url = self.urls(request).into_iter().next()?;
        let (scheme, authority) = origin_of(&url);
        Some((scheme, authority.to_owned()))
    }
}

impl crate::VerifiedRequest {
    /// The scheme of the URL the request was verified against, as a proxy tells its upstream in
    /// `X-Forwarded-Proto`: `https` (for `https` and `wss`) or `http`.
    pub fn scheme(&self) -> &'static str {
        origin_of(self.url()).0
    }

    /// The authority (`host[:port]`, never userinfo) of the URL the signature was made for: the
    /// `Host` a proxy forwards with the request, so that the app's virtual host is the one the
    /// signature was made for, whatever `Host` the client sent. That is the authority of the URL
    /// the request was verified against ([`url`](Self::url)), without its port when the signature
    /// matched the URL without it (issue 28, F12: with no public URL, `Host: example.com:9999`
    /// verifies a signature made for `https://example.com/…`, and the port is the client's alone).
    /// When the signature matched with the scheme's default port added, the authority stays
    /// without it: the same origin.
    pub fn authority(&self) -> &str {
        let authority = origin_of(self.url()).1;
        if self.verified().port_variant() == crate::PortVariant::PortRemoved {
            without_port(authority)
        } else {
            authority
        }
    }

    /// Whether `given` (a `Host`, a URI's authority, an `X-Forwarded-Host` or a `Forwarded` `host=`)
    /// names the origin's [`authority`](Self::authority): the same host, ASCII case aside, and the
    /// same port, a port equal to the [`scheme`](Self::scheme)'s default being the same as none
    /// (`hooks.example.com:443` is `https://hooks.example.com`), and any port when the signature
    /// matched the URL without its port. Anything else names another origin.
    pub(crate) fn names_authority(&self, given: &str) -> bool {
        /// The host and the port (`:8443`; empty for none or the default one) of an authority.
        fn split<'a>(authority: &'a str, default: Option<&str>) -> (&'a str, &'a str) {
            let host = without_port(authority);
            let port = authority.get(host.len()..).unwrap_or_default();
            (host, if Some(port) == default { "" } else { port })
        }
        let default = crate::url::default_port(self.scheme());
        let (host, port) = split(self.authority(), default);
        let (given_host, given_port) = split(given, default);
        // A signature that matched without the URL's port (Twilio signs some URLs so) did not cover
        // it: the port Twilio sent with it is not another origin.
        let port_unsigned = self.verified().port_variant() == crate::PortVariant::PortRemoved;
        !given_host.is_empty()
            && given_host.eq_ignore_ascii_case(host)
            && (given_port == port || port_unsigned)
    }

    /// Whether `given` (an `X-Forwarded-Proto` or a `Forwarded` `proto=`) names the origin's
    /// [`scheme`](Self::scheme): `https` or `wss` for `https`, `http` or `ws` for `http`, any case.
    pub(crate) fn names_scheme(&self, given: &str) -> bool {
        let http_level = if given.eq_ignore_ascii_case("https") || given.eq_ignore_ascii_case("wss")
        {
            "https"
        } else if given.eq_ignore_ascii_case("http") || given.eq_ignore_ascii_case("ws") {
            "http"
        } else {
            return false;
        };
        http_level == self.scheme()
    }

    /// `uri` naming the origin the request was verified for, when it names one (an absolute-form
    /// target, an HTTP/2 `:authority`): the verified [`scheme`](Self::scheme) and
    /// [`authority`](Self::authority), its path and query kept; `None` for an origin-form `uri`,
    /// which names no origin, and so needs no change.
    ///
    /// ```
    /// # use twilio_webhook::{Incoming, PublicUrl, RequestValidator, WebhookVerifier};
    /// # let validator = RequestValidator::try_new("12345")?;
    /// # let signature = validator.compute_signature("https://hooks.example.com/sms", [("Body", "Hi")]);
    /// # let verifier = WebhookVerifier::new(validator).public_url(PublicUrl::base("https://hooks.example.com")?);
    /// # let mut headers = http::HeaderMap::new();
    /// # headers.insert("content-type", "application/x-www-form-urlencoded".parse()?);
    /// # headers.insert("x-twilio-signature", signature.parse()?);
    /// # let verified = verifier.verify(&Incoming::new(&http::Method::POST, "/sms", &headers), b"Body=Hi")?;
    /// let sent: http::Uri = "http://admin.internal/sms?x=1".parse()?;
    /// assert_eq!(verified.handed_over_uri(&sent).unwrap(), "https://hooks.example.com/sms?x=1");
    /// assert_eq!(verified.handed_over_uri(&"/sms".parse()?), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn handed_over_uri(&self, uri: &http::Uri) -> Option<http::Uri> {
        uri.authority()?;
        http::Uri::builder()
            .scheme(self.scheme())
            .authority(self.authority())
            .path_and_query(uri.path_and_query().map_or("/", |pq| pq.as_str()))
            .build()
            .ok()
    }
}

/// An authority without its port (`:` and what follows the host; an IPv6 literal keeps its
/// brackets).
pub(super) fn without_port(authority: &str) -> &str {
    let host_end = if authority.starts_with('[') {
        authority
            .find(']')
            .map_or(authority.len(), |close| close + 1)
    } else {
        authority.find(':').unwrap_or(authority.len())
    };
    authority.get(..host_end).unwrap_or(authority)
}

/// The scheme (`https` for `https` and `wss`, else `http`) and authority (without userinfo) of a URL.
pub(super) fn origin_of(url: &str) -> (&'static str, &str) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let scheme = if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        "https"
    } else {
        "http"
    };
    (scheme, host_of(rest.get(..end).unwrap_or(rest)))
}

/// An authority without its userinfo (`user:password@`), if it has any.
fn host_of(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::http::WebhookVerifier;
    use crate::{Algorithm, RequestValidator, Signer};

    #[test]
    fn a_passed_request_gets_the_first_base_urls_authority_with_its_port() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "admin.internal".parse().unwrap());
        let policy = PublicUrl::base("https://hooks.example.com:8443/twilio").unwrap();
        assert_eq!(
            policy.passed_host(&headers),
            PassedHost::Authority("hooks.example.com:8443")
        );
    }

    #[test]
    fn a_passed_request_is_told_the_origin_of_the_url_the_policy_built() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "admin.internal:8080".parse().unwrap());
        let request = crate::Incoming::new(&http::Method::GET, "/health", &headers);
        let policy = PublicUrl::base("https://hooks.example.com:8443/twilio").unwrap();
        assert_eq!(
            policy.passed_origin(&request),
            Some(("https", "hooks.example.com:8443".to_string()))
        );
        assert_eq!(
            PublicUrl::from_host().passed_origin(&request),
            Some(("http", "admin.internal:8080".to_string()))
        );
        let bare = HeaderMap::new();
        let request = crate::Incoming::new(&http::Method::GET, "/health", &bare);
        assert_eq!(PublicUrl::from_host().passed_origin(&request), None);
    }

    #[test]
    fn a_verified_request_has_the_authority_it_was_verified_against() {
        // Whatever `Host` the client sent: the base URL's authority, port included, no path or query.
        let policy = PublicUrl::base("https://hooks.example.com:8443/twilio").unwrap();
        let verifier =
            WebhookVerifier::new(RequestValidator::new("host-test-token")).public_url(policy);
        let signature = Signer::new("host-test-token", Algorithm::HmacSha1)
            .unwrap()
            .sign_form(
                "https://hooks.example.com:8443/twilio/sms?x=1",
                [("Body", "Hi")],
            );
        let parts = http::Request::post("/sms?x=1")
            .header("host", "client.example")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-twilio-signature", signature)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let verified = verifier.verify_parts(&parts, b"Body=Hi").unwrap();
        assert_eq!(verified.authority(), "hooks.example.com:8443");
        // Handed over, every header an app may read its origin from names the verified one.
        let mut headers = parts.headers.clone();
        headers.insert("x-forwarded-host", "victim.example".parse().unwrap());
        headers.insert("x-forwarded-proto", "http".parse().unwrap());
        headers.insert(
            "forwarded",
            "for=1.2.3.4;Host=victim.example".parse().unwrap(),
        );
        verified.hand_over(&mut headers);
        let get = |n: &str| headers.get(n).map(|v| v.to_str().unwrap());
        assert_eq!(get("host"), Some("hooks.example.com:8443"));
        assert_eq!(get("x-forwarded-host"), Some("hooks.example.com:8443"));
        assert_eq!(get("x-forwarded-proto"), Some("https"));
        assert_eq!(get("forwarded"), None);
        // Headers the request did not have are not added; a `Forwarded` without an origin stays.
        let mut headers = HeaderMap::new();
        headers.insert("forwarded", "for=1.2.3.4".parse().unwrap());
        verified.hand_over(&mut headers);
        assert_eq!(headers.get("x-forwarded-host"), None);
        assert_eq!(headers.get("x-forwarded-proto"), None);
        assert_eq!(headers.get("forwarded").unwrap(), "for=1.2.3.4");
        assert_eq!(headers.get("host").unwrap(), "hooks.example.com:8443");
        // Fifth outside attack, A4-F3 and A4-F7: spacing and quoting that a reader which trims
        // names, or splits inside quotes (actix), reads as a host or a proto: dropped too.
        for spelled in [
            "host =admin.internal",
            "for=1.2.3.4; Proto = http",
            "for=\"x;host=admin.internal\"",
            "for=\"x,HOST=admin.internal\"",
        ] {
            let mut headers = HeaderMap::new();
            headers.insert("forwarded", spelled.parse().unwrap());
            verified.hand_over(&mut headers);
            assert_eq!(headers.get("forwarded"), None, "{spelled}");
        }
    }

    /// Issue 28, F12: with no public URL, a signature made for the URL without the client's port
    /// verifies (the port-removed candidate); the authority forwarded is the one it was made for.
    #[test]
    fn a_port_the_signature_did_not_cover_is_not_the_authority() {
        let verifier = WebhookVerifier::new(RequestValidator::new("host-test-token"));
        let signer = Signer::new("host-test-token", Algorithm::HmacSha1).unwrap();
        for (host, signed_for, want) in [
            (
                "hooks.example.com:9999",
                "hooks.example.com",
                "hooks.example.com",
            ),
            (
                "hooks.example.com:9999",
                "hooks.example.com:9999",
                "hooks.example.com:9999",
            ),
            ("[::1]:9999", "[::1]", "[::1]"),
            // The default port added: the same origin, written as the client did.
            (
                "hooks.example.com",
                "hooks.example.com:80",
                "hooks.example.com",
            ),
        ] {
            let signature = signer.sign_form(&format!("http://{signed_for}/sms"), [("Body", "Hi")]);
            let parts = http::Request::post("/sms")
                .header("host", host)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("x-twilio-signature", signature)
                .body(())
                .unwrap()
                .into_parts()
                .0;
            let verified = verifier.verify_parts(&parts, b"Body=Hi").unwrap();
            assert_eq!(verified.authority(), want, "{host} signed for {signed_for}");
        }
        assert_eq!(without_port("a.com:"), "a.com");
        assert_eq!(without_port("[::1"), "[::1");
    }
}
