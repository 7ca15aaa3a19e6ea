use super::*;
use crate::metrics::row::Cell;
use base64::Engine as _;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};

const HEAD: &str = "#[BaseTime: 0.000 (seconds since epoch)]\n";

/// One interval line of `latency.hlog`, as rcload writes it.
fn line(tag: &str, start_s: f64, values: &[u64]) -> String {
    let mut h = histogram();
    for v in values {
        h.record(*v).unwrap();
    }
    let mut buf = Vec::new();
    V2DeflateSerializer::new().serialize(&h, &mut buf).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&buf);
    format!("Tag={tag},{start_s:.3},1.000,1.000,{b64}\n")
}

/// A row of `timeseries.csv` at `t_s`, one second long, with these counts.
fn row(t_s: f64, counts: &[(&str, u64)]) -> IntervalRow {
    let cell = |n: u64| Cell {
        count: n,
        ..Cell::default()
    };
    IntervalRow {
        t_s,
        dt_s: 1.0,
        cells: counts
            .iter()
            .map(|(k, n)| (k.to_string(), cell(*n)))
            .collect(),
        ..IntervalRow::default()
    }
}

/// Four rows: a quiet first second, two with samples, a quiet last second.
fn rows() -> Vec<IntervalRow> {
    vec![
        row(0.0, &[("terminal.status", 0)]),
        row(1.0, &[("terminal.status", 2)]),
        row(2.0, &[("terminal.status", 1), ("delivery.status", 1)]),
        row(3.0, &[]),
    ]
}

/// The log of [`rows`], whole.
fn whole_log() -> String {
    [
        HEAD.to_string(),
        line("terminal.status", 1.0, &[1_000, 2_000]),
        line("service.terminal.status", 1.0, &[500, 600]),
        line("delivery.status", 2.0, &[3_000]),
        line("generator.lateness", 2.0, &[10]),
        line("terminal.status", 2.0, &[1_500]),
    ]
    .concat()
}

/// What reading `log` against `rows` covers, and the (tag, start) of what it committed.
fn cover(log: &str, rows: &[IntervalRow]) -> (Coverage, Vec<(String, f64)>) {
    let mut committed = Vec::new();
    let path = Path::new("latency.hlog");
    let c = whole_intervals(log.as_bytes(), path, rows, |i| {
        committed.push((i.tag.clone(), i.start_s));
        Ok(())
    })
    .unwrap();
    (c, committed)
}

#[test]
fn a_whole_log_covers_every_row() {
    let (c, committed) = cover(&whole_log(), &rows());
    assert_eq!((c.rows, c.whole_rows, c.samples), (4, 4, 4));
    assert_eq!((c.csv_end_s, c.covered_s, c.cut_line), (4.0, 4.0, None));
    assert!(!c.partial() && c.hlog_note().is_none(), "{c:?}");
    assert_eq!(committed.len(), 5);
    assert_eq!(c.span(), "cover t=0 to 4 s");
}

#[test]
fn a_killed_run_covers_its_rows_and_leaves_out_the_rest_of_the_log() {
    // The csv stops after t=2; the log has the next interval and a line cut short.
    let all = rows();
    let rows = &all[..2];
    let cut = line("terminal.status", 3.0, &[1_000]);
    let log = format!("{}{}", whole_log(), &cut[..cut.len() / 2]);
    let (c, committed) = cover(&log, rows);
    assert_eq!((c.whole_rows, c.covered_s, c.cut_line), (2, 2.0, Some(7)));
    assert!(!c.partial() && c.hlog_note().is_none(), "{c:?}");
    assert!(committed.iter().all(|(_, t)| *t < 2.0), "{committed:?}");
}

#[test]
fn a_log_cut_mid_line_covers_up_to_its_last_whole_interval() {
    let log = whole_log();
    // Cut inside the last line (the third of the interval at t=2).
    let cut = &log[..log.len() - 20];
    let (c, committed) = cover(cut, &rows());
    assert_eq!((c.whole_rows, c.covered_s, c.csv_end_s), (2, 2.0, 4.0));
    assert_eq!((c.cut_line, c.samples), (Some(6), 2));
    assert_eq!(committed.len(), 2);
    let note = c.hlog_note().unwrap();
    assert_eq!(
        note,
        "latency.hlog is partial: its last whole interval ends at t=2 s of 4 s (its line 6 \
         was cut short and skipped)."
    );
    // Cut inside the start field: the interval read last is judged by its counts (here it
    // lacks its last line) and what follows is left out.
    let at = log.rfind("Tag=terminal.status,2").unwrap() + "Tag=terminal.status,2".len();
    let (c, _) = cover(&log[..at], &rows());
    assert_eq!((c.whole_rows, c.cut_line), (2, Some(6)));
}

