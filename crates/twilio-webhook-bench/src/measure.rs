//! Interleaved rounds over every contestant and workload, and allocation counts.

use std::collections::{BTreeMap, HashSet};
use std::hint::black_box;
use std::time::Instant;

use serde::Serialize;

use crate::cases::{Case, Floor, GROUPS, Gathered, Ours, Validators};
use crate::peers::Peer;
use crate::{ALLOCATIONS, Args};

/// Runs `f` over `work` in passes until `min_ms` have elapsed; returns ns per item.
pub fn time_loop<T, R>(work: &[T], min_ms: u64, mut f: impl FnMut(&T) -> R) -> f64 {
    let budget = std::time::Duration::from_millis(min_ms);
    let start = Instant::now();
    let mut ops = 0usize;
    loop {
        for item in work {
            black_box(f(black_box(item)));
        }
        ops += work.len();
        if start.elapsed() >= budget || work.is_empty() {
            break;
        }
    }
    start.elapsed().as_nanos() as f64 / ops.max(1) as f64
}

/// The median of some samples.
pub fn median(samples: &[f64]) -> f64 {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// What one workload measured.
#[derive(Debug, Serialize)]
pub struct GroupResult {
    pub cases: usize,
    /// ns per validation, every round, by contestant.
    pub rounds_ns: BTreeMap<String, Vec<f64>>,
    /// Median ns per validation by contestant.
    pub median_ns: BTreeMap<String, f64>,
    /// Heap allocations per validation by this library, over one pass.
    pub allocations_per_validation: f64,
    /// The largest number of parameters among the cases that allocated.
    pub max_params_of_allocating_cases: usize,
}

/// The whole comparison.
#[derive(Debug, Serialize)]
pub struct Results {
    pub sdk_versions: BTreeMap<String, String>,
    pub excluded_cases: BTreeMap<String, usize>,
    pub groups: BTreeMap<String, GroupResult>,
}

/// `make` applied to every case, by workload, one workload after the other (so that a workload's
/// inputs lie together too).
fn by_group<T>(
    cases: &[&Case],
    mut make: impl FnMut(&Case) -> T,
) -> BTreeMap<&'static str, Vec<T>> {
    GROUPS
        .into_iter()
        .map(|g| {
            let made = cases
                .iter()
                .filter(|c| c.group() == Some(g))
                .map(|c| make(c))
                .collect();
            (g, made)
        })
        .collect()
}

pub struct Bench {
    ours: BTreeMap<&'static str, Vec<Ours>>,
    floors: BTreeMap<&'static str, Vec<Floor>>,
    gathered: BTreeMap<&'static str, Vec<Gathered>>,
    params: BTreeMap<&'static str, Vec<usize>>,
    peers: Vec<Peer>,
    excluded: BTreeMap<String, usize>,
}

impl Bench {
    /// Keeps the cases on which this library and every SDK give the expected verdict.
    pub fn new(corpus: &[Case], mut peers: Vec<Peer>, args: &Args) -> Result<Self, String> {
        let grouped: Vec<&Case> = corpus.iter().filter(|c| c.group().is_some()).collect();
        let mut validators = Validators::default();
        let wrong: Vec<&str> = grouped
            .iter()
            .filter(|c| Ours::new(c, &mut validators).run() != c.expected)
            .map(|c| c.id.as_str())
            .collect();
        if !wrong.is_empty() {
            return Err(format!(
                "this library disagrees with `expected` on {wrong:?}"
            ));
        }
        let mut excluded = BTreeMap::new();
        let mut keep: HashSet<&str> = grouped.iter().map(|c| c.id.as_str()).collect();
        for peer in &peers {
            let ok: HashSet<&str> = peer.ok_ids.iter().map(String::as_str).collect();
            excluded.insert(
                peer.name.clone(),
                keep.iter().filter(|id| !ok.contains(*id)).count(),
            );
            keep.retain(|id| ok.contains(id));
        }
        let ids: Vec<&str> = grouped
            .iter()
            .map(|c| c.id.as_str())
            .filter(|id| keep.contains(id))
            .collect();
        let ids_file = args.out.join("selected-ids.json");
        std::fs::write(
            &ids_file,
            serde_json::to_vec(&ids).map_err(|e| e.to_string())?,
        )
        .map_err(|e| e.to_string())?;
        for peer in &mut peers {
            peer.select(&ids_file)?;
        }
        let kept: Vec<&Case> = grouped
            .into_iter()
            .filter(|c| keep.contains(c.id.as_str()))
            .collect();
        // Each contestant's inputs are made in a pass of their own, workload by workload, so that
        // each lies together in memory as it would in a process holding only its own: made case by
        // case, this library's strings and the gathered floor's alternated, and each ran ~40 %
        // slower (1.49 us per valid form alone against 2.2-2.4 us in the comparison).
        let ours = by_group(&kept, |c| Ours::new(c, &mut validators));
        let floors = by_group(&kept, Floor::new);
        let gathered = by_group(&kept, Gathered::new);
        let params = by_group(&kept, |c| c.params.len());
        Ok(Bench {
            ours,
            floors,
            gathered,
            params,
            peers,
            excluded,
        })
    }

    pub fn run(&mut self, args: &Args) -> Result<Results, String> {
        let mut groups = BTreeMap::new();
        for g in GROUPS {
            let (ours, floors, gathered) = (&self.ours[g], &self.floors[g], &self.gathered[g]);
            let mut rounds: BTreeMap<String, Vec<f64>> = BTreeMap::new();
            for round in 0..args.rounds {
                // Rotate who goes first so no contestant always runs on a cold or a warm machine.
                let n = 3 + self.peers.len();
                for slot in 0..n {
                    let who = (slot + round) % n;
                    let (name, ns) = match who {
                        0 => (
                            "twilio-webhook".to_string(),
                            time_loop(ours, args.min_ms, Ours::run),
                        ),
                        1 => (
                            "floor".to_string(),
                            time_loop(floors, args.min_ms, Floor::run),
                        ),
                        2 => (
                            crate::report::GATHERED.to_string(),
                            time_loop(gathered, args.min_ms, Gathered::run),
                        ),
                        p => {
                            let peer = &mut self.peers[p - 3];
                            (peer.name.clone(), peer.run(g, args.min_ms)?)
                        }
                    };
                    rounds.entry(name).or_default().push(ns);
                }
                eprintln!("{g}: round {}/{} done", round + 1, args.rounds);
            }
            let before = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
            let mut max_params = 0;
            for (o, &p) in ours.iter().zip(&self.params[g]) {
                let start = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
                black_box(o.run());
                if ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed) > start {
                    max_params = max_params.max(p);
                }
            }
            let allocations = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed) - before;
            groups.insert(
                g.to_string(),
                GroupResult {
                    cases: ours.len(),
                    median_ns: rounds.iter().map(|(k, v)| (k.clone(), median(v))).collect(),
                    rounds_ns: rounds,
                    allocations_per_validation: allocations as f64 / ours.len().max(1) as f64,
                    max_params_of_allocating_cases: max_params,
                },
            );
        }
        let sdk_versions = self
            .peers
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect();
        Ok(Results {
            sdk_versions,
            excluded_cases: self.excluded.clone(),
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
