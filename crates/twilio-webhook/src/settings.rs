//! The `X-Twilio-Webhooks-Signature-Settings` header (spec §6): SharedKey signing.

use crate::signature::Algorithm;
use crate::verdict::Rejection;

/// The name of the SharedKey settings header.
pub const SIGNATURE_SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// How a request says it was signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme<'h> {
    /// No (usable) settings header: HMAC-SHA1 with the Auth Token(s).
    AuthToken,
    /// A SharedKey by id, with the named algorithm.
    SharedKey { id: &'h str, algorithm: Algorithm },
}

/// The value of the first part named exactly `name` whose value is not empty.
fn part<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(',').find_map(|p| {
        let (n, v) = p.split_once('=')?;
        (n.trim() == name && !v.trim().is_empty()).then(|| v.trim())
    })
}

/// Parses the settings header as spec §6 says (what twilio-python 9.13 and twilio-node 6.3 do).
pub(crate) fn parse(header: Option<&str>) -> Result<Scheme<'_>, Rejection> {
    let Some(header) = header else {
        return Ok(Scheme::AuthToken);
    };
    let Some(name) = part(header, "algorithm") else {
        return Ok(Scheme::AuthToken);
    };
    let algorithm = if name.eq_ignore_ascii_case("HMAC_SHA1") {
        Algorithm::HmacSha1
    } else if name.eq_ignore_ascii_case("HMAC_SHA256") {
        Algorithm::HmacSha256
    } else {
        return Err(Rejection::UnknownAlgorithm);
    };
    let id = part(header, "key").ok_or(Rejection::UnknownKeyId)?;
    Ok(Scheme::SharedKey { id, algorithm })
}

/// The settings header value Twilio would send for a SharedKey `id` and `algorithm`.
pub fn settings_header_value(id: &str, algorithm: Algorithm) -> String {
    format!("key={id},algorithm={}", algorithm.settings_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "KS3450d4d9ffbd54ba014fdcf9c685490c";

    fn shared(algorithm: Algorithm) -> Result<Scheme<'static>, Rejection> {
        Ok(Scheme::SharedKey { id: ID, algorithm })
    }

    #[test]
    fn parses_like_the_sdks() {
        let sha256 = Algorithm::HmacSha256;
        let cases: &[(Option<&str>, Result<Scheme<'static>, Rejection>)] = &[
            (None, Ok(Scheme::AuthToken)),
            (Some(""), Ok(Scheme::AuthToken)),
            (
                Some("key=KS3450d4d9ffbd54ba014fdcf9c685490c"),
                Ok(Scheme::AuthToken),
            ),
            (Some("algorithm=,key=KS1"), Ok(Scheme::AuthToken)),
            (Some("Algorithm=HMAC_SHA256,key=KS1"), Ok(Scheme::AuthToken)),
            (
                Some("key=KS3450d4d9ffbd54ba014fdcf9c685490c,algorithm=HMAC_SHA256"),
                shared(sha256),
            ),
            (
                Some(" algorithm = Hmac_Sha256 , key = KS3450d4d9ffbd54ba014fdcf9c685490c "),
                shared(sha256),
            ),
            (
                Some("algorithm=hmac_sha1,key=KS3450d4d9ffbd54ba014fdcf9c685490c,"),
                shared(Algorithm::HmacSha1),
            ),
            (
                Some("algorithm=,algorithm=HMAC_SHA256,key=KS3450d4d9ffbd54ba014fdcf9c685490c"),
                shared(sha256),
            ),
            (
                Some("algorithm=HMAC_SHA512,key=KS1"),
                Err(Rejection::UnknownAlgorithm),
            ),
            (
                Some("algorithm=HMAC-SHA1,key=KS1"),
                Err(Rejection::UnknownAlgorithm),
            ),
            (Some("algorithm=HMAC_SHA256"), Err(Rejection::UnknownKeyId)),
            (
                Some("algorithm=HMAC_SHA256,key="),
                Err(Rejection::UnknownKeyId),
            ),
        ];
        for (header, want) in cases {
            assert_eq!(&parse(*header), want, "{header:?}");
        }
    }

    #[test]
    fn header_value_round_trips() {
        let v = settings_header_value(ID, Algorithm::HmacSha256);
        assert_eq!(parse(Some(&v)), shared(Algorithm::HmacSha256));
    }
}
