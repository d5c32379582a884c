//! Sort keys: a pair's first seven decoded key bytes above its index, so that a plain integer sort
//! orders almost every request; and the ordering of runs of keys that tie on them.
//!
//! Twilio's keys mostly differ within seven bytes (`AccountSid`, `ApiVersion`, `Body`, `From`…).
//! Families that do not (`MediaUrl0`…, `CalledCity`/`CalledCountry`) are ordered one level down by the
//! next seven bytes, again as integers: a run of ten costs a sort of ten `u64`s, not ~25 byte-string
//! comparisons. Past [`REFINED`] bytes, and for repeated keys, the full comparison decides.

use core::cmp::Ordering;

use super::Pairs;
use crate::form::Part;

/// How many decoded key bytes a sort key holds (its eighth byte is the pair's index).
pub(super) const PREFIX: usize = 7;

/// How deep (in key bytes) runs of tied keys are told apart by further sort keys before the rest of
/// a run is ordered by full comparisons.
const REFINED: usize = 4 * PREFIX;

/// The most pairs whose index fits the sort key's low byte; above it, every pair is ordered by a full
/// comparison.
pub(super) const INDEXED: usize = 256;

/// Orders two pairs by their decoded key bytes, then value bytes.
pub(super) fn cmp_pairs(a: (Part<'_>, Part<'_>), b: (Part<'_>, Part<'_>)) -> Ordering {
    a.0.cmp_decoded(b.0).then_with(|| a.1.cmp_decoded(b.1))
}

/// The first eight bytes of `bytes` (fewer when it is shorter), big-endian and zero-padded on the right,
/// so that comparing two results orders them as their bytes. Built from overlapping loads in registers: a
/// byte loop, or a byte buffer read back, measured slower.
#[inline(always)]
pub(super) fn left_aligned(bytes: &[u8]) -> u64 {
    if let Some(&[a, b, c, d, e, f, g, h]) = bytes.get(..8) {
        return u64::from_be_bytes([a, b, c, d, e, f, g, h]);
    }
    let n = bytes.len();
    let value = match bytes {
        &[a, b, c, d, ..] => {
            let tail = bytes
                .get(n - 4..)
                .and_then(|t| <[u8; 4]>::try_from(t).ok())
                .unwrap_or_default();
            let head = u64::from(u32::from_be_bytes([a, b, c, d]));
            // The two loads overlap when n < 8: the shared bytes land in the same place in both.
            head << (8 * (n - 4)) | u64::from(u32::from_be_bytes(tail))
        }
        &[a, b, c] => u64::from(a) << 16 | u64::from(b) << 8 | u64::from(c),
        &[a, b] => u64::from(a) << 8 | u64::from(b),
        &[a] => u64::from(a),
        [] => return 0,
    };
    value << (8 * (8 - n))
}

/// Seven decoded key bytes from `depth` on, zero-padded, above a one-byte `index`: the sort key of a pair
/// at `depth` 0, and of a pair in a run of tied keys one level down at each further seven bytes.
#[inline(always)]
pub(crate) fn level_key(key: Part<'_>, depth: usize, index: usize) -> u64 {
    let prefix = match key.plain_bytes() {
        Some(bytes) => left_aligned(bytes.get(depth..).unwrap_or_default()),
        None => {
            let (p, taken) = key
                .decoded()
                .skip(depth)
                .take(PREFIX)
                .fold((0u64, 0), |(p, n), byte| (p << 8 | u64::from(byte), n + 1));
            // Nothing taken shifts by the full width: zero, as for an empty plain key.
            p.checked_shl(8 * (PREFIX + 1 - taken) as u32).unwrap_or(0)
        }
    };
    prefix & !0xff | (index as u64 & 0xff)
}

/// The sort key of the pair at `index` whose key is `key`: its first [`PREFIX`] decoded bytes above the
/// index.
#[inline(always)]
pub(crate) fn sort_key(key: Part<'_>, index: usize) -> u64 {
    level_key(key, 0, index)
}

/// How a sort key splits into the prefix it sorts by and the index of its pair.
#[derive(Clone, Copy)]
pub(super) enum Layout {
    /// [`sort_key`]s: a prefix above a one-byte index.
    Indexed,
    /// More than [`INDEXED`] pairs: bare indices, every prefix tied, so every pair is ordered by a full
    /// comparison.
    Bare,
}

