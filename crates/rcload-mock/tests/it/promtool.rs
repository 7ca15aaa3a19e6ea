//! `promtool check metrics` as a test helper.

use std::process::{Command, Stdio};

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
