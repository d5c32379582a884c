//! The report: a table on stdout, results.json, and the SVG charts.

use std::fmt::Write as _;
use std::process::Command;

use serde_json::json;

use crate::Args;
use crate::cases::GROUPS;
use crate::measure::Results;
use crate::scaling::Scaling;
use crate::svg::{self, COLORS, Series};

const CONTESTANTS: [&str; 4] = ["twilio-webhook", "floor", "twilio-python", "twilio-node"];

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

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| workload | cases | twilio-webhook | floor | twilio-node | twilio-python | vs node | vs python | ÷ floor |"
    );
    let _ = writeln!(table, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios = serde_json::Map::new();
    for g in GROUPS {
        let (o, f, n, p) = (
            ns(results, g, "twilio-webhook"),
            ns(results, g, "floor"),
            ns(results, g, "twilio-node"),
            ns(results, g, "twilio-python"),
        );
        let cases = results.groups.get(g).map_or(0, |r| r.cases);
        let _ = writeln!(
            table,
            "| {g} | {cases} | {o:.0} ns ({}) | {f:.0} ns | {n:.0} ns | {p:.0} ns | {:.1}× | {:.1}× | {:.2}× |",
            per_second(o),
            n / o,
            p / o,
            o / f
        );
        ratios.insert(
            g.to_string(),
            json!({"vs_node": n / o, "vs_python": p / o, "over_floor": o / f}),
        );
    }
    let goal = |name: &str, value: f64, target: f64, at_least: bool| {
        let reached = if at_least {
            value >= target
        } else {
            value <= target
        };
        json!({"goal": name, "value": value, "target": target, "reached": reached})
    };
    let fv = |who| ns(results, "form_valid", who);
    let goals = vec![
        goal(
            "form_valid: twilio-node / twilio-webhook >= 15",
            fv("twilio-node") / fv("twilio-webhook"),
            15.0,
            true,
        ),
        goal(
            "form_valid: twilio-python / twilio-webhook >= 80",
            fv("twilio-python") / fv("twilio-webhook"),
            80.0,
            true,
        ),
        goal(
            "form_valid: twilio-webhook / floor <= 1.25",
            fv("twilio-webhook") / fv("floor"),
            1.25,
            false,
        ),
        goal(
            "form_rejected: twilio-webhook / floor <= 2.5",
            ns(results, "form_rejected", "twilio-webhook") / ns(results, "form_rejected", "floor"),
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

    let series: Vec<(&str, Vec<f64>)> = CONTESTANTS
        .iter()
        .map(|c| (*c, GROUPS.iter().map(|g| 1e9 / ns(results, g, c)).collect()))
        .collect();
    let title = format!(
        "Validations per second, median of {} rounds ({}, {})",
        args.rounds,
        meta["cpu"].as_str().unwrap_or("?"),
        meta["date"].as_str().unwrap_or("?")
    );
    let bars = svg::bars(
        &title,
        "validations per second (log scale)",
        &GROUPS,
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
            "parameters (reverse-sorted input)",
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
