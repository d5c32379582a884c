//! Form parameters: decoding `application/x-www-form-urlencoded` bodies and the canonical order of spec §2.
//!
//! The string to sign appends, for each distinct key sorted by its UTF-8 bytes, each of its distinct values
//! sorted by their UTF-8 bytes, as `key || value` with no separator. Sorting all `(key, value)` pairs by
//! `(key bytes, value bytes)` and dropping adjacent duplicates gives exactly that sequence.
//!
//! Nothing here allocates for up to [`INLINE_FIELDS`] parameters: fields borrow from the caller's data,
//! live in a stack array, and form-encoded parts are decoded on the fly while they are compared or hashed.

use core::cmp::Ordering;

/// How many parameters are kept on the stack before spilling to the heap.
pub(crate) const INLINE_FIELDS: usize = 64;

/// One form parameter as decoded text, the shape accepted by the validation and signing functions.
///
/// Implemented for any `(K, V)` pair of string-like values and for references to such pairs, so a
/// `&HashMap<String, String>`, a `&[(&str, &str)]` or a `Vec<(String, String)>` can all be passed as the
/// parameters.
pub trait FormParam {
    /// The parameter's name, decoded.
    fn key(&self) -> &str;
    /// The parameter's value, decoded (may be empty).
    fn value(&self) -> &str;
}

impl<K: AsRef<str>, V: AsRef<str>> FormParam for (K, V) {
    fn key(&self) -> &str {
        self.0.as_ref()
    }
    fn value(&self) -> &str {
        self.1.as_ref()
    }
}

impl<T: FormParam + ?Sized> FormParam for &T {
    fn key(&self) -> &str {
        (**self).key()
    }
    fn value(&self) -> &str {
        (**self).value()
    }
}

/// A byte string that is either plain or still `application/x-www-form-urlencoded` (`+`, `%XX`).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Part<'a> {
    bytes: &'a [u8],
    encoded: bool,
}

impl<'a> Part<'a> {
    /// A part that is already decoded.
    pub(crate) fn plain(bytes: &'a [u8]) -> Self {
        Part {
            bytes,
            encoded: false,
        }
    }

    /// A raw form-encoded part; decoding is skipped when it has nothing to decode.
    pub(crate) fn raw(bytes: &'a [u8]) -> Self {
        let encoded = bytes.iter().any(|&b| b == b'%' || b == b'+');
        Part { bytes, encoded }
    }

    /// The decoded bytes, one at a time.
    pub(crate) fn decoded(self) -> Decoded<'a> {
        Decoded {
            rest: self.bytes,
            encoded: self.encoded,
        }
    }

    fn cmp_decoded(self, other: Part<'_>) -> Ordering {
        if !self.encoded && !other.encoded {
            self.bytes.cmp(other.bytes)
        } else {
            self.decoded().cmp(other.decoded())
        }
    }

    /// Feeds the decoded bytes to `sink` in as few calls as possible (runs of plain bytes go whole).
    pub(crate) fn for_each_run(self, mut sink: impl FnMut(&[u8])) {
        if !self.encoded {
            sink(self.bytes);
            return;
        }
        let mut rest = self.bytes;
        while !rest.is_empty() {
            let plain = rest
                .iter()
                .position(|&b| b == b'%' || b == b'+')
                .unwrap_or(rest.len());
            let (run, tail) = rest.split_at(plain);
            if !run.is_empty() {
                sink(run);
            }
            let mut special = Decoded {
                rest: tail,
                encoded: true,
            };
            if let Some(byte) = special.next() {
                sink(&[byte]);
            }
            rest = special.rest;
        }
    }

    /// Whether the decoded bytes are valid UTF-8.
    pub(crate) fn is_utf8(self) -> bool {
        if !self.encoded || !self.bytes.contains(&b'%') {
            // `+` -> space keeps UTF-8 validity, so the raw bytes decide.
            return core::str::from_utf8(self.bytes).is_ok();
        }
        let mut validator = Utf8Stream::default();
        self.for_each_run(|run| validator.push(run));
        validator.finish()
    }
}

/// Iterator over the decoded bytes of a [`Part`]: `+` is a space, `%XX` a byte, a lone `%` stays itself.
#[derive(Clone, Debug)]
pub(crate) struct Decoded<'a> {
    rest: &'a [u8],
    encoded: bool,
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&first, tail) = self.rest.split_first()?;
        self.rest = tail;
        if !self.encoded {
            return Some(first);
        }
        match first {
            b'+' => Some(b' '),
            b'%' => {
                if let [hi, lo, after @ ..] = tail {
                    if let (Some(h), Some(l)) = (hex_value(*hi), hex_value(*lo)) {
                        self.rest = after;
                        return Some(h << 4 | l);
                    }
                }
                Some(b'%')
            }
            other => Some(other),
        }
    }
}

/// Incremental UTF-8 check over a byte stream delivered in runs, with no allocation.
#[derive(Default)]
struct Utf8Stream {
    pending: [u8; 4],
    pending_len: usize,
    failed: bool,
}

