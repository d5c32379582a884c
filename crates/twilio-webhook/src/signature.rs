//! The signature itself (spec §3): HMAC over `URL || P`, base64, and constant-time checks.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::canonical::Suffix;
use crate::url::Pieces;
use crate::verdict::Rejection;

/// The HMAC a signature is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA1: every Auth Token signature, and SharedKey `HMAC_SHA1` (28 base64 characters).
    HmacSha1,
    /// HMAC-SHA256: SharedKey `HMAC_SHA256` (44 base64 characters).
    HmacSha256,
}

impl Algorithm {
    /// The name used in the `X-Twilio-Webhooks-Signature-Settings` header (`HMAC_SHA1`, `HMAC_SHA256`).
    pub fn settings_name(self) -> &'static str {
        match self {
            Algorithm::HmacSha1 => "HMAC_SHA1",
            Algorithm::HmacSha256 => "HMAC_SHA256",
        }
    }

    /// The length of the MAC in bytes (20 or 32).
    pub fn mac_len(self) -> usize {
        match self {
            Algorithm::HmacSha1 => 20,
            Algorithm::HmacSha256 => 32,
        }
    }

    /// The length of the base64 signature header value (28 or 44).
    pub fn signature_len(self) -> usize {
        self.mac_len().div_ceil(3) * 4
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Algorithm::HmacSha1 => "HMAC-SHA1",
            Algorithm::HmacSha256 => "HMAC-SHA256",
        })
    }
}

/// The MAC bytes of a presented `X-Twilio-Signature`, decoded once per request.
#[derive(Clone, Copy)]
pub(crate) struct Presented {
    bytes: [u8; 32],
    len: usize,
}

impl Presented {
    /// Decodes a header value for `algorithm`: strict standard base64, padded, of exactly the right length.
    pub(crate) fn decode(header: &str, algorithm: Algorithm) -> Result<Self, Rejection> {
        if header.is_empty() {
            return Err(Rejection::MissingSignature);
        }
        if header.len() != algorithm.signature_len() {
            return Err(Rejection::MalformedSignature);
        }
        let mut bytes = [0u8; 32];
        if decode_padded(header.as_bytes(), &mut bytes) {
            Ok(Presented {
                bytes,
                len: algorithm.mac_len(),
            })
        } else {
            Err(Rejection::MalformedSignature)
        }
    }

