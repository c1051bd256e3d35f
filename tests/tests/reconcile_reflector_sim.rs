//! The reflector over the real client against the in-process simulator (HTTP on loopback): after
//! the migration a steady pass sends no request at all, and a portal edit is caught by a resync
//! and corrected after a fresh GET.

mod simulated;

use std::sync::Arc;
use std::time::Duration;

use aca_model::desired::Stack;
use aca_reconcile::{ExecSettings, PassOptions, Reflector, run_pass};
use aca_sim::{Simulator, scenario};
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

async fn requests(sim: &Simulator) -> Vec<Value> {
    let log: Vec<Value> = reqwest::get(format!("{}/_sim/requests", sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    reqwest::Client::new()
        .delete(format!("{}/_sim/requests", sim.base_url))
        .send()
        .await
        .unwrap();
    log
}

fn lines(log: &[Value]) -> Vec<String> {
    log.iter()
        .map(|r| format!("{} {}", r["method"].as_str().unwrap(), r["path"].as_str().unwrap()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_steady_pass_sends_nothing_and_a_resync_catches_a_portal_edit() {
    let sim = aca_e2e::sidecar_sim(aca_e2e::in_process_sim()).await;
    let stack = stack();
    let reflector = Reflector::new(Arc::new(simulated::client(&sim)));
    reflector.set_scope(std::slice::from_ref(&stack));
    reflector.resync().await.unwrap();
    // The migration, through the cache: its writes and waits go to ARM.
    let report = run_pass(&reflector, &stack, options(), &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(!report.plan.steps.is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Settling: the apps written are read from ARM until their revisions are at rest.
    for _ in 0..3 {
        let report = run_pass(&reflector, &stack, options(), &|_| {}).await;
        assert!(report.error.is_none(), "{:?}", report.error);
    }
    requests(&sim).await;
    let report = run_pass(&reflector, &stack, options(), &|_| {}).await;
    assert!(report.diff.drifts.is_empty(), "{:#?}", report.diff.drifts);
    assert_eq!(
        lines(&requests(&sim).await),
        Vec::<String>::new(),
        "a steady pass sends no request"
    );

    // A person scales Langfuse in the portal; the cache learns it at the resync.
    reqwest::Client::new()
        .patch(format!(
            "{}/_sim/state{}",
            sim.base_url,
            scenario::app_id(scenario::LANGFUSE_APP)
        ))
        .json(&json!({"properties": {"template": {"scale": {"minReplicas": 4, "maxReplicas": 4}}}}))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let done = reflector.resync().await.unwrap();
    assert!(done.pages >= 3, "{done:?}");
    requests(&sim).await;
    let report = run_pass(&reflector, &stack, options(), &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(!report.diff.drifts.is_empty(), "the portal edit is drift");
    let log = lines(&requests(&sim).await);
    let app_path = scenario::app_id(scenario::LANGFUSE_APP);
    let patch = log
        .iter()
        .position(|l| l == &format!("PATCH {app_path}"))
        .expect("corrected");
    assert!(
        log[..patch].contains(&format!("GET {app_path}")),
        "a fresh GET before the write: {log:?}"
    );
}