impl Utf8Stream {
    fn push(&mut self, mut run: &[u8]) {
        // Complete a sequence left over from the previous run, one byte at a time.
        while self.pending_len > 0 && !self.failed {
            let Some((&b, tail)) = run.split_first() else {
                return;
            };
            run = tail;
            match self.pending.get_mut(self.pending_len) {
                Some(slot) => *slot = b,
                None => self.failed = true,
            }
            self.pending_len += 1;
            let pending = self.pending.get(..self.pending_len).unwrap_or_default();
            match core::str::from_utf8(pending) {
                Ok(_) => self.pending_len = 0,
                Err(e) if e.error_len().is_none() => {}
                Err(_) => self.failed = true,
            }
        }
        if self.failed {
            return;
        }
        match core::str::from_utf8(run) {
            Ok(_) => {}
            Err(e) if e.error_len().is_none() => {
                let tail = run.get(e.valid_up_to()..).unwrap_or_default();
                self.pending_len = tail.len();
                for (slot, &b) in self.pending.iter_mut().zip(tail) {
                    *slot = b;
                }
            }
            Err(_) => self.failed = true,
        }
    }

    fn finish(self) -> bool {
        !self.failed && self.pending_len == 0
    }
}

/// One parameter of the string to sign.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Field<'a> {
    pub(crate) key: Part<'a>,
    pub(crate) value: Part<'a>,
    /// The first 8 decoded bytes of the key, big-endian, zero-padded: when two prefixes differ they
    /// order the keys exactly as the full bytes do, so most comparisons are one integer compare.
    key_prefix: u64,
}

impl<'a> Field<'a> {
    pub(crate) fn new(key: Part<'a>, value: Part<'a>) -> Self {
        let mut prefix = [0u8; 8];
        if key.encoded {
            for (slot, byte) in prefix.iter_mut().zip(key.decoded()) {
                *slot = byte;
            }
        } else {
            let n = key.bytes.len().min(8);
            if let (Some(dst), Some(src)) = (prefix.get_mut(..n), key.bytes.get(..n)) {
                dst.copy_from_slice(src);
            }
        }
        Field {
            key,
            value,
            key_prefix: u64::from_be_bytes(prefix),
        }
    }

    fn cmp_canonical(&self, other: &Field<'_>) -> Ordering {
        self.key_prefix
            .cmp(&other.key_prefix)
            .then_with(|| self.key.cmp_decoded(other.key))
            .then_with(|| self.value.cmp_decoded(other.value))
    }
}

/// A small vector: `N` items inline, then the heap.
pub(crate) struct SmallVec<T, const N: usize> {
    inline: [Option<T>; N],
    len: usize,
    spill: Vec<T>,
}

impl<T, const N: usize> SmallVec<T, N> {
    pub(crate) fn new() -> Self {
        SmallVec {
            inline: core::array::from_fn(|_| None),
            len: 0,
            spill: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        if self.spill.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = Some(item);
                self.len += 1;
                return;
            }
            self.spill.reserve(N * 2);
            self.spill
                .extend(self.inline.iter_mut().filter_map(Option::take));
            self.len = 0;
        }
        self.spill.push(item);
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.inline.iter().flatten().chain(self.spill.iter())
    }
}

/// The parameters of one request in canonical order (sorted; duplicates are skipped when fed).
pub(crate) struct Canonical<'a> {
    inline: [Field<'a>; INLINE_FIELDS],
    len: usize,
    spill: Vec<Field<'a>>,
}

impl<'a> Canonical<'a> {
    pub(crate) fn new() -> Self {
        Canonical {
            inline: [Field::default(); INLINE_FIELDS],
            len: 0,
            spill: Vec::new(),
        }
    }

