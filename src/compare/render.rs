//! Rendering a [`Comparison`]: one neutral document, written out as Markdown or HTML, and
//! the JSON form.

use super::{Comparison, MIN_ERROR_RATE_DELTA, PercentileDelta, RunLabel};
use serde::Serialize;

enum Block {
    Heading(String),
    Para(String),
    /// Items: (bold part, rest).
    List(Vec<(String, String)>),
    /// Header, then rows of (cell text, is a regression).
    Table(Vec<String>, Vec<Vec<(String, bool)>>),
}

pub(super) fn fmt_ms(v: f64) -> String {
    if v.abs() < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

/// `+12.3 %`, `-4.0 %`; `–` when unknown.
pub(super) fn fmt_pct_change(p: Option<f64>) -> String {
    match p {
        Some(p) if (p * 10.0).round() == 0.0 => "+0.0 %".to_string(),
        Some(p) => format!("{p:+.1} %"),
        None => "–".to_string(),
    }
}

pub(super) fn fmt_rate(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_string(), |r| format!("{:.2} %", r * 100.0))
}

fn pair(b: impl std::fmt::Display, c: impl std::fmt::Display) -> String {
    format!("{b} → {c}")
}

/// The delta cell of a percentile.
fn delta_text(p: &PercentileDelta) -> String {
    let (Some(_), Some(ms)) = (p.base, p.delta_ms) else {
        return "–".to_string();
    };
    let s = match p.delta_pct {
        Some(_) => fmt_pct_change(p.delta_pct),
        None => format!("{ms:+.1} ms"),
    };
    if p.too_few_samples {
        format!("{s} (too few samples)")
    } else {
        s
    }
}

fn blocks(c: &Comparison) -> Vec<Block> {
    let (b, k, o) = (&c.base, &c.candidate, &c.options);
    let plain = |v: Vec<[String; 3]>| -> Vec<Vec<(String, bool)>> {
        v.into_iter()
            .map(|r| r.into_iter().map(|t| (t, false)).collect())
            .collect()
    };
    let behind = |l: &RunLabel| if l.fell_behind { "yes" } else { "no" }.to_string();
    let labels = plain(vec![
        ["profile".into(), b.profile.clone(), k.profile.clone()],
        ["seed".into(), b.seed.to_string(), k.seed.to_string()],
        ["started".into(), b.started_at.clone(), k.started_at.clone()],
        [
            "verdict".into(),
            b.verdict.to_string(),
            k.verdict.to_string(),
        ],
        ["generator fell behind".into(), behind(b), behind(k)],
    ]);
    let allowed = format!("{:.1} %", o.max_regression * 100.0);
    let mut out = vec![
        Block::Table(
            vec![String::new(), "base".into(), "candidate".into()],
            labels,
        ),
        Block::Para(format!(
            "A percentile regresses when it rises more than {allowed} and more than {} ms \
             (p50 and p99 need {} samples in both runs, p99.9 {}); an error rate when it rises \
             more than {allowed} and more than {:.1} points; talkgroup drops, console \
             disconnects and missed deliveries when the candidate has more than the base.",
            fmt_ms(o.min_delta_ms),
            o.min_samples,
            o.min_samples.saturating_mul(10),
            MIN_ERROR_RATE_DELTA * 100.0,
        )),
    ];
    if !c.warnings.is_empty() {
        out.push(Block::Heading("Warnings".into()));
        let items = c.warnings.iter().map(|w| (String::new(), w.clone()));
        out.push(Block::List(items.collect()));
    }
    out.push(Block::Heading(format!(
        "Regressions ({})",
        c.regressions.len()
    )));
    if c.regressions.is_empty() {
        out.push(Block::Para("None.".into()));
    } else {
        let items = c
            .regressions
            .iter()
            .map(|r| (r.what.clone(), r.detail.clone()));
        out.push(Block::List(items.collect()));
    }
    out.push(Block::Heading("Latency and errors".into()));
    if c.rows.is_empty() {
        out.push(Block::Para(
            "No operations or deliveries in either run.".into(),
        ));
    } else {
        let head = [
            "", "count", "p50 ms", "Δ p50", "p99 ms", "Δ p99", "p99.9 ms", "Δ p99.9",
        ];
        let mut head: Vec<String> = head.into_iter().map(String::from).collect();
        head.extend(["error rate".to_string(), String::new()]);
        let ms = |v: Option<f64>| v.map_or_else(|| "–".to_string(), fmt_ms);
        let rows = c.rows.iter().map(|r| {
            let mut cells = vec![
                (r.name.clone(), false),
                (pair(r.count_base, r.count_cand), false),
            ];
            for (_, p) in r.percentiles() {
                cells.push((pair(ms(p.base), ms(p.cand)), false));
                cells.push((delta_text(p), p.regressed));
            }
            let rates = pair(fmt_rate(r.error_rate_base), fmt_rate(r.error_rate_cand));
            cells.push((rates, r.error_rate_regressed));
            cells.push((r.status().to_string(), !r.regressions.is_empty()));
            cells
        });
        out.push(Block::Table(head, rows.collect()));
    }
    if !c.base_spread.is_empty() {
        out.push(Block::Heading(format!(
            "Spread of the {} base runs (p99, ms)",
            c.base_runs
        )));
        out.push(Block::Para(
            "The base above is their median: for each row, the run whose p99 is the median.".into(),
        ));
        let rows = c.base_spread.iter().map(|(name, (lo, hi))| {
            vec![
                (name.clone(), false),
                (fmt_ms(*lo), false),
                (fmt_ms(*hi), false),
            ]
        });
        let head = ["", "lowest", "highest"].map(String::from).to_vec();
        out.push(Block::Table(head, rows.collect()));
    }
    out.push(Block::Heading("Findings".into()));
    let rows = c.findings.iter().map(|f| {
        let status = if f.regressed { "REGRESSED" } else { "ok" };
        vec![
            (f.what.clone(), false),
            (f.base.to_string(), false),
            (f.cand.to_string(), false),
            (status.to_string(), f.regressed),
        ]
    });
    let head = ["", "base", "candidate", ""].map(String::from).to_vec();
    out.push(Block::Table(head, rows.collect()));
    out
}

