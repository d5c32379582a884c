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
/// may read as it (`X_Twilio_Webhook_Verified`: WSGI servers map `-` and `_` to the same key).
pub(crate) fn strip_client_headers(headers: &mut HeaderMap) {
    let connection = headers.get_all(http::header::CONNECTION);
    let gone: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            let name = name.as_str();
            let forged = name.len() == VERIFIED_HEADER.len()
                && name
                    .bytes()
                    .zip(VERIFIED_HEADER.bytes())
                    .all(|(a, b)| a.to_ascii_lowercase() == b || (a == b'_' && b == b'-'));
            forged || h1::is_hop_by_hop(name.as_bytes(), connection.iter().map(|v| v.as_bytes()))
        })
        .cloned()
        .collect();
    for name in gone {
        headers.remove(&name);
    }
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
            ("x-twilio-webhook-verifiedx", "kept"),
            // `_` stands for `-`, nothing else does: a header no server reads as it stays.
            ("x.twilio.webhook.verified", "kept"),
            ("x-twilio-webhook_verifie_", "kept"),
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
                "x-twilio-webhook-verifiedx",
                "x-twilio-webhook_verifie_",
                "x.twilio.webhook.verified"
            ]
        );
    }
}
