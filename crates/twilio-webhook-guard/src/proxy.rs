//! What is forwarded of a request and of an answer: the headers but hop-by-hop ones, with
//! `X-Twilio-Webhook-Verified` set only by the guard.

use http::header::{HeaderMap, HeaderName};

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

/// How many fields the guard may add to a request it forwards: `Host` (the verified authority, or
/// the upstream's for an HTTP/1.0 request without one), `Content-Length` and
/// `X-Twilio-Webhook-Verified`.
const ADDED_FIELDS: usize = 3;

/// Whether a request with these headers (already [stripped](strip_client_headers)) is forwarded
/// within the field limit that the guard and hyper read a request with ([`h1::MAX_HEADERS`]), with
/// the fields the guard adds: else an upstream could not read the request verified (a parser that
/// drops the fields past its limit, rather than refusing, would lose the guard's own).
pub(crate) fn fits_when_forwarded(headers: &HeaderMap) -> bool {
    headers.len() + ADDED_FIELDS <= h1::MAX_HEADERS
}

/// Whether a header name reads as the verified header once a server folds it: letters and digits
/// case-insensitively, and every other character alike (CGI and WSGI map `-` to `_`, PHP maps `.`
/// and ` ` to `_` too: `X.Twilio.Webhook.Verified` is `$_SERVER['HTTP_X_TWILIO_WEBHOOK_VERIFIED']`).
fn is_verified_spelling(name: &str) -> bool {
    name.len() == VERIFIED_HEADER.len()
        && name.bytes().zip(VERIFIED_HEADER.bytes()).all(|(a, b)| {
            if b.is_ascii_alphanumeric() {
                a.eq_ignore_ascii_case(&b)
            } else {
                !a.is_ascii_alphanumeric()
            }
        })
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
}
