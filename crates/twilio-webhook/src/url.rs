//! Candidate URLs (spec §4) and the `bodySHA256` query parameter (spec §5).
//!
//! Twilio is not consistent about ports, so a signature may have been made over the URL as received, the
//! URL without its port, or the URL with the scheme's default port added. Twilio never signs a URL's
//! connection overrides (`#rc=2&rp=all`, in the fragment), so a URL whose fragment is empty or made only
//! of overrides also has each of those with the fragment cut off (spec §4.4); any other fragment is
//! part of the URL as received and never cut. The variants are built by string surgery on the
//! authority and the end alone: nothing is decoded, re-encoded, lower-cased or normalised, and nothing
//! is allocated (a candidate is at most three borrowed pieces).

use core::fmt;

use crate::form::{contains_either, find_any, find_byte};

/// Which port rewrite of the received URL a signature matched (spec §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PortVariant {
    /// The URL exactly as received.
    AsReceived,
    /// The URL with the port of its authority removed (`:8080`, `:443`, even an empty `:`).
    PortRemoved,
    /// The URL with the scheme's default port added (`443` for `https`/`wss`, `80` for `http`/`ws`).
    DefaultPortAdded,
}

impl fmt::Display for PortVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PortVariant::AsReceived => "as received",
            PortVariant::PortRemoved => "port removed",
            PortVariant::DefaultPortAdded => "default port added",
        })
    }
}

/// A candidate URL as up to three borrowed pieces, concatenated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pieces<'a>(pub(crate) [&'a str; 3]);

impl Pieces<'_> {
    pub(crate) fn bytes(&self) -> impl Iterator<Item = &[u8]> {
        self.0.iter().map(|p| p.as_bytes())
    }
}

impl fmt::Display for Pieces<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|p| f.write_str(p))
    }
}

/// Where the port of a URL's authority is, if anywhere.
#[derive(Debug, Clone, Copy)]
enum Port {
    /// `url[host_end..authority_end]` is `:` followed by the port (possibly empty).
    Explicit {
        host_end: usize,
        authority_end: usize,
    },
    /// No port; the default for the scheme, if known, would go at `host_end`.
    Absent {
        host_end: usize,
        default: Option<&'static str>,
    },
    /// No `scheme://authority` could be found: only the URL as received is a candidate.
    Unknown,
}

/// A received URL, whose candidates are tried in order. Where its port is (the surgery of the second
/// candidate) is found only if the first, the URL as received, does not match: most requests never
/// need it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UrlShape<'a> {
    url: &'a str,
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// The default port of a scheme, with its colon (`:443` for `https` and `wss`, `:80` for `http` and
/// `ws`, any case); `None` for another scheme.
pub(crate) fn default_port(scheme: &str) -> Option<&'static str> {
    if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        Some(":443")
    } else if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        Some(":80")
    } else {
        None
    }
}

impl<'a> UrlShape<'a> {
    /// The shape of `url`. Never fails: an unparseable URL has one candidate, itself.
    pub(crate) fn parse(url: &'a str) -> Self {
        UrlShape { url }
    }

    /// Finds the authority and its port.
    fn port(self) -> Port {
        Self::find_port(self.url).unwrap_or(Port::Unknown)
    }

    /// One pass over the bytes: the scheme ends at the first `:` (a scheme holds none), which must
    /// start `://`; the authority ends at `/`, `?` or `#`, and its userinfo at the last `@`.
    fn find_port(url: &str) -> Option<Port> {
        let bytes = url.as_bytes();
        let scheme_end = find_byte(bytes, b':')?;
        let scheme = url.get(..scheme_end)?;
        if bytes.get(scheme_end..scheme_end + 3) != Some(b"://") || !is_scheme(scheme) {
            return None;
        }
        let start = scheme_end + 3;
        let after_scheme = bytes.get(start..)?;
        let authority_end =
            start + find_any(after_scheme, [b'/', b'?', b'#']).unwrap_or(after_scheme.len());
        let authority = bytes.get(start..authority_end)?;
        let host_start = start
            + authority
                .iter()
                .rposition(|&b| b == b'@')
                .map_or(0, |at| at + 1);
        let host_port = bytes.get(host_start..authority_end)?;
        let colon = if host_port.first() == Some(&b'[') {
            // IPv6 literal: the port comes after the closing bracket.
            let close = host_port.iter().position(|&b| b == b']')?;
            (host_port.get(close + 1) == Some(&b':')).then_some(close + 1)
        } else {
            find_byte(host_port, b':')
        };
        Some(match colon {
            Some(c) => Port::Explicit {
                host_end: host_start + c,
                authority_end,
            },
            None => Port::Absent {
                host_end: authority_end,
                default: default_port(scheme),
            },
        })
    }

