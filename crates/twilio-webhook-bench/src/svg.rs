//! Minimal SVG charts (grouped bars on a log axis, and line panels) with no dependency.

use std::fmt::Write as _;

/// One named series of a chart.
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
}

/// The colours used for the contestants, in order.
pub const COLORS: [&str; 7] = [
    "#1b7837", "#762a83", "#b2abd2", "#2166ac", "#d6604d", "#f4a582", "#5aae61",
];

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn header(w: f64, h: f64) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
         font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    )
}

/// A plotting area with its axes.
struct Panel {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    x_range: (f64, f64),
    y_range: (f64, f64),
    y_log: bool,
}

impl Panel {
    fn px(&self, v: f64) -> f64 {
        self.x + (v - self.x_range.0) / (self.x_range.1 - self.x_range.0) * self.w
    }

    fn py(&self, v: f64) -> f64 {
        let (lo, hi, v) = if self.y_log {
            (
                self.y_range.0.log10(),
                self.y_range.1.log10(),
                v.max(self.y_range.0).log10(),
            )
        } else {
            (self.y_range.0, self.y_range.1, v)
        };
        self.y + self.h - (v - lo) / (hi - lo) * self.h
    }

    fn y_ticks(&self) -> Vec<f64> {
        if self.y_log {
            let (lo, hi) = (
                self.y_range.0.log10().floor() as i32,
                self.y_range.1.log10().ceil() as i32,
            );
            (lo..=hi).map(|e| 10f64.powi(e)).collect()
        } else {
            nice_ticks(self.y_range.0, self.y_range.1)
        }
    }

    fn axes(&self, out: &mut String, x_label: &str, y_label: &str, title: &str) {
        let (x0, y1) = (self.x, self.y + self.h);
        if !title.is_empty() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" font-size=\"14\" font-weight=\"bold\">{}</text>",
                x0,
                self.y - 12.0,
                esc(title)
            );
        }
        let _ = writeln!(
            out,
            "<line x1=\"{x0}\" y1=\"{}\" x2=\"{x0}\" y2=\"{y1}\" stroke=\"#333\"/>",
            self.y
        );
        let _ = writeln!(
            out,
            "<line x1=\"{x0}\" y1=\"{y1}\" x2=\"{}\" y2=\"{y1}\" stroke=\"#333\"/>",
            x0 + self.w
        );
        for t in self.y_ticks() {
            let y = self.py(t);
            if y < self.y - 0.5 || y > y1 + 0.5 {
                continue;
            }
            let _ = writeln!(
                out,
                "<line x1=\"{x0}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#ddd\"/>",
                x0 + self.w
            );
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
                x0 - 6.0,
                y + 4.0,
                fmt_num(t)
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\">{}</text>",
            x0 - 50.0,
            self.y + self.h / 2.0,
            x0 - 50.0,
            self.y + self.h / 2.0,
            esc(y_label)
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x0 + self.w / 2.0,
            y1 + 36.0,
            esc(x_label)
        );
    }
}

fn nice_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).max(f64::MIN_POSITIVE);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(mag * 10.0);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(t);
        t += step;
    }
    out
}

fn fmt_num(v: f64) -> String {
    for (unit, suffix) in [(1e6, "M"), (1e3, "k")] {
        if v >= unit && (v / unit).fract() == 0.0 {
            return format!("{}{suffix}", v / unit);
        }
    }
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn legend(out: &mut String, x: f64, y: f64, series: &[(&str, &str)]) {
    for (i, (name, color)) in series.iter().enumerate() {
        let yy = y + i as f64 * 18.0;
        let _ = writeln!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{color}\"/>",
            yy - 10.0
        );
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{yy}\">{}</text>",
            x + 18.0,
            esc(name)
        );
    }
}

/// The width a value label takes at font size 10 (Helvetica's digits and letters are about 0.6 em).
fn label_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.2
}

/// Grouped bars: `values[s][g]` is series `s` in group `g`, drawn on a log axis, labelled with `label`.
/// Value labels stand vertically on their bars, so that neighbours never overlap, and the plot starts
/// low enough for the longest to fit under the title.
pub fn bars(
    title: &str,
    y_label: &str,
    groups: &[&str],
    series: &[(&str, Vec<f64>)],
    label: impl Fn(f64) -> String,
) -> String {
    let all: Vec<f64> = series
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .filter(|v| *v > 0.0)
        .collect();
    let lo = 10f64.powf(all.iter().copied().fold(f64::MAX, f64::min).log10().floor());
    let hi = 10f64.powf(all.iter().copied().fold(0.0, f64::max).log10().ceil());
    let longest = all
        .iter()
        .map(|&v| label_width(&label(v)))
        .fold(0.0, f64::max);
    let top = 40.0 + longest + 8.0;
    let panel = Panel {
        x: 80.0,
        y: top,
        w: 600.0,
        h: 300.0,
        x_range: (0.0, groups.len() as f64),
        y_range: (lo, hi),
        y_log: true,
    };
    let (w, h) = (860.0, top + 300.0 + 40.0);
    let mut out = header(w, h);
    panel.axes(&mut out, "", y_label, "");
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"24\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        panel.x,
        esc(title)
    );
    let slot = 1.0 / (series.len() as f64 + 1.0);
    for (gi, g) in groups.iter().enumerate() {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            panel.px(gi as f64 + 0.5),
            panel.y + panel.h + 18.0,
            esc(g)
        );
        for (si, (_, values)) in series.iter().enumerate() {
            let Some(&v) = values.get(gi) else { continue };
            let x0 = panel.px(gi as f64 + slot * (si as f64 + 0.5));
            let x1 = panel.px(gi as f64 + slot * (si as f64 + 1.5));
            let (yt, yb) = (panel.py(v), panel.py(lo));
            let color = COLORS.get(si).copied().unwrap_or("#888");
            let _ = writeln!(
                out,
                "<rect x=\"{x0:.1}\" y=\"{yt:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\"/>",
                x1 - x0 - 2.0,
                yb - yt
            );
            let (lx, ly) = ((x0 + x1) / 2.0 + 2.0, yt - 3.0);
            let _ = writeln!(
                out,
                "<text x=\"{lx:.1}\" y=\"{ly:.1}\" font-size=\"10\" transform=\"rotate(-90 {lx:.1} {ly:.1})\">{}</text>",
                esc(&label(v))
            );
        }
    }
    let names: Vec<(&str, &str)> = series
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, COLORS.get(i).copied().unwrap_or("#888")))
        .collect();
    legend(&mut out, 700.0, 80.0, &names);
    out.push_str("</svg>\n");
    out
}

