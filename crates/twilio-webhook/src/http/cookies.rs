//! Which cookies of a verified request a proxy forwards: none that an application could read as one of
//! the request's signed parameters.
//!
//! PHP's `$_REQUEST` merges the query (`$_GET`), the form (`$_POST`) and the cookies (`$_COOKIE`), in
//! that order by default (`request_order` unset, as in the official Docker image, which ships no
//! `php.ini`): a cookie named `From` replaces the signed `From` of a verified request. The `Cookie`
//! header is not signed, and Twilio keeps the cookies an app sets across a call's webhooks, so the
//! header cannot go as a whole; the cookies whose names read as a signed parameter's do.

use std::borrow::Cow;
use std::collections::HashSet;

/// The `Cookie` fields a proxy forwards with a verified request sent to `target` with `body`: `fields`
/// without any cookie whose name, as PHP reads it, is the name of one of the request's parameters, as
/// PHP reads that (issue 28, F10: `$_REQUEST` lets a cookie replace a signed parameter).
///
/// - **The parameters** are the names of the target's query and of the body read as a form
///   (`name=value` pairs split at `&`, and at `;` too, which some `arg_separator.input` settings
///   add), decoded as PHP decodes them (`+` as a space, `%XX`). The body is read so whatever its
///   type: a cookie that collides with nothing PHP parses is dropped for nothing, never kept wrongly.
/// - **A name as PHP reads it**: cut at a NUL byte, leading spaces dropped, `.` and ` ` as `_`, and
///   the name up to a `[` (`From[x]` is an array named `From`); a `[` with no `]` after it is read
///   as `_` by PHP 8 (`From[` is `From_`), and both readings count. A cookie's name is read as sent
///   (PHP 8.0.24 and later), percent-decoded (earlier versions) and without trailing white space
///   (parsers that trim it); each reading counts.
/// - **What a pair is**: PHP splits the header at `;` and drops leading white space (a pair with no
///   `=` is a cookie with an empty value). A header it could read otherwise is read every way, and
///   the ambiguity goes as a whole when any reading collides (fail closed): a pair that holds a `,`
///   (RFC 2965 parsers, and the join of repeated fields) goes when any of its parts collides, and the
///   pairs from the first to the last that hold a `"` (a quoted value may hold a `;` for a parser
///   that reads quotes) go together when any of them does.
///
/// Every other pair is kept byte for byte; a field whose pairs are all kept is returned as it came,
/// a field left with no pair is not returned (each field is read alone: repeated `Cookie` fields,
/// however a server joins them, cannot make a pair collide that does not collide alone). The
/// request itself is never refused for its cookies. The work is linear in the size of the target,
/// the body and the fields, and there is none when there are no fields.
///
/// ```
/// use twilio_webhook::forwarded_cookies;
///
/// let fields: [&[u8]; 1] = [b"session=abc; From=%2B19995550000; Bo.dy=x; lang=en"];
/// let kept = forwarded_cookies("/sms?Digits=1", b"From=%2B15551234567&Bo+dy=Hi", fields);
/// // PHP reads `Bo.dy` and `Bo dy` as `Bo_dy`.
/// assert_eq!(kept, [b"session=abc; lang=en".as_slice()]);
/// // The query's parameters count too, and an array spelling is the same name.
/// let fields: [&[u8]; 1] = [b"Digits[]=9"];
/// assert!(forwarded_cookies("/sms?Digits=1", b"", fields).is_empty());
/// ```
pub fn forwarded_cookies<'a, I>(target: &str, body: &[u8], fields: I) -> Vec<Cow<'a, [u8]>>
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let fields: Vec<Field<'a>> = fields.into_iter().map(Field::read).collect();
    // Every name the cookies may be read as; then which of them a parameter is read as too.
    let mut names: HashSet<Vec<u8>> = HashSet::new();
    for field in &fields {
        for pair in &field.pairs {
            pair.readings(|name| {
                names.insert(name.to_vec());
            });
        }
    }
    let mut colliding: HashSet<Vec<u8>> = HashSet::new();
    if !names.is_empty() {
        let query = target
            .split_once('?')
            .map_or("", |(_, query)| query)
            .as_bytes();
        let mut scratch = Scratch::default();
        for source in [query, body] {
            parameter_names(source, &mut scratch, |name| {
                if names.contains(name) {
                    colliding.insert(name.to_vec());
                }
            });
        }
    }
    fields
        .into_iter()
        .filter_map(|field| field.kept(&colliding))
        .collect()
}

/// One `Cookie` field, split into its pairs.
struct Field<'a> {
    value: &'a [u8],
    pairs: Vec<Pair<'a>>,
}

/// One pair of a field: the bytes between two `;`, without surrounding white space.
struct Pair<'a> {
    bytes: &'a [u8],
}

impl<'a> Field<'a> {
    fn read(value: &'a [u8]) -> Self {
        let pairs = value
            .split(|&b| b == b';')
            .map(|bytes| Pair { bytes: trim(bytes) })
            .collect();
        Field { value, pairs }
    }