    fn push(&mut self, field: Field<'a>) {
        if self.spill.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = field;
                self.len += 1;
                return;
            }
            self.spill.reserve(INLINE_FIELDS * 2);
            self.spill.extend_from_slice(&self.inline);
        }
        self.spill.push(field);
    }

    fn fields_mut(&mut self) -> &mut [Field<'a>] {
        if self.spill.is_empty() {
            self.inline.get_mut(..self.len).unwrap_or_default()
        } else {
            &mut self.spill
        }
    }

    fn fields(&self) -> &[Field<'a>] {
        if self.spill.is_empty() {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.spill
        }
    }

    /// Builds the canonical list from decoded parameters.
    #[cfg(test)]
    pub(crate) fn from_params<P: FormParam + 'a>(params: impl IntoIterator<Item = &'a P>) -> Self {
        let mut canonical = Canonical::new();
        canonical.fill_params(params);
        canonical
    }

    /// Fills an empty list, in place, from decoded parameters (a list is large: it is not moved).
    pub(crate) fn fill_params<P: FormParam + 'a>(
        &mut self,
        params: impl IntoIterator<Item = &'a P>,
    ) {
        for p in params {
            self.push(Field::new(
                Part::plain(p.key().as_bytes()),
                Part::plain(p.value().as_bytes()),
            ));
        }
        self.sort();
    }

    /// Builds the canonical list from a raw `application/x-www-form-urlencoded` body.
    #[cfg(test)]
    pub(crate) fn from_form_body(body: &'a [u8]) -> Option<Self> {
        let mut canonical = Canonical::new();
        canonical.fill_form_body(body).then_some(canonical)
    }

    /// Fills an empty list, in place, from a raw `application/x-www-form-urlencoded` body.
    ///
    /// Returns `false` when a decoded key or value is not valid UTF-8.
    #[must_use]
    pub(crate) fn fill_form_body(&mut self, body: &'a [u8]) -> bool {
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => pair.split_at(eq),
                None => (pair, &b"="[..]),
            };
            let value = value.get(1..).unwrap_or_default();
            let field = Field::new(Part::raw(key), Part::raw(value));
            if !field.key.is_utf8() || !field.value.is_utf8() {
                return false;
            }
            self.push(field);
        }
        self.sort();
        true
    }

    fn sort(&mut self) {
        self.fields_mut().sort_unstable_by(Field::cmp_canonical);
    }

    /// Feeds `key || value` for each distinct pair, in order, to `sink`.
    pub(crate) fn for_each_run(&self, mut sink: impl FnMut(&[u8])) {
        let mut previous: Option<&Field<'_>> = None;
        for field in self.fields() {
            if previous.is_some_and(|p| p.cmp_canonical(field) == Ordering::Equal) {
                continue;
            }
            field.key.for_each_run(&mut sink);
            field.value.for_each_run(&mut sink);
            previous = Some(field);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(c: &Canonical<'_>) -> String {
        let mut out = Vec::new();
        c.for_each_run(|run| out.extend_from_slice(run));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sorts_keys_then_values_and_drops_duplicate_pairs() {
        let params = [("b", "2"), ("a", "9"), ("a", "10"), ("b", "2"), ("a", "")];
        let c = Canonical::from_params(params.iter());
        assert_eq!(joined(&c), "aa10a9b2");
    }

    #[test]
    fn body_decoding_matches_params() {
        let body = b"To=%2B1555&Body=Hello+w%C3%B6rld%21&Empty=&Flag&&Body=Hello+w%C3%B6rld%21";
        let c = Canonical::from_form_body(body).unwrap();
        assert_eq!(joined(&c), "BodyHello w\u{f6}rld!EmptyFlagTo+1555");
    }

    #[test]
    fn plus_in_decoded_params_is_literal() {
        let c = Canonical::from_params([("To", "+1 555")].iter());
        assert_eq!(joined(&c), "To+1 555");
    }

    #[test]
    fn lone_percent_is_kept() {
        let c = Canonical::from_form_body(b"a=100%&b=%zz&c=%4").unwrap();
        assert_eq!(joined(&c), "a100%b%zzc%4");
    }

    #[test]
    fn invalid_utf8_after_decoding_is_refused() {
        assert!(Canonical::from_form_body(b"a=%FF").is_none());
        assert!(Canonical::from_form_body(b"a=%C3").is_none());
        assert!(Canonical::from_form_body(b"%C3%28=1").is_none());
        assert!(Canonical::from_form_body(b"a=\xff").is_none());
        // A multi-byte character split between an escape and a raw byte is still one character.
        assert!(Canonical::from_form_body("a=%C3\u{80}".as_bytes()).is_none());
        assert!(Canonical::from_form_body(b"a=%E2%9C%93").is_some());
    }

    #[test]
    fn prefix_order_agrees_with_byte_order() {
        // Keys that differ only past 8 bytes, that are prefixes of each other, or that contain NUL.
        let keys = [
            "ReasonConferenceEnded",
            "Reason",
            "ReasonConference",
            "a",
            "a\0",
            "a\0b",
            "",
            "\u{ff21}",
            "\u{1f600}",
            "ReasonA",
        ];
        let params: Vec<(&str, &str)> = keys.iter().map(|k| (*k, "v")).collect();
        let mut expected: Vec<&str> = keys.to_vec();
        expected.sort();
        let want: String = expected.iter().map(|k| format!("{k}v")).collect();
        assert_eq!(joined(&Canonical::from_params(params.iter())), want);
    }

    #[test]
    fn decoded_order_ignores_encoding() {
        // '%41' is 'A', which sorts before 'B' even though '%' sorts before both as raw bytes.
        let c = Canonical::from_form_body(b"B=1&%41=2").unwrap();
        assert_eq!(joined(&c), "A2B1");
    }

    #[test]
    fn spills_to_heap_beyond_inline_capacity() {
        let params: Vec<(String, String)> = (0..200)
            .rev()
            .map(|i| (format!("k{i:03}"), i.to_string()))
            .collect();
        let c = Canonical::from_params(params.iter());
        let s = joined(&c);
        assert!(s.starts_with("k0000k0011k0022"));
        assert!(s.ends_with("k199199"));
    }

    #[test]
    fn small_vec_keeps_order_across_spill() {
        let mut v: SmallVec<u32, 4> = SmallVec::new();
        for i in 0..10 {
            v.push(i);
        }
        assert_eq!(
            v.iter().copied().collect::<Vec<_>>(),
            (0..10).collect::<Vec<_>>()
        );
    }
}
