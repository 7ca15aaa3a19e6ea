//! `junit.xml`: the run as a JUnit report, so CI systems show objectives and findings as
//! tests. One test suite `rcload.<profile>` with, in order:
//!
//! - one case per SLO (classname `slo`), failed when the objective was not met;
//! - one failed case per phase with talkgroup drops or console disconnects (classname
//!   `findings`, name `phase <name>`), phases in time order, its first findings in the text;
//! - one failed case `generator` (classname `validity`) when the generator fell behind, since
//!   the latencies are then not valid.
//!
//! Cases carry no time of their own (`0`); the suite carries the run's duration.

use super::markdown::{observed_and_limit, phases_in_time_order};
use super::summary::{ConsoleDisconnect, TalkgroupDrop};
use super::{ReportError, Summary};
use crate::judge::{SloResult, Verdict};
use crate::text::plural;
use quick_junit::{NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestSuite};
use std::fmt::Write;
use std::time::Duration;

/// How many findings of a phase are listed in its failure text.
const LISTED_FINDINGS: usize = 20;

/// Render the run as JUnit XML.
pub fn render(summary: &Summary) -> Result<String, ReportError> {
    let s = summary;
    let run_time = Duration::try_from_secs_f64(s.duration_s).unwrap_or_default();
    let mut suite = TestSuite::new(format!("rcload.{}", s.profile));
    suite.set_time(run_time);
    suite.add_properties([
        Property::new("profile", &s.profile),
        Property::new("seed", s.seed.to_string()),
        Property::new("target", &s.target),
        Property::new("started_at", &s.started_at),
        Property::new("verdict", s.verdict.as_str()),
        Property::new("duration_s", s.duration_s.to_string()),
        Property::new("interrupted", s.interrupted.to_string()),
        Property::new("rcload_version", &s.rcload_version),
    ]);
    // Why the run is invalid comes first: no case below can be signed.
    if s.verdict == Verdict::Invalid {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_type("validity")
            .set_message(
                s.verdict_reasons
                    .first()
                    .cloned()
                    .unwrap_or_else(|| "the run is invalid".to_string()),
            )
            .set_description(s.verdict_reasons.join("\n"));
        suite.add_test_case(case("run".to_string(), "validity", status));
    }
    suite.add_test_cases(s.slo.iter().map(slo_case));
    for (name, phase) in phases_in_time_order(s) {
        if phase.talkgroup_drops + phase.console_disconnects == 0 {
            continue;
        }
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status
            .set_type("findings")
            .set_message(findings_message(
                name,
                phase.talkgroup_drops,
                phase.console_disconnects,
            ))
            .set_description(findings_text(
                s.talkgroup_drops.iter().filter(|d| d.phase == *name),
                s.console_disconnects.iter().filter(|d| d.phase == *name),
            ));
        suite.add_test_case(case(format!("phase {name}"), "findings", status));
    }
    let mut report = Report::new("rcload");
    report.set_time(run_time);
    report.add_test_suite(suite);
    report.to_string().map_err(|e| ReportError::Render {
        what: "junit.xml".to_string(),
        message: e.to_string(),
    })
}

fn case(name: String, classname: &str, status: TestCaseStatus) -> TestCase {
    let mut c = TestCase::new(name, status);
    c.set_classname(classname).set_time(Duration::ZERO);
    c
}

fn slo_case(r: &SloResult) -> TestCase {
    let (observed, limit) = observed_and_limit(r);
    let mut text = match &observed {
        Some(o) if r.passed => format!("observed {o} <= limit {limit}"),
        Some(o) => format!("observed {o} > limit {limit}"),
        None => format!(
            "{} (limit {limit})",
            r.note.as_deref().unwrap_or("nothing observed")
        ),
    };
    if let (Some(_), Some(note)) = (&observed, &r.note) {
        let _ = write!(text, " ({note})");
    }
    if r.passed {
        let mut c = case(r.name.clone(), "slo", TestCaseStatus::success());
        c.set_system_out(text);
        c
    } else {
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
        status.set_type("slo").set_message(text);
        case(r.name.clone(), "slo", status)
    }
}

