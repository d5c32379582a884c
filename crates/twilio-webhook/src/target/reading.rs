//! Every way a common server reads a request path, segment by segment, for the path rules.
//!
//! A server behind an adapter or the guard may route a path other than as it was written. These are
//! the readings kept for each segment (between two `/` of the raw path):
//!
//! - percent-decoded once, and twice (a server or proxy that decodes again);
//! - with its `;…` parameters dropped (Tomcat, Jetty, Spring), whether the `;` was written or
//!   encoded;
//! - with trailing dots and spaces dropped (Windows and IIS);
//! - cut at its first `:` (NTFS alternate data streams: on Windows and IIS `twilio::$INDEX_ALLOCATION`,
//!   `twilio:$i30:$INDEX_ALLOCATION` and `sms.php::$DATA` open `twilio` and `sms.php`);
//! - when it is shaped like a Windows 8.3 short name, `PREFIX~N` or `PREFIX~N.EXT`, as any name that
//!   starts with `PREFIX` (`TWILIO~1` may open `twilio-hooks`; see [`short_name_covers`]): a
//!   `require` prefix protects such a segment when its name could have that short name;
//! - folded: letters in any case, fullwidth forms as ASCII, and the few non-ASCII letters whose case
//!   mapping is ASCII (`ı`, `İ`, `ſ`, `K`), as a case-insensitive server or a "best fit" code page
//!   matches them; and with an extension dropped (Spring's suffix pattern matching).
//!
//! What no reading can make safe is refused as [`TargetError::NotNormal`]: a dot segment under any
//! reading (`..;x`, `%u002e`, `%c0%ae`, `．．`, `. .`), an encoded slash or backslash, a backslash, a
//! control character (NUL included), an invalid or IIS `%u` escape, a `?` or `#` that decoding makes,
//! bytes that are not UTF-8 once decoded (overlong forms included) and an empty segment, also one a
//! reading empties (`/;x/`, `/:x/`).

use super::TargetError;

/// One segment of a path: every name a server could read it as.
#[derive(Debug, Default)]
pub(super) struct Segment {
    /// The names as written, decoded: a prefix exempts this segment only if every one is its name.
    pub(super) exact: Vec<String>,
    /// The names folded (see [`fold`]), extensions dropped too: a prefix protects this segment if
    /// any one is its folded name.
    pub(super) folded: Vec<String>,
    /// The `PREFIX` (folded) of each name shaped like an 8.3 short name (`PREFIX~N[.EXT]`): a prefix
    /// protects this segment if one of them [covers](short_name_covers) its folded name.
    pub(super) short: Vec<String>,
}

/// The segments of the path of `origin` (an origin-form target), with every reading of each, or
/// `NotNormal` when some reading is ambiguous. A trailing slash gives a last, empty segment.
pub(super) fn segments(origin: &str) -> Result<Vec<Segment>, TargetError> {
    let raw = origin.split('?').next().unwrap_or_default().as_bytes();
    check_escapes(raw)?;
    let once = percent_decode(raw);
    let twice = percent_decode(&once);
    let slashes = count_slashes(raw);
    for decoded in [&once, &twice] {
        let bad = |b: &u8| matches!(b, b'\\' | b'?' | b'#') || b.is_ascii_control();
        if count_slashes(decoded) != slashes || decoded.iter().any(bad) {
            return Err(TargetError::NotNormal);
        }
        std::str::from_utf8(decoded).map_err(|_| TargetError::NotNormal)?;
    }
    // IIS decodes `%uXXXX`; once decoded, `%25u002e` is one.
    if once.windows(2).any(|w| w.eq_ignore_ascii_case(b"%u")) {
        return Err(TargetError::NotNormal);
    }
    let raw_segments: Vec<&[u8]> = raw.split(|&b| b == b'/').skip(1).collect();
    let last = raw_segments.len().saturating_sub(1);
    raw_segments
        .iter()
        .enumerate()
        .map(|(i, raw)| segment(raw, i == last))
        .collect()
}

