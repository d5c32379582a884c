//! What is forwarded of a request and of an answer: the headers but hop-by-hop ones, with
//! `X-Twilio-Webhook-Verified` set only by the guard, and what the upstream is told about where a
//! request was sent (`X-Forwarded-*`, `Forwarded`, `X-Original-URL`, method overrides) the guard's
//! decision, never the client's.

use std::net::IpAddr;

use http::header::{COOKIE, HeaderMap, HeaderName, HeaderValue};
use twilio_webhook::{forwarded_cookies, header_folds_to as folds_to, is_routing_header};

use super::h1;

/// The header the guard adds to a verified request: the name of the secret that matched.
pub(crate) const VERIFIED_HEADER: &str = "x-twilio-webhook-verified";
pub(crate) const VERIFIED: HeaderName = HeaderName::from_static(VERIFIED_HEADER);

/// Makes a client's headers what the upstream will see, **before** anything is decided or verified,
/// so that the request verified is the request forwarded: hop-by-hop headers and the ones `Connection`
/// names go (even `Content-Type` or `X-Twilio-Signature`: they are then missing for verification
/// too), and so does every copy of the verified header the client sent, in any spelling a server
/// may read as it ([`is_verified_spelling`]).
pub(crate) fn strip_client_headers(headers: &mut HeaderMap) {
    let connection = headers.get_all(http::header::CONNECTION);
    let gone: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            is_verified_spelling(name)
                || h1::is_hop_by_hop(name.as_bytes(), connection.iter().map(|v| v.as_bytes()))
        })
        .cloned()
        .collect();
    for name in gone {
        headers.remove(&name);
    }
}

/// Makes a verified request's cookies what the core lets through ([`forwarded_cookies`]): every
/// pair an app could read as one of the request's signed parameters goes (PHP's `$_REQUEST` lets a
/// cookie replace the signed `From`, issue 28, F10); the others stay byte for byte, and a request is
/// never refused for its cookies. Called with the target and body that were verified.
pub(crate) fn keep_cookies(headers: &mut HeaderMap, target: &str, body: &[u8]) {
    if !headers.contains_key(COOKIE) {
        return;
    }
    let fields: Vec<HeaderValue> = headers.get_all(COOKIE).iter().cloned().collect();
    let kept = forwarded_cookies(target, body, fields.iter().map(HeaderValue::as_bytes));
    headers.remove(COOKIE);
    for field in kept {
        // Kept pairs of a valid field, joined with `; `: valid too; anything else is not forwarded.
        if let Ok(field) = HeaderValue::from_bytes(&field) {
            headers.append(COOKIE, field);
        }
    }
}

/// How many fields the guard may add to a request it forwards: `Host` (the verified authority, or
/// the upstream's for an HTTP/1.0 request without one), `Content-Length`,
/// `X-Twilio-Webhook-Verified`, `X-Forwarded-Host`, `X-Forwarded-Proto`, `X-Forwarded-For`, and
/// `Connection: close` on a passed request with a body.
const ADDED_FIELDS: usize = 7;

/// Whether a request with these headers (already [stripped](strip_client_headers)) is forwarded
/// within the field limit that the guard and hyper read a request with ([`h1::MAX_HEADERS`]), with
/// the fields the guard adds: else an upstream could not read the request verified (a parser that
/// drops the fields past its limit, rather than refusing, would lose the guard's own). The routing
/// fields [`set_routing`] removes whoever sent them do not count.
pub(crate) fn fits_when_forwarded(headers: &HeaderMap) -> bool {
    let kept = headers
        .keys()
        .filter(|name| !is_routing(name.as_str()))
        .map(|name| headers.get_all(name).iter().count())
        .sum::<usize>();
    kept + ADDED_FIELDS <= h1::MAX_HEADERS
}

