//! The report: a table on stdout, results.json, and the SVG charts.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::json;

use crate::Args;
use crate::cases::GROUPS;
use crate::measure::{Results, median};
use crate::scaling::Scaling;
use crate::svg::{self, COLORS, Series};

/// This library, called from Rust.
pub const OURS: &str = "twilio-webhook";
/// What any correct validator must compute (see `cases::Floor`).
pub const FLOOR: &str = "floor";
/// The floor plus reading each parameter from the caller's strings (see `cases::Gathered`).
pub const GATHERED: &str = "floor + gather";
/// twilio-node's `validateRequest` / `validateRequestWithBody`.
pub const NODE: &str = "twilio-node";
/// twilio-python's `RequestValidator.validate`, given a multidict with `getall` (its fastest accessor).
pub const PYTHON: &str = "twilio-python";
/// twilio-python given a mapping with only `getlist` (werkzeug/Flask, Django).
pub const PYTHON_GETLIST: &str = "twilio-python getlist";

/// This library from Python: the `twilio_webhook` package's drop-in `RequestValidator.validate`, given a
/// list of pairs (its fastest accessor), in the same worker as twilio-python.
pub const OURS_PYTHON: &str = "twilio-webhook-py";

/// This library from JavaScript: the npm package's drop-in `validateRequest` / `validateRequestWithBody`
/// (the core compiled to WebAssembly), in a worker of its own running twilio-node's worker script.
pub const OURS_JS: &str = "twilio-webhook-js";

/// Every contestant, in the order of the table and the chart (absent ones are skipped).
const CONTESTANTS: [&str; 8] = [
    OURS,
    FLOOR,
    GATHERED,
    NODE,
    OURS_JS,
    PYTHON,
    PYTHON_GETLIST,
    OURS_PYTHON,
];

fn command_output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(if o.stdout.is_empty() {
                &o.stderr
            } else {
                &o.stdout
            })
            .trim()
            .to_string()
        })
        .unwrap_or_else(|| "?".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "?".into())
}

fn ns(results: &Results, group: &str, who: &str) -> f64 {
    results
        .groups
        .get(group)
        .and_then(|g| g.median_ns.get(who))
        .copied()
        .unwrap_or(f64::NAN)
}

/// Every round's ns per validation of a contestant (none when it did not run).
fn rounds<'r>(results: &'r Results, group: &str, who: &str) -> &'r [f64] {
    results
        .groups
        .get(group)
        .and_then(|g| g.rounds_ns.get(who))
        .map_or(&[][..], Vec::as_slice)
}

/// The fastest and slowest round of a contestant.
fn spread(results: &Results, group: &str, who: &str) -> (f64, f64) {
    min_max(rounds(results, group, who))
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::NAN, f64::NAN), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// `a / b` for each round, both timed in that round.
fn round_ratios(results: &Results, group: &str, a: &str, b: &str) -> Vec<f64> {
    rounds(results, group, a)
        .iter()
        .zip(rounds(results, group, b))
        .map(|(x, y)| x / y)
        .collect()
}

fn per_second(ns: f64) -> String {
    let ops = 1e9 / ns;
    if ops >= 1e6 {
        format!("{:.2}M/s", ops / 1e6)
    } else {
        format!("{:.0}k/s", ops / 1e3)
    }
}

