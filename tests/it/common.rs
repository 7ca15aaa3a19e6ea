//! Shared helpers of the integration tests: run the real binary, print everything on failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The result of one run of the binary.
pub struct Run {
    pub cmd: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panic with the command, exit code, stdout and stderr unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Self {
        if self.code != Some(code) {
            panic!("expected exit code {code}\n{self}");
        }
        self
    }

    /// Panic with context unless `text` is in stderr.
    pub fn stderr_has(&self, text: &str) -> &Self {
        if !self.stderr.contains(text) {
            panic!("expected stderr to contain {text:?}\n{self}");
        }
        self
    }

    pub fn stdout_has(&self, text: &str) -> &Self {
        if !self.stdout.contains(text) {
            panic!("expected stdout to contain {text:?}\n{self}");
        }
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "command: {}\nexit code: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.cmd, self.code, self.stdout, self.stderr
        )
    }
}

/// Run `rcload` with `args` in directory `dir`.
pub fn rcload_in(dir: &Path, args: &[&str]) -> Run {
    rcload_env(dir, args, &[])
}

/// The generator-lateness bound of a test's `rcload run` (`--max-lateness-ms`), unless the
/// test gives its own: 10x the default 10 ms. The default is a production figure for a
/// release build on a machine of its own; a test's debug build shares two cores with other
/// tests, and what it asserts (findings, reports, exit codes of objectives) is not that the
/// machine kept a 10 ms timing. Tests about lateness set the flag themselves.
pub const TEST_MAX_LATENESS_MS: &str = "100";

/// `args` with [`TEST_MAX_LATENESS_MS`] added to a `run` that does not set its own bound.
pub fn with_test_lateness<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    if args.first() == Some(&"run") && !args.contains(&"--max-lateness-ms") {
        v.extend(["--max-lateness-ms", TEST_MAX_LATENESS_MS]);
    }
    v
}

/// Run `rcload` with `args` in `dir` and extra environment variables.
pub fn rcload_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let exe = env!("CARGO_BIN_EXE_rcload");
    let args = with_test_lateness(args);
    let mut c = Command::new(exe);
    c.args(&args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .env_remove("RCLOAD_TOKEN");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("cannot run {exe}: {e}"));
    Run {
        cmd: format!("(cd {} && rcload {})", dir.display(), args.join(" ")),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh temporary directory (removed when dropped).
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        let d = std::env::temp_dir().join(format!(
            "rcload-test-{tag}-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("mkdir {}: {e}", d.display()));
        TempDir(d)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Write `text` to `name` in this directory (its directories made); returns the path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A small profile (`name`): two consoles, twenty terminals, statuses at 10/s for 3 s, no
/// errors allowed. For tests about how rcload reaches a target, not about load.
pub fn small_profile(name: &str) -> String {
    format!(
        "name: {name}
seed: 3
duration: 3s
population:
  control_rooms: 1
  consoles_per_room: 2
  terminals: 20
  talkgroups_per_room: 3
  monitored_per_console: 2
setup:
  over: 1s
traffic:
  - action: status
    rate: 10/s
slo:
  error_rate: 0%
"
    )
}

/// `rcload mock --listen 127.0.0.1:0` as a child process, and its URL.
pub fn start_mock() -> (std::process::Child, String) {
    start_mock_with(&[], &[])
}

/// `rcload mock --listen 127.0.0.1:0 ARGS` with the environment `env`, and its URL.
pub fn start_mock_with(args: &[&str], env: &[(&str, &str)]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_rcload"))
        .args(["mock", "--listen", "127.0.0.1:0"])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start rcload mock: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .unwrap_or_else(|e| panic!("reading the mock's address: {e}"));
    let url = line
        .split_whitespace()
        .last()
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("https://127.0.0.1:"),
        "{line}"
    );
    (child, url)
}

/// Read a run directory's summary.json, after checking it against its schema
/// (docs/summary.schema.json).
pub fn summary(dir: &Path) -> rcload::report::Summary {
    let p = dir.join("summary.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
    schema_errors_are_none(&text);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}\n{text}", p.display()))
}

/// The validator of docs/summary.schema.json (the versioned contract of summary.json).
pub fn summary_schema() -> jsonschema::Validator {
    let schema_path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/summary.schema.json");
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(schema_path).unwrap_or_else(|e| panic!("{schema_path}: {e}")),
    )
    .unwrap_or_else(|e| panic!("{schema_path}: {e}"));
    assert_eq!(schema["$id"], rcload::report::SCHEMA);
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("schema: {e}"))
}

/// Panic with the errors when `text` breaks docs/summary.schema.json.
pub fn schema_errors_are_none(text: &str) {
    let doc: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}"));
    let errors: Vec<String> = summary_schema()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "summary.json breaks its schema:\n{}\n{text}",
        errors.join("\n")
    );
}

/// `promtool check metrics` on `body`: fails the test when promtool rejects it, and when
/// promtool is missing (Debian package `prometheus`, installed by `scripts/test`): never skips.
pub fn promtool_check(body: &str) {
    use std::io::Write;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "promtool is needed (Debian package `prometheus`; scripts/test installs it): {e}"
            )
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- metrics ---\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
