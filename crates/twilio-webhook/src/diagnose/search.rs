//! The search: the variants of the checked URL laid out as a lattice, walked cheapest first with
//! every body mode and configured secret, until the presented signature matches or a bound is met.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

use super::split::Split;
use super::{
    Cause, CauseCode, Diagnosis, Found, Hints, MAX_HMACS, Suspect, cost, fix, modes, variants,
};
use crate::signature::{Algorithm, Keyed, Presented};
use crate::url::Pieces;
use crate::validator::RequestValidator;
use crate::verdict::SecretId;

/// A configured secret, keyed, and whether the request's settings select it.
struct Candidate<'v> {
    id: SecretId,
    keyed: &'v Keyed,
    selected: bool,
}

/// The variants of every part of a URL, cheapest first.
struct Lattice {
    schemes: variants::Variants<String>,
    hosts: variants::Variants<String>,
    ports: variants::Variants<Option<String>>,
    paths: variants::Variants<String>,
    queries: variants::Variants<Option<String>>,
    fragments: variants::Variants<Option<String>>,
}

/// A point of the lattice: one index per part.
type Point = [u8; 6];

impl Lattice {
    fn new(split: &Split, hints: &Hints) -> Self {
        Lattice {
            schemes: variants::schemes(split, hints),
            hosts: variants::hosts(split, hints),
            ports: variants::ports(split, hints),
            paths: variants::paths(split, hints),
            queries: variants::queries(split),
            fragments: variants::fragments(split),
        }
    }

    fn lens(&self) -> [usize; 6] {
        [
            self.schemes.0.len(),
            self.hosts.0.len(),
            self.ports.0.len(),
            self.paths.0.len(),
            self.queries.0.len(),
            self.fragments.0.len(),
        ]
    }

    /// The URL at `p`, its cost and the causes it stands for, in the order of the URL's parts.
    fn at(&self, checked: &Split, p: Point) -> Option<(Split, u16, Vec<CauseCode>)> {
        let [s, h, po, pa, q, f] = p.map(usize::from);
        let (s, h, po) = (
            self.schemes.0.get(s)?,
            self.hosts.0.get(h)?,
            self.ports.0.get(po)?,
        );
        let (pa, q, f) = (
            self.paths.0.get(pa)?,
            self.queries.0.get(q)?,
            self.fragments.0.get(f)?,
        );
        let cost = [s.cost, h.cost, po.cost, pa.cost, q.cost, f.cost]
            .iter()
            .map(|&c| u16::from(c))
            .sum();
        let codes = [s.code, h.code, po.code, pa.code, q.code, f.code]
            .into_iter()
            .flatten()
            .collect();
        let url = Split {
            scheme: s.value.clone(),
            host: h.value.clone(),
            port: po.value.clone(),
            path: pa.value.clone(),
            query: q.value.clone(),
            fragment: f.value.clone(),
            ..checked.clone()
        };
        Some((url, cost, codes))
    }
}

impl RequestValidator {
    /// Searches for what the presented signature covers (see the [module docs](crate::diagnose)):
    /// never a verdict, at most [`MAX_HMACS`] HMACs over at most
    /// [`MAX_DIAGNOSIS_BYTES`](super::MAX_DIAGNOSIS_BYTES) bytes, and a body larger than
    /// [`MAX_DIAGNOSED_BODY`](super::MAX_DIAGNOSED_BODY) left out.
    pub fn diagnose(&self, suspect: &Suspect<'_>) -> Diagnosis {
        let mut diagnosis = Diagnosis {
            found: None,
            causes: Vec::new(),
            hmacs: 0,
            bytes: 0,
            exhausted: false,
            skipped: None,
        };
        let signature = suspect.signature.trim();
        let algorithm = match signature.len() {
            28 => Algorithm::HmacSha1,
            44 => Algorithm::HmacSha256,
            _ => {
                diagnosis.causes = fix::malformed_signature();
                return diagnosis;
            }
        };
        let (Ok(presented), Some(checked)) = (
            Presented::decode(signature, algorithm),
            Split::parse(suspect.url),
        ) else {
            diagnosis.causes = fix::malformed_signature();
            return diagnosis;
        };
        let candidates = self.candidates(suspect.settings, algorithm);
        let (modes, skipped) = modes::modes(suspect.payload);
        diagnosis.skipped = skipped;
        let mut meter = cost::Meter::new();
        let lattice = Lattice::new(&checked, &suspect.hints);
        let lens = lattice.lens();
        let mut heap = BinaryHeap::new();
        let mut seen: HashSet<Point> = HashSet::new();
        let start: Point = [0; 6];
        heap.push(Reverse((0u16, 0usize, start)));
        seen.insert(start);
        'search: while let Some(Reverse((_, _, point))) = heap.pop() {
            let Some((url, _, url_codes)) = lattice.at(&checked, point) else {
                continue;
            };
            let joined = url.join();
            let pieces = Pieces([joined.as_str(), "", ""]);
            for (suffix, mode_code) in &modes {
                for candidate in &candidates {
                    if diagnosis.hmacs >= MAX_HMACS {
                        diagnosis.exhausted = true;
                        break 'search;
                    }
                    if !meter.charge(joined.len() + suffix.len()) {
                        continue;
                    }
                    diagnosis.hmacs += 1;
                    #[cfg(test)]
                    cost::HASHED.with(|h| h.set(h.get() + (joined.len() + suffix.len()) as u64));
                    if candidate
                        .keyed
                        .verify(&pieces, suffix.as_slice(), &presented)
                    {
                        let mut codes = url_codes.clone();
                        codes.extend(*mode_code);
                        if !candidate.selected {
                            codes.push(CauseCode::Secret);
                        }
                        let string_to_sign = format!("{joined}{}", String::from_utf8_lossy(suffix));
                        let found = Found {
                            signed_url: joined.clone(),
                            string_to_sign,
                            secret: candidate.id.clone(),
                            algorithm,
                        };
                        diagnosis.causes = codes
                            .iter()
                            .map(|&code| Cause {
                                code,
                                signed_url: Some(joined.clone()),
                                fix: fix::fix(code, &checked, &url, &found, suspect),
                                action: fix::action(code, &checked, &url, suspect),
                            })
                            .collect();
                        diagnosis.found = Some(found);
                        break 'search;
                    }
                }
            }
            for dim in 0..6 {
                let mut next = point;
                let (Some(index), Some(&len)) = (next.get_mut(dim), lens.get(dim)) else {
                    continue;
                };
                if usize::from(*index) + 1 >= len {
                    continue;
                }
                *index += 1;
                if seen.insert(next) {
                    if let Some((_, cost, codes)) = lattice.at(&checked, next) {
                        heap.push(Reverse((cost, codes.len(), next)));
                    }
                }
            }
        }
        diagnosis.bytes = meter.used;
        diagnosis.exhausted |= meter.short;
        if diagnosis.found.is_none() {
            diagnosis.causes = fix::nothing_matched(suspect, &diagnosis);
        }
        diagnosis
    }

    /// Every configured secret keyed for `algorithm`, those the settings select first.
    fn candidates(&self, settings: Option<&str>, algorithm: Algorithm) -> Vec<Candidate<'_>> {
        let selected = self.selected_secrets(settings);
        let mut all: Vec<Candidate<'_>> = self
            .secrets(algorithm)
            .into_iter()
            .map(|(id, keyed)| Candidate {
                selected: selected.iter().any(|(s, a)| *s == id && *a == algorithm),
                id,
                keyed,
            })
            .collect();
        all.sort_by_key(|c| !c.selected);
        all
    }
}
