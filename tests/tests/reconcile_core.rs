//! The reconcile core on the in-memory `ArmApi` fake (`fake/mod.rs`): diff, planner, preflight,
//! windows, holds and the executor, with no HTTP and no simulator. The same behaviour against the
//! simulator over HTTP is in `passes.rs` and `reliability.rs`.

mod fake;

use std::collections::BTreeMap;
use std::time::Duration;

use aca_model::desired::{CorrectionWindow, Stack};
use aca_reconcile::{
    ExecError, ExecSettings, Executor, PassOptions, PassReport, Step, diff_stack, observe, plan, plan_with_holds,
    run_pass,
};
use fake::{Call, FakeArm};
use serde_json::json;

fn stack() -> Stack {
    aca_e2e::example_stack()
}

fn options(apply: bool) -> PassOptions {
    PassOptions {
        apply,
        exec: ExecSettings {
            poll_interval: Duration::from_millis(10),
            wait_timeout: Duration::from_secs(5),
        },
        ..PassOptions::default()
    }
}

async fn pass(fake: &FakeArm, stack: &Stack) -> PassReport {
    let report = run_pass(fake, stack, options(true), &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    report
}

/// The fake after the migration to the target layout, with its call log cleared.
async fn migrated() -> FakeArm {
    let fake = FakeArm::sidecar();
    pass(&fake, &stack()).await;
    fake.clear_calls();
    fake
}

fn kind(step: &Step) -> String {
    match step {
        Step::Snapshot { storage, .. } => format!("snapshot {storage}"),
        Step::Create { app } => format!("create {app}"),
        Step::Update { app, recreate, .. } => match recreate {
            Some(storage) => format!("recreate {app} on {storage}"),
            None => format!("update {app}"),
        },
        Step::WaitNoMount { storage, .. } => format!("wait no mount {storage}"),
        Step::WaitRunning { app } => format!("wait running {app}"),
        Step::Stop { app, storage } => format!("stop {app} on {storage}"),
        Step::RestoreSidecar { app, .. } => format!("restore sidecar {app}"),
        other => format!("{} {}", other.kind(), other.app().unwrap_or("-")),
    }
}

fn position(steps: &[String], prefix: &str) -> usize {
    steps
        .iter()
        .position(|s| s.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` step in {steps:?}"))
}

#[tokio::test(start_paused = true)]
async fn the_plan_snapshots_then_frees_the_share_before_clickhouse_starts_on_it() {
    let (fake, stack) = (FakeArm::sidecar(), stack());
    let observed = observe(&fake, &stack).await.unwrap();
    let steps: Vec<String> = plan(&stack, &observed, &diff_stack(&stack, &observed))
        .steps
        .iter()
        .map(kind)
        .collect();
    let snapshot = position(&steps, "snapshot clickhouse-data");
    let sidecar_removed = position(&steps, "update langfuse");
    let freed = position(&steps, "wait no mount clickhouse-data");
    let created = position(&steps, "create clickhouse");
    assert!(
        snapshot < sidecar_removed && sidecar_removed < freed && freed < created,
        "{steps:?}"
    );
    assert!(fake.writes().is_empty(), "planning writes nothing");
}

#[tokio::test(start_paused = true)]
async fn a_pass_migrates_the_sidecar_layout_and_the_next_pass_only_reads() {
    let fake = FakeArm::sidecar();
    let stack = stack();
    let first = pass(&fake, &stack).await;
    assert!(!first.diff.drifts.is_empty(), "the sidecar layout drifts");
    let langfuse = fake.running("langfuse");
    assert_eq!(langfuse.len(), 1);
    assert!(
        langfuse[0].2.is_empty(),
        "Langfuse no longer mounts the share: {langfuse:?}"
    );
    let clickhouse = fake.running("langfuse-clickhouse");
    assert_eq!(clickhouse.len(), 1);
    assert_eq!(clickhouse[0].1, 1, "a singleton");
    assert_eq!(clickhouse[0].2, vec!["clickhouse-data".to_string()]);

    fake.clear_calls();
    let second = pass(&fake, &stack).await;
    assert!(second.diff.drifts.is_empty(), "{:#?}", second.diff.drifts);
    assert_eq!(fake.writes(), Vec::<Call>::new());
}

#[tokio::test(start_paused = true)]
async fn every_app_write_is_preceded_by_a_fresh_read_of_that_app() {
    let fake = FakeArm::sidecar();
    pass(&fake, &stack()).await;
    let calls = fake.calls();
    let app_writes: Vec<usize> = (0..calls.len())
        .filter(|i| matches!(calls[*i].op, "create_app" | "update_app"))
        .collect();
    assert!(app_writes.len() >= 2, "the migration writes apps: {calls:?}");
    for i in app_writes {
        let since_last_write = calls[..i].iter().rev().take_while(|c| !c.is_write());
        assert!(
            since_last_write
                .into_iter()
                .any(|c| c.op == "find_app" && c.name == calls[i].name),
            "{} of {} without a read since the previous write: {calls:?}",
            calls[i].op,
            calls[i].name
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_edit_between_observe_and_write_gives_the_write_up() {
    let (fake, stack) = (FakeArm::sidecar(), stack());
    let observed = observe(&fake, &stack).await.unwrap();
    let steps = plan(&stack, &observed, &diff_stack(&stack, &observed)).steps;
    fake.person_edit("langfuse", json!({"tags": {"edited": "now"}}));
    fake.clear_calls();
    let executor = Executor {
        api: &fake,
        stack: &stack,
        observed: &observed,
        settings: options(true).exec,
        on_event: &|_| {},
        cancel: None,
        gate: None,
    };
    let (_, error) = executor.run(&steps).await;
    assert!(
        matches!(&error, Some(ExecError::ChangedSinceObserved { by, .. }) if by == "alice@contoso.com"),
        "{error:?}"
    );
    let app_writes: Vec<Call> = fake.writes().into_iter().filter(|c| c.op != "snapshot_share").collect();
    assert_eq!(app_writes, Vec::<Call>::new(), "nothing written over the edit");
}

#[tokio::test(start_paused = true)]
async fn undeclared_fields_and_normalised_quantities_are_not_drift() {
    let fake = migrated().await;
    // A tag and the same resources written the other way ARM accepts them.
    let mut clickhouse = fake.app("langfuse-clickhouse").unwrap();
    let containers = &mut clickhouse["properties"]["template"]["containers"];
    let cpu = containers[0]["resources"]["cpu"].as_f64().unwrap();
    containers[0]["resources"]["cpu"] = json!(cpu + 0.0);
    let memory = containers[0]["resources"]["memory"].as_str().unwrap().to_string();
    let (number, unit) = memory.split_at(memory.find(|c: char| c.is_ascii_alphabetic()).unwrap());
    containers[0]["resources"]["memory"] = json!(format!("{}.0{unit}", number));
    fake.person_edit(
        "langfuse-clickhouse",
        json!({"tags": {"owner": "team-a"}, "properties": {"template": {"containers": containers.clone()}}}),
    );
    let stack = stack();
    let observed = observe(&fake, &stack).await.unwrap();
    let diff = diff_stack(&stack, &observed);
    assert!(diff.drifts.is_empty(), "{:#?}", diff.drifts);
}

#[tokio::test(start_paused = true)]
async fn a_changed_secret_value_is_drift_shown_by_digest_never_by_value() {
    let fake = migrated().await;
    let mut secrets = fake.app("langfuse").unwrap()["properties"]["configuration"]["secrets"].clone();
    let changed = secrets.as_array_mut().unwrap().iter_mut().next().unwrap();
    let name = changed["name"].as_str().unwrap().to_string();
    changed["value"] = json!("a-value-a-person-typed-4b1c");
    fake.person_edit(
        "langfuse",
        json!({"properties": {"configuration": {"secrets": secrets}}}),
    );
    let stack = stack();
    let diff = diff_stack(&stack, &observe(&fake, &stack).await.unwrap());
    let drift = diff
        .drifts
        .iter()
        .find(|d| d.path.contains(&name))
        .unwrap_or_else(|| panic!("no drift for secret {name}: {:#?}", diff.drifts));
    let shown = format!("{drift:?}");
    assert!(!shown.contains("a-value-a-person-typed-4b1c"), "{shown}");
}

#[tokio::test(start_paused = true)]
async fn a_held_app_is_left_out_of_the_plan_with_the_reason() {
    let fake = migrated().await;
    fake.person_edit(
        "langfuse",
        json!({"properties": {"template": {"scale": {"minReplicas": 4, "maxReplicas": 4}}}}),
    );
    let stack = stack();
    let observed = observe(&fake, &stack).await.unwrap();
    let diff = diff_stack(&stack, &observed);
    assert!(!diff.drifts.is_empty());
    let unheld = plan(&stack, &observed, &diff);
    assert!(
        unheld.steps.iter().any(|s| s.app() == Some("langfuse")),
        "{:?}",
        unheld.steps
    );
    let holds = BTreeMap::from([("langfuse".to_string(), "contested: test".to_string())]);
    let held = plan_with_holds(&stack, &observed, &diff, &holds);
    assert!(
        held.steps.iter().all(|s| s.app() != Some("langfuse")),
        "{:?}",
        held.steps
    );
    assert!(
        held.held.iter().any(|h| h.contains("contested: test")),
        "{:?}",
        held.held
    );
}

#[tokio::test(start_paused = true)]
async fn outside_the_correction_window_only_invariant_breaches_are_corrected() {
    let fake = migrated().await;
    let mut stack = stack();
    stack.correction_window = Some(CorrectionWindow::parse("Mon-Fri 09:00-17:00 UTC").unwrap());
    for (app, n) in [("langfuse", 4), ("langfuse-clickhouse", 2)] {
        fake.person_edit(
            app,
            json!({"properties": {"template": {"scale": {"minReplicas": n, "maxReplicas": n}}}}),
        );
    }
    let mut opts = options(true);
    opts.now_utc = Some(time::macros::datetime!(2026-11-28 12:00 UTC)); // a Saturday
    let report = run_pass(&fake, &stack, opts, &|_| {}).await;
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
    let scale = |app: &str| fake.app(app).unwrap()["properties"]["template"]["scale"]["maxReplicas"].clone();
    assert_eq!(scale("langfuse"), 4, "a warning waits for the window");
    assert_eq!(
        scale("langfuse-clickhouse"),
        1,
        "an invariant breach is corrected at once"
    );
}

async fn checks(fake: &FakeArm, stack: &Stack) -> Vec<String> {
    let observed = observe(fake, stack).await.unwrap();
    aca_reconcile::preflight(stack, &observed)
        .into_iter()
        .map(|f| f.check.to_string())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn preflight_findings_follow_the_live_environment() {
    let stack = stack();
    // The scenario: an SMB share in an environment without a custom VNet.
    let smb = checks(&FakeArm::sidecar(), &stack).await;
    assert!(smb.contains(&"clickhouse-on-smb".to_string()), "{smb:?}");
    assert!(smb.contains(&"internal-tcp-without-vnet".to_string()), "{smb:?}");

    // The same on NFS in a custom VNet: neither finding.
    let mut resources = aca_sim::scenario::resources("sidecar").unwrap();
    for r in &mut resources {
        let id = r["id"].as_str().unwrap().to_string();
        if id.ends_with("/storages/clickhouse-data") {
            r["properties"] = json!({"nfsAzureFile": {"server": "stlangfusedata.file.core.windows.net",
                "shareName": "/stlangfusedata/clickhouse", "accessMode": "ReadWrite"}});
        } else if id.ends_with("/managedEnvironments/cae-langfuse") {
            r["properties"]["vnetConfiguration"] = json!({"infrastructureSubnetId": "/subscriptions/x/subnets/aca"});
        }
    }
    let nfs = checks(&FakeArm::with(resources.clone()), &stack).await;
    assert!(!nfs.contains(&"clickhouse-on-smb".to_string()), "{nfs:?}");
    assert!(!nfs.contains(&"internal-tcp-without-vnet".to_string()), "{nfs:?}");

    // Without the declared storage: a blocking finding, and the pass writes nothing.
    resources.retain(|r| !r["id"].as_str().unwrap().ends_with("/storages/clickhouse-data"));
    let fake = FakeArm::with(resources);
    assert!(checks(&fake, &stack).await.contains(&"storage-exists".to_string()));
    let report = run_pass(&fake, &stack, options(true), &|_| {}).await;
    assert!(
        matches!(&report.error, Some(aca_reconcile::PassError::Preflight(_))),
        "{:?}",
        report.error
    );
    assert_eq!(fake.writes(), Vec::<Call>::new());
}

/// Alert first: each drift reaches `on_found` before the pass writes anything.
#[tokio::test(start_paused = true)]
async fn every_drift_is_reported_before_any_write() {
    let fake = std::sync::Arc::new(FakeArm::sidecar());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (f, s) = (fake.clone(), seen.clone());
    let on_found = aca_reconcile::OnFound(std::sync::Arc::new(move |stack: &str, d: &aca_reconcile::Drift| {
        s.lock()
            .unwrap()
            .push((stack.to_string(), d.path.clone(), f.writes().len()));
    }));
    let options = PassOptions {
        on_found: Some(on_found),
        ..options(true)
    };
    let report = run_pass(fake.as_ref(), &stack(), options, &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    assert!(!fake.writes().is_empty(), "the pass did correct");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), report.diff.drifts.len(), "{seen:?}");
    assert!(
        seen.iter()
            .all(|(stack, _, writes)| stack == "langfuse" && *writes == 0),
        "{seen:?}"
    );
}

/// A shutdown during a wait ends the step at once and names it; nothing after it runs.
#[tokio::test(start_paused = true)]
async fn a_shutdown_during_a_wait_stops_the_step_at_once() {
    let (fake, stack) = (FakeArm::sidecar(), stack());
    let observed = observe(&fake, &stack).await.unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let executor = Executor {
        api: &fake,
        stack: &stack,
        observed: &observed,
        settings: ExecSettings {
            poll_interval: Duration::from_secs(7),
            wait_timeout: Duration::from_secs(3600),
        },
        on_event: &|_| {},
        cancel: Some(&cancel),
        gate: None,
    };
    // A wait that can never end: the dedicated app is not running and nothing will start it.
    let steps = [Step::WaitRunning {
        app: "clickhouse".to_string(),
    }];
    let stopper = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        stopper.cancel();
    });
    let started = tokio::time::Instant::now();
    let (outcomes, error) = executor.run(&steps).await;
    assert!(outcomes.is_empty());
    assert!(matches!(error, Some(ExecError::Stopped)), "{error:?}");
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(30),
        "stopped when asked, not at the next poll"
    );
}
