//! Reconcile passes against the simulator (in-process, real HTTP on loopback): the sidecar
//! migration, steady state, drift correction, observe mode.

mod simulated;

use std::time::Duration;

use aca_arm::ArmClient;
use aca_model::desired::{Mode, Stack};
use aca_reconcile::{DriftOutcome, DriftSeverity, ExecSettings, PassOptions, Step, run_pass};
use aca_sim::Simulator;
use serde_json::Value;

fn stack() -> Stack {
    aca_e2e::example_stack()
}

async fn start() -> Simulator {
    aca_e2e::sidecar_sim(aca_e2e::in_process_sim()).await
}

fn client(sim: &Simulator) -> ArmClient {
    simulated::client(sim)
}

fn options(apply: bool) -> PassOptions {
    PassOptions {
        apply,
        exec: ExecSettings {
            poll_interval: Duration::from_millis(40),
            wait_timeout: Duration::from_secs(20),
        },
        log_events: false,
        ..PassOptions::default()
    }
}

async fn get(sim: &Simulator, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_sidecar_migration_reaches_the_target_without_overlap() {
    let sim = start().await;
    let api = client(&sim);
    let stack = stack();

    let report = run_pass(&api, &stack, options(true), &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let kinds: Vec<&str> = report.plan.steps.iter().map(Step::kind).collect();
    assert_eq!(
        kinds,
        ["snapshot", "update", "wait-no-mount", "create", "wait-running"],
        "{:#?}",
        report.plan.steps
    );
    assert!(
        report
            .diff
            .drifts
            .iter()
            .any(|d| d.severity == DriftSeverity::Critical && d.path.contains("containers.clickhouse"))
    );

    // Target reached: a second pass finds nothing to do.
    let again = run_pass(&api, &stack, options(true), &|_| {}).await;
    assert!(again.diff.drifts.is_empty(), "{:#?}", again.diff.drifts);

    let history: Value = get(&sim, "/_sim/revisions").await;
    let on_share: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["storages"].as_array().unwrap().iter().any(|s| s == "clickhouse-data"))
        .collect();
    assert_eq!(on_share.len(), 2, "the sidecar revision and the dedicated app's");
    let interval = |r: &Value| {
        (
            r["runningFromMs"].as_u64().unwrap(),
            r["runningUntilMs"].as_u64().unwrap_or(u64::MAX),
        )
    };
    let (a, b) = (interval(on_share[0]), interval(on_share[1]));
    assert!(
        a.1 <= b.0 || b.1 <= a.0,
        "two revisions ran on the share at once: {a:?} {b:?}"
    );
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn observe_mode_plans_but_never_writes() {
    let sim = start().await;
    let api = client(&sim);
    let mut stack = stack();
    stack.mode = Mode::Observe;
    let report = run_pass(&api, &stack, options(true), &|_| {}).await;
    assert!(report.plan.steps.is_empty());
    assert!(!report.plan.held.is_empty());
    assert!(report.drift_outcomes.iter().all(|(_, a)| *a == DriftOutcome::Alerted));
    let log: Value = get(&sim, "/_sim/requests").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] == "read" || r["path"].as_str().unwrap().ends_with("/listSecrets")),
        "{log:#}"
    );
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn outside_its_correction_window_drift_is_alerted_but_invariant_breaches_are_corrected() {
    let sim = start().await;
    let api = client(&sim);
    let mut stack = stack();
    run_pass(&api, &stack, options(true), &|_| {}).await; // migrate first
    stack.correction_window = Some(aca_model::desired::CorrectionWindow::parse("Mon-Fri 09:00-17:00 UTC").unwrap());
    // A person scales Langfuse (a warning) and ClickHouse (an invariant breach).
    for (app, n) in [("langfuse", 4), ("langfuse-clickhouse", 2)] {
        reqwest::Client::new()
            .patch(format!("{}/_sim/state{}", sim.base_url, aca_sim::scenario::app_id(app)))
            .json(&serde_json::json!({"properties": {"template": {"scale": {"minReplicas": n, "maxReplicas": n}}}}))
            .send()
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    let saturday_noon = time::macros::datetime!(2026-11-28 12:00 UTC);
    let mut opts = options(true);
    opts.now_utc = Some(saturday_noon);
    let report = run_pass(&api, &stack, opts, &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(
        report
            .plan
            .held
            .iter()
            .any(|h| h.contains("apps.langfuse") && h.contains("correction window")),
        "{:?}",
        report.plan.held
    );
    let action = |field: &str| {
        report
            .drift_outcomes
            .iter()
            .find(|(d, _)| d.path == field)
            .map(|(_, a)| *a)
    };
    assert_eq!(
        action("apps.langfuse.template.scale.maxReplicas"),
        Some(DriftOutcome::Alerted)
    );
    assert_eq!(
        action("apps.clickhouse.template.scale.maxReplicas"),
        Some(DriftOutcome::Corrected),
        "invariants are always corrected"
    );

    // Inside the window, the rest is corrected.
    let mut opts = options(true);
    opts.now_utc = Some(time::macros::datetime!(2026-11-30 10:00 UTC));
    let report = run_pass(&api, &stack, opts, &|_| {}).await;
    assert_eq!(
        report
            .drift_outcomes
            .iter()
            .find(|(d, _)| d.path == "apps.langfuse.template.scale.maxReplicas")
            .map(|(_, a)| *a),
        Some(DriftOutcome::Corrected)
    );
    sim.stop().await;
}

#[tokio::test]
async fn a_window_that_holds_the_dedicated_app_holds_the_whole_cutover() {
    let sim = start().await;
    let api = client(&sim);
    let mut stack = stack();
    let window = aca_model::desired::CorrectionWindow::parse("Mon-Fri 09:00-17:00 UTC").unwrap();
    stack
        .apps
        .iter_mut()
        .find(|a| a.key == "clickhouse")
        .unwrap()
        .correction_window = Some(window);
    let mut opts = options(true);
    opts.now_utc = Some(time::macros::datetime!(2026-11-28 12:00 UTC));
    let report = run_pass(&api, &stack, opts, &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(report.plan.steps.is_empty(), "{:#?}", report.plan.steps);
    assert!(
        report
            .plan
            .held
            .iter()
            .any(|h| h.contains("one unit") && h.contains("apps.clickhouse") && h.contains("apps.langfuse")),
        "{:?}",
        report.plan.held
    );
    let log: Value = get(&sim, "/_sim/requests").await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .all(|r| r["kind"] == "read" || r["path"].as_str().unwrap().ends_with("/listSecrets")),
        "nothing written while the unit is held: {log:#}"
    );

    // Inside the window the whole unit runs.
    let mut opts = options(true);
    opts.now_utc = Some(time::macros::datetime!(2026-11-30 10:00 UTC));
    let report = run_pass(&api, &stack, opts, &|_| {}).await;
    let kinds: Vec<&str> = report.plan.steps.iter().map(Step::kind).collect();
    assert_eq!(kinds, ["snapshot", "update", "wait-no-mount", "create", "wait-running"]);
    assert!(report.error.is_none(), "{:?}", report.error);
    sim.stop().await;
}

#[tokio::test]
async fn observation_lists_every_app_of_the_environment_across_pages() {
    let sim = start().await;
    let api = client(&sim);
    let stack = stack();
    // 25 apps a person made in the portal: more than one page of the list.
    let mut copy: Value = get(&sim, &format!("/_sim/state{}", aca_sim::scenario::app_id("langfuse"))).await;
    for k in ["id", "name", "systemData"] {
        copy.as_object_mut().unwrap().remove(k);
    }
    copy["properties"]["template"]["volumes"] = serde_json::json!([]);
    copy["properties"]["template"]["containers"] = serde_json::json!([{"name": "web", "image": "nginx:1"}]);
    for i in 0..25 {
        let r = reqwest::Client::new()
            .put(format!(
                "{}/_sim/state{}",
                sim.base_url,
                aca_sim::scenario::app_id(&format!("portal-{i:02}"))
            ))
            .json(&copy)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{:?}", r.text().await);
    }
    reqwest::Client::new()
        .delete(format!("{}/_sim/requests", sim.base_url))
        .send()
        .await
        .unwrap();
    let observed = aca_reconcile::observe(&api, &stack).await.unwrap();
    assert_eq!(
        observed.environment_apps.len(),
        26,
        "Langfuse and the 25: {:?}",
        observed.environment_apps.keys()
    );
    // Revisions are read only for apps on a declared storage (the sidecar's Langfuse).
    assert_eq!(observed.revisions.keys().collect::<Vec<_>>(), ["langfuse"]);
    let log: Value = get(&sim, "/_sim/requests").await;
    let pages = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"].as_str().unwrap().ends_with("/containerApps"))
        .count();
    assert_eq!(pages, 2, "20 apps a page: the nextLink was followed once");
    sim.stop().await;
}
