//! What a trusted proxy says in `Forwarded` (RFC 7239) and `X-Forwarded-Proto/-Host/-Port/-Prefix`:
//! the nearest proxy's entry, its quoted strings split and unquoted, the two headers checked to agree.

use http::HeaderMap;

use super::{BadHost, known_scheme};

/// The last comma-separated entry of the last occurrence of a header: what the nearest proxy said.
fn nearest<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let last = headers.get_all(name).iter().next_back()?.to_str().ok()?;
    let entry = last.rsplit(',').next()?.trim();
    (!entry.is_empty()).then_some(entry)
}

/// What the nearest trusted proxy says about the public URL.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Forwarded<'h> {
    pub(super) proto: Option<&'static str>,
    pub(super) host: Option<&'h str>,
    pub(super) port: Option<&'h str>,
    pub(super) prefix: Option<&'h str>,
}

impl<'h> Forwarded<'h> {
    /// `Forwarded` (its last element) first, then `X-Forwarded-*` for what it does not say. A scheme,
    /// port or prefix that cannot be part of a URL is ignored; a host is checked where it is used (a
    /// host that is not a plain authority is refused, spec §4.5).
    ///
    /// When both say a host (or both a scheme) and they differ (ignoring case), the request is
    /// [`BadHost`]: a trusted proxy that sets `X-Forwarded-Host` but passes a client's `Forwarded`
    /// through would otherwise let the client choose the host. Which of the two the proxy wrote cannot
    /// be told, so neither is taken.
    pub(super) fn from_headers(headers: &'h HeaderMap) -> Result<Self, BadHost> {
        let element = headers
            .get_all(http::header::FORWARDED)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| split_quoted(v, b',').next_back())
            .unwrap_or_default();
        let param = |name: &str| {
            split_quoted(element, b';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| unquote(v.trim()))
            })
        };
        let agreed =
            |rfc7239: Option<&'h str>, x_forwarded: Option<&'h str>| match (rfc7239, x_forwarded) {
                (Some(a), Some(b)) if !a.eq_ignore_ascii_case(b) => Err(BadHost),
                (a, b) => Ok(a.or(b)),
            };
        let proto = agreed(param("proto"), nearest(headers, "x-forwarded-proto"))?;
        let host = agreed(param("host"), nearest(headers, "x-forwarded-host"))?;
        let port = nearest(headers, "x-forwarded-port");
        let prefix = nearest(headers, "x-forwarded-prefix");
        Ok(Forwarded {
            proto: proto.and_then(|p| {
                (p.eq_ignore_ascii_case("https") || p.eq_ignore_ascii_case("http"))
                    .then(|| known_scheme(p))
            }),
            host,
            port: port
                .filter(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit())),
            prefix: prefix
                .map(|p| p.trim_end_matches('/'))
                .filter(|p| p.starts_with('/') && !p.contains(['?', '#', ' '])),
        })
    }
}

/// Splits at `sep` outside double-quoted strings (RFC 7230 quoted-string, with `\` escapes).
pub(crate) fn split_quoted(s: &str, sep: u8) -> impl DoubleEndedIterator<Item = &str> {
    let mut cuts = Vec::new();
    let (mut quoted, mut escaped) = (false, false);
    for (i, b) in s.bytes().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if b == sep && !quoted => cuts.push(i),
            _ => {}
        }
    }
    let starts = core::iter::once(0).chain(cuts.iter().map(|c| c + 1));
    let ends = cuts.iter().copied().chain(core::iter::once(s.len()));
    starts
        .zip(ends)
        .map(|(a, b)| s.get(a..b).unwrap_or_default().trim())
        .collect::<Vec<_>>()
        .into_iter()
}

/// A token or a quoted-string's content (a quoted value with escapes is refused: no host has them).
pub(crate) fn unquote(v: &str) -> &str {
    match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => inner,
        Some(_) => "",
        None => v,
    }
}
