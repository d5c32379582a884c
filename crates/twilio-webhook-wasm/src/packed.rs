//! Many strings in one crossing: JavaScript joins them into one string, encodes it as UTF-8 into a
//! buffer it keeps, and sends the bytes with the strings' lengths in UTF-16 code units (JavaScript's
//! `length`). Sending each string on its own costs more than the whole HMAC (an allocation and an
//! encoding per string), so parameters and headers travel packed.

/// Cuts `text` at `lengths` (UTF-16 code units each), or `None` if they do not add up to exactly
/// `text`. A lone surrogate reaches Rust as U+FFFD, one unit too, so the counts still agree.
struct Cutter<'a> {
    text: &'a str,
    ascii: bool,
    at: usize,
}

impl<'a> Cutter<'a> {
    fn new(text: &'a str) -> Self {
        Cutter {
            text,
            // In ASCII a UTF-16 unit is a byte: every cut is an addition.
            ascii: text.is_ascii(),
            at: 0,
        }
    }

    /// The next piece, `units` UTF-16 code units long.
    fn next(&mut self, units: u32) -> Option<&'a str> {
        let start = self.at;
        let mut end = start;
        if self.ascii {
            end = end.checked_add(usize::try_from(units).ok()?)?;
        } else if let Some(ascii) = self
            .text
            .as_bytes()
            .get(start..start.saturating_add(usize::try_from(units).ok()?))
            .filter(|b| b.is_ascii())
        {
            // An ASCII piece in a text that is not: most keys and many values.
            end += ascii.len();
        } else {
            // A piece of n units takes at least n bytes (one per unit, two units in four bytes): count
            // the units of the next `left` bytes at once, until none are left, then step over the
            // continuation bytes of the last character.
            let bytes = self.text.as_bytes();
            let mut left = usize::try_from(units).ok()?;
            while left > 0 {
                let next = end.checked_add(left)?;
                let counted = utf16_units(bytes.get(end..next)?);
                // More units than wanted: the cut falls inside a surrogate pair.
                left = left.checked_sub(counted)?;
                end = next;
            }
            while bytes.get(end).is_some_and(|b| (0x80..=0xBF).contains(b)) {
                end += 1;
            }
        }
        let piece = self.text.get(start..end)?;
        self.at = end;
        Some(piece)
    }

    /// Whether every byte was cut.
    fn finished(&self) -> bool {
        self.at == self.text.len()
    }
}

/// The UTF-16 units of the characters whose lead bytes are in `bytes`: one per lead byte (any byte but
/// a continuation byte, `0x80..=0xBF`), two for a lead byte of four bytes (`0xF0` and up).
fn utf16_units(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .map(|&b| usize::from(!(0x80..=0xBF).contains(&b)) + usize::from(b >= 0xF0))
        .sum()
}

/// The pieces of `text` cut at `lengths`, or `None` if they do not add up to exactly `text`.
#[cfg(test)]
fn pieces<'a>(text: &'a str, lengths: &[u32]) -> Option<Vec<&'a str>> {
    let mut cutter = Cutter::new(text);
    let out = lengths
        .iter()
        .map(|&units| cutter.next(units))
        .collect::<Option<Vec<_>>>()?;
    cutter.finished().then_some(out)
}

/// The pieces of UTF-8 `bytes` (what `TextEncoder` writes) cut at `lengths`; `None` if they are not
/// UTF-8 or do not add up.
#[cfg(test)]
fn pieces_of_bytes<'a>(bytes: &'a [u8], lengths: &[u32]) -> Option<Vec<&'a str>> {
    pieces(std::str::from_utf8(bytes).ok()?, lengths)
}

/// Pairs (key, value) from UTF-8 `bytes` cut at `lengths` taken two by two, or `None` if the bytes are
/// not UTF-8, the lengths do not add up or do not pair up.
pub(crate) fn pairs<'a>(bytes: &'a [u8], lengths: &[u32]) -> Option<Vec<(&'a str, &'a str)>> {
    let mut cutter = Cutter::new(std::str::from_utf8(bytes).ok()?);
    let mut chunks = lengths.chunks_exact(2);
    let mut out = Vec::with_capacity(lengths.len() / 2);
    for chunk in chunks.by_ref() {
        if let [key, value] = *chunk {
            out.push((cutter.next(key)?, cutter.next(value)?));
        }
    }
    (chunks.remainder().is_empty() && cutter.finished()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the strings (ASCII, two- and three-byte characters, astral ones), packing them the
        /// way JavaScript does and cutting them here gives them back.
        #[test]
        fn packed_strings_come_back(strings in proptest::collection::vec(".{0,12}", 0..12)) {
            let joined: String = strings.concat();
            let lengths: Vec<u32> = strings
                .iter()
                .map(|s| s.encode_utf16().count() as u32)
                .collect();
            let expected: Vec<&str> = strings.iter().map(String::as_str).collect();
            prop_assert_eq!(pieces_of_bytes(joined.as_bytes(), &lengths), Some(expected));
        }
    }

    #[test]
    fn ascii_pieces_are_cut_at_byte_lengths() {
        assert_eq!(
            pairs(b"ToBodyFromA", &[2, 4, 4, 1]),
            Some(vec![("To", "Body"), ("From", "A")])
        );
        assert_eq!(pairs(b"", &[]), Some(vec![]));
        assert_eq!(pairs(b"ab", &[0, 2]), Some(vec![("", "ab")]));
    }

    #[test]
    fn other_text_is_cut_at_utf16_lengths() {
        // "é" is one unit (two bytes), "😀" two units (four bytes), "\u{FFFD}" one unit (three bytes).
        assert_eq!(
            pairs("é😀k\u{FFFD}".as_bytes(), &[1, 2, 1, 1]),
            Some(vec![("é", "😀"), ("k", "\u{FFFD}")])
        );
    }

    #[test]
    fn lengths_that_do_not_add_up_are_refused() {
        assert_eq!(pieces("abc", &[2]), None, "text left over");
        assert_eq!(pieces("abc", &[2, 2]), None, "lengths past the end");
        assert_eq!(
            pieces("é😀", &[2, 1]),
            None,
            "a cut inside a surrogate pair"
        );
        assert_eq!(pieces("éa", &[1, 2]), None, "past the end, not ASCII");
        assert_eq!(pieces("é", &[2]), None, "bytes are not units");
        assert_eq!(pairs(b"abc", &[1, 1, 1]), None, "a key without a value");
        assert_eq!(pieces("ab", &[u32::MAX, 3]), None, "lengths that overflow");
        assert_eq!(
            pieces("aé", &[3]),
            None,
            "an ASCII start, then past the end"
        );
        assert_eq!(pieces_of_bytes(b"a\xff", &[2]), None, "not UTF-8");
    }
}
