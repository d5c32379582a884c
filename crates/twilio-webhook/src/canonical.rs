//! The canonical order of spec §2, and the joined `P` it gives.
//!
//! The string to sign appends, for each distinct key sorted by its UTF-8 bytes, each of its distinct values
//! sorted by their UTF-8 bytes, as `key || value` with no separator. Sorting all `(key, value)` pairs by
//! `(key bytes, value bytes)` and dropping adjacent duplicates gives exactly that sequence.
//!
//! Speed without allocation, for up to [`INLINE_FIELDS`] parameters:
//! - each field gets a `u128` sort key: the first 12 decoded key bytes (big-endian, zero-padded) above a
//!   32-bit index. Where two prefixes differ they order the fields exactly as the full bytes do, so a plain
//!   integer sort does almost all the work; runs of equal prefixes are then sorted by the full comparison.
//! - `P` is joined once into a stack buffer (when it fits), so every URL candidate hashes it in one call.

use core::cmp::Ordering;

use crate::form::{FormParam, Part};

/// How many parameters are kept on the stack before spilling to the heap.
pub(crate) const INLINE_FIELDS: usize = 64;

/// The largest `P` joined on the stack; a larger one is streamed from the fields for each candidate.
const JOINED: usize = 2048;

/// How many decoded key bytes the sort key holds.
const PREFIX: usize = 12;

/// A small vector: `N` items inline, then the heap.
pub(crate) struct SmallVec<T, const N: usize> {
    inline: [T; N],
    len: usize,
    spill: Vec<T>,
}

impl<T: Default, const N: usize> SmallVec<T, N> {
    pub(crate) fn new() -> Self {
        SmallVec {
            inline: core::array::from_fn(|_| T::default()),
            len: 0,
            spill: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, item: T) {
        if self.spill.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = item;
                self.len += 1;
                return;
            }
            self.spill.reserve(N * 2);
            self.spill
                .extend(self.inline.iter_mut().map(core::mem::take));
        }
        self.spill.push(item);
    }

    pub(crate) fn as_slice(&self) -> &[T] {
        if self.spill.is_empty() {
            self.inline.get(..self.len).unwrap_or_default()
        } else {
            &self.spill
        }
    }

    fn as_mut_slice(&mut self) -> &mut [T] {
        if self.spill.is_empty() {
            self.inline.get_mut(..self.len).unwrap_or_default()
        } else {
            &mut self.spill
        }
    }
}

/// One parameter of the string to sign.
#[derive(Clone, Copy, Default, Debug)]
struct Field<'a> {
    key: Part<'a>,
    value: Part<'a>,
}

impl Field<'_> {
    fn cmp_full(&self, other: &Field<'_>) -> Ordering {
        self.key
            .cmp_decoded(other.key)
            .then_with(|| self.value.cmp_decoded(other.value))
    }

    /// The key's first [`PREFIX`] decoded bytes, zero-padded, above `index`.
    fn sort_key(&self, index: u32) -> u128 {
        let mut bytes = [0u8; 16];
        let (prefix, tail) = bytes.split_at_mut(PREFIX);
        self.key.copy_prefix(prefix);
        tail.copy_from_slice(&index.to_be_bytes());
        u128::from_be_bytes(bytes)
    }
}

fn prefix_of(key: u128) -> u128 {
    key >> 32
}

fn index_of(key: u128) -> usize {
    (key & u128::from(u32::MAX)) as usize
}

/// The parameters of one request in canonical order, and `P` joined when it fits.
pub(crate) struct Canonical<'a> {
    fields: SmallVec<Field<'a>, INLINE_FIELDS>,
    order: SmallVec<u128, INLINE_FIELDS>,
    joined: [u8; JOINED],
    /// The length of `P` in `joined`, or `None` when it did not fit (or was not built).
    joined_len: Option<usize>,
}

