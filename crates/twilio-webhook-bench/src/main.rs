//! `twilio-webhook-bench`: this library side by side with twilio-python, twilio-node and the HMAC floor.
//!
//! Run through `bench/compare`, which installs the SDKs and builds this in release mode. Every contestant
//! runs the same corpus cases in several interleaved rounds; the report gives medians and ratios, and
//! writes `results.json` and the charts.

mod cases;
mod measure;
mod peers;
mod report;
mod scaling;
mod svg;

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Parser;

/// Counts allocations, to report allocations per validation.
struct Counting;

/// Allocations made so far by the whole process.
pub(crate) static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// The only unsafe code of this crate: forwarding to the system allocator while counting.
#[allow(unsafe_code)]
// SAFETY: every method forwards to `System` with the caller's arguments, under the same contract.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Benchmark twilio-webhook against the official SDKs and the HMAC floor.
#[derive(Debug, Parser)]
pub(crate) struct Args {
    /// The conformance corpus to take cases from.
    #[arg(long, default_value = "testdata/corpus.jsonl")]
    pub corpus: PathBuf,
    /// The Python with twilio==9.13.0 installed.
    #[arg(long, default_value = "bench/.peers/venv/bin/python")]
    pub python: PathBuf,
    /// The node_modules folder holding twilio@6.3.1.
    #[arg(long, default_value = "bench/.peers/node_modules")]
    pub node_modules: PathBuf,
    /// The npm package of this project, built (`npm run build` in js/).
    #[arg(long, default_value = "js")]
    pub js: PathBuf,
    /// Where the worker scripts are.
    #[arg(long, default_value = "bench/peers")]
    pub workers: PathBuf,
    /// Where results.json goes.
    #[arg(long, default_value = "target/bench-compare")]
    pub out: PathBuf,
    /// Where the SVG charts go (committed, embedded in the README).
    #[arg(long, default_value = "docs/bench")]
    pub charts: PathBuf,
    /// Interleaved rounds per contestant and workload.
    #[arg(long, default_value_t = 7)]
    pub rounds: usize,
    /// Minimum time of one round, in milliseconds.
    #[arg(long, default_value_t = 300)]
    pub min_ms: u64,
    /// Only loop this library over one workload (no SDKs), for a profiler or an A/B run of two builds.
    #[arg(long, value_name = "GROUP")]
    pub profile: Option<String>,
    /// How long `--profile` loops, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    pub profile_secs: f64,
}

fn run(args: &Args) -> Result<(), String> {
    std::fs::create_dir_all(&args.out).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&args.charts).map_err(|e| e.to_string())?;
    let corpus = cases::load(&args.corpus)?;
    if let Some(group) = &args.profile {
        let mut validators = cases::Validators::default();
        let work: Vec<cases::Ours> = corpus
            .iter()
            .filter(|c| c.group() == Some(group.as_str()))
            .map(|c| cases::Ours::new(c, &mut validators))
            .collect();
        let ns = measure::time_loop(&work, (args.profile_secs * 1000.0) as u64, cases::Ours::run);
        println!(
            "{group}: {ns:.0} ns per validation over {} cases",
            work.len()
        );
        return Ok(());
    }

    let python = |module: &str, accessor: &str| {
        let mut command = Command::new(&args.python);
        command.arg(args.workers.join("python_worker.py")).args([
            "--module",
            module,
            "--accessor",
            accessor,
        ]);
        command
    };
    let mut node = Command::new("node");
    node.env("NODE_PATH", &args.node_modules)
        .arg(args.workers.join("node_worker.js"));
    let mut node_ours = Command::new("node");
    node_ours
        .arg(args.workers.join("node_worker.js"))
        .arg("--module")
        .arg(&args.js);
    eprintln!("starting the SDK workers (each checks its verdicts on the corpus first)...");
    let peers = vec![
        peers::Peer::start(report::PYTHON, python("twilio", "getall"), &args.corpus)?,
        peers::Peer::start(
            report::PYTHON_GETLIST,
            python("twilio", "getlist"),
            &args.corpus,
        )?,
        peers::Peer::start(report::NODE, node, &args.corpus)?,
        peers::Peer::start(report::OURS_JS, node_ours, &args.corpus)?,
        peers::Peer::start(
            report::OURS_PYTHON,
            python("twilio_webhook", "pairs"),
            &args.corpus,
        )?,
    ];
    let mut bench = measure::Bench::new(&corpus, peers, args)?;
    let results = bench.run(args)?;
    let scaling = scaling::run(args.min_ms / 3);
    report::write(args, &results, &scaling)
}

fn main() -> ExitCode {
    match run(&Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