    /// The one port variant of spec §4 (port removed, or default port added), if the URL has one.
    fn port_edit(self) -> Option<(PortVariant, Edit)> {
        match self.port() {
            Port::Explicit {
                host_end,
                authority_end,
            } => Some((
                PortVariant::PortRemoved,
                Edit {
                    head: host_end,
                    insert: "",
                    tail: authority_end,
                    end: None,
                },
            )),
            Port::Absent {
                host_end,
                default: Some(port),
            } => Some((
                PortVariant::DefaultPortAdded,
                Edit {
                    head: host_end,
                    insert: port,
                    tail: host_end,
                    end: None,
                },
            )),
            Port::Absent { default: None, .. } | Port::Unknown => None,
        }
    }

    /// The port variant as a URL, for tests.
    #[cfg(test)]
    fn port_variant(self) -> Option<(PortVariant, Pieces<'a>)> {
        self.port_edit().map(|(v, e)| (v, e.pieces(self.url)))
    }

    /// Every default candidate, in the order they are tried: how it differs from the URL, and the
    /// resulting URL. The URL as received, its port variant, then, for a URL whose fragment is empty or
    /// made only of connection overrides, both again with the fragment cut off (spec §4.4). Each step is worked out only when the one before it
    /// did not match.
    pub(crate) fn candidates(self) -> Candidates<'a> {
        Candidates {
            url: self.url,
            step: Step::AsReceived,
        }
    }
}

/// The candidates of a URL, in order (see [`UrlShape::candidates`]): a plain state machine, because
/// the first candidate is all most requests need and an adapter chain measured slower to start.
pub(crate) struct Candidates<'a> {
    url: &'a str,
    step: Step,
}

/// What [`Candidates`] yields next.
#[derive(Clone, Copy)]
enum Step {
    AsReceived,
    PortVariant,
    /// The URL as received without its fragment, then (`port`) its port variant.
    FragmentCut {
        end: usize,
        port: Option<(PortVariant, Edit)>,
    },
    PortVariantFragmentCut {
        port: (PortVariant, Edit),
        end: usize,
    },
    Done,
}

impl<'a> Iterator for Candidates<'a> {
    type Item = (PortVariant, Edit, Pieces<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let shape = UrlShape { url: self.url };
        loop {
            let (found, next) = match self.step {
                Step::AsReceived => (
                    Some((PortVariant::AsReceived, Edit::NONE)),
                    Step::PortVariant,
                ),
                Step::PortVariant => {
                    let port = shape.port_edit();
                    let next = match cuttable_fragment(self.url) {
                        Some(end) => Step::FragmentCut { end, port },
                        None => Step::Done,
                    };
                    (port, next)
                }
                Step::FragmentCut { end, port } => {
                    let cut = (PortVariant::AsReceived, Edit::NONE.ending_at(end));
                    let next = match port {
                        Some(port) => Step::PortVariantFragmentCut { port, end },
                        None => Step::Done,
                    };
                    (Some(cut), next)
                }
                Step::PortVariantFragmentCut {
                    port: (variant, edit),
                    end,
                } => (Some((variant, edit.ending_at(end))), Step::Done),
                Step::Done => return None,
            };
            self.step = next;
            if let Some((variant, edit)) = found {
                return Some((variant, edit, edit.pieces(self.url)));
            }
        }
    }
}

/// Where a URL's fragment starts, if the fragment may be cut off (spec §4.4): its first `#` (the
/// authority, path and query all end there), when what follows is empty or made only of Twilio's
/// connection overrides. Any other fragment is part of the URL as received: a URL rebuilt from a forged
/// `Host: example.com/voice#` and the target `/sms` ends in `#/sms`, and cutting that would replay
/// `/voice`'s signature to `/sms`.
fn cuttable_fragment(url: &str) -> Option<usize> {
    let start = find_byte(url.as_bytes(), b'#')?;
    let fragment = url.get(start + 1..)?;
    (fragment.is_empty() || fragment.split('&').all(is_override)).then_some(start)
}

/// One of Twilio's connection overrides (`rc=2`, `rp=4xx,5xx`, `e=sao-paulo`, `sni=y`): a lower-case
/// name of `ct`, `rt`, `tt`, `rc`, `rp`, `e` or `sni`, `=`, and a value of letters, digits, `,`, `.`,
/// `_` and `-` (spec §4.4).
fn is_override(pair: &str) -> bool {
    let Some((name, value)) = pair.split_once('=') else {
        return false;
    };
    matches!(name, "ct" | "rt" | "tt" | "rc" | "rp" | "e" | "sni")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b',' | b'.' | b'_' | b'-'))
}

/// A candidate URL as an edit of the received one: `url[..head] + insert + url[tail..end]`, where
/// `end` is the URL's end, or its fragment's `#` when the fragment is cut off (spec §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) head: usize,
    pub(crate) insert: &'static str,
    pub(crate) tail: usize,
    /// Where the candidate stops: `None` for the URL's end, `Some(#)` when the fragment is cut off.
    pub(crate) end: Option<usize>,
}

