//! The mock's `GET /metrics` passes `promtool check metrics` (Debian package `prometheus`,
//! installed by `scripts/test`). A missing promtool fails this test; it never skips.

use crate::promtool;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "second tier (scripts/test): needs promtool"]
async fn metrics_pass_promtool() {
    let h = rcload_mock::spawn(
        "127.0.0.1:0".parse().expect("addr"),
        rcload_mock::MockConfig::default(),
    )
    .await
    .expect("mock");
    let base = format!("http://{}", h.addr);
    let c = reqwest::Client::new();
    // Some state, so the gauges and counters have values.
    let login = c
        .post(format!("{base}/v1/consoles/room01-con01/login"))
        .json(&serde_json::json!({"operator": "op-1"}))
        .send()
        .await
        .expect("login");
    assert!(login.status().is_success());
    let reg = c
        .post(format!("{base}/v1/terminals/1000001/register"))
        .json(&serde_json::json!({"talkgroup": 100001}))
        .send()
        .await
        .expect("register");
    assert!(reg.status().is_success());
    let resp = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert!(resp.status().is_success(), "{}", resp.status());
    let text = resp.text().await.expect("body");
    assert!(text.contains("rcload_mock_"), "{text}");
    h.shutdown().await;

    promtool::promtool_check(&text);
}
