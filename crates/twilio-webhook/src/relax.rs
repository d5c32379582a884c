//! Opt-in URL relaxations (spec §4, "Nothing else is tried by default").
//!
//! Each one widens what an attacker who captured one signed request can replay to another URL, so each is
//! off unless the validator's builder names it, and a verdict says when one was needed.

use core::fmt;

use crate::form::hex_value;

/// An opt-in rewrite of the received URL that a signature needed to match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Relaxation {
    /// A `/` was appended to the path (the app saw `/twilio`, Twilio signed `/twilio/`).
    TrailingSlashAdded,
    /// The path's trailing `/` was removed (Apache or PHP rewrote `/twilio` to `/twilio/`).
    TrailingSlashRemoved,
    /// The query was percent-encoded the way WHATWG URL parsers do (`'` to `%27`, space to `%20`,
    /// non-ASCII to `%XX`), as twilio-node 6.2+ tries.
    QueryEncoded,
    /// The reverse: those escapes in the query were decoded back to the raw characters.
    QueryDecoded,
}

impl fmt::Display for Relaxation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Relaxation::TrailingSlashAdded => "trailing slash added",
            Relaxation::TrailingSlashRemoved => "trailing slash removed",
            Relaxation::QueryEncoded => "query percent-encoded (WHATWG)",
            Relaxation::QueryDecoded => "query percent-decoded",
        })
    }
}

/// Which relaxations a validator tries, after every strict candidate has failed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Relaxations {
    pub(crate) trailing_slash: bool,
    pub(crate) query_reencoding: bool,
}

impl Relaxations {
    /// The rewritten URLs to try, each with the relaxation that made it.
    pub(crate) fn rewrites(self, url: &str) -> impl Iterator<Item = (Relaxation, String)> + '_ {
        let slash = self
            .trailing_slash
            .then(|| toggle_trailing_slash(url))
            .flatten();
        let encoded = self
            .query_reencoding
            .then(|| rewrite_query(url, encode_query))
            .flatten()
            .map(|u| (Relaxation::QueryEncoded, u));
        let decoded = self
            .query_reencoding
            .then(|| rewrite_query(url, decode_query))
            .flatten()
            .map(|u| (Relaxation::QueryDecoded, u));
        slash.into_iter().chain(encoded).chain(decoded)
    }
}

/// Where the path ends: at the first `?` or `#` (or the end).
fn path_end(url: &str) -> usize {
    url.find(['?', '#']).unwrap_or(url.len())
}

fn toggle_trailing_slash(url: &str) -> Option<(Relaxation, String)> {
    let end = path_end(url);
    let (head, tail) = (url.get(..end)?, url.get(end..)?);
    if let Some(stripped) = head.strip_suffix('/') {
        // Never strip into the "scheme://" of a URL with no path.
        if stripped.ends_with(':') || stripped.ends_with(":/") {
            return None;
        }
        Some((
            Relaxation::TrailingSlashRemoved,
            format!("{stripped}{tail}"),
        ))
    } else {
        Some((Relaxation::TrailingSlashAdded, format!("{head}/{tail}")))
    }
}

/// Applies `f` to the query (between `?` and any `#`); `None` when there is no query or nothing changed.
fn rewrite_query(url: &str, f: fn(&str) -> Option<String>) -> Option<String> {
    let fragment_start = url.find('#').unwrap_or(url.len());
    let (before, fragment) = (url.get(..fragment_start)?, url.get(fragment_start..)?);
    let (head, query) = before.split_once('?')?;
    let rewritten = f(query)?;
    (rewritten != query).then(|| format!("{head}?{rewritten}{fragment}"))
}

/// Bytes a WHATWG parser percent-encodes in the query of a special URL.
fn whatwg_encodes(b: u8) -> bool {
    !(0x21..=0x7e).contains(&b) || matches!(b, b'"' | b'#' | b'<' | b'>' | b'\'')
}

fn encode_query(query: &str) -> Option<String> {
    use fmt::Write as _;
    let mut out = String::with_capacity(query.len() + 16);
    for c in query.chars() {
        let mut buf = [0u8; 4];
        let bytes = c.encode_utf8(&mut buf).as_bytes();
        if bytes.iter().any(|&b| whatwg_encodes(b)) {
            for b in bytes {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn decode_query(query: &str) -> Option<String> {
    let bytes = query.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&hi), Some(&lo)) => {
                hex_pair(hi, lo).filter(|&d| whatwg_encodes(d) && d != b'#')
            }
            _ => None,
        };
        match escaped {
            Some(d) => {
                out.push(d);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

fn hex_pair(hi: u8, lo: u8) -> Option<u8> {
    Some(hex_value(hi)? << 4 | hex_value(lo)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(url: &str) -> Vec<(Relaxation, String)> {
        Relaxations {
            trailing_slash: true,
            query_reencoding: true,
        }
        .rewrites(url)
        .collect()
    }

    #[test]
    fn nothing_without_opt_in() {
        assert_eq!(
            Relaxations::default().rewrites("https://a/x?q='").count(),
            0
        );
    }

    #[test]
    fn trailing_slash_toggles_on_the_path_only() {
        assert_eq!(
            toggle_trailing_slash("https://a.com/twilio?x=1/"),
            Some((
                Relaxation::TrailingSlashAdded,
                "https://a.com/twilio/?x=1/".into()
            ))
        );
        assert_eq!(
            toggle_trailing_slash("https://a.com/twilio/#f"),
            Some((
                Relaxation::TrailingSlashRemoved,
                "https://a.com/twilio#f".into()
            ))
        );
        assert_eq!(
            toggle_trailing_slash("https://a.com"),
            Some((Relaxation::TrailingSlashAdded, "https://a.com/".into()))
        );
        assert_eq!(toggle_trailing_slash("https://"), None);
    }

    #[test]
    fn query_reencoding_both_ways() {
        let got = all("https://a.com/p?b=It's+a%20b&n=Espa\u{f1}a#frag'");
        assert!(got.contains(&(
            Relaxation::QueryEncoded,
            "https://a.com/p?b=It%27s+a%20b&n=Espa%C3%B1a#frag'".into()
        )));
        assert!(got.contains(&(
            Relaxation::QueryDecoded,
            "https://a.com/p?b=It's+a b&n=Espa\u{f1}a#frag'".into()
        )));
        let decoded = rewrite_query("https://a/p?t=param%27WithQuote%2B%23", decode_query);
        assert_eq!(
            decoded.as_deref(),
            Some("https://a/p?t=param'WithQuote%2B%23")
        );
        // An escape that decodes to invalid UTF-8 gives no variant rather than a lossy one.
        assert_eq!(rewrite_query("https://a/p?t=%FF", decode_query), None);
        assert_eq!(rewrite_query("https://a/p?t=plain", encode_query), None);
    }
}
