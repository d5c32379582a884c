//! The canonical order of spec §2, and the suffix `P` it gives to the string to sign.
//!
//! The string to sign appends, for each distinct key sorted by its UTF-8 bytes, each of its distinct values
//! sorted by their UTF-8 bytes, as `key || value` with no separator. Sorting all `(key, value)` pairs by
//! `(key bytes, value bytes)` and dropping adjacent duplicates gives exactly that sequence.
//!
//! Speed without allocation, for up to [`INLINE_FIELDS`] parameters:
//! - the pairs stay where they are (the caller's parameters, or slices of the raw body); only a `u64` per
//!   pair is sorted: its first seven decoded key bytes (big-endian, zero-padded) above a one-byte index
//!   (more than 256 pairs are all compared in full). Where two prefixes differ they order the pairs
//!   exactly as the full bytes do, so a plain integer sort does almost all the work (see [`keys`]).
//!   The standard library sorts up to 32 `u64`s with a branch-free network; `u128`s, which held fifteen
//!   bytes, measured 2.2× slower at 32 random keys and 2.6× at 100.
//! - `P` is joined once into a stack buffer when it fits, so every URL candidate hashes it in one call
//!   (see the validator); a larger one is hashed in 2 KiB chunks.

use core::cmp::Ordering;

use crate::form::{FormParam, Part, find_byte};
pub(crate) use keys::sort_key;
use keys::{INDEXED, Layout, cmp_pairs, sort_tied_runs};
pub(crate) use small_vec::SmallVec;

/// How many parameters are kept on the stack before spilling to the heap.
pub(crate) const INLINE_FIELDS: usize = 128;

/// The largest `P` joined on the stack; a larger one is streamed for each candidate.
pub(crate) const JOINED: usize = 2048;

/// A request's parameters, by index.
pub(crate) trait Pairs {
    fn count(&self) -> usize;
    fn pair(&self, index: usize) -> Option<(Part<'_>, Part<'_>)>;
}

/// The caller's decoded parameters, as held by the validator.
impl<P: FormParam> Pairs for [Option<P>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn pair(&self, index: usize) -> Option<(Part<'_>, Part<'_>)> {
        let p = self.get(index)?.as_ref()?;
        Some((
            Part::plain(p.key().as_bytes()),
            Part::plain(p.value().as_bytes()),
        ))
    }
}

/// One `key=value` of a raw form body, still encoded.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Field<'a> {
    key: Part<'a>,
    value: Part<'a>,
}

impl Pairs for [Field<'_>] {
    fn count(&self) -> usize {
        self.len()
    }
    fn pair(&self, index: usize) -> Option<(Part<'_>, Part<'_>)> {
        self.get(index).map(|f| (f.key, f.value))
    }
}

