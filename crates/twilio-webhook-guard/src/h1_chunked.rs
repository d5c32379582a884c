//! The chunked transfer coding (RFC 9112 §7.1), decoded strictly as bytes arrive: a chunk size is
//! plain hex, its extensions follow the `chunk-ext` grammar (§7.1.1), each trailer line is a field
//! line (§7.1.2), and every line ends in CRLF. Extensions and trailers are checked, then discarded:
//! the guard forwards a body with a `Content-Length` and no trailers.

use super::MAX_HEAD;

/// Where a chunked body stands, fed as bytes arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Chunked {
    /// A chunk-size line is next.
    Size,
    /// This many data bytes of the current chunk are still to come.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// The trailer section after the last chunk (checked, then discarded); the bytes it has taken so
    /// far.
    Trailers(usize),
    /// The body has ended.
    Done,
}

/// What one step of [`Chunked::step`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `consumed` bytes were framing or trailers.
    Framing(usize),
    /// The next `n` bytes of the input are data.
    Data(usize),
    /// More input is needed.
    More,
}

impl Chunked {
    /// Advances over the start of `input`; `Err` for a body that is not valid chunked coding.
    pub(crate) fn step(&mut self, input: &[u8]) -> Result<Step, &'static str> {
        match *self {
            Chunked::Size => {
                let Some(line) = line(input)? else {
                    return Ok(Step::More);
                };
                let size = chunk_size(line.0)?;
                *self = if size == 0 {
                    Chunked::Trailers(0)
                } else {
                    Chunked::Data(size)
                };
                Ok(Step::Framing(line.1))
            }
            Chunked::Data(left) => {
                if input.is_empty() {
                    return Ok(Step::More);
                }
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
                let left = left - n as u64;
                *self = if left == 0 {
                    Chunked::DataEnd
                } else {
                    Chunked::Data(left)
                };
                Ok(Step::Data(n))
            }
            Chunked::DataEnd => match input {
                [b'\r', b'\n', ..] => {
                    *self = Chunked::Size;
                    Ok(Step::Framing(2))
                }
                [] | [b'\r'] => Ok(Step::More),
                _ => Err("no CRLF after a chunk"),
            },
            Chunked::Trailers(taken) => {
                // The whole section is bounded as a head is, whatever its lines.
                let Some((field, used)) = line(input)? else {
                    if taken + input.len() > MAX_HEAD {
                        return Err("trailers too long");
                    }
                    return Ok(Step::More);
                };
                let taken = taken + used;
                if taken > MAX_HEAD {
                    return Err("trailers too long");
                }
                *self = if field.is_empty() {
                    Chunked::Done
                } else {
                    trailer_field(field)?;
                    Chunked::Trailers(taken)
                };
                Ok(Step::Framing(used))
            }
            Chunked::Done => Ok(Step::Framing(0)),
        }
    }
}

/// The line at the start of `input` (without its CRLF) and the bytes it takes; `None` if it has not
/// ended yet. A bare LF, or a line over the head limit, is an error.
fn line(input: &[u8]) -> Result<Option<(&[u8], usize)>, &'static str> {
    match input.iter().position(|&b| b == b'\n') {
        Some(end) => match input.get(..end) {
            Some([text @ .., b'\r']) => Ok(Some((text, end + 1))),
            _ => Err("a bare LF in chunked coding"),
        },
        None if input.len() > MAX_HEAD => Err("a chunk line too long"),
        None => Ok(None),
    }
}

/// A chunk-size line: hex digits, then `chunk-ext` (checked, then ignored).
fn chunk_size(line: &[u8]) -> Result<u64, &'static str> {
    let end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, ext) = line.split_at(end);
    if digits.is_empty()
        || digits.len() > 15
        || !matches!(ext.first(), None | Some(b';' | b' ' | b'\t'))
    {
        return Err("a bad chunk size");
    }
    chunk_ext(ext)?;
    let text = std::str::from_utf8(digits).map_err(|_| "a bad chunk size")?;
    u64::from_str_radix(text, 16).map_err(|_| "a bad chunk size")
}

/// Checks `chunk-ext` (RFC 9112 §7.1.1):
/// `*( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )`, a name a token and a value a
/// token or a quoted string.
fn chunk_ext(mut ext: &[u8]) -> Result<(), &'static str> {
    const BAD: &str = "a bad chunk extension";
    while !ext.is_empty() {
        ext = skip_ws(ext).strip_prefix(b";").ok_or(BAD)?;
        let name = skip_ws(ext);
        let rest = skip_token(name);
        if rest.len() == name.len() {
            return Err(BAD);
        }
        ext = rest;
        let after = skip_ws(ext);
        if let Some(value) = after.strip_prefix(b"=") {
            let value = skip_ws(value);
            ext = match value.first() {
                Some(b'"') => skip_quoted(value).ok_or(BAD)?,
                _ => {
                    let rest = skip_token(value);
                    if rest.len() == value.len() {
                        return Err(BAD);
                    }
                    rest
                }
            };
        }
    }
    Ok(())
}

/// Checks a trailer line: `field-name ":" OWS field-value OWS` (RFC 9112 §7.1.2, §5), the name a
/// token and the value visible characters, spaces and tabs only (no CR, LF, NUL or other control).
fn trailer_field(line: &[u8]) -> Result<(), &'static str> {
    const BAD: &str = "a bad trailer field";
    let rest = skip_token(line);
    if rest.len() == line.len() {
        return Err(BAD);
    }
    let value = rest.strip_prefix(b":").ok_or(BAD)?;
    if value
        .iter()
        .all(|&b| b == b' ' || b == b'\t' || (b >= 0x21 && b != 0x7f))
    {
        Ok(())
    } else {
        Err(BAD)
    }
}

/// `input` after its leading spaces and tabs (`BWS`).
fn skip_ws(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(input.len());
    input.get(n..).unwrap_or_default()
}

/// `input` after its leading token characters (`tchar`, RFC 9110 §5.6.2).
fn skip_token(input: &[u8]) -> &[u8] {
    let n = input
        .iter()
        .position(|&b| !is_tchar(b))
        .unwrap_or(input.len());
    input.get(n..).unwrap_or_default()
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `input` after the quoted string it starts with (RFC 9110 §5.6.4); `None` if it is not one.
fn skip_quoted(input: &[u8]) -> Option<&[u8]> {
    let mut rest = input.strip_prefix(b"\"")?;
    loop {
        match rest {
            [b'"', after @ ..] => return Some(after),
            [b'\\', c, after @ ..] if is_quotable(*c) => rest = after,
            [c, after @ ..] if *c != b'\\' && is_quotable(*c) => rest = after,
            _ => return None,
        }
    }
}

/// `HTAB / SP / VCHAR / obs-text`: what `qdtext` and `quoted-pair` take (`qdtext` without `"` and
/// `\`).
fn is_quotable(b: u8) -> bool {
    b == b'\t' || b == b' ' || (b >= 0x21 && b != 0x7f)
}

#[cfg(test)]
#[path = "h1_chunked_tests.rs"]
mod tests;