/// `3 talkgroup drops, 1 console disconnect in phase shift_change`.
fn findings_message(phase: &str, drops: u64, disconnects: u64) -> String {
    let mut parts = Vec::new();
    if drops > 0 {
        parts.push(plural(drops, "talkgroup drop", "talkgroup drops"));
    }
    if disconnects > 0 {
        parts.push(plural(
            disconnects,
            "console disconnect",
            "console disconnects",
        ));
    }
    format!("{} in phase {phase}", parts.join(", "))
}

/// The first findings, drops and disconnects merged in time order, one a line.
fn findings_text<'a>(
    drops: impl Iterator<Item = &'a TalkgroupDrop>,
    disconnects: impl Iterator<Item = &'a ConsoleDisconnect>,
) -> String {
    let mut lines: Vec<(f64, String)> = drops
        .map(|d| {
            (
                d.t_s,
                format!(
                    "t={:.3} s talkgroup drop: console {}, talkgroup {}, detected by {}, {}",
                    d.t_s,
                    d.console,
                    d.talkgroup,
                    d.detected_by,
                    recovered(d.recovered_after_s)
                ),
            )
        })
        .chain(disconnects.map(|d| {
            (
                d.t_s,
                format!(
                    "t={:.3} s console disconnect: console {}, reason {}, {}",
                    d.t_s,
                    d.console,
                    d.reason,
                    recovered(d.recovered_after_s)
                ),
            )
        }))
        .collect();
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total = lines.len();
    let mut text: Vec<String> = lines
        .into_iter()
        .take(LISTED_FINDINGS)
        .map(|(_, line)| line)
        .collect();
    if total > LISTED_FINDINGS {
        text.push(format!(
            "... and {} more (see events.jsonl)",
            total - LISTED_FINDINGS
        ));
    }
    text.join("\n")
}