    fn as_slice(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The value of each byte as a digit of `digits` (its index there), and `digits.len()` (a bit no
/// digit has) for a byte that is not one: the tables of the two decoders that run on every request,
/// base64 here and `bodySHA256`'s hex (`url`), each checked once at the end of its loop.
// Indexing here runs at compile time: out of range would fail the build, never a request.
#[allow(clippy::indexing_slicing)]
pub(crate) const fn digit_values(digits: &[u8]) -> [u8; 256] {
    let mut table = [digits.len() as u8; 256];
    let mut i = 0;
    while i < digits.len() {
        table[digits[i] as usize] = i as u8;
        i += 1;
    }
    table
}

/// Standard base64 digits' values; 64 marks a byte that is not one.
const SEXTETS: [u8; 256] =
    digit_values(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");

/// Decodes a signature of `4k` characters ending in exactly one `=` (28 for SHA-1, 44 for SHA-256)
/// into the `3k - 1` bytes at the start of `out`, strictly: standard digits only and zero bits under
/// the padding (the one canonical encoding). The `base64` crate decodes the same; this loop, made for
/// these two shapes, measured several times faster on a signature (it runs on every request).
fn decode_padded(text: &[u8], out: &mut [u8; 32]) -> bool {
    let Some((&b'=', digits)) = text.split_last() else {
        return false;
    };
    // Every digit is looked up; a bad one turns on bit 6 of `bad`, checked once at the end.
    let mut bad = 0u8;
    let mut sextet = |c: &u8| {
        let v = SEXTETS.get(usize::from(*c)).copied().unwrap_or(64);
        bad |= v;
        u32::from(v & 63)
    };
    let mut written = 0;
    let mut quads = digits.chunks_exact(4);
    for quad in &mut quads {
        let [a, b, c, d] = quad else { return false };
        let n = sextet(a) << 18 | sextet(b) << 12 | sextet(c) << 6 | sextet(d);
        let Some(dst) = out.get_mut(written..written + 3) else {
            return false;
        };
        dst.copy_from_slice(&n.to_be_bytes()[1..]);
        written += 3;
    }
    // The last quad: three digits and the `=`, two bytes, the third digit's low two bits zero.
    let [a, b, c] = quads.remainder() else {
        return false;
    };
    let n = sextet(a) << 18 | sextet(b) << 12 | sextet(c) << 6;
    let Some(dst) = out.get_mut(written..written + 2) else {
        return false;
    };
    dst.copy_from_slice(&n.to_be_bytes()[1..3]);
    bad & 64 == 0 && n & 0xff == 0
}

/// A secret turned into HMAC states once, when the validator is built. The raw secret is not kept;
/// the states are wiped on drop (the `hmac` crate's `zeroize` feature).
#[derive(Clone)]
pub(crate) enum Keyed {
    Sha1(Hmac<Sha1>),
    Sha256(Hmac<Sha256>),
}

impl fmt::Debug for Keyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Keyed(REDACTED)")
    }
}

/// The keyed MAC after `url || suffix`.
fn mac_over<M: Mac + Clone, X: Suffix + ?Sized>(keyed: &M, url: &Pieces<'_>, suffix: &X) -> M {
    let mut mac = keyed.clone();
    url.bytes().for_each(|piece| mac.update(piece));
    suffix.feed(|run| mac.update(run));
    mac
}

impl Keyed {
    /// Keys an HMAC with `secret`. HMAC takes keys of any length, so this cannot fail in practice; an
    /// error from the crate is still handled rather than unwrapped.
    pub(crate) fn new(secret: &[u8], algorithm: Algorithm) -> Option<Self> {
        match algorithm {
            Algorithm::HmacSha1 => Hmac::<Sha1>::new_from_slice(secret).ok().map(Keyed::Sha1),
            Algorithm::HmacSha256 => Hmac::<Sha256>::new_from_slice(secret)
                .ok()
                .map(Keyed::Sha256),
        }
    }

    pub(crate) fn algorithm(&self) -> Algorithm {
        match self {
            Keyed::Sha1(_) => Algorithm::HmacSha1,
            Keyed::Sha256(_) => Algorithm::HmacSha256,
        }
    }

    /// Whether the presented MAC equals HMAC(`url || suffix`), compared in constant time.
    pub(crate) fn verify<X: Suffix + ?Sized>(
        &self,
        url: &Pieces<'_>,
        suffix: &X,
        presented: &Presented,
    ) -> bool {
        let tag = presented.as_slice();
        match self {
            Keyed::Sha1(k) => mac_over(k, url, suffix).verify_slice(tag).is_ok(),
            Keyed::Sha256(k) => mac_over(k, url, suffix).verify_slice(tag).is_ok(),
        }
    }

    /// The base64 signature of `url || suffix`.
    pub(crate) fn sign<X: Suffix + ?Sized>(&self, url: &Pieces<'_>, suffix: &X) -> String {
        match self {
            Keyed::Sha1(k) => STANDARD.encode(mac_over(k, url, suffix).finalize().into_bytes()),
            Keyed::Sha256(k) => STANDARD.encode(mac_over(k, url, suffix).finalize().into_bytes()),
        }
    }
}

/// SHA-256 of the raw body.
pub(crate) fn body_digest(body: &[u8]) -> [u8; 32] {
    Sha256::digest(body).into()
}

/// Lowercase hex SHA-256 of the raw body, as Twilio puts it in `bodySHA256`.
pub fn body_sha256_hex(body: &[u8]) -> String {
    use fmt::Write as _;
    body_digest(body)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// Whether `hash` is the `bodySHA256` of `body`: 64 lowercase hex digits equal to the body's SHA-256,
/// compared in constant time. Anything else is `false`.
///
/// ```
/// use twilio_webhook::{body_matches_hex, body_sha256_hex};
///
/// let hash = body_sha256_hex(b"{}");
/// assert!(body_matches_hex(b"{}", &hash));
/// assert!(!body_matches_hex(b"[]", &hash));
/// assert!(!body_matches_hex(b"{}", &hash.to_uppercase()));
/// ```
pub fn body_matches_hex(body: &[u8], hash: &str) -> bool {
    crate::url::decode_lower_hex(hash).is_some_and(|expected| body_matches(body, &expected))
}

/// Whether the body's SHA-256 equals `expected`, compared in constant time.
pub(crate) fn body_matches(body: &[u8], expected: &[u8; 32]) -> bool {
    digests_equal(&body_digest(body), expected)
}

/// Whether two digests are equal, in constant time: the differences of all 32 bytes are gathered in one
/// word with no branch, and that word alone is compared. `subtle`'s slice comparison hides each byte
/// from the optimiser in turn, which measured about 3 % of a JSON validation.
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let words = |d: &[u8; 32]| {
        let mut out = [0u64; 4];
        for (word, bytes) in out.iter_mut().zip(d.chunks_exact(8)) {
            *word = bytes.iter().fold(0u64, |w, &byte| w << 8 | u64::from(byte));
        }
        out
    };
    let (a, b) = (words(a), words(b));
    let difference = a.iter().zip(&b).fold(0u64, |acc, (x, y)| acc | (x ^ y));
    difference.ct_eq(&0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(Algorithm::HmacSha1.signature_len(), 28);
        assert_eq!(Algorithm::HmacSha256.signature_len(), 44);
    }

    #[test]
    fn decode_rejects_each_malformation_with_its_reason() {
        let sha1 = Algorithm::HmacSha1;
        assert!(Presented::decode("RSOYDt4T1cUTdK1PDd93/VVr8B8=", sha1).is_ok());
        let reason = |s: &str| Presented::decode(s, sha1).err();
        assert_eq!(reason(""), Some(Rejection::MissingSignature));
        assert_eq!(
            reason("RSOYDt4T1cUTdK1PDd93/VVr8B8"),
            Some(Rejection::MalformedSignature)
        );
        assert_eq!(
            reason("RSOYDt4T1cUTdK1PDd93/VVr8B8=\n"),
            Some(Rejection::MalformedSignature)
        );
        assert_eq!(
            reason("RSOYDt4T1cUTdK1PDd93/VVr8B8*"),
            Some(Rejection::MalformedSignature)
        );
        // Non-zero trailing bits: not the canonical encoding of any 20 bytes.
        assert_eq!(
            reason("RSOYDt4T1cUTdK1PDd93/VVr8B9="),
            Some(Rejection::MalformedSignature)
        );
        // Right length for SHA-256, wrong for SHA-1.
        let sha256_sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8RSOYDt4T1cUTdK1P=";
        assert_eq!(reason(sha256_sig), Some(Rejection::MalformedSignature));
        assert_eq!(
            reason("ŔSOYDt4T1cUTdK1PDd93/VVr8B="),
            Some(Rejection::MalformedSignature)
        );
        // The right length but no padding: 21 bytes, not a SHA-1 MAC.
        assert_eq!(reason(&"A".repeat(28)), Some(Rejection::MalformedSignature));
        let sha256 = |s: &str| Presented::decode(s, Algorithm::HmacSha256).err();
        assert_eq!(sha256(&"A".repeat(44)), Some(Rejection::MalformedSignature));
        assert_eq!(sha256(&format!("{}=", "A".repeat(43))), None);
    }

    /// The decoder agrees with the `base64` crate's strict standard engine on every byte of every
    /// position of valid signatures, and on arbitrary strings of the two lengths.
    #[test]
    fn decoding_agrees_with_the_base64_crate() {
        let crate_decode = |text: &[u8]| {
            let mut out = [0u8; 33];
            STANDARD
                .decode_slice(text, &mut out)
                .ok()
                .filter(|&n| n + 1 == text.len() / 4 * 3)
                .map(|n| out[..n].to_vec())
        };
        let ours = |text: &[u8]| {
            let mut out = [0u8; 32];
            decode_padded(text, &mut out).then(|| out[..text.len() / 4 * 3 - 1].to_vec())
        };
        for len in [20usize, 32] {
            let mac: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = STANDARD.encode(&mac).into_bytes();
            assert_eq!(ours(&text).as_deref(), Some(&mac[..]));
            for at in 0..text.len() {
                for byte in 0..=255u8 {
                    let mut t = text.clone();
                    t[at] = byte;
                    assert_eq!(
                        ours(&t),
                        crate_decode(&t),
                        "{:?}",
                        String::from_utf8_lossy(&t)
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn decoding_agrees_on_arbitrary_text(text in "[A-Za-z0-9+/=*]{27}=|[A-Za-z0-9+/=*]{43}=") {
            let mut ours = [0u8; 32];
            let mut theirs = [0u8; 33];
            let expected = STANDARD.decode_slice(text.as_bytes(), &mut theirs).ok();
            let accepted = decode_padded(text.as_bytes(), &mut ours);
            let n = text.len() / 4 * 3 - 1;
            proptest::prop_assert_eq!(accepted, expected == Some(n));
            if accepted {
                proptest::prop_assert_eq!(&ours[..n], &theirs[..n]);
            }
        }
    }

    #[test]
    fn body_hash_hex_is_lowercase_sha256() {
        assert_eq!(
            body_sha256_hex(b"{\"property\": \"value\", \"boolean\": true}"),
            "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        let digest = body_digest(b"abc");
        assert!(body_matches(b"abc", &digest));
        assert!(!body_matches(b"abd", &digest));
    }

    #[test]
    fn a_digest_differing_in_any_one_bit_does_not_match() {
        let digest = body_digest(b"abc");
        for byte in 0..32 {
            for bit in 0..8 {
                let mut other = digest;
                other[byte] ^= 1 << bit;
                assert!(!body_matches(b"abc", &other), "byte {byte}, bit {bit}");
                assert!(!digests_equal(&other, &digest), "byte {byte}, bit {bit}");
            }
        }
        assert!(digests_equal(&digest, &digest));
    }

    /// The words' differences are gathered so that none cancels another: digests that differ in two
    /// words, or in every word, by one same pattern still differ (an exclusive or of the differences would
    /// call them equal).
    #[test]
    fn differences_in_several_words_do_not_cancel() {
        let digest = body_digest(b"abc");
        for words in [[0, 1].as_slice(), &[1, 3], &[0, 1, 2, 3]] {
            let mut other = digest;
            for word in words {
                other[word * 8 + 5] ^= 0x20;
            }
            assert!(!digests_equal(&other, &digest), "words {words:?}");
            assert!(!body_matches(b"abc", &other), "words {words:?}");
        }
    }

    #[test]
    fn hex_digests_are_read_only_in_lowercase() {
        let hex = body_sha256_hex(b"abc");
        assert_eq!(
            crate::url::decode_lower_hex(&hex),
            Some(body_digest(b"abc"))
        );
        let all: String = "0123456789abcdef".repeat(4);
        let decoded = crate::url::decode_lower_hex(&all).unwrap_or_default();
        assert_eq!(
            decoded.get(..8),
            Some(&[0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef][..])
        );
        // Any one digit out of the alphabet, anywhere, refuses the whole value.
        for at in 0..64 {
            for bad in ['A', 'F', 'g', '/', ':', '`', ' ', '\u{e9}'] {
                let mut text: Vec<char> = hex.chars().collect();
                text[at] = bad;
                let text: String = text.into_iter().collect();
                assert_eq!(crate::url::decode_lower_hex(&text), None, "{bad:?} at {at}");
            }
        }
        assert_eq!(crate::url::decode_lower_hex(&hex[..63]), None);
        assert_eq!(crate::url::decode_lower_hex(&format!("{hex}0")), None);
    }

    #[test]
    fn debug_is_redacted() {
        let k = Keyed::new(b"supersecret", Algorithm::HmacSha1).unwrap();
        assert_eq!(format!("{k:?}"), "Keyed(REDACTED)");
    }
}
