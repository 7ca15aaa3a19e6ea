//! A verdict you can sign, through the real binary: a run rcload knows is not valid exits 4
//! and says why first (fell behind, no objectives, SIGTERM); a run leaves nothing on a
//! standalone mock, so the same run twice passes twice; leftovers stop a run until cleaned.

use crate::common;
use common::{TempDir, rcload_in, summary};
use rcload::judge::Verdict;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Consoles in session, terminals registered and calls held past the end (hold 30 s): what a
/// run leaves on the target unless it tears down.
fn profile(slo: bool) -> String {
    format!(
        "name: verdict-test
seed: 4
duration: 5s
population:
  control_rooms: 1
  consoles_per_room: 3
  terminals: 40
  talkgroups_per_room: 3
  monitored_per_console: 2
setup:
  over: 1s
traffic:
  - action: status
    rate: 20/s
  - action: group_call
    rate: 2/s
    hold: 30s
checks:
  delivery_timeout: 1s
{}",
        if slo {
            "slo:\n  terminal.status: { p99: 2s }\n  error_rate: 0%\n"
        } else {
            ""
        }
    )
}

/// `rcload mock --listen 127.0.0.1:0` as a child process, and its address (host:port).
struct Mock {
    child: Child,
    addr: String,
}

impl Mock {
    fn start() -> Mock {
        let (child, url) = common::start_mock();
        let addr = url.trim_start_matches("http://").to_string();
        Mock { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The mock's model gauges: consoles logged in, terminals registered, calls open.
    fn held(&self) -> (u64, u64, u64) {
        let mut c = std::net::TcpStream::connect(&self.addr).expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        write!(c, "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n").expect("send");
        let mut out = String::new();
        let _ = c.read_to_string(&mut out);
        let gauge = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(&format!("{name} ")))
                .and_then(|v| v.trim().parse::<f64>().ok())
                .unwrap_or_else(|| panic!("{name} not in\n{out}")) as u64
        };
        (
            gauge("rcload_mock_consoles_logged_in"),
            gauge("rcload_mock_terminals_registered"),
            gauge("rcload_mock_calls_open"),
        )
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn a_run_rcload_knows_is_not_valid_exits_4_and_says_why_first() {
    let d = TempDir::new("invalid");
    d.write("slo.yaml", &profile(true));
    d.write("none.yaml", &profile(false));

    // Fell behind: no lateness is allowed, so any is too much.
    let r = rcload_in(
        d.path(),
        &[
            "run",
            "slo.yaml",
            "--out",
            "behind",
            "--max-lateness-ms",
            "0",
        ],
    );
    r.expect_code(4)
        .stdout_has("verdict: INVALID: the generator fell behind: lateness p99");
    let s = summary(&d.path().join("behind"));
    assert_eq!(s.verdict, Verdict::Invalid, "{r}");
    assert!(s.slo.iter().all(|o| o.passed), "its objectives passed\n{r}");
    assert!(
        s.verdict_reasons[0].starts_with("the generator fell behind"),
        "{r}"
    );
    let md = std::fs::read_to_string(d.path().join("behind/summary.md")).expect("summary.md");
    let first = md.lines().nth(2).unwrap_or_default();
    assert!(
        first.starts_with("**INVALID:** the generator fell behind"),
        "{md}"
    );
    let junit = std::fs::read_to_string(d.path().join("behind/junit.xml")).expect("junit");
    let first_case = junit.find("<testcase").expect("a case");
    assert!(
        junit[first_case..].starts_with("<testcase name=\"run\" classname=\"validity\""),
        "{junit}"
    );
    let html = std::fs::read_to_string(d.path().join("behind/report.html")).expect("html");
    assert!(
        html.contains("id=\"verdict-reasons\""),
        "the reason is at the top"
    );

    // No objectives: nothing was judged, unless the run is an exploration.
    let r = rcload_in(d.path(), &["run", "none.yaml", "--out", "none", "-q"]);
    r.expect_code(4)
        .stdout_has("verdict invalid: the profile has no objectives");
    let r = rcload_in(
        d.path(),
        &[
            "run",
            "none.yaml",
            "--out",
            "explored",
            "-q",
            "--allow-no-slo",
        ],
    );
    r.expect_code(0).stdout_has("verdict pass");
    let s = summary(&d.path().join("explored"));
    assert!(
        s.warnings.iter().any(|w| w.contains("exploratory run")),
        "{r}"
    );

    // SIGTERM: stopped, torn down, invalid.
    let mut child = Command::new(env!("CARGO_BIN_EXE_rcload"))
        .args(common::with_test_lateness(&[
            "run", "slo.yaml", "--out", "term", "-q",
        ]))
        .current_dir(d.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start");
    std::thread::sleep(Duration::from_secs(3));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read");
    let code = child.wait().expect("wait").code();
    assert_eq!(code, Some(4), "{out}");
    assert!(
        out.contains("verdict invalid: the run was interrupted (SIGINT or SIGTERM)"),
        "{out}"
    );
    let s = summary(&d.path().join("term"));
    assert!(s.interrupted && s.teardown.ran, "{out}");
    assert!(s.phases.contains_key("teardown"), "{:?}", s.phases.keys());
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn the_same_run_twice_against_one_mock_passes_twice_and_leaves_nothing() {
    let d = TempDir::new("twice");
    // A `mock:` section has no effect on a run against a target: it says so.
    d.write(
        "p.yaml",
        &format!("{}mock:\n  preset: fragile-2023\n", profile(true)),
    );
    let mock = Mock::start();
    let url = mock.url();
    for out in ["first", "second"] {
        let r = rcload_in(
            d.path(),
            &["run", "p.yaml", "--target", &url, "--out", out, "-q"],
        );
        r.expect_code(0).stderr_has(
            "warning: The profile's `mock:` section (preset, capacity, faults) is ignored",
        );
        let s = summary(&d.path().join(out));
        assert!(
            s.warnings.iter().any(|w| w.contains("`mock:` section")),
            "{:?}",
            s.warnings
        );
        assert!(
            s.teardown.ran && s.teardown.requests > 0,
            "{:?}\n{r}",
            s.teardown
        );
        assert_eq!(
            (
                s.teardown.left_consoles,
                s.teardown.left_terminals,
                s.teardown.left_calls
            ),
            (0, 0, 0),
            "{r}"
        );
        let ops = &s.phases["teardown"].operations;
        for op in ["console.logout", "terminal.deregister", "call.end"] {
            assert!(
                ops.get(op).is_some_and(|o| o.count > 0),
                "{op}: {ops:?}\n{r}"
            );
        }
        // The teardown is its own phase, not the load's.
        let logouts = s.operations.get("console.logout").map_or(0, |o| o.count);
        assert_eq!(logouts, 0, "no logout in the profile's load\n{r}");
        assert_eq!(mock.held(), (0, 0, 0), "after the {out} run\n{r}");
    }
}

#[test]
#[ignore = "second tier (scripts/test): a real-time end-to-end run"]
fn leftovers_stop_a_run_until_they_are_cleaned() {
    let d = TempDir::new("leftovers");
    d.write("p.yaml", &profile(true));
    let mock = Mock::start();
    let url = mock.url();
    let run = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "run",
            "p.yaml",
            "--target",
            url.as_str(),
            "--out",
            out,
            "-q",
        ];
        args.extend_from_slice(extra);
        rcload_in(d.path(), &args)
    };
    run("kept", &["--no-teardown"]).expect_code(0);
    let s = summary(&d.path().join("kept"));
    assert!(
        !s.teardown.ran && s.teardown.left_consoles == 3,
        "{:?}",
        s.teardown
    );
    assert!(
        s.warnings.iter().any(|w| w.contains("No teardown")),
        "{:?}",
        s.warnings
    );
    let (consoles, terminals, calls) = mock.held();
    assert!(
        consoles == 3 && terminals > 0 && calls > 0,
        "{:?}",
        mock.held()
    );

    // The next run stops before any load, naming what it found.
    let r = run("refused", &[]);
    r.expect_code(3)
        .stderr_has(
            "already holds part of this run's population: 3 consoles logged in (room01-con01",
        )
        .stderr_has("--clean-start");
    assert!(!d.path().join("refused/summary.json").exists(), "{r}");

    // `rcload cleanup` ends the logins and registrations (API v1 cannot list calls: those a
    // killed run held end when the system ends them).
    let c = rcload_in(d.path(), &["cleanup", "p.yaml", "--target", &url]);
    c.expect_code(0)
        .stdout_has("cleanup: logged out 3 consoles, deregistered");
    assert_eq!(mock.held().0, 0);
    assert_eq!(mock.held().1, 0);

    // Left again, then cleaned by the run itself.
    run("kept-again", &["--no-teardown"]).expect_code(0);
    let r = run("clean", &["--clean-start"]);
    r.expect_code(0);
    let s = summary(&d.path().join("clean"));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("--clean-start logged out 3 consoles")),
        "{:?}",
        s.warnings
    );
    let (consoles, terminals, _) = mock.held();
    assert_eq!((consoles, terminals), (0, 0), "{r}");
}
