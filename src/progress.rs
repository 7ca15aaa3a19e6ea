//! Live progress of a run, a consumer of the interval rows: on a terminal an indicatif bar with
//! a status line; elsewhere (CI) one plain line on stderr every `--progress-every`; nothing
//! with `--quiet`. stdout is left to the result.
//!
//! Each update shows elapsed of planned time, the phase, offered vs achieved rate, requests in
//! flight, the last interval's p99 of the key operations, consoles logged in, and drops and
//! disconnects so far.

use crate::metrics::row::{CellKey, IntervalRow};
use crate::report::Summary;
use rcload_api::Op;
use std::fmt::Write as _;
use std::time::Duration;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    Off,
    /// One line every `every` of run time.
    Plain {
        every: Duration,
    },
    /// An indicatif bar (a terminal), in colour unless `NO_COLOR` is set.
    Bar {
        color: bool,
    },
}

/// Operations (and delivery types) whose last-interval p99 is shown, in order of preference.
const KEY_CELLS: [CellKey; 6] = [
    CellKey::Op(Op::TerminalStatus),
    CellKey::Op(Op::ConsoleLogin),
    CellKey::Op(Op::TerminalRegister),
    CellKey::Delivery("emergency.alert"),
    CellKey::Delivery("status"),
    CellKey::Op(Op::CallGroup),
];

/// The progress display.
pub struct Progress {
    mode: ProgressMode,
    bar: Option<indicatif::ProgressBar>,
    total_s: f64,
    next_line_s: f64,
    drops: u64,
    disconnects: u64,
    sent: u64,
}

impl Progress {
    pub fn new(mode: ProgressMode, total: Duration) -> Self {
        let total_s = total.as_secs_f64();
        let bar = matches!(mode, ProgressMode::Bar { .. }).then(|| {
            let b = indicatif::ProgressBar::new(total_s.ceil() as u64);
            let template = match mode {
                ProgressMode::Bar { color: true } => {
                    "{elapsed_precise} [{bar:30.cyan/blue}] {pos}/{len} s  {msg}"
                }
                _ => "{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}",
            };
            let style = indicatif::ProgressStyle::with_template(template)
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
            b.set_style(style.progress_chars("=> "));
            b
        });
        let next_line_s = match mode {
            ProgressMode::Plain { every } => every.as_secs_f64(),
            _ => f64::INFINITY,
        };
        Progress {
            mode,
            bar,
            total_s,
            next_line_s,
            drops: 0,
            disconnects: 0,
            sent: 0,
        }
    }

    /// An interval closed.
    pub fn interval(&mut self, row: &IntervalRow) {
        self.drops += row.drops;
        self.disconnects += row.disconnects;
        self.sent += row.sent;
        let end_s = row.t_s + row.dt_s;
        match self.mode {
            ProgressMode::Off => {}
            ProgressMode::Bar { .. } => {
                if let Some(b) = &self.bar {
                    b.set_position(end_s.floor() as u64);
                    b.set_message(self.status(row, false));
                }
            }
            ProgressMode::Plain { every } => {
                if end_s + 1e-6 >= self.next_line_s {
                    eprintln!("rcload: {}", self.status(row, true));
                    let step = every.as_secs_f64().max(1e-3);
                    while self.next_line_s <= end_s + 1e-6 {
                        self.next_line_s += step;
                    }
                }
            }
        }
    }

    /// The status of the run at the end of `row`.
    pub fn status(&self, row: &IntervalRow, with_time: bool) -> String {
        let dt = row.dt_s.max(1e-9);
        let mut s = String::new();
        if with_time {
            let _ = write!(
                s,
                "{:>5.0} s of {:.0} s | ",
                row.t_s + row.dt_s,
                self.total_s
            );
        }
        let _ = write!(
            s,
            "{} | offered {:.0}/s, sent {:.0}/s | in flight {}",
            row.phase,
            row.offered as f64 / dt,
            row.sent as f64 / dt,
            row.in_flight
        );
        let keys: Vec<String> = KEY_CELLS
            .iter()
            .filter_map(|k| {
                let k = k.to_string();
                let c = row.cells.get(&k).filter(|c| c.count > 0)?;
                Some(format!("{k} {:.1}", c.p99_ms))
            })
            .take(3)
            .collect();
        if !keys.is_empty() {
            let _ = write!(s, " | p99 ms: {}", keys.join(", "));
        }
        let _ = write!(
            s,
            " | consoles {} | drops {} | disconnects {}",
            row.consoles_logged_in, self.drops, self.disconnects
        );
        s
    }

    /// The run ended: clear the bar; in plain mode a last line with the result.
    pub fn finish(&mut self, summary: &Summary, run_dir: &str) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if let ProgressMode::Plain { .. } = self.mode {
            eprintln!("rcload: {}", final_line(summary, run_dir));
        }
    }
}

/// One line with the result of a run.
pub fn final_line(s: &Summary, run_dir: &str) -> String {
    let failed = s.slo.iter().filter(|r| !r.passed).count();
    let why = match (s.verdict, s.verdict_reasons.first()) {
        (crate::judge::Verdict::Invalid, Some(first)) => format!(": {first};"),
        _ => String::new(),
    };
    format!(
        "finished after {:.1} s{}: verdict {}{why} ({} of {} objectives failed), {} actions sent, {} talkgroup drops, {} console disconnects; results in {run_dir}",
        s.duration_s,
        if s.interrupted { " (interrupted)" } else { "" },
        s.verdict,
        failed,
        s.slo.len(),
        s.generator.actions_sent,
        s.talkgroup_drops.len(),
        s.console_disconnects.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::row::Cell;

    #[test]
    fn a_status_line_has_the_figures() {
        let mut row = IntervalRow {
            t_s: 9.0,
            dt_s: 1.0,
            phase: "steady".into(),
            offered: 50,
            sent: 48,
            in_flight: 3,
            consoles_logged_in: 12,
            drops: 1,
            ..Default::default()
        };
        row.cells.insert(
            "terminal.status".into(),
            Cell {
                count: 40,
                p99_ms: 4.3,
                ..Default::default()
            },
        );
        let mut p = Progress::new(
            ProgressMode::Plain {
                every: Duration::from_secs(10),
            },
            Duration::from_secs(60),
        );
        p.interval(&row);
        let s = p.status(&row, true);
        assert_eq!(
            s,
            "   10 s of 60 s | steady | offered 50/s, sent 48/s | in flight 3 | p99 ms: terminal.status 4.3 | consoles 12 | drops 1 | disconnects 0"
        );
        assert_eq!(p.next_line_s, 20.0, "the next line is due at 20 s");
    }
}