    /// The field as forwarded: as it came when every pair is kept, its kept pairs joined with `; `
    /// when some go, `None` when none is left.
    fn kept(self, colliding: &HashSet<Vec<u8>>) -> Option<Cow<'a, [u8]>> {
        let mut drop: Vec<bool> = self
            .pairs
            .iter()
            .map(|pair| {
                let mut hit = false;
                pair.readings(|name| hit |= colliding.contains(name));
                hit
            })
            .collect();
        // The pairs from the first to the last holding a quote are one unit for a parser that reads a
        // quoted value across a `;`: one colliding, all go.
        let quoted: Vec<usize> = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, pair)| pair.bytes.contains(&b'"'))
            .map(|(i, _)| i)
            .collect();
        if let (Some(&first), Some(&last)) = (quoted.first(), quoted.last()) {
            let unit = drop.get(first..=last).unwrap_or_default();
            if unit.iter().any(|&d| d) {
                for d in drop.iter_mut().skip(first).take(last - first + 1) {
                    *d = true;
                }
            }
        }
        if !drop.iter().any(|&d| d) {
            return Some(Cow::Borrowed(self.value));
        }
        let mut out = Vec::with_capacity(self.value.len());
        for (pair, _) in self
            .pairs
            .iter()
            .zip(&drop)
            .filter(|(pair, d)| !**d && !pair.bytes.is_empty())
        {
            if !out.is_empty() {
                out.extend_from_slice(b"; ");
            }
            out.extend_from_slice(pair.bytes);
        }
        (!out.is_empty()).then_some(Cow::Owned(out))
    }
}

impl Pair<'_> {
    /// Every name this pair may be read as (PHP's reading of each, [`php_names`]): the pair's, and
    /// each of its parts between commas; each as sent, without trailing white space, and
    /// percent-decoded.
    fn readings(&self, mut each: impl FnMut(&[u8])) {
        let mut decoded = Vec::new();
        let mut read = |part: &[u8]| {
            let name = part.split(|&b| b == b'=').next().unwrap_or_default();
            // PHP drops a cookie name's leading white space (`isspace`).
            let name = trim_start(name);
            php_names(name, &mut each);
            php_names(trim(name), &mut each);
            decoded.clear();
            url_decode(name, &mut decoded);
            php_names(&decoded, &mut each);
        };
        read(self.bytes);
        if self.bytes.contains(&b',') {
            for part in self.bytes.split(|&b| b == b',') {
                read(part);
            }
        }
    }
}

/// Reused buffers for reading parameter names.
#[derive(Default)]
struct Scratch {
    decoded: Vec<u8>,
}

/// Calls `each` with every reading ([`php_names`]) of every parameter name in `source`, a query or
/// a form body: pieces split at `&`, and again at `;`.
fn parameter_names(source: &[u8], scratch: &mut Scratch, mut each: impl FnMut(&[u8])) {
    for piece in source.split(|&b| b == b'&') {
        let mut read = |piece: &[u8]| {
            let name = piece.split(|&b| b == b'=').next().unwrap_or_default();
            scratch.decoded.clear();
            url_decode(name, &mut scratch.decoded);
            php_names(&scratch.decoded, &mut each);
        };
        read(piece);
        if piece.contains(&b';') {
            for part in piece.split(|&b| b == b';') {
                read(part);
            }
        }
    }
}

/// Calls `each` with the names PHP may register a variable named `name` under
/// (`php_register_variable_ex`): cut at a NUL byte, leading spaces dropped, `.` and ` ` as `_`
/// before any `[`; with a `[`, the name before it (an array), and that name, `_` and the rest, with
/// the rest's ` `, `.` and `[` as `_` (PHP 8, for a `[` with no `]`) and as they are (earlier
/// versions). An empty name is no variable.
fn php_names(name: &[u8], each: &mut impl FnMut(&[u8])) {
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    let start = name.iter().position(|&b| b != b' ').unwrap_or(name.len());
    let name = name.get(start..).unwrap_or_default();
    let folded: Vec<u8> = name
        .iter()
        .map(|&b| if b == b' ' || b == b'.' { b'_' } else { b })
        .collect();
    let Some(bracket) = name.iter().position(|&b| b == b'[') else {
        if !folded.is_empty() {
            each(&folded);
        }
        return;
    };
    let prefix = folded.get(..bracket).unwrap_or_default();
    if prefix.is_empty() {
        return;
    }
    each(prefix);
    let rest = name.get(bracket + 1..).unwrap_or_default();
    let mut plain = prefix.to_vec();
    plain.push(b'_');
    let mut mangled = plain.clone();
    plain.extend_from_slice(rest);
    mangled.extend(rest.iter().map(|&b| {
        if matches!(b, b' ' | b'.' | b'[') {
            b'_'
        } else {
            b
        }
    }));
    each(&plain);
    each(&mangled);
}

/// PHP's `php_url_decode`: `+` as a space, `%XX` as its byte, anything else as it is.
fn url_decode(input: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        let escaped = match (b, input.get(i + 1), input.get(i + 2)) {
            (b'%', Some(&high), Some(&low)) => hex(high).zip(hex(low)).map(|(h, l)| h * 16 + l),
            _ => None,
        };
        match escaped {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(if b == b'+' { b' ' } else { b });
                i += 1;
            }
        }
    }
}

/// The value of a hexadecimal digit.
fn hex(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// C's `isspace` in the "C" locale: what PHP drops before a cookie's name.
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

fn trim(bytes: &[u8]) -> &[u8] {
    let bytes = trim_start(bytes);
    let end = bytes
        .iter()
        .rposition(|&b| !is_space(b))
        .map_or(0, |e| e + 1);
    bytes.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests;
