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
//!   bytes, measured 2.2× slower at 32 random keys and 2.6× at 100;
//! - pairs equal to the one before them (key and value) are dropped while tied keys are sorted in full,
//!   so the join only copies;
//! - `P` is joined once into a stack buffer sized to it (512 bytes, 2 KiB or 8 KiB), so every URL
//!   candidate hashes it in one call (see the validator); a larger one is hashed in 2 KiB chunks.

use crate::form::{FormParam, Part, count_byte, find_byte};
use keys::{INDEXED, Layout, drop_duplicates, sort_key, sort_tied_runs};

/// How many parameters are kept on the stack before spilling to the heap.
const INLINE_FIELDS: usize = 128;

/// The stack space of a request known to have at most this many parameters (most have about 20): the
/// buffers are zeroed on every call, and zeroing room for 128 measured slower.
const FEW_FIELDS: usize = 32;

/// The buffer for a `P` of middling length, and the chunk a longer one is streamed in.
const JOINED: usize = 2048;

/// The buffer for a short `P` (most are under 512 bytes).
const SHORT_JOINED: usize = 512;

/// The largest `P` joined at all; a larger one is streamed in [`JOINED`]-byte chunks for each
/// candidate. Streaming cost 80-115 ns per parameter where joining costs about 35, more than zeroing
/// this buffer (only requests with that much to join pay for it).
const LONG_JOINED: usize = 8192;

/// A request's parameters, by index.
pub(crate) trait Pairs {
    /// The pair at `index`. Indices come from this module's own sort keys, so they are always in
    /// range; one that were not would read as an empty pair (the signature would then not match),
    /// not as a panic. No `Option` here: carrying one through the join measured ~3 % of a validation.
    fn pair(&self, index: usize) -> (Part<'_>, Part<'_>);
}

/// The caller's decoded parameters, as held by the validator.
impl<P: FormParam> Pairs for [Option<P>] {
    #[inline(always)]
    fn pair(&self, index: usize) -> (Part<'_>, Part<'_>) {
        match self.get(index) {
            Some(Some(p)) => (
                Part::plain(p.key().as_bytes()),
                Part::plain(p.value().as_bytes()),
            ),
            _ => Default::default(),
        }
    }
}

/// One `key=value` of a raw form body, still encoded.
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Field<'a> {
    key: &'a [u8],
    value: &'a [u8],
    /// Bit 0: the key needs decoding; bit 1: the value. One word, not two [`Part`]s with a `bool` each:
    /// a field is copied as whole words, and a word read back right after a one-byte `bool` was stored
    /// in it cannot be forwarded from that store, a stall measured on every field of a raw body.
    encoded: u64,
}

impl<'a> Field<'a> {
    fn new(key: Part<'a>, value: Part<'a>) -> Self {
        Field {
            key: key.raw_bytes(),
            value: value.raw_bytes(),
            encoded: u64::from(key.is_encoded()) | u64::from(value.is_encoded()) << 1,
        }
    }

    fn key(&self) -> Part<'a> {
        Part::known(self.key, self.encoded & 1 != 0)
    }

    fn value(&self) -> Part<'a> {
        Part::known(self.value, self.encoded & 2 != 0)
    }
}

impl Pairs for [Field<'_>] {
    #[inline(always)]
    fn pair(&self, index: usize) -> (Part<'_>, Part<'_>) {
        self.get(index)
            .map(|f| (f.key(), f.value()))
            .unwrap_or_default()
    }
}

/// Splits a raw `application/x-www-form-urlencoded` body into fields, handing each to `sink` with its
/// index; stops when `sink` returns `false`. `None` when a decoded key or value is not valid UTF-8, else
/// whether every field was taken.
#[inline(always)]
fn parse_form_body<'a>(
    body: &'a [u8],
    mut sink: impl FnMut(usize, Field<'a>) -> bool,
) -> Option<bool> {
    // One UTF-8 pass over the whole body settles every part without a `%` (each is the body cut at ASCII
    // bytes); a body that is not UTF-8 is checked part by part, where `%XX` may still make it so.
    let body_is_utf8 = core::str::from_utf8(body).is_ok();
    let mut rest = Some(body);
    let mut index = 0;
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
        let (key, value) = (Part::raw(key), Part::raw(value));
        if !key.is_utf8_within(body_is_utf8) || !value.is_utf8_within(body_is_utf8) {
            return None;
        }
        let field = Field::new(key, value);
        if !sink(index, field) {
            return Some(false);
        }
        index += 1;
    }
    Some(true)
}