/// Splits a raw `application/x-www-form-urlencoded` body into `fields`. Returns `false` when a decoded
/// key or value is not valid UTF-8.
#[must_use]
pub(crate) fn parse_form_body<'a>(
    body: &'a [u8],
    fields: &mut SmallVec<Field<'a>, INLINE_FIELDS>,
) -> bool {
    // One UTF-8 pass over the whole body settles every part without a `%` (each is the body cut at ASCII
    // bytes); a body that is not UTF-8 is checked part by part, where `%XX` may still make it so.
    let body_is_utf8 = core::str::from_utf8(body).is_ok();
    let mut rest = Some(body);
    while let Some(current) = rest {
        let (pair, after) = match find_byte(current, b'&') {
            Some(amp) => (
                current.get(..amp).unwrap_or_default(),
                current.get(amp + 1..),
            ),
            None => (current, None),
        };
        rest = after;
        if pair.is_empty() {
            continue;
        }
        // The key ends at the first `=`; without one, the value is empty.
        let (key, value) = match find_byte(pair, b'=') {
            Some(eq) => (
                pair.get(..eq).unwrap_or_default(),
                pair.get(eq + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        let field = Field {
            key: Part::raw(key),
            value: Part::raw(value),
        };
        if !field.key.is_utf8_within(body_is_utf8) || !field.value.is_utf8_within(body_is_utf8) {
            return false;
        }
        fields.push(field);
    }
    true
}

/// What follows the URL in the string to sign.
pub(crate) trait Suffix {
    /// Feeds the suffix's bytes to `sink`, in order.
    fn feed(&self, sink: impl FnMut(&[u8]));
}

/// A suffix already in one piece: a joined `P`, or nothing (`&[]`, for a body request).
impl Suffix for [u8] {
    fn feed(&self, mut sink: impl FnMut(&[u8])) {
        if !self.is_empty() {
            sink(self);
        }
    }
}

/// A request's parameters in canonical order: the pairs where they are, and their sorted keys.
pub(crate) struct Canonical<'s, S: Pairs + ?Sized> {
    pairs: &'s S,
    order: SmallVec<u64, INLINE_FIELDS>,
    layout: Layout,
}

impl<'s, S: Pairs + ?Sized> Canonical<'s, S> {
    /// Sorts `pairs` (a list is large: use it in place rather than moving it).
    pub(crate) fn new(pairs: &'s S) -> Self {
        let mut order = SmallVec::new();
        for index in 0..pairs.count() {
            if let Some((key, _)) = pairs.pair(index) {
                order.push(sort_key(key, index));
            }
        }
        Self::from_keys(pairs, order)
    }

    /// Sorts `pairs` given the [`sort_key`] of each, in order (made by the caller while it gathered the
    /// pairs, so that each key is read once, while its pair is at hand).
    pub(crate) fn from_keys(pairs: &'s S, mut order: SmallVec<u64, INLINE_FIELDS>) -> Self {
        let layout = if order.as_slice().len() <= INDEXED {
            Layout::Indexed
        } else {
            // Indices past 255 do not fit the low byte: keep bare indices, all compared in full.
            for (index, key) in order.as_mut_slice().iter_mut().enumerate() {
                *key = index as u64;
            }
            Layout::Bare
        };
        let keys = order.as_mut_slice();
        keys.sort_unstable();
        // Most requests have no two keys alike in their first seven bytes: one tight pass settles it.
        let tied = match layout {
            Layout::Indexed => keys
                .windows(2)
                .any(|w| matches!(w, [a, b] if a >> 8 == b >> 8)),
            Layout::Bare => true,
        };
        if tied {
            sort_tied_runs(pairs, keys, layout);
        }
        Canonical {
            pairs,
            order,
            layout,
        }
    }

    /// Calls `f` on each distinct pair in canonical order, stopping at the first `None`.
    fn for_each_distinct(&self, f: impl FnMut(Part<'_>, Part<'_>) -> Option<()>) -> Option<()> {
        // Each arm passes its layout as a constant, so the loop of the common one has no `match`.
        match self.layout {
            Layout::Indexed => self.walk_distinct(Layout::Indexed, f),
            Layout::Bare => self.walk_distinct(Layout::Bare, f),
        }
    }

    #[inline(always)]
    fn walk_distinct(
        &self,
        layout: Layout,
        mut f: impl FnMut(Part<'_>, Part<'_>) -> Option<()>,
    ) -> Option<()> {
        let mut previous: Option<(u64, (Part<'_>, Part<'_>))> = None;
        for &key in self.order.as_slice() {
            let Some(pair) = self.pairs.pair(layout.index(key)) else {
                continue;
            };
            // A duplicate shares the previous pair's prefix; only then are the bytes compared.
            let duplicate = previous.is_some_and(|(pk, pp)| {
                layout.prefix(pk) == layout.prefix(key) && cmp_pairs(pp, pair) == Ordering::Equal
            });
            if !duplicate {
                f(pair.0, pair.1)?;
            }
            previous = Some((key, pair));
        }
        Some(())
    }

    /// Writes `P` at the start of `dst`; `None` when it does not fit.
    pub(crate) fn join(&self, dst: &mut [u8]) -> Option<usize> {
        let mut len = 0;
        self.for_each_distinct(|key, value| {
            for part in [key, value] {
                len += dst
                    .get_mut(len..)
                    .and_then(|rest| part.write_decoded(rest))?;
            }
            Some(())
        })?;
        Some(len)
    }
}

/// `P` streamed in chunks of up to [`JOINED`] bytes, gathered in a stack buffer: one call of `sink`
/// per chunk rather than one per run of plain bytes (a `P` this large has hundreds of runs).
impl<S: Pairs + ?Sized> Suffix for Canonical<'_, S> {
    fn feed(&self, mut sink: impl FnMut(&[u8])) {
        let mut chunk = Chunk {
            buffer: [0; JOINED],
            len: 0,
        };
        self.for_each_distinct(|key, value| {
            key.for_each_run(|run| chunk.push(run, &mut sink));
            value.for_each_run(|run| chunk.push(run, &mut sink));
            Some(())
        });
        sink(chunk.buffer.get(..chunk.len).unwrap_or_default());
    }
}

/// A buffer that hands its bytes to a sink each time it fills.
struct Chunk {
    buffer: [u8; JOINED],
    len: usize,
}

impl Chunk {
    fn push(&mut self, mut bytes: &[u8], sink: &mut impl FnMut(&[u8])) {
        while !bytes.is_empty() {
            let free = self.buffer.get_mut(self.len..).unwrap_or_default();
            let (now, later) = bytes.split_at(free.len().min(bytes.len()));
            if let Some(dst) = free.get_mut(..now.len()) {
                dst.copy_from_slice(now);
            }
            self.len += now.len();
            bytes = later;
            if self.len == self.buffer.len() {
                sink(&self.buffer);
                self.len = 0;
            }
        }
    }
}

mod keys;
mod small_vec;
#[cfg(test)]
mod tests;