fn recovered(after: Option<f64>) -> String {
    match after {
        Some(s) => format!("recovered after {s:.3} s"),
        None => "never recovered".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixtures::findings_summary as sample;

    fn parse(xml: &str) -> Report {
        Report::deserialize_from_str(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
    }

    fn failure_message(c: &TestCase) -> Option<&str> {
        match &c.status {
            TestCaseStatus::NonSuccess { message, .. } => message.as_deref(),
            _ => None,
        }
    }

    fn failure_text(c: &TestCase) -> Option<&str> {
        match &c.status {
            TestCaseStatus::NonSuccess { description, .. } => description.as_deref(),
            _ => None,
        }
    }

    #[test]
    fn one_case_per_slo_and_phase_with_findings() {
        let xml = render(&sample()).expect("render");
        assert!(xml.contains("<testsuites"), "{xml}");
        let r = parse(&xml);
        assert_eq!(r.test_suites.len(), 1);
        let suite = &r.test_suites[0];
        assert_eq!(suite.name.as_str(), "rcload.shift & <change>");
        // 5 SLOs + shift_change + after|hours; warmup had no findings.
        assert_eq!(suite.tests, 7, "{xml}");
        assert_eq!(suite.failures, 6, "{xml}");
        assert_eq!((r.tests, r.failures, r.errors), (7, 6, 0));
        let names: Vec<&str> = suite.test_cases.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "terminal.status p99",
                "console.login p99",
                "delivery.emergency.alert p95",
                "error_rate",
                "talkgroup_drops",
                "phase shift_change",
                "phase after|hours",
            ]
        );
        let classes: Vec<&str> = suite
            .test_cases
            .iter()
            .filter_map(|c| c.classname.as_deref())
            .collect();
        assert_eq!(
            classes,
            ["slo", "slo", "slo", "slo", "slo", "findings", "findings"]
        );
    }

    #[test]
    fn failure_messages_state_observed_against_limit() {
        let xml = render(&sample()).expect("render");
        assert!(
            xml.contains("observed 812.4 ms &gt; limit 500 ms")
                || xml.contains("observed 812.4 ms > limit 500 ms"),
            "{xml}"
        );
        let r = parse(&xml);
        let cases = &r.test_suites[0].test_cases;
        let msg: Vec<Option<&str>> = cases.iter().map(failure_message).collect();
        assert_eq!(msg[0], Some("observed 812.4 ms > limit 500 ms"));
        assert_eq!(msg[1], None, "passed");
        assert_eq!(
            msg[2],
            Some("this percentile falls on missed deliveries (limit 300 ms)")
        );
        assert_eq!(msg[3], Some("observed 0.52 % > limit 0.1 %"));
        assert_eq!(msg[4], Some("observed 3 > limit 0"));
        assert_eq!(
            msg[5],
            Some("3 talkgroup drops, 1 console disconnect in phase shift_change")
        );
        assert_eq!(msg[6], Some("1 console disconnect in phase after|hours"));
        let text = failure_text(&cases[5]).expect("findings text");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(
            lines[0],
            "t=31.250 s talkgroup drop: console c-0001, talkgroup 1201, detected by audit, recovered after 2.500 s"
        );
        assert_eq!(
            lines[2],
            "t=35.000 s console disconnect: console c-0002, reason stream_end, recovered after 0.800 s"
        );
        assert!(lines[3].ends_with("never recovered"), "{text}");
    }

    #[test]
    fn special_characters_are_escaped() {
        let xml = render(&sample()).expect("render");
        assert!(xml.contains("rcload.shift &amp; &lt;change&gt;"), "{xml}");
        assert!(!xml.contains("shift & <"), "{xml}");
        let suite = &parse(&xml).test_suites[0];
        let profile = suite
            .properties
            .iter()
            .find(|p| p.name.as_str() == "profile")
            .expect("profile property");
        assert_eq!(profile.value.as_str(), "shift & <change>");
        let props: Vec<&str> = suite.properties.iter().map(|p| p.name.as_str()).collect();
        for p in ["profile", "seed", "target", "started_at", "verdict"] {
            assert!(props.contains(&p), "{props:?}");
        }
    }

    #[test]
    fn an_invalid_run_says_why_in_its_first_case() {
        let mut s = sample();
        s.verdict = Verdict::Invalid;
        s.verdict_reasons = vec![
            "the generator fell behind: lateness p99 180.0 ms (limit 50.0 ms)".into(),
            "the run was interrupted".into(),
        ];
        let r = parse(&render(&s).expect("render"));
        let suite = &r.test_suites[0];
        assert_eq!((suite.tests, suite.failures), (8, 7));
        let first = suite.test_cases.first().expect("a case");
        assert_eq!(first.name.as_str(), "run");
        assert_eq!(first.classname.as_deref(), Some("validity"));
        let msg = failure_message(first).expect("a failure");
        assert!(
            msg.starts_with("the generator fell behind: lateness p99 180.0 ms"),
            "{msg}"
        );
        let property = |name: &str| {
            suite
                .properties
                .iter()
                .find(|p| p.name.as_str() == name)
                .map(|p| p.value.to_string())
        };
        assert_eq!(property("verdict").as_deref(), Some("invalid"));
    }

    #[test]
    fn a_phase_lists_its_first_twenty_findings() {
        let mut s = sample();
        let first = s.talkgroup_drops[0].clone();
        s.talkgroup_drops = (0..25)
            .map(|i| TalkgroupDrop {
                t_s: 30.0 + f64::from(i),
                talkgroup: 2000 + i,
                ..first.clone()
            })
            .collect();
        if let Some(p) = s.phases.get_mut("shift_change") {
            p.talkgroup_drops = 25;
        }
        let r = parse(&render(&s).expect("render"));
        let case = r.test_suites[0]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "phase shift_change")
            .expect("phase case");
        assert_eq!(
            failure_message(case),
            Some("25 talkgroup drops, 1 console disconnect in phase shift_change")
        );
        let text = failure_text(case).expect("text");
        assert_eq!(text.lines().count(), 21, "{text}");
        assert!(
            text.ends_with("\n... and 6 more (see events.jsonl)"),
            "{text}"
        );
    }

    #[test]
    fn a_clean_run_has_no_findings_cases() {
        let mut s = sample();
        s.talkgroup_drops.clear();
        s.console_disconnects.clear();
        for p in s.phases.values_mut() {
            p.talkgroup_drops = 0;
            p.console_disconnects = 0;
        }
        for r in &mut s.slo {
            r.passed = true;
        }
        let r = parse(&render(&s).expect("render"));
        assert_eq!((r.tests, r.failures), (5, 0));
    }
}