/// Headers that name the client's address, which only a proxy the guard trusts may set: from any
/// other peer every copy goes (in every spelling), and `X-Forwarded-For` is the peer's alone.
const CLIENT_ADDRESS: &[&str] = &[
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "cf-connecting-ip",
    "fastly-client-ip",
    "x-cluster-client-ip",
    "client-ip",
    "x-originating-ip",
    "x-remote-ip",
    "x-remote-addr",
];

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Makes what the upstream is told about where a request was sent, and from where, the guard's
/// decision. Called once the core has read the forwarded headers (a trusted proxy's rebuild the
/// public URL before they go), just before the request is forwarded:
///
/// - every client copy of the [routing headers](is_routing) goes, in every spelling;
/// - `origin` (scheme, authority: the verified URL's, or for a passed request the URL the policy
///   built) becomes `X-Forwarded-Proto` and `X-Forwarded-Host`; without one, neither is sent;
/// - `X-Forwarded-For` is the peer's address appended to the list a trusted proxy sent (as nginx's
///   `$proxy_add_x_forwarded_for`), or the peer's address alone from any other peer, whose
///   [client-address headers](CLIENT_ADDRESS) go too.
pub(crate) fn set_routing(
    headers: &mut HeaderMap,
    origin: Option<(&str, &str)>,
    peer: IpAddr,
    trusted: bool,
) {
    let mut chain = String::new();
    if trusted {
        for value in headers.get_all(X_FORWARDED_FOR) {
            match value.to_str().map(str::trim) {
                Ok(list) if !list.is_empty() => {
                    chain.push_str(list);
                    chain.push_str(", ");
                }
                _ => {}
            }
        }
    }
    chain.push_str(&peer.to_canonical().to_string());
    let gone: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            is_routing(name) || (!trusted && CLIENT_ADDRESS.iter().any(|c| folds_to(name, c)))
        })
        .cloned()
        .collect();
    for name in gone {
        headers.remove(&name);
    }
    if let Ok(chain) = HeaderValue::from_str(&chain) {
        headers.insert(X_FORWARDED_FOR, chain);
    }
    let origin = origin.and_then(|(scheme, authority)| {
        Some((
            HeaderValue::from_str(scheme).ok()?,
            HeaderValue::from_str(authority).ok()?,
        ))
    });
    if let Some((scheme, authority)) = origin {
        headers.insert(X_FORWARDED_PROTO, scheme);
        headers.insert(X_FORWARDED_HOST, authority);
    }
}

/// Whether a header name folds to one of the core's routing headers ([`is_routing_header`]: the
/// headers that tell an application where a request was sent, host, scheme, port, path prefix, URL,
/// method, or through whom). Every client copy goes; the guard sets its own `X-Forwarded-Host`,
/// `-Proto` and `-For` ([`set_routing`]).
fn is_routing(name: &str) -> bool {
    is_routing_header(name)
}