impl Edit {
    /// The URL unchanged.
    pub(crate) const NONE: Edit = Edit {
        head: 0,
        insert: "",
        tail: 0,
        end: None,
    };

    /// This edit, stopping at `end` (the fragment's `#`, which is after any port surgery).
    fn ending_at(self, end: usize) -> Edit {
        Edit {
            end: Some(end),
            ..self
        }
    }

    /// Whether the candidate has the URL's fragment cut off.
    pub(crate) fn cuts_fragment(self) -> bool {
        self.end.is_some()
    }

    /// The edited `url` as pieces. Offsets that do not fit `url` keep it whole (they always fit the
    /// URL the edit was made for).
    pub(crate) fn pieces(self, url: &str) -> Pieces<'_> {
        let tail = match self.end {
            None => url.get(self.tail..),
            Some(end) => url.get(self.tail..end),
        };
        match (url.get(..self.head), tail) {
            (Some(head), Some(tail)) => Pieces([head, self.insert, tail]),
            _ => Pieces([url, "", ""]),
        }
    }
}

/// The query of a URL: after the first `?`, before any `#` (a `?` after the `#` is in the fragment).
pub(crate) fn query(url: &str) -> Option<&str> {
    // Eight bytes at a time: faster than a byte loop on long URLs, and than two `str::find`s on short ones.
    let start = find_any(url.as_bytes(), [b'?', b'#'])?;
    let rest = url.get(start + 1..)?;
    if url.as_bytes().get(start) == Some(&b'#') {
        return None;
    }
    rest.get(..find_byte(rest.as_bytes(), b'#').unwrap_or(rest.len()))
}

/// Why a URL's `bodySHA256` could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyHashError {
    /// No `bodySHA256` in the query.
    Missing,
    /// Present more than once, or not 64 lowercase hex digits.
    Malformed,
}

/// Whether a raw query parameter name decodes to `bodySHA256`. Decoding is needed only for a name
/// with a `%` (`+` decodes to a space, which the name has none of), and then its raw form is longer.
fn is_body_hash_name(name: &str) -> bool {
    const NAME: &str = "bodySHA256";
    name == NAME
        || (name.len() > NAME.len()
            && name.as_bytes().contains(&b'%')
            && crate::form::Part::raw(name.as_bytes())
                .decoded()
                .eq(NAME.bytes()))
}

/// The raw values of every `bodySHA256` parameter in the URL's query (its name may be percent-encoded).
fn body_hash_values(url: &str) -> impl Iterator<Item = &str> {
    let mut rest = query(url);
    core::iter::from_fn(move || {
        while let Some(current) = rest {
            let (pair, after) = match find_byte(current.as_bytes(), b'&') {
                Some(amp) => (current.get(..amp)?, current.get(amp + 1..)),
                None => (current, None),
            };
            rest = after;
            let (name, value) = match find_byte(pair.as_bytes(), b'=') {
                Some(eq) => (pair.get(..eq)?, pair.get(eq + 1..)?),
                None => (pair, ""),
            };
            if is_body_hash_name(name) {
                return Some(value);
            }
        }
        None
    })
}

/// Whether the URL is in body mode (spec §5): its query names `bodySHA256`, well-formed or not.
pub(crate) fn carries_body_hash(url: &str) -> bool {
    // A name that decodes to `bodySHA256` holds its `H` as is or as `%48`: a query with neither an `H`
    // nor a `%` (most form webhooks' URLs) needs no split.
    query(url).is_some_and(|q| contains_either(q.as_bytes(), b'H', b'%'))
        && body_hash_values(url).next().is_some()
}

/// The `bodySHA256` of the URL's query, decoded from its 64 lowercase hex digits.
pub(crate) fn body_sha256(url: &str) -> Result<[u8; 32], BodyHashError> {
    let mut values = body_hash_values(url);
    let value = values.next().ok_or(BodyHashError::Missing)?;
    if values.next().is_some() {
        return Err(BodyHashError::Malformed);
    }
    decode_lower_hex(value).ok_or(BodyHashError::Malformed)
}

/// Lowercase hex digits' values; 16 marks a byte that is not one.
const NIBBLES: [u8; 256] = crate::signature::digit_values(b"0123456789abcdef");

/// Decodes 64 lowercase hex digits. Every digit is looked up and a bad one turns on bit 4 of `bad`,
/// checked once at the end: a branch per digit measured about 6 % of a JSON validation.
pub(crate) fn decode_lower_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    let mut bad = 0u8;
    let mut nibble = |c: u8| {
        let v = NIBBLES.get(usize::from(c)).copied().unwrap_or(16);
        bad |= v;
        v & 15
    };
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        if let [hi, lo] = pair {
            *byte = nibble(*hi) << 4 | nibble(*lo);
        }
    }
    (bad & 16 == 0).then_some(out)
}

#[cfg(test)]
mod tests;