/// Every reading of one raw segment, checked.
fn segment(raw: &[u8], last: bool) -> Result<Segment, TargetError> {
    let before_param = raw.split(|&b| b == b';').next().unwrap_or_default();
    let once = percent_decode(raw);
    let once_named = percent_decode(before_param);
    let mut decoded = Vec::with_capacity(4);
    for bytes in [
        percent_decode(&once),
        percent_decode(&once_named),
        once_named,
        once,
    ] {
        let text = String::from_utf8(bytes).map_err(|_| TargetError::NotNormal)?;
        push_new(&mut decoded, text);
    }
    let mut out = Segment::default();
    for name in &decoded {
        let unparamed = name.split(';').next().unwrap_or_default();
        for reading in [name.as_str(), unparamed] {
            // NTFS: `name:stream[:type]` opens `name` (a stream of it, or `::$DATA` its content, or
            // `:$I30:$INDEX_ALLOCATION` the directory itself).
            let file = reading.split(':').next().unwrap_or_default();
            for reading in [reading, file] {
                push_new(&mut out.exact, reading.to_owned());
                push_new(&mut out.exact, trim_windows(reading).to_owned());
            }
        }
    }
    for name in &out.exact {
        let folded = fold(name)?;
        if let Some(prefix) = short_name_prefix(&folded) {
            push_new(&mut out.short, prefix.to_owned());
        }
        push_new(&mut out.folded, trim_windows(&folded).to_owned());
        // Spring's suffix patterns: `/twilio.json` is routed as `/twilio`.
        match folded.split_once('.') {
            Some((stem, _)) if !stem.is_empty() => push_new(&mut out.folded, stem.to_owned()),
            _ => {}
        }
        push_new(&mut out.folded, folded);
    }
    let ambiguous = |reading: &String| {
        (reading.is_empty() && !last && !raw.is_empty())
            || (!reading.is_empty() && reading.bytes().all(|b| matches!(b, b'.' | b' ')))
    };
    if out.exact.iter().chain(&out.folded).any(ambiguous) || (raw.is_empty() && !last) {
        return Err(TargetError::NotNormal);
    }
    Ok(out)
}

/// The part before `~` of a folded name shaped like a Windows 8.3 short name: `PREFIX~N` or
/// `PREFIX~N.EXT`, with at most eight characters before the dot, `PREFIX` not empty, `N` one or more
/// digits, and an extension of at most three characters.
pub(super) fn short_name_prefix(folded: &str) -> Option<&str> {
    let (base, extension) = folded.split_once('.').unwrap_or((folded, ""));
    if base.chars().count() > 8 || extension.chars().count() > 3 || extension.contains('.') {
        return None;
    }
    let (prefix, n) = base.rsplit_once('~')?;
    (!prefix.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(prefix)
}

/// Whether a short name whose part before `~` is `prefix` may be the short name of `name` (both
/// folded). Windows makes a short name from the first characters of the name without its dots and
/// spaces, with `_` for a character an 8.3 name cannot hold (so `_` here stands for any character);
/// once several names share those characters, from the first one or two and four hex digits of a
/// hash (`TW1A2B~1`), so a `prefix` that ends in four hex digits also covers every name starting with
/// what comes before them. Wider than Windows, never narrower: it only ever adds protection.
pub(super) fn short_name_covers(prefix: &str, name: &str) -> bool {
    let long: Vec<char> = name.chars().filter(|c| !matches!(c, '.' | ' ')).collect();
    let starts = |prefix: &[char]| {
        prefix.len() <= long.len() && prefix.iter().zip(&long).all(|(p, c)| *p == '_' || p == c)
    };
    let prefix: Vec<char> = prefix.chars().collect();
    if starts(&prefix) {
        return true;
    }
    let hashed = prefix.len().checked_sub(4).filter(|&cut| cut > 0);
    hashed.is_some_and(|cut| {
        let (kept, hash) = prefix.split_at(cut);
        hash.iter().all(char::is_ascii_hexdigit) && starts(kept)
    })
}

/// `name` without its trailing dots and spaces, as Windows opens a file.
fn trim_windows(name: &str) -> &str {
    name.trim_end_matches(['.', ' '])
}

fn push_new(readings: &mut Vec<String>, reading: String) {
    if !readings.contains(&reading) {
        readings.push(reading);
    }
}

/// `name` as a case-insensitive server compares it: lowercase, fullwidth ASCII forms as ASCII, the
/// non-ASCII letters whose case mapping is ASCII as that letter, and the compatibility forms of `.`,
/// `/` and `\`. A `/` or `\` it makes is refused: it would split the segment.
pub(super) fn fold(name: &str) -> Result<String, TargetError> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let mapped = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
            '\u{0130}' | '\u{0131}' => 'i',
            '\u{017F}' => 's',
            '\u{212A}' => 'k',
            '\u{2024}' | '\u{FE52}' => '.',
            '\u{2215}' | '\u{2044}' => '/',
            '\u{2216}' | '\u{FE68}' => '\\',
            _ => c,
        };
        if matches!(mapped, '/' | '\\') {
            return Err(TargetError::NotNormal);
        }
        out.extend(mapped.to_lowercase());
    }
    Ok(out)
}

/// Every `%` starts an escape of two hex digits: IIS reads `%u002e` as `.`, and other servers
/// refuse or keep an invalid escape, so it is ambiguous.
fn check_escapes(raw: &[u8]) -> Result<(), TargetError> {
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let hex = |j: usize| raw.get(j).copied().and_then(crate::form::hex_value);
            if hex(i + 1).is_none() || hex(i + 2).is_none() {
                return Err(TargetError::NotNormal);
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

fn count_slashes(path: &[u8]) -> usize {
    path.iter().filter(|&&b| b == b'/').count()
}

/// `%XX` escapes decoded to bytes; anything else, invalid escapes included, kept as is.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = match (b, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) => crate::form::hex_value(h)
                .zip(crate::form::hex_value(l))
                .map(|(h, l)| h << 4 | l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}