impl Layout {
    pub(super) fn index(self, key: u64) -> usize {
        (match self {
            Layout::Indexed => key & 0xff,
            Layout::Bare => key,
        }) as usize
    }
}

/// Orders each run of sort keys with equal prefixes by the pairs' full bytes, and marks each pair equal
/// to the one before it (key and value, which `P` holds once) as a duplicate: its sort key is
/// overwritten with the one before it. Sort keys are otherwise distinct (each holds its own index), so
/// two equal neighbours mean exactly that. Returns whether it marked one. Out of line: most requests have
/// no such run. More than [`INDEXED`] pairs (bare indices) are all compared in full.
#[inline(never)]
pub(super) fn sort_tied_runs<S: Pairs + ?Sized>(
    pairs: &S,
    keys: &mut [u64],
    layout: Layout,
) -> bool {
    match layout {
        Layout::Indexed => {
            let mut duplicates = false;
            for_each_tied_run(keys, |run| duplicates |= refine(pairs, run, PREFIX));
            duplicates
        }
        Layout::Bare => sort_in_full(pairs, keys, layout),
    }
}

/// Calls `f` on each run of two or more keys with equal prefixes.
fn for_each_tied_run(keys: &mut [u64], mut f: impl FnMut(&mut [u64])) {
    let mut start = 0;
    for end in 1..=keys.len() {
        let tied =
            matches!((keys.get(end - 1), keys.get(end)), (Some(a), Some(b)) if a >> 8 == b >> 8);
        if tied {
            continue;
        }
        if let Some(run) = keys.get_mut(start..end).filter(|r| r.len() > 1) {
            f(run);
        }
        start = end;
    }
}

/// Orders a run of keys alike in their first `depth` bytes: by the next seven bytes (an integer sort
/// again, so `MediaUrl0`…`MediaUrl9` cost little), and so on down to [`REFINED`] bytes; what still ties
/// there (long shared prefixes, repeated keys) is ordered by full comparisons.
/// Returns whether it marked a duplicate (see [`sort_tied_runs`]).
fn refine<S: Pairs + ?Sized>(pairs: &S, run: &mut [u64], depth: usize) -> bool {
    if depth >= REFINED {
        return sort_in_full(pairs, run, Layout::Indexed);
    }
    let mut longest = 0;
    for key in run.iter_mut() {
        let index = Layout::Indexed.index(*key);
        let (k, _) = pairs.pair(index);
        longest = longest.max(k.raw_len());
        *key = level_key(k, depth, index);
    }
    run.sort_unstable();
    // Keys no longer than `depth` bytes are whole in their prefixes: a tie among them is a repeated
    // key (or one zero-padded like a shorter one), which only a full comparison orders.
    let deeper = longest > depth + PREFIX;
    let mut duplicates = false;
    for_each_tied_run(run, |tied| {
        duplicates |= if deeper {
            refine(pairs, tied, depth + PREFIX)
        } else {
            sort_in_full(pairs, tied, Layout::Indexed)
        };
    });
    duplicates
}

/// Orders `keys` by their pairs' full bytes, then marks each pair equal to the one before it as a
/// duplicate (see [`sort_tied_runs`]); returns whether it marked one.
fn sort_in_full<S: Pairs + ?Sized>(pairs: &S, keys: &mut [u64], layout: Layout) -> bool {
    keys.sort_unstable_by(|&a, &b| {
        cmp_pairs(pairs.pair(layout.index(a)), pairs.pair(layout.index(b)))
    });
    let mut duplicates = false;
    let mut previous: Option<(u64, (Part<'_>, Part<'_>))> = None;
    for key in keys.iter_mut() {
        let pair = pairs.pair(layout.index(*key));
        match previous {
            Some((first, p)) if cmp_pairs(p, pair) == Ordering::Equal => {
                *key = first;
                duplicates = true;
            }
            _ => previous = Some((*key, pair)),
        }
    }
    duplicates
}

/// Drops the duplicates [`sort_tied_runs`] marked (each a copy of the sort key before it), keeping the
/// order; returns how many keys are left.
pub(super) fn drop_duplicates(keys: &mut [u64]) -> usize {
    let mut len = 0;
    let mut last = None;
    for i in 0..keys.len() {
        let Some(&key) = keys.get(i) else { break };
        if last == Some(key) {
            continue;
        }
        if let Some(slot) = keys.get_mut(len) {
            *slot = key;
        }
        last = Some(key);
        len += 1;
    }
    len
}