/// Whether a header name reads as the verified header once a server folds it ([`folds_to`]).
fn is_verified_spelling(name: &str) -> bool {
    folds_to(name, VERIFIED_HEADER)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn client_headers_lose_hop_by_hop_and_every_spelling_of_the_verified_header() {
        let mut headers = HeaderMap::new();
        for (n, v) in [
            ("connection", "keep-alive, x-custom"),
            ("x-custom", "1"),
            ("keep-alive", "timeout=5"),
            ("x-twilio-webhook-verified", "a"),
            ("X_Twilio_Webhook_Verified", "b"),
            ("x-twilio_webhook-verified", "c"),
            // Every character but a letter or a digit folds alike (PHP turns `.` and `~` into `_`).
            ("X.Twilio.Webhook.Verified", "d"),
            ("x~twilio-webhook_verified", "e"),
            ("x!twilio#webhook$verified", "f"),
            ("x-twilio-webhook-verifiedx", "kept"),
            ("x-twilio-webhook_verifie_", "kept"),
            ("x-twilio-webhook-verifie1", "kept"),
            ("x_twilio_webhook_verified_", "kept"),
            ("x-twilio-signature", "kept"),
        ] {
            headers.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        strip_client_headers(&mut headers);
        let mut names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        assert_eq!(
            names,
            [
                "x-twilio-signature",
                "x-twilio-webhook-verifie1",
                "x-twilio-webhook-verifiedx",
                "x-twilio-webhook_verifie_",
                "x_twilio_webhook_verified_",
            ]
        );
    }

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (n, v) in pairs {
            headers.append(
                HeaderName::from_bytes(n.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        headers
    }

    fn sorted(headers: &HeaderMap) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        pairs.sort();
        pairs
    }

    const FORGED: &[(&str, &str)] = &[
        ("host", "app"),
        ("x-original-url", "/admin"),
        ("X_Original_URL", "/admin"),
        ("x.rewrite.url", "/admin"),
        ("X-HTTP-Method-Override", "DELETE"),
        ("x-http-method", "DELETE"),
        ("x-method-override", "DELETE"),
        ("x-original-method", "DELETE"),
        ("forwarded", "host=evil"),
        ("FORWARDED", "host=evil"),
        ("x-forwarded-host", "evil"),
        ("x.forwarded.host", "evil"),
        ("x-forwarded-proto", "https"),
        ("x-forwarded-port", "1"),
        ("x-forwarded-prefix", "/admin"),
        ("x-forwarded-scheme", "https"),
        ("x-forwarded-ssl", "on"),
        ("front-end-https", "on"),
        ("x-url-scheme", "https"),
        ("x-original-host", "evil"),
        ("x-host", "evil"),
        ("x-forwarded-server", "evil"),
        ("x-forwarded-uri", "/admin"),
        ("x-forwarded-path", "/admin"),
        ("x-original-uri", "/admin"),
        ("x-forwarded-for", "10.0.0.1, 10.0.0.2"),
        ("x-forwarded-for", "10.0.0.3"),
        ("x_forwarded_for", "10.9.9.9"),
        ("x-real-ip", "10.0.0.1"),
        ("X_Real_IP", "10.0.0.1"),
        ("cf-connecting-ip", "10.0.0.1"),
        // Kept: not a routing header in any spelling.
        ("x-forwarded-hostx", "kept"),
        ("x-original-ur", "kept"),
        ("x-twilio-signature", "kept"),
    ];

    /// Issue 28, F3: every client copy of a routing header goes, in every spelling; the guard's own
    /// `X-Forwarded-Host`/`-Proto` are the decided origin's, and `X-Forwarded-For` the peer's.
    #[test]
    fn a_client_routing_header_never_survives_and_the_guard_says_where_the_request_went() {
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        let mut headers = map(FORGED);
        assert!(fits_when_forwarded(&headers));
        set_routing(
            &mut headers,
            Some(("https", "hooks.example.com")),
            peer,
            false,
        );
        let want = [
            ("host", "app"),
            ("x-forwarded-for", "192.0.2.7"),
            ("x-forwarded-host", "hooks.example.com"),
            ("x-forwarded-hostx", "kept"),
            ("x-forwarded-proto", "https"),
            ("x-original-ur", "kept"),
            ("x-twilio-signature", "kept"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(sorted(&headers), want);
        // From a trusted proxy: its list, with the peer appended, and its client-address headers.
        let mut headers = map(FORGED);
        set_routing(&mut headers, None, peer, true);
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert!(names.contains(&"x-real-ip") && names.contains(&"cf-connecting-ip"));
        assert!(!names.contains(&"x-forwarded-host") && !names.contains(&"x-forwarded-proto"));
        assert_eq!(
            headers
                .get_all("x-forwarded-for")
                .iter()
                .collect::<Vec<_>>(),
            ["10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7"]
        );
        // An IPv4 peer seen through an IPv6 socket is written as IPv4, as nginx does.
        let mut headers = HeaderMap::new();
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        set_routing(&mut headers, None, mapped, false);
        assert_eq!(headers.get("x-forwarded-for").unwrap(), "192.0.2.7");
        // A trusted proxy's empty or blank list adds nothing before the peer (mutation testing found
        // this unchecked).
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", HeaderValue::from_static(""));
        headers.append("x-forwarded-for", HeaderValue::from_static("  "));
        set_routing(&mut headers, None, peer, true);
        assert_eq!(headers.get("x-forwarded-for").unwrap(), "192.0.2.7");
    }

    /// The field limit keeps room for the seven the guard adds; the routing fields it removes do not
    /// count.
    #[test]
    fn the_field_limit_counts_what_is_forwarded() {
        let fields = |n: usize| -> Vec<(String, String)> {
            (0..n).map(|i| (format!("x-f{i}"), i.to_string())).collect()
        };
        let build = |pairs: &[(String, String)]| {
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            map(&pairs)
        };
        assert!(fits_when_forwarded(&build(&fields(h1::MAX_HEADERS - 7))));
        assert!(!fits_when_forwarded(&build(&fields(h1::MAX_HEADERS - 6))));
        let mut many = fields(h1::MAX_HEADERS - 7);
        many.extend(
            FORGED
                .iter()
                .filter(|(n, _)| is_routing(n))
                .map(|(n, v)| (n.to_string(), v.to_string())),
        );
        assert!(fits_when_forwarded(&build(&many)));
        // Each value of a repeated field counts.
        let mut repeated = fields(h1::MAX_HEADERS - 8);
        repeated.push(("x-f0".into(), "again".into()));
        assert!(fits_when_forwarded(&build(&repeated)));
        repeated.push(("x-f0".into(), "and again".into()));
        assert!(!fits_when_forwarded(&build(&repeated)));
    }
}