/// Runs `f` on the canonical order of the caller's decoded parameters, held on the stack (up to
/// [`INLINE_FIELDS`]; fewer when the iterator says there are few).
pub(crate) fn with_params<P: FormParam, R>(
    params: impl IntoIterator<Item = P>,
    f: impl FnOnce(&Canonical<'_, [Option<P>]>) -> R,
) -> R {
    let params = params.into_iter();
    if params.size_hint().1.is_some_and(|n| n <= FEW_FIELDS) {
        gather::<P, R, FEW_FIELDS>(params, f)
    } else {
        gather::<P, R, INLINE_FIELDS>(params, f)
    }
}

fn gather<P: FormParam, R, const N: usize>(
    params: impl Iterator<Item = P>,
    f: impl FnOnce(&Canonical<'_, [Option<P>]>) -> R,
) -> R {
    // Plain arrays and a count in a register, not a small vector's pushes: each push stored its length
    // back to the stack, a chain of stores and reloads through the loop (3.5 % of a corpus validation).
    let mut held: [Option<P>; N] = core::array::from_fn(|_| None);
    let mut keys = [0u64; N];
    let mut count = 0;
    let mut raw_len = 0;
    let mut params = params.enumerate();
    while let Some((index, p)) = params.next() {
        let (Some(slot), Some(sort)) = (held.get_mut(index), keys.get_mut(index)) else {
            return gather_on_heap(held, p, params.map(|(_, p)| p), f);
        };
        let (key, value) = (p.key().as_bytes(), p.value().as_bytes());
        *sort = sort_key(Part::plain(key), index);
        raw_len += key.len() + value.len();
        *slot = Some(p);
        count = index + 1;
    }
    f(&Canonical::from_keys(
        held.get(..count).unwrap_or_default(),
        keys.get_mut(..count).unwrap_or_default(),
        raw_len,
    ))
}

/// [`gather`] past its `N` inline parameters: the rest on the heap (two allocations).
#[cold]
#[inline(never)]
fn gather_on_heap<P: FormParam, R, const N: usize>(
    inline: [Option<P>; N],
    next: P,
    rest: impl Iterator<Item = P>,
    f: impl FnOnce(&Canonical<'_, [Option<P>]>) -> R,
) -> R {
    let mut held = Vec::with_capacity(N * 2);
    held.extend(inline);
    held.push(Some(next));
    held.extend(rest.map(Some));
    let mut raw_len = 0;
    let mut keys: Vec<u64> = held
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let (key, value) = p
                .as_ref()
                .map(|p| (p.key().as_bytes(), p.value().as_bytes()))
                .unwrap_or_default();
            raw_len += key.len() + value.len();
            sort_key(Part::plain(key), index)
        })
        .collect();
    f(&Canonical::from_keys(&held, &mut keys, raw_len))
}

/// Runs `f` on the canonical order of a raw `application/x-www-form-urlencoded` body's fields; `None`
/// when a decoded key or value is not valid UTF-8.
pub(crate) fn with_form_body<R>(
    body: &[u8],
    f: impl FnOnce(&Canonical<'_, [Field<'_>]>) -> R,
) -> Option<R> {
    // Counting the separators first sizes the stack space.
    if count_byte(body, b'&') < FEW_FIELDS {
        parse::<R, FEW_FIELDS>(body, f)
    } else {
        parse::<R, INLINE_FIELDS>(body, f)
    }
}

fn parse<R, const N: usize>(
    body: &[u8],
    f: impl FnOnce(&Canonical<'_, [Field<'_>]>) -> R,
) -> Option<R> {
    // Plain arrays and a count in a register, as in `gather`.
    let mut fields = [Field::default(); N];
    let mut keys = [0u64; N];
    let mut count = 0;
    let complete = parse_form_body(body, |index, field| {
        let (Some(slot), Some(sort)) = (fields.get_mut(index), keys.get_mut(index)) else {
            return false;
        };
        *sort = sort_key(field.key(), index);
        *slot = field;
        count = index + 1;
        true
    })?;
    if !complete {
        return parse_on_heap(body, f);
    }
    // `P` is the body less its separators, decoded (which only shortens it).
    Some(f(&Canonical::from_keys(
        fields.get(..count).unwrap_or_default(),
        keys.get_mut(..count).unwrap_or_default(),
        body.len(),
    )))
}

