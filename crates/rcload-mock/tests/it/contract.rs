//! The mock against its contract, `docs/openapi.yaml`, by schemathesis (PyPI; `scripts/test`
//! installs it and names it in `RCLOAD_SCHEMATHESIS`): generated requests, valid and not, to
//! every operation and in sequences, must get no 5xx and no answer that breaks the schema.
//! A missing schemathesis fails the test under CI; elsewhere it skips, saying so.

use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): needs schemathesis"]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_schema() {
    let tool = std::env::var("RCLOAD_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into());
    let present = Command::new(&tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !present {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "schemathesis ({tool}) is missing: scripts/test installs it"
        );
        eprintln!("SKIPPED: schemathesis ({tool}) is not available; scripts/test installs it");
        return;
    }
    let h = rcload_mock::spawn(
        "127.0.0.1:0".parse().expect("addr"),
        rcload_mock::MockConfig::default(),
    )
    .await
    .expect("mock");
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.yaml");
    let url = format!("http://{}", h.addr);
    // schemathesis keeps a cache in its working directory: a directory of its own.
    let work = std::env::temp_dir().join(format!("rcload-schemathesis-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("work dir");
    let cwd = work.clone();
    // A fixed seed: the same cases on every run (the fuzz script explores further).
    let out = tokio::task::spawn_blocking(move || {
        Command::new(&tool)
            .current_dir(&cwd)
            .args([
                "run",
                schema,
                "--url",
                &url,
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                "50",
                "--seed",
                "20230511",
                "--no-color",
            ])
            .output()
    })
    .await
    .expect("join")
    .expect("schemathesis runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    h.shutdown().await;
    let _ = std::fs::remove_dir_all(&work);
    assert!(out.status.success(), "schemathesis found problems:\n{text}");
    let summary = text
        .lines()
        .find(|l| l.contains("generated") && l.contains("passed"))
        .unwrap_or("(no summary line)");
    eprintln!("schemathesis: {summary}");
}
