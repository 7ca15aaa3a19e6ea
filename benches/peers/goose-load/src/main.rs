//! Goose's side of the peer benchmark (`scripts/bench-peers.sh`, `docs/performance.md`).
//!
//! One scenario of one transaction, repeated by every user with no wait between
//! transactions (Goose's closed model: a user sends its next request when the last one has
//! answered). Host, users, ramp, run time, throttle and report come from Goose's own flags:
//!
//! ```sh
//! target/release/goose-load --host http://127.0.0.1:8080 --users 50 -r 1000 --run-time 15s \
//!     --throttle-requests 5000 --report-file target/peers/goose.json
//! ```
//!
//! `GOOSE_LOAD_ROUTE` picks the request: `get` (default) `GET /`; `status`
//! `POST /v1/terminals/{issi}/status` with API v1's JSON body (`docs/api.md`), the route of
//! rcload's status action, for terminal `GOOSE_LOAD_ISSI` (default 16000001, outside rcload's
//! populations).

use goose::prelude::*;
use std::sync::LazyLock;

/// The status route's path and body, made once: the transaction itself allocates nothing of
/// its own.
static STATUS: LazyLock<(String, serde_json::Value)> = LazyLock::new(|| {
    let issi = std::env::var("GOOSE_LOAD_ISSI").unwrap_or_else(|_| "16000001".into());
    (
        format!("/v1/terminals/{issi}/status"),
        serde_json::json!({ "code": 7, "ref": "r1" }),
    )
});

async fn get_root(user: &mut GooseUser) -> TransactionResult {
    let _goose = user.get("/").await?;
    Ok(())
}

async fn post_status(user: &mut GooseUser) -> TransactionResult {
    let (path, body) = &*STATUS;
    let _goose = user.post_json(path, body).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), GooseError> {
    let route = std::env::var("GOOSE_LOAD_ROUTE").unwrap_or_else(|_| "get".into());
    let scenario = match route.as_str() {
        "get" => scenario!("Get").register_transaction(transaction!(get_root)),
        "status" => scenario!("Status").register_transaction(transaction!(post_status)),
        other => {
            eprintln!("goose-load: GOOSE_LOAD_ROUTE must be `get` or `status`, not `{other}`");
            std::process::exit(2);
        }
    };
    GooseAttack::initialize()?
        // No Controllers: a benchmark listens on no port of its own.
        .set_default(GooseDefault::NoTelnet, true)?
        .set_default(GooseDefault::NoWebSocket, true)?
        .register_scenario(scenario)
        .execute()
        .await?;
    Ok(())
}