#[test]
fn a_log_missing_lines_is_partial_from_the_first_row_it_lacks() {
    let log = whole_log().replace(&line("delivery.status", 2.0, &[3_000]), "");
    let (c, committed) = cover(&log, &rows());
    assert_eq!((c.whole_rows, c.covered_s, c.cut_line), (2, 2.0, None));
    assert_eq!(committed.len(), 2);
    assert_eq!(
        c.hlog_note().unwrap(),
        "latency.hlog is partial: its last whole interval ends at t=2 s of 4 s."
    );
}

#[test]
fn an_empty_log_has_no_latency_samples() {
    for log in ["", HEAD] {
        let (c, committed) = cover(log, &rows());
        assert_eq!((c.whole_rows, c.samples, c.covered_s), (1, 0, 1.0));
        assert!(committed.is_empty());
        let note = c.hlog_note().unwrap();
        assert!(note.contains("no latency samples"), "{note}");
        assert!(note.contains("ends at t=1 s of 4 s"), "{note}");
    }
    // The first row already counted samples: nothing of the log is whole.
    let (c, _) = cover("", &rows()[1..]);
    assert_eq!((c.whole_rows, c.covered_s), (0, 0.0));
    assert_eq!(c.span(), "cover no whole interval");
    assert_eq!(
        c.hlog_note().unwrap(),
        "latency.hlog is partial: it has no whole interval of the 4 s in timeseries.csv, so \
         there are no latency samples."
    );
    // A run that timed nothing: the log is whole, and empty.
    let quiet = [row(0.0, &[]), row(1.0, &[("terminal.status", 0)])];
    let (c, _) = cover(HEAD, &quiet);
    assert!(!c.partial());
    assert_eq!(
        c.hlog_note().unwrap(),
        "latency.hlog has no latency samples: no request or delivery was timed in t=0 to 2 s."
    );
}

#[test]
fn seconds_are_written_exactly() {
    assert_eq!(secs(12.0), "12");
    assert_eq!(secs(12.5), "12.5");
    assert_eq!(secs(0.125), "0.125");
    assert_eq!(secs(0.0), "0");
    assert_eq!(secs(100.0), "100");
}

#[test]
fn events_are_read_a_whole_line_at_a_time() {
    let e = r#"{"t_s":1.5,"wall":"x","phase":"steady","kind":"talkgroup_drop"}"#;
    let path = Path::new("events.jsonl");
    let text = format!("{e}\n{e}\n{}", &e[..10]);
    let events = parse_events(text.as_bytes(), path).unwrap();
    assert_eq!(events.len(), 2);
    let long = format!("{e}\n{}\n", "x".repeat(limits::MAX_LINE_BYTES));
    match parse_events(long.as_bytes(), path) {
        Err(ReportError::Parse { line, .. }) => assert_eq!(line, Some(2)),
        other => panic!("{:?}", other.map(|e| e.len())),
    }
    match parse_events(format!("{e}\nnot json\n").as_bytes(), path) {
        Err(ReportError::Parse { line, .. }) => assert_eq!(line, Some(2)),
        other => panic!("{:?}", other.map(|e| e.len())),
    }
}

#[test]
fn rows_out_of_range_are_named_by_line_and_field() {
    let mut rows = rows();
    assert!(check_rows(&rows, Path::new("t.csv")).is_ok());
    rows[1].dt_s = 1e300;
    match check_rows(&rows, Path::new("t.csv")) {
        Err(ReportError::Parse { line, message, .. }) => {
            assert_eq!(line, Some(3));
            assert!(message.contains("`dt_s` is 1e300"), "{message}");
        }
        other => panic!("{other:?}"),
    }
}

fn summary_error(json: &serde_json::Value) -> String {
    let bytes = serde_json::to_vec(json).unwrap();
    match parse_summary(&bytes, Path::new("summary.json")) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("accepted: {json}"),
    }
}

#[test]
fn a_summary_of_another_major_version_or_out_of_range_is_refused() {
    let good = serde_json::to_value(crate::report::fixtures::summary()).unwrap();
    let bytes = serde_json::to_vec(&good).unwrap();
    assert!(parse_summary(&bytes, Path::new("summary.json")).is_ok());
    let mut v = good.clone();
    v["schema"] = "rcload.summary/999".into();
    let e = summary_error(&v);
    assert!(
        e.starts_with("summary.json: schema `rcload.summary/999`"),
        "{e}"
    );
    // Another major version with fields this one does not know: still the schema's error.
    v["new_field"] = 1.into();
    assert!(summary_error(&v).contains("rcload.summary/999"));
    let mut v = good.clone();
    v["duration_s"] = 1e300.into();
    assert!(summary_error(&v).contains("`duration_s` is 1e300"));
    let mut v = good;
    v["duration_s"] = (-1.0).into();
    assert!(summary_error(&v).contains("`duration_s` is -1"));
}
