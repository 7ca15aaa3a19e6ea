//! The one consumer of the engine's outcomes in a run: the recorder, `events.jsonl`, the
//! interval files (`latency.hlog`, `timeseries.csv`), the live metrics and the progress line.

use super::{RunError, io_err, setup::Plan};
use crate::engine::Outcome;
use crate::engine::{GaugeReading, Gauges};
use crate::metrics::Recorder;
use crate::metrics::interval::IntervalRecorder;
use crate::metrics::live::LiveMetrics;
use crate::profile::Phase;
use crate::progress::Progress;
use crate::report::events::EventsWriter;
use crate::report::hlog::HlogWriter;
use crate::report::rundir;
use crate::report::timeseries::TimeseriesWriter;
use crate::schedule::{Population, Schedule};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// The files a run writes as it goes, created (empty) in the run directory before the load.
pub(super) struct Files {
    events: EventsWriter,
    hlog: HlogWriter,
    csv: TimeseriesWriter,
}

impl Files {
    pub(super) fn create(
        dir: &Path,
        phases: &[Phase],
        population: &Population,
        started_at: SystemTime,
    ) -> Result<Self, RunError> {
        let events_path = dir.join(rundir::EVENTS);
        let events = EventsWriter::create(
            &events_path,
            phases.to_vec(),
            population.clone(),
            started_at,
        )
        .map_err(io_err(&events_path))?;
        let hlog_path = dir.join(rundir::HLOG);
        let hlog = HlogWriter::create(&hlog_path, started_at).map_err(io_err(&hlog_path))?;
        let csv_path = dir.join(rundir::TIMESERIES);
        let csv = TimeseriesWriter::create(&csv_path).map_err(io_err(&csv_path))?;
        Ok(Self { events, hlog, csv })
    }
}

/// Everything the consumer writes to as outcomes come in.
pub(super) struct Writers {
    rec: Recorder,
    events: EventsWriter,
    interval: IntervalRecorder,
    hlog: HlogWriter,
    csv: TimeseriesWriter,
    phases: Vec<Phase>,
    gauges: Arc<Gauges>,
    /// Gauges at the start of the open interval.
    before: GaugeReading,
    /// Start of the open interval, µs from t=0.
    start_us: u64,
    warned: bool,
    live: Option<Arc<LiveMetrics>>,
    progress: Progress,
}

impl Writers {
    /// The writers of a run of `plan`'s phases over `population` (the teardown's phase, if
    /// any, recorded apart).
    pub(super) fn new(
        files: Files,
        plan: &Plan,
        population: &Population,
        gauges: Arc<Gauges>,
        live: Option<Arc<LiveMetrics>>,
        progress: Progress,
    ) -> Self {
        let apart = plan.teardown.map(|t| t.phase);
        Self {
            rec: Recorder::new(plan.phases.len())
                .with_phase_apart(apart)
                .with_groups(crate::metrics::groups::Groups::new(population)),
            events: files.events,
            interval: IntervalRecorder::new().with_phase_apart(apart),
            hlog: files.hlog,
            csv: files.csv,
            phases: plan.phases.clone(),
            gauges,
            before: GaugeReading::default(),
            start_us: 0,
            warned: false,
            live,
            progress,
        }
    }

    fn take(&mut self, o: Outcome) {
        if let Some(l) = &self.live {
            l.record(&o);
        }
        self.rec.record(&o);
        self.interval.record(&o);
        self.events.consume(&o);
    }

    fn warn(&mut self, what: &str, e: std::io::Error) {
        if !self.warned {
            eprintln!("rcload: warning: cannot write {what}: {e}");
            self.warned = true;
        }
    }

    fn flush_events(&mut self) {
        if let Err(e) = self.events.flush() {
            self.warn("events.jsonl", e);
        }
    }

    /// Close the open interval at `end_us`: its histograms to latency.hlog, then (marking it
    /// whole) its row to timeseries.csv.
    fn close_interval(&mut self, end_us: u64) {
        let phase = self
            .phases
            .get(Schedule::phase_at(&self.phases, self.start_us))
            .map(|p| p.name.as_str())
            .unwrap_or("");
        let now = self.gauges.read();
        let closed = self
            .interval
            .close(self.start_us, end_us, phase, &self.before, &now);
        let (start_s, len_s) = (closed.row.t_s, closed.row.dt_s);
        let mut result = Ok(());
        for (tag, h) in &closed.hists {
            result = result.and_then(|_| self.hlog.write(tag, start_s, len_s, h));
        }
        let result = result
            .and_then(|_| self.hlog.flush())
            .and_then(|_| self.csv.write(&closed.row));
        if let Err(e) = result {
            self.warn("latency.hlog / timeseries.csv", e);
        }
        self.progress.interval(&closed.row);
        self.before = now;
        self.start_us = end_us;
    }
}

/// The one consumer of the engine's outcomes: the recorder, events.jsonl, and the interval
/// files, closed at each interval boundary from t=0.
pub(super) async fn consume(
    mut rx: mpsc::UnboundedReceiver<Outcome>,
    mut finish_rx: oneshot::Receiver<()>,
    mut w: Writers,
    t0: Instant,
    interval: Duration,
) -> (Recorder, Progress) {
    let us =
        |t: Instant| u64::try_from(t.saturating_duration_since(t0).as_micros()).unwrap_or(u64::MAX);
    let mut ticks = tokio::time::interval_at((t0 + interval).into(), interval);
    loop {
        tokio::select! {
            biased;
            at = ticks.tick() => {
                // What came in before the boundary belongs to the interval it closes.
                for _ in 0..1_000_000 {
                    match rx.try_recv() {
                        Ok(o) => w.take(o),
                        Err(_) => break,
                    }
                }
                w.flush_events();
                w.close_interval(us(at.into_std()));
            }
            o = rx.recv() => match o {
                Some(o) => {
                    w.take(o);
                    // Take what else is waiting, then write it in one go.
                    for _ in 0..10_000 {
                        match rx.try_recv() {
                            Ok(o) => w.take(o),
                            Err(_) => break,
                        }
                    }
                    w.flush_events();
                }
                None => break,
            },
            _ = &mut finish_rx => {
                while let Ok(o) = rx.try_recv() {
                    w.take(o);
                }
                break;
            }
        }
    }
    w.flush_events();
    let end_us = us(Instant::now());
    if end_us > w.start_us {
        w.close_interval(end_us);
    }
    (w.rec, w.progress)
}