pub fn write(args: &Args, results: &Results, scaling: &Scaling) -> Result<(), String> {
    let python_version = command_output(&args.python.to_string_lossy(), &["--version"]);
    let meta = json!({
        "date": command_output("date", &["-u", "+%Y-%m-%d"]),
        "cpu": cpu_model(),
        "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "rustc": command_output("rustc", &["--version"]),
        "python": python_version,
        "node": command_output("node", &["--version"]),
        "rounds": args.rounds,
        "min_ms_per_round": args.min_ms,
    });

    let present: Vec<&str> = CONTESTANTS
        .into_iter()
        .filter(|c| GROUPS.iter().any(|g| ns(results, g, c).is_finite()))
        .collect();
    let mut table = String::new();
    let _ = write!(table, "| workload | cases |");
    for c in &present {
        let _ = write!(table, " {c} |");
    }
    let _ = writeln!(
        table,
        " ÷ floor | ÷ floor + gather | vs node | vs python | js vs node |"
    );
    let _ = writeln!(
        table,
        "|---|---:|{}---:|---:|---:|---:|---:|",
        "---:|".repeat(present.len())
    );
    let mut ratios = serde_json::Map::new();
    for g in GROUPS {
        let cases = results.groups.get(g).map_or(0, |r| r.cases);
        let _ = write!(table, "| {g} | {cases} |");
        for c in &present {
            let (lo, hi) = spread(results, g, c);
            let _ = write!(table, " {:.0} ns ({lo:.0}–{hi:.0}) |", ns(results, g, c));
        }
        let o = ns(results, g, OURS);
        let floor = round_ratios(results, g, OURS, FLOOR);
        let (flo, fhi) = min_max(&floor);
        let gathered = round_ratios(results, g, OURS, GATHERED);
        let (glo, ghi) = min_max(&gathered);
        let (n, p, py) = (
            ns(results, g, NODE),
            ns(results, g, PYTHON),
            ns(results, g, OURS_PYTHON),
        );
        // The npm package against twilio-node: both in Node, timed back to back in each round.
        let js = round_ratios(results, g, NODE, OURS_JS);
        let (jlo, jhi) = min_max(&js);
        let _ = writeln!(
            table,
            " {:.2}× ({flo:.2}–{fhi:.2}) | {:.2}× ({glo:.2}–{ghi:.2}) | {:.1}× | {:.1}× | {:.2}× ({jlo:.2}–{jhi:.2}) |",
            median(&floor),
            median(&gathered),
            n / o,
            p / o,
            median(&js)
        );
        ratios.insert(
            g.to_string(),
            json!({"vs_node": n / o, "vs_python": p / o, "over_floor": median(&floor),
                   "over_floor_range": [flo, fhi], "over_gathered_floor": median(&gathered),
                   "over_gathered_floor_range": [glo, ghi], "python_package_vs_python": p / py,
                   "js_package_vs_node": median(&js), "js_package_vs_node_range": [jlo, jhi]}),
        );
    }
    let _ = writeln!(
        table,
        "\nMedian of {} interleaved rounds (fastest–slowest round in brackets); ÷ floor and ÷ floor + \
         gather are medians of the per-round ratios, each round timing both back to back.",
        args.rounds
    );
    let goal = |name: &str, value: f64, target: f64, at_least: bool| {
        let reached = if at_least {
            value >= target
        } else {
            value <= target
        };
        json!({"goal": name, "value": value, "target": target, "reached": reached})
    };
    let over_floor = |g| median(&round_ratios(results, g, OURS, FLOOR));
    let fv = |who| ns(results, "form_valid", who);
    let goals = vec![
        goal(
            "form_valid: twilio-webhook / floor <= 2.0",
            over_floor("form_valid"),
            2.0,
            false,
        ),
        goal(
            "form_valid: twilio-node / twilio-webhook >= 10",
            fv(NODE) / fv(OURS),
            10.0,
            true,
        ),
        goal(
            "json_valid: twilio-webhook / floor (with SHA-256) <= 1.5",
            over_floor("json_valid"),
            1.5,
            false,
        ),
        goal(
            "form_valid: twilio-python / twilio-webhook-py >= 10 (issue 12's aim)",
            fv(PYTHON) / fv(OURS_PYTHON),
            10.0,
            true,
        ),
        goal(
            "form_valid: twilio-node / twilio-webhook-js >= 1.5 (issue 20; its aim is 3)",
            median(&round_ratios(results, "form_valid", NODE, OURS_JS)),
            1.5,
            true,
        ),
        goal(
            "form_rejected: twilio-webhook / floor <= 2.5",
            over_floor("form_rejected"),
            2.5,
            false,
        ),
    ];
    println!(
        "{}\n{table}",
        serde_json::to_string_pretty(&meta).unwrap_or_default()
    );
    for g in &goals {
        println!(
            "goal {}: {:.2} -> {}",
            g["goal"],
            g["value"].as_f64().unwrap_or(f64::NAN),
            if g["reached"] == true {
                "reached"
            } else {
                "MISSED"
            }
        );
    }
    for (g, r) in &results.groups {
        println!(
            "allocations per validation, {g}: {:.3} (largest allocating case: {} params)",
            r.allocations_per_validation, r.max_params_of_allocating_cases
        );
    }

    let out = json!({"meta": meta, "results": results, "ratios": ratios, "goals": goals, "scaling": scaling, "table": table});
    let path = args.out.join("results.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&out).unwrap_or_default(),
    )
    .map_err(|e| e.to_string())?;
    println!("wrote {}", path.display());

    let series: Vec<(&str, Vec<f64>)> = present
        .iter()
        .map(|c| (*c, GROUPS.iter().map(|g| 1e9 / ns(results, g, c)).collect()))
        .collect();
    let title = format!(
        "Validations per second, median of {} rounds ({}, {})",
        args.rounds,
        meta["cpu"].as_str().unwrap_or("?"),
        meta["date"].as_str().unwrap_or("?")
    );
    let names: Vec<&str> = GROUPS.iter().map(|g| workload_name(g)).collect();
    let bars = svg::bars(
        &title,
        "validations per second (log scale)",
        &names,
        &series,
        |v| per_second(1e9 / v),
    );
    let curve = |pts: &[crate::scaling::Point], ours: bool| {
        pts.iter()
            .map(|p| {
                (
                    p.x as f64,
                    if ours { p.ours_ns } else { p.floor_ns } / 1000.0,
                )
            })
            .collect()
    };
    let lines = svg::lines(&[
        (
            "Form validation vs parameters",
            "parameters (in random order)",
            "µs per validation",
            vec![
                Series {
                    name: "twilio-webhook".into(),
                    color: COLORS[0],
                    points: curve(&scaling.params, true),
                },
                Series {
                    name: "floor (HMAC + base64)".into(),
                    color: COLORS[1],
                    points: curve(&scaling.params, false),
                },
            ],
        ),
        (
            "JSON validation vs body size",
            "body bytes",
            "µs per validation",
            vec![
                Series {
                    name: "twilio-webhook".into(),
                    color: COLORS[0],
                    points: curve(&scaling.body_bytes, true),
                },
                Series {
                    name: "floor (SHA-256 + HMAC)".into(),
                    color: COLORS[1],
                    points: curve(&scaling.body_bytes, false),
                },
            ],
        ),
    ]);
    for (name, svg) in [("compare.svg", bars), ("scaling.svg", lines)] {
        let path = args.charts.join(name);
        std::fs::write(&path, svg).map_err(|e| e.to_string())?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// A workload's name for people: `form_valid` is "valid forms".
fn workload_name(group: &str) -> &str {
    match group {
        "form_valid" => "valid forms",
        "json_valid" => "valid JSON",
        "form_rejected" => "rejected forms",
        other => other,
    }
}