/// Side-by-side line panels: `(title, x label, y label, series)` each.
pub fn lines(panels: &[(&str, &str, &str, Vec<Series>)]) -> String {
    let (pw, ph) = (420.0, 300.0);
    let w = 100.0 + panels.len() as f64 * (pw + 110.0);
    let mut out = header(w, ph + 100.0);
    for (i, (title, x_label, y_label, series)) in panels.iter().enumerate() {
        let pts = series.iter().flat_map(|s| s.points.iter());
        let (xmax, ymax) = pts.fold((0f64, 0f64), |(a, b), &(x, y)| (a.max(x), b.max(y)));
        let panel = Panel {
            x: 90.0 + i as f64 * (pw + 110.0),
            y: 50.0,
            w: pw,
            h: ph,
            x_range: (0.0, xmax),
            y_range: (0.0, ymax * 1.1),
            y_log: false,
        };
        panel.axes(&mut out, x_label, y_label, title);
        for t in nice_ticks(0.0, xmax) {
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                panel.px(t),
                panel.y + ph + 16.0,
                fmt_num(t)
            );
        }
        for s in series {
            let d: Vec<String> = s
                .points
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", panel.px(x), panel.py(y)))
                .collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
                s.color,
                d.join(" ")
            );
            for &(x, y) in &s.points {
                let _ = writeln!(
                    out,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{}\"/>",
                    panel.px(x),
                    panel.py(y),
                    s.color
                );
            }
        }
        let names: Vec<(&str, &str)> = series.iter().map(|s| (s.name.as_str(), s.color)).collect();
        legend(&mut out, panel.x + 12.0, panel.y + 16.0, &names);
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every value label stands on its bar inside the canvas, below the title, and no two overlap.
    #[test]
    fn value_labels_fit_and_never_overlap() {
        let values: Vec<f64> = vec![1.92e6, 1.40e6, 2.59e6, 9.9e5, 1.3e4];
        let series: Vec<(&str, Vec<f64>)> = (0..7)
            .map(|i| {
                (
                    "s",
                    values.iter().map(|v| v * (1.0 + i as f64 / 10.0)).collect(),
                )
            })
            .collect();
        let groups = ["valid forms", "valid JSON", "rejected forms", "a", "b"];
        let label = |v: f64| format!("{:.2}M/s", v / 1e6);
        let svg = bars("title", "y", &groups, &series, label);
        let height: f64 = svg
            .split("height=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .and_then(|h| h.parse().ok())
            .unwrap();
        let mut spans = Vec::new();
        for line in svg
            .lines()
            .filter(|l| l.contains("rotate(-90") && l.contains("font-size=\"10\""))
        {
            let num = |key: &str| -> f64 {
                line.split(key)
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap()
            };
            let (x, y) = (num(" x=\""), num(" y=\""));
            let text = line
                .split('>')
                .nth(1)
                .and_then(|t| t.split('<').next())
                .unwrap();
            let top = y - label_width(text);
            assert!(top > 30.0 && y < height, "{line}");
            spans.push((x - 5.0, x + 5.0));
        }
        spans.sort_by(|a, b| a.0.total_cmp(&b.0));
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "{spans:?}");
    }

    #[test]
    fn ticks_cover_the_range() {
        assert_eq!(nice_ticks(0.0, 200.0), vec![0.0, 50.0, 100.0, 150.0, 200.0]);
        assert_eq!(fmt_num(65536.0), "65536");
        assert_eq!(fmt_num(2000.0), "2k");
        assert_eq!(fmt_num(10_000_000.0), "10M");
    }

    #[test]
    fn charts_are_well_formed_svg() {
        let svg = bars(
            "t",
            "y",
            &["a", "b"],
            &[("x", vec![1.0, 10.0]), ("z", vec![100.0, 1000.0])],
            |v| format!("{v}"),
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 1 + 4 + 2);
        assert_eq!(
            svg.matches("rotate(-90").count(),
            4 + 1,
            "value labels stand on their bars"
        );
        let svg = lines(&[(
            "p",
            "x",
            "y",
            vec![Series {
                name: "s".into(),
                color: "#000",
                points: vec![(1.0, 2.0), (2.0, 4.0)],
            }],
        )]);
        assert_eq!(svg.matches("<circle").count(), 2);
    }
}
