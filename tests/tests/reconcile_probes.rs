//! Probes are owned fields like any other: created with the app, compared, and put back after a
//! person removes them (against the simulator, the shipped example).

mod simulated;

use std::time::Duration;

use aca_model::desired::Stack;
use aca_reconcile::{ExecSettings, PassOptions, run_pass};
use aca_sim::Simulator;
use serde_json::{Value, json};

fn stack() -> Stack {
    aca_e2e::example_stack()
}

fn options() -> PassOptions {
    PassOptions {
        apply: true,
        exec: ExecSettings {
            poll_interval: Duration::from_millis(40),
            wait_timeout: Duration::from_secs(20),
        },
        log_events: false,
        ..PassOptions::default()
    }
}

async fn clickhouse_container(sim: &Simulator) -> Value {
    let app: Value = reqwest::Client::new()
        .get(format!(
            "{}{}?api-version=2025-07-01",
            sim.base_url,
            aca_sim::scenario::app_id("langfuse-clickhouse")
        ))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app["properties"]["template"]["containers"][0].clone()
}

#[tokio::test]
async fn probes_are_created_compared_and_restored() {
    let sim = aca_e2e::sidecar_sim(aca_e2e::in_process_sim()).await;
    let api = simulated::client(&sim);
    let stack = stack();
    let report = run_pass(&api, &stack, options(), &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let created = clickhouse_container(&sim).await;
    assert_eq!(
        created["probes"],
        json!([
            {"type": "Readiness", "httpGet": {"path": "/ping", "port": 8123}, "periodSeconds": 5},
            {"type": "Startup", "tcpSocket": {"port": 9000}, "periodSeconds": 10, "failureThreshold": 10}
        ])
    );
    let again = run_pass(&api, &stack, options(), &|_| {}).await;
    assert!(again.diff.drifts.is_empty(), "{:#?}", again.diff.drifts);

    // A person drops the readiness probe and adds a timeout to the startup one (Container Apps
    // also fills in defaults it was not given: those are not owned).
    let mut edited = created.clone();
    edited["probes"] = json!([
        {"type": "Startup", "tcpSocket": {"port": 9000}, "periodSeconds": 10, "failureThreshold": 10, "timeoutSeconds": 3}
    ]);
    let r = reqwest::Client::new()
        .patch(format!(
            "{}/_sim/state{}",
            sim.base_url,
            aca_sim::scenario::app_id("langfuse-clickhouse")
        ))
        .json(&json!({"properties": {"template": {"containers": [edited]}}}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let report = run_pass(&api, &stack, options(), &|_| {}).await;
    let drift = report
        .diff
        .drifts
        .iter()
        .find(|d| d.path == "apps.clickhouse.template.containers.clickhouse.probes")
        .unwrap_or_else(|| panic!("{:#?}", report.diff.drifts));
    assert!(drift.desired.contains("readiness httpGet :8123/ping"), "{drift:?}");
    assert!(!drift.live.contains("readiness"), "{drift:?}");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(clickhouse_container(&sim).await["probes"][0]["type"] == "Readiness");
    let last = run_pass(&api, &stack, options(), &|_| {}).await;
    assert!(last.diff.drifts.is_empty(), "{:#?}", last.diff.drifts);

    // Only the declared fields count: an extra live default does not drift.
    let mut with_default = clickhouse_container(&sim).await;
    with_default["probes"][0]["timeoutSeconds"] = json!(1);
    reqwest::Client::new()
        .patch(format!(
            "{}/_sim/state{}",
            sim.base_url,
            aca_sim::scenario::app_id("langfuse-clickhouse")
        ))
        .json(&json!({"properties": {"template": {"containers": [with_default]}}}))
        .send()
        .await
        .unwrap();
    let quiet = run_pass(&api, &stack, options(), &|_| {}).await;
    assert!(quiet.diff.drifts.is_empty(), "{:#?}", quiet.diff.drifts);
    sim.stop().await;
}
