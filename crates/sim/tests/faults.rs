//! The fault table's bookkeeping, which lets every fault test prove that its fault fired: spent
//! faults stay listed with the number of requests they answered, and the request log flags those.

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn the_fault_table_counts_what_fired_and_the_log_flags_it() {
    let s = start(Some("sidecar"), fast_config()).await;
    let resp = s
        .admin(
            Method::POST,
            "/_sim/faults",
            Some(&json!([
                {"method": "GET", "path": "containerApps/langfuse", "status": 503, "times": 2},
                {"method": "GET", "path": "containerAppz/langfuse", "status": 500}
            ])),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    for expected in [503, 503, 200] {
        let resp = s.arm(Method::GET, &app_path("langfuse"), None).await;
        assert_eq!(resp.status().as_u16(), expected);
    }

    let table: Vec<Value> = s.admin(Method::GET, "/_sim/faults", None).await.json().await.unwrap();
    assert_eq!(table.len(), 2, "the spent fault stays listed: {table:?}");
    assert_eq!(
        (table[0]["fired"].as_u64(), table[0]["times"].as_u64()),
        (Some(2), Some(0))
    );
    assert_eq!(table[1]["fired"], 0, "the misspelt path matched nothing");
    let unfired = s.sim.unfired_faults();
    assert_eq!(unfired.len(), 1);
    assert_eq!(unfired[0].path, "containerAppz/langfuse");

    let flagged: Vec<(u64, bool)> = s
        .requests()
        .await
        .iter()
        .map(|r| (r["status"].as_u64().unwrap(), r["fault"] == true))
        .collect();
    assert_eq!(flagged, vec![(503, true), (503, true), (200, false)]);
    s.sim.stop().await;
}

#[tokio::test]
async fn a_posted_fired_count_is_refused() {
    let s = start(Some("sidecar"), fast_config()).await;
    let resp = s
        .admin(
            Method::POST,
            "/_sim/faults",
            Some(&json!({"path": "containerApps", "status": 503, "fired": 1})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    s.sim.stop().await;
}