impl<'a> Canonical<'a> {
    /// An empty list (a list is large: fill it in place rather than moving it).
    pub(crate) fn new() -> Self {
        Canonical {
            fields: SmallVec::new(),
            order: SmallVec::new(),
            joined: [0; JOINED],
            joined_len: Some(0),
        }
    }

    /// Fills an empty list from decoded parameters.
    pub(crate) fn fill_params<P: FormParam + 'a>(
        &mut self,
        params: impl IntoIterator<Item = &'a P>,
    ) {
        for p in params {
            self.fields.push(Field {
                key: Part::plain(p.key().as_bytes()),
                value: Part::plain(p.value().as_bytes()),
            });
        }
        self.finish();
    }

    /// Fills an empty list from a raw `application/x-www-form-urlencoded` body. Returns `false` when a
    /// decoded key or value is not valid UTF-8.
    #[must_use]
    pub(crate) fn fill_form_body(&mut self, body: &'a [u8]) -> bool {
        for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(eq) => pair.split_at(eq),
                None => (pair, &b"="[..]),
            };
            let field = Field {
                key: Part::raw(key),
                value: Part::raw(value.get(1..).unwrap_or_default()),
            };
            if !field.key.is_utf8() || !field.value.is_utf8() {
                return false;
            }
            self.fields.push(field);
        }
        self.finish();
        true
    }

    /// Sorts, then joins `P` if it fits.
    fn finish(&mut self) {
        let fields = self.fields.as_slice();
        for (index, field) in fields.iter().enumerate() {
            // More than u32::MAX fields cannot be held in memory alongside their data.
            self.order.push(field.sort_key(index as u32));
        }
        let order = self.order.as_mut_slice();
        order.sort_unstable();
        // Fields whose prefixes tie are ordered by their full bytes.
        let mut start = 0;
        while start < order.len() {
            let prefix = order.get(start).map_or(0, |&k| prefix_of(k));
            let run = order
                .get(start..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&k| prefix_of(k) == prefix)
                .count();
            if run > 1 {
                if let Some(tied) = order.get_mut(start..start + run) {
                    tied.sort_unstable_by(|&a, &b| {
                        let (fa, fb) = (fields.get(index_of(a)), fields.get(index_of(b)));
                        fa.zip(fb)
                            .map_or(Ordering::Equal, |(fa, fb)| fa.cmp_full(fb))
                    });
                }
            }
            start += run.max(1);
        }
        self.joined_len = Self::join(fields, self.order.as_slice(), &mut self.joined);
    }

    /// Writes `P` into `dst`; `None` when it does not fit.
    fn join(fields: &[Field<'_>], order: &[u128], dst: &mut [u8]) -> Option<usize> {
        let mut len = 0;
        Self::for_each_distinct(fields, order, |field| {
            for part in [field.key, field.value] {
                let written = dst.get_mut(len..).and_then(|rest| part.write_decoded(rest));
                len += written?;
            }
            Some(())
        })?;
        Some(len)
    }

    /// Calls `f` on each distinct pair in canonical order, stopping at the first `None`.
    fn for_each_distinct<'f>(
        fields: &'f [Field<'f>],
        order: &[u128],
        mut f: impl FnMut(&'f Field<'f>) -> Option<()>,
    ) -> Option<()> {
        let mut previous: Option<(u128, &Field<'_>)> = None;
        for &key in order {
            let Some(field) = fields.get(index_of(key)) else {
                continue;
            };
            let duplicate = previous.is_some_and(|(pk, pf)| {
                prefix_of(pk) == prefix_of(key) && pf.cmp_full(field) == Ordering::Equal
            });
            if !duplicate {
                f(field)?;
            }
            previous = Some((key, field));
        }
        Some(())
    }

    /// Feeds `key || value` for each distinct pair, in canonical order.
    fn stream(fields: &[Field<'_>], order: &[u128], mut sink: impl FnMut(&[u8])) {
        Self::for_each_distinct(fields, order, |field| {
            field.key.for_each_run(&mut sink);
            field.value.for_each_run(&mut sink);
            Some(())
        });
    }

    /// Feeds `P` to `sink`: in one piece when it was joined, else pair by pair.
    pub(crate) fn for_each_run(&self, mut sink: impl FnMut(&[u8])) {
        match self.joined_len.and_then(|len| self.joined.get(..len)) {
            Some(joined) => sink(joined),
            None => Self::stream(self.fields.as_slice(), self.order.as_slice(), sink),
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

    fn of_params(params: &[(&str, &str)]) -> String {
        let mut c = Canonical::new();
        c.fill_params(params.iter());
        joined(&c)
    }

    fn of_body(body: &[u8]) -> Option<String> {
        let mut c = Canonical::new();
        c.fill_form_body(body).then(|| joined(&c))
    }

    #[test]
    fn sorts_keys_then_values_and_drops_duplicate_pairs() {
        let params = [("b", "2"), ("a", "9"), ("a", "10"), ("b", "2"), ("a", "")];
        assert_eq!(of_params(&params), "aa10a9b2");
    }

    #[test]
    fn body_decoding_matches_params() {
        let body = b"To=%2B1555&Body=Hello+w%C3%B6rld%21&Empty=&Flag&&Body=Hello+w%C3%B6rld%21";
        assert_eq!(
            of_body(body).unwrap(),
            "BodyHello w\u{f6}rld!EmptyFlagTo+1555"
        );
    }

    #[test]
    fn plus_in_decoded_params_is_literal() {
        assert_eq!(of_params(&[("To", "+1 555")]), "To+1 555");
    }

    #[test]
    fn invalid_utf8_after_decoding_is_refused() {
        for body in [&b"a=%FF"[..], b"a=%C3", b"%C3%28=1", b"a=\xff"] {
            assert_eq!(of_body(body), None, "{body:?}");
        }
        assert_eq!(of_body(b"a=%E2%9C%93").as_deref(), Some("a\u{2713}"));
    }

    #[test]
    fn decoded_order_ignores_encoding() {
        // '%41' is 'A', which sorts before 'B' even though '%' sorts before both as raw bytes.
        assert_eq!(of_body(b"B=1&%41=2").unwrap(), "A2B1");
    }

    #[test]
    fn prefix_order_agrees_with_byte_order() {
        // Keys that tie on the 12-byte prefix, are prefixes of each other, or contain NUL.
        let keys = [
            "SipHeader_X-Zeta",
            "SipHeader_X-Alpha",
            "SipHeader_X-",
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
        let mut sorted = keys.to_vec();
        sorted.sort();
        let want: String = sorted.iter().map(|k| format!("{k}v")).collect();
        assert_eq!(of_params(&params), want);
        // Repeated keys that tie on the prefix are ordered and deduplicated by value.
        let repeated = [
            ("SipHeader_X-Same", "2"),
            ("SipHeader_X-Same", "1"),
            ("SipHeader_X-Same", "2"),
        ];
        assert_eq!(of_params(&repeated), "SipHeader_X-Same1SipHeader_X-Same2");
    }

    #[test]
    fn a_p_larger_than_the_stack_buffer_streams_the_same_bytes() {
        let long = "x".repeat(JOINED);
        let params = [("b", long.as_str()), ("a", "1"), ("a", "1")];
        let mut c = Canonical::new();
        c.fill_params(params.iter());
        assert_eq!(c.joined_len, None);
        assert_eq!(joined(&c), format!("a1b{long}"));
    }

    #[test]
    fn spills_to_heap_beyond_inline_capacity() {
        let params: Vec<(String, String)> = (0..200)
            .rev()
            .map(|i| (format!("k{i:03}"), i.to_string()))
            .collect();
        let mut c = Canonical::new();
        c.fill_params(params.iter());
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
        assert_eq!(v.as_slice(), (0..10).collect::<Vec<_>>().as_slice());
    }
}
