//! The `X-Twilio-Webhooks-Signature-Settings` header (spec §6): SharedKey signing.

use crate::signature::Algorithm;
use crate::verdict::Rejection;

/// The name of the SharedKey settings header.
pub const SIGNATURE_SETTINGS_HEADER: &str = "X-Twilio-Webhooks-Signature-Settings";

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "X-Twilio-Signature";

/// What a settings header says, once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Settings<'h> {
    /// The SharedKey id of the first non-empty `key` part.
    pub(crate) key_id: Option<&'h str>,
    /// The algorithm of the first non-empty `algorithm` part; `None` means the default, HMAC-SHA1.
    pub(crate) algorithm: Option<Algorithm>,
}

/// The value of the first part named exactly `name` whose value is not empty.
fn part<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(',').find_map(|p| {
        let (n, v) = p.split_once('=')?;
        (n.trim() == name && !v.trim().is_empty()).then(|| v.trim())
    })
}

/// Parses the settings header as spec §6 says (what twilio-python 9.13 and twilio-node 6.3 do):
/// an unknown algorithm name is a rejection; a missing or empty part is simply absent.
pub(crate) fn parse(header: Option<&str>) -> Result<Settings<'_>, Rejection> {
    let Some(header) = header else {
        return Ok(Settings::default());
    };
    let algorithm = match part(header, "algorithm") {
        None => None,
        Some(name) if name.eq_ignore_ascii_case("HMAC_SHA1") => Some(Algorithm::HmacSha1),
        Some(name) if name.eq_ignore_ascii_case("HMAC_SHA256") => Some(Algorithm::HmacSha256),
        Some(_) => return Err(Rejection::UnknownAlgorithm),
    };
    Ok(Settings {
        key_id: part(header, "key"),
        algorithm,
    })
}

/// The settings header value Twilio would send for a SharedKey `id` and `algorithm`.
pub fn settings_header_value(id: &str, algorithm: Algorithm) -> String {
    format!("key={id},algorithm={}", algorithm.settings_name())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "KS3450d4d9ffbd54ba014fdcf9c685490c";

    fn settings(
        key_id: Option<&'static str>,
        algorithm: Option<Algorithm>,
    ) -> Result<Settings<'static>, Rejection> {
        Ok(Settings { key_id, algorithm })
    }

    #[test]
    fn parses_like_the_sdks() {
        let (sha1, sha256) = (Some(Algorithm::HmacSha1), Some(Algorithm::HmacSha256));
        let cases: &[(Option<&str>, Result<Settings<'static>, Rejection>)] = &[
            (None, settings(None, None)),
            (Some(""), settings(None, None)),
            (
                Some("key=KS3450d4d9ffbd54ba014fdcf9c685490c"),
                settings(Some(ID), None),
            ),
            (
                Some("algorithm=,key=KS3450d4d9ffbd54ba014fdcf9c685490c"),
                settings(Some(ID), None),
            ),
            (
                Some("Algorithm=HMAC_SHA256,key=KS3450d4d9ffbd54ba014fdcf9c685490c"),
                settings(Some(ID), None),
            ),
            (
                Some("key=KS3450d4d9ffbd54ba014fdcf9c685490c,algorithm=HMAC_SHA256"),
                settings(Some(ID), sha256),
            ),
            (
                Some(" algorithm = Hmac_Sha256 , key = KS3450d4d9ffbd54ba014fdcf9c685490c "),
                settings(Some(ID), sha256),
            ),
            (
                Some("algorithm=hmac_sha1,key=KS3450d4d9ffbd54ba014fdcf9c685490c,"),
                settings(Some(ID), sha1),
            ),
            (
                Some("algorithm=,algorithm=HMAC_SHA256,key=KS3450d4d9ffbd54ba014fdcf9c685490c"),
                settings(Some(ID), sha256),
            ),
            (Some("algorithm=HMAC_SHA256"), settings(None, sha256)),
            (
                Some("algorithm=HMAC_SHA512,key=KS1"),
                Err(Rejection::UnknownAlgorithm),
            ),
            (
                Some("algorithm=HMAC-SHA1,key=KS1"),
                Err(Rejection::UnknownAlgorithm),
            ),
            (Some("algorithm=NONE"), Err(Rejection::UnknownAlgorithm)),
        ];
        for (header, want) in cases {
            assert_eq!(&parse(*header), want, "{header:?}");
        }
    }

    #[test]
    fn header_value_round_trips() {
        let v = settings_header_value(ID, Algorithm::HmacSha256);
        assert_eq!(
            parse(Some(&v)),
            settings(Some(ID), Some(Algorithm::HmacSha256))
        );
    }
}