/// Escape text for Markdown (also inside table cells).
pub(super) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\\' | '|' | '*' | '_' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(ch);
            }
            '\n' | '\r' => out.push(' '),
            _ => out.push(ch),
        }
    }
    out
}

/// The comparison as Markdown (CI job summaries, PR comments).
pub fn to_markdown(c: &Comparison) -> String {
    let mut o = format!("# rcload compare: {}\n\n", c.status());
    for block in blocks(c) {
        match block {
            Block::Heading(h) => o.push_str(&format!("## {}\n\n", md(&h))),
            Block::Para(p) => o.push_str(&format!("{}\n\n", md(&p))),
            Block::List(items) => {
                for (bold, rest) in items {
                    if bold.is_empty() {
                        o.push_str(&format!("- {}\n", md(&rest)));
                    } else {
                        o.push_str(&format!("- **{}**: {}\n", md(&bold), md(&rest)));
                    }
                }
                o.push('\n');
            }
            Block::Table(head, rows) => {
                let head: Vec<String> = head.iter().map(|h| md(h)).collect();
                o.push_str(&format!("| {} |\n|---|", head.join(" | ")));
                o.push_str(&"---:|".repeat(head.len().saturating_sub(1)));
                o.push('\n');
                for row in rows {
                    let cells: Vec<String> = row
                        .iter()
                        .map(|(t, bad)| match bad {
                            true => format!("**{}**", md(t)),
                            false => md(t),
                        })
                        .collect();
                    o.push_str(&format!("| {} |\n", cells.join(" | ")));
                }
                o.push('\n');
            }
        }
    }
    o
}

/// Escape text for HTML element content and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
h1 .ok{color:#1b7f3b}h1 .bad{color:#b00020}p{max-width:60em}\
table{border-collapse:collapse;margin:1em 0}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}\
td.bad{color:#b00020;font-weight:bold;background:#fdecee}";

/// The comparison as one self-contained HTML page (inline style, no scripts, no network).
pub fn to_html(c: &Comparison) -> String {
    let (status, class) = (c.status(), if c.regressed() { "bad" } else { "ok" });
    let mut o = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>rcload compare: {status}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <h1>rcload compare: <span class=\"{class}\">{status}</span></h1>\n"
    );
    for block in blocks(c) {
        match block {
            Block::Heading(h) => o.push_str(&format!("<h2>{}</h2>\n", esc(&h))),
            Block::Para(p) => o.push_str(&format!("<p>{}</p>\n", esc(&p))),
            Block::List(items) => {
                o.push_str("<ul>\n");
                for (bold, rest) in items {
                    if bold.is_empty() {
                        o.push_str(&format!("<li>{}</li>\n", esc(&rest)));
                    } else {
                        let (b, r) = (esc(&bold), esc(&rest));
                        o.push_str(&format!("<li><strong>{b}</strong>: {r}</li>\n"));
                    }
                }
                o.push_str("</ul>\n");
            }
            Block::Table(head, rows) => {
                o.push_str("<table>\n<tr>");
                for h in head {
                    o.push_str(&format!("<th>{}</th>", esc(&h)));
                }
                o.push_str("</tr>\n");
                for row in rows {
                    o.push_str("<tr>");
                    for (t, bad) in row {
                        let attr = if bad { " class=\"bad\"" } else { "" };
                        o.push_str(&format!("<td{attr}>{}</td>", esc(&t)));
                    }
                    o.push_str("</tr>\n");
                }
                o.push_str("</table>\n");
            }
        }
    }
    o.push_str("</body>\n</html>\n");
    o
}

// ---- JSON ----

#[derive(Serialize)]
struct JsonOut<'a> {
    regressed: bool,
    #[serde(flatten)]
    comparison: &'a Comparison,
}

/// The comparison as pretty JSON, with a top-level `regressed` flag.
pub fn to_json(c: &Comparison) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&JsonOut {
        regressed: c.regressed(),
        comparison: c,
    })
}