/// [`parse`] of a body with more fields than the stack holds: all of them on the heap (two
/// allocations).
#[cold]
#[inline(never)]
fn parse_on_heap<R>(body: &[u8], f: impl FnOnce(&Canonical<'_, [Field<'_>]>) -> R) -> Option<R> {
    let mut fields = Vec::with_capacity(INLINE_FIELDS * 2);
    let mut keys = Vec::with_capacity(INLINE_FIELDS * 2);
    parse_form_body(body, |index, field| {
        keys.push(sort_key(field.key(), index));
        fields.push(field);
        true
    })?;
    Some(f(&Canonical::from_keys(&fields, &mut keys, body.len())))
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
    order: &'s [u64],
    layout: Layout,
    /// At least the length of `P`: the pairs' bytes before decoding (which only shortens them).
    raw_len: usize,
}

impl<'s, S: Pairs + ?Sized> Canonical<'s, S> {
    /// Sorts `keys`, the [`sort_key`] of each pair in order (made by the caller while it gathered the
    /// pairs, so that each key is read once, while its pair is at hand). `raw_len` is at least the
    /// length of `P`.
    pub(crate) fn from_keys(pairs: &'s S, keys: &'s mut [u64], raw_len: usize) -> Self {
        let layout = if keys.len() <= INDEXED {
            Layout::Indexed
        } else {
            // Indices past 255 do not fit the low byte: keep bare indices, all compared in full.
            for (index, key) in keys.iter_mut().enumerate() {
                *key = index as u64;
            }
            Layout::Bare
        };
        keys.sort_unstable();
        // Most requests have no two keys alike in their first seven bytes: one tight pass settles it, and
        // finds where the first run of such keys starts (the runs are looked for from there).
        let first_tie = match layout {
            Layout::Indexed => keys
                .windows(2)
                .position(|w| matches!(w, [a, b] if a >> 8 == b >> 8)),
            Layout::Bare => Some(0),
        };
        let mut len = keys.len();
        if let Some(rest) = first_tie.and_then(|at| keys.get_mut(at..)) {
            if sort_tied_runs(pairs, rest, layout) {
                len = drop_duplicates(keys);
            }
        }
        Canonical {
            pairs,
            order: keys.get(..len).unwrap_or_default(),
            layout,
            raw_len,
        }
    }

    /// The distinct pairs in canonical order (the sort already dropped the duplicates), their indices
    /// read as `layout` says.
    #[inline(always)]
    fn ordered(&self, layout: Layout) -> impl Iterator<Item = (Part<'_>, Part<'_>)> + '_ {
        self.order
            .iter()
            .map(move |&key| self.pairs.pair(layout.index(key)))
    }

    /// Whether a key that `counts` comes more than once with different values (equal pairs are
    /// already dropped).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn repeats_a_key(&self, mut counts: impl FnMut(Part<'_>) -> bool) -> bool {
        let mut previous: Option<Part<'_>> = None;
        for (key, _) in self.ordered(self.layout) {
            if previous.is_some_and(|p| p.cmp_decoded(key).is_eq()) && counts(key) {
                return true;
            }
            previous = Some(key);
        }
        false
    }

    /// Runs `f` on `P` joined in a stack buffer just large enough (a buffer zeroed for nothing measured
    /// slower on a corpus that misses the cache), or on `None` when `P` may pass [`LONG_JOINED`] bytes (then
    /// it is streamed).
    pub(crate) fn with_joined<R>(&self, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
        match self.raw_len {
            n if n <= SHORT_JOINED => self.joined_in::<SHORT_JOINED, R>(f),
            n if n <= JOINED => self.joined_in::<JOINED, R>(f),
            n if n <= LONG_JOINED => self.joined_in::<LONG_JOINED, R>(f),
            _ => f(None),
        }
    }

    fn joined_in<const N: usize, R>(&self, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
        let mut buffer = [0u8; N];
        let joined = self.join(&mut buffer).and_then(|len| buffer.get(..len));
        f(joined)
    }

    /// Writes `P` at the start of `dst`; `None` when it does not fit.
    pub(crate) fn join(&self, dst: &mut [u8]) -> Option<usize> {
        // Each arm passes its layout as a constant, so the loop of the common one has no `match`.
        match self.layout {
            Layout::Indexed => self.join_in(Layout::Indexed, dst),
            Layout::Bare => self.join_in(Layout::Bare, dst),
        }
    }

    #[inline(always)]
    fn join_in(&self, layout: Layout, dst: &mut [u8]) -> Option<usize> {
        let mut len = 0;
        for (k, v) in self.ordered(layout) {
            len += dst.get_mut(len..).and_then(|rest| k.write_decoded(rest))?;
            len += dst.get_mut(len..).and_then(|rest| v.write_decoded(rest))?;
        }
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
        for (key, value) in self.ordered(self.layout) {
            key.for_each_run(|run| chunk.push(run, &mut sink));
            value.for_each_run(|run| chunk.push(run, &mut sink));
        }
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
#[cfg(test)]
mod tests;
