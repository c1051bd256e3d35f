//! The safety invariants end to end: each state that breaks ClickHouse, made as a person would
//! (portal edits through the simulator's admin API), gives a critical, located alert in `plan`
//! (exit 2) and in `run`'s log, the repair where one is safe, and no overlap started by the
//! operator on the share in the simulator's revision history.

mod invariants_support;

use std::time::Duration;

use aca_e2e::*;
use aca_sim::scenario;
use serde_json::{Value, json};

use invariants_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_app_on_the_share_is_a_critical_alert_and_is_never_touched() {
    let (sim, file) = migrated("inv-portal").await;
    // A person creates a copy of ClickHouse in the portal, on the same share.
    let mut copy = app(&sim, scenario::CLICKHOUSE_APP).await;
    for k in ["id", "name", "systemData"] {
        copy.as_object_mut().unwrap().remove(k);
    }
    let r = reqwest::Client::new()
        .put(format!(
            "{}/_sim/state{}?by=bob@contoso.com",
            sim.base_url,
            app_path("ch-portal")
        ))
        .json(&copy)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
    wait_running(&sim, "ch-portal", 1).await;

    let (code, text) = plan(&sim, &file);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("exclusive-storage") && text.contains("ch-portal--"),
        "{text}"
    );
    assert!(
        text.contains("an undeclared app") && text.contains("bob@contoso.com"),
        "{text}"
    );

    let before = requests(&sim).await.len();
    let op = daemon(&sim, &file);
    let found = op
        .wait_event("the exclusive-storage alert", T, |e| {
            is(e, "drift_found") && e["invariant"] == "exclusive-storage" && field(e).contains("ch-portal")
        })
        .await;
    assert_eq!(found["level"], "ERROR");
    assert_eq!(found["severity"], "critical");
    assert!(
        found["changed_by"].as_str().unwrap().contains("bob@contoso.com"),
        "{found}"
    );
    let id = found["drift_id"].clone();
    let outcome = op
        .wait_event("its outcome", T, |e| is(e, "drift") && e["drift_id"] == id)
        .await;
    assert_eq!(
        outcome["action"], "alerted",
        "an undeclared app is never stopped by default"
    );
    op.wait_events("two more passes", 2, T, |e| is(e, "pass")).await;
    let log: Vec<Value> = requests(&sim).await.split_off(before);
    let touched: Vec<Value> = writes(&log)
        .into_iter()
        .filter(|w| w["path"].as_str().unwrap_or_default().contains("ch-portal"))
        .collect();
    assert!(touched.is_empty(), "the intruder was written: {touched:?}");
    assert_eq!(running(&revisions(&sim, "ch-portal").await).len(), 1);
    no_operator_overlap(&sim).await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_clickhouse_app_is_not_started_while_the_old_one_runs() {
    let (sim, file) = migrated("inv-rename").await;
    let renamed = example("enforce", "1s").replace("name: langfuse-clickhouse", "name: langfuse-ch2");
    std::fs::write(&file, renamed).unwrap();
    let (code, text) = plan(&sim, &file);
    assert_eq!(code, Some(2), "{text}");

    let op = daemon(&sim, &file);
    let refused = op
        .wait_event("the refused create", T, |e| {
            is(e, "step") && e["phase"] == "failed" && e["kind"] == "create"
        })
        .await;
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("undeclared app langfuse-clickhouse") && error.contains("must not start"),
        "{refused}"
    );
    op.wait_events("two more passes", 2, T, |e| is(e, "pass")).await;
    let history = admin(&sim, reqwest::Method::GET, "/_sim/revisions", None).await;
    assert!(
        !history.as_array().unwrap().iter().any(|r| r["app"] == "langfuse-ch2"),
        "no revision of the new app while the old one runs on the share"
    );
    no_operator_overlap(&sim).await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_stop_intruders_the_old_app_is_stopped_before_the_renamed_one_starts() {
    let (sim, file) = migrated("inv-stop").await;
    let renamed = example("enforce", "1s")
        .replace("name: langfuse-clickhouse", "name: langfuse-ch2")
        .replace("{ exclusive: true,", "{ exclusive: true, stopIntruders: true,");
    assert!(renamed.contains("stopIntruders"), "the example's storage line changed");
    std::fs::write(&file, renamed).unwrap();
    let op = daemon(&sim, &file);
    op.wait_event("the stopped intruder", T, |e| {
        is(e, "step") && e["phase"] == "finished" && e["kind"] == "stop-intruder"
    })
    .await;
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    assert!(running(&revisions(&sim, scenario::CLICKHOUSE_APP).await).is_empty());
    assert!(
        app(&sim, scenario::CLICKHOUSE_APP).await["id"].is_string(),
        "never deleted"
    );
    assert_eq!(running(&revisions(&sim, "langfuse-ch2").await).len(), 1);
    no_operator_overlap(&sim).await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_clickhouse_is_not_running_and_is_reactivated() {
    let (sim, file) = migrated("inv-stopped").await;
    let live = running(&revisions(&sim, scenario::CLICKHOUSE_APP).await);
    assert_eq!(live.len(), 1);
    arm_post(
        &sim,
        &format!(
            "{}/revisions/{}/deactivate",
            app_path(scenario::CLICKHOUSE_APP),
            live[0]
        ),
    )
    .await;
    wait_running(&sim, scenario::CLICKHOUSE_APP, 0).await;

    let (code, text) = plan(&sim, &file);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("not-running") && text.contains("(deactivated)"), "{text}");

    let op = daemon(&sim, &file);
    let found = op
        .wait_event("the not-running alert", T, |e| {
            is(e, "drift_found") && e["invariant"] == "running"
        })
        .await;
    assert_eq!(found["level"], "ERROR");
    let id = found["drift_id"].clone();
    let step = op
        .wait_event("the reactivation", T, |e| {
            is(e, "step") && e["phase"] == "finished" && e["kind"] == "reactivate"
        })
        .await;
    assert!(
        step["message"].as_str().unwrap_or_default().contains(&live[0]),
        "{step}"
    );
    let outcome = op
        .wait_event("its outcome", T, |e| is(e, "drift") && e["drift_id"] == id)
        .await;
    assert_eq!(outcome["action"], "corrected");
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    assert_eq!(running(&revisions(&sim, scenario::CLICKHOUSE_APP).await), live);
    no_operator_overlap(&sim).await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multiple_revision_mode_is_put_back_and_the_extra_revision_stopped() {
    let (sim, file) = migrated("inv-multiple").await;
    // A person switches to Multiple and changes the template: two revisions run on the share.
    person_patch(
        &sim,
        scenario::CLICKHOUSE_APP,
        json!({"properties": {"configuration": {"activeRevisionsMode": "Multiple"},
            "template": {"revisionSuffix": "manual1"}}}),
    )
    .await;
    wait_running(&sim, scenario::CLICKHOUSE_APP, 2).await;

    let (code, text) = plan(&sim, &file);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("activeRevisionsMode") && text.contains("exclusive-storage"),
        "{text}"
    );

    let op = daemon(&sim, &file);
    op.wait_event("the mode alert", T, |e| {
        is(e, "drift_found") && e["invariant"] == "singleton" && field(e).ends_with("activeRevisionsMode")
    })
    .await;
    op.wait_event("the deactivation", T, |e| {
        is(e, "step") && e["phase"] == "finished" && e["kind"] == "deactivate"
    })
    .await;
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    let live = app(&sim, scenario::CLICKHOUSE_APP).await;
    assert_eq!(live["properties"]["configuration"]["activeRevisionsMode"], "Single");
    let now = running(&revisions(&sim, scenario::CLICKHOUSE_APP).await);
    assert_eq!(
        now,
        [format!("{}--manual1", scenario::CLICKHOUSE_APP)],
        "the newest stays"
    );
    no_operator_overlap(&sim).await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_recreate_update_reactivates_the_revision_it_stopped() {
    let (sim, file) = migrated("inv-rejected").await;
    let op = daemon(&sim, &file);
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "PATCH", "path": "containerApps", "status": 400, "code": "InvalidParameterValue", "times": 1})),
    )
    .await;
    person_patch(
        &sim,
        scenario::CLICKHOUSE_APP,
        json!({"properties": {"template": {"scale": {"minReplicas": 2, "maxReplicas": 2}}}}),
    )
    .await;
    let rejected = op
        .wait_event("the rejected recreate", T, |e| is(e, "recreate_rejected"))
        .await;
    assert!(
        !rejected["reactivated"].as_str().unwrap_or_default().is_empty(),
        "{rejected}"
    );
    // The failure is reported after the reactivation, and ClickHouse runs again (the daemon then
    // holds the stack: a refused write is not retried until something changes).
    let events = op.events();
    let at = |pred: &dyn Fn(&Value) -> bool| events.iter().position(pred);
    let reactivated = at(&|e| is(e, "recreate_rejected")).unwrap();
    let failed = at(&|e| is(e, "step") && e["phase"] == "failed" && e["kind"] == "recreate").unwrap();
    assert!(reactivated < failed, "reactivated before the failure is reported");
    let revision = rejected["reactivated"].as_str().unwrap().to_string();
    let deadline = std::time::Instant::now() + T;
    while running(&revisions(&sim, scenario::CLICKHOUSE_APP).await) != [revision.clone()] {
        assert!(std::time::Instant::now() < deadline, "{revision} did not run again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    no_operator_overlap(&sim).await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_made_read_only_or_repointed_is_critical() {
    let (sim, file) = migrated("inv-storage").await;
    let storage = format!("{}/storages/{}", scenario::environment_id(), scenario::STORAGE);
    let op = daemon(&sim, &file);
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;

    // Re-pointed to another share: only the first-observed binding says it moved.
    let patch = |body: Value| {
        let url = format!("{}/_sim/state{storage}?by=carol@contoso.com", sim.base_url);
        async move {
            let r = reqwest::Client::new().patch(url).json(&body).send().await.unwrap();
            assert!(r.status().is_success(), "{:?}", r.text().await);
        }
    };
    patch(json!({"properties": {"azureFile": {"shareName": "other-share"}}})).await;
    let found = op
        .wait_event("the binding alert", T, |e| {
            is(e, "drift_found") && e["invariant"] == "storage-binding"
        })
        .await;
    assert!(
        found["note"]
            .as_str()
            .unwrap()
            .contains("share other-share (expected clickhouse)"),
        "{found}"
    );
    assert_eq!(found["level"], "ERROR");

    // Read-only is a breach even for a single `plan`, with no earlier observation.
    patch(json!({"properties": {"azureFile": {"shareName": scenario::SHARE, "accessMode": "ReadOnly"}}})).await;
    let (code, text) = plan(&sim, &file);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("storage-binding") && text.contains("access mode ReadOnly"),
        "{text}"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_correction_is_alerted_before_it_starts_and_sigterm_keeps_the_alert() {
    let (sim, file) = migrated("inv-hang").await;
    let mut op = daemon(&sim, &file);
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "PATCH", "path": "containerApps", "hangLro": true})),
    )
    .await;
    person_patch(
        &sim,
        scenario::CLICKHOUSE_APP,
        json!({"properties": {"template": {"scale": {"minReplicas": 2, "maxReplicas": 2}}}}),
    )
    .await;
    op.wait_event("the recreate under way", T, |e| {
        is(e, "step") && e["phase"] == "started" && e["kind"] == "recreate"
    })
    .await;
    // The hanging operation says so while it waits (not only at its 15-minute deadline).
    let waiting = op
        .wait_event("the operation's progress", T, |e| is(e, "operation_waiting"))
        .await;
    assert!(
        waiting["operation"]
            .as_str()
            .unwrap()
            .contains("containerappOperationStatuses"),
        "{waiting}"
    );
    op.signal("TERM");
    op.wait_exit(T);
    let events = op.events();
    let found = events
        .iter()
        .position(|e| is(e, "drift_found") && field(e) == "apps.clickhouse.template.scale.maxReplicas")
        .expect("the drift was logged although its correction never ended");
    let started = events
        .iter()
        .position(|e| is(e, "step") && e["phase"] == "started")
        .unwrap();
    assert!(found < started, "alerted before acting");
    assert_eq!(events[found]["severity"], "critical");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_refuses_three_replicas_on_an_exclusive_storage() {
    let sim = sim().await;
    let dir = scratch("inv-validate");
    let file = dir.join("langfuse.yaml");
    let text = example("enforce", "30s").replace(
        "singleton: true              # min = max = 1",
        "scale: { min: 3, max: 3 }",
    );
    std::fs::write(&file, text).unwrap();
    let out = operator(&sim, &["validate", file.to_str().unwrap()]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("langfuse.yaml:17:7"), "{stderr}");
    assert!(stderr.contains("singleton: true"), "{stderr}");
    sim.stop().await;
}

/// A day other than today and tomorrow (UTC), so a window on it is closed whenever this runs.
fn closed_day() -> &'static str {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    // 1970-01-01 was a Thursday (Monday = 0 → 3).
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][((days + 3 + 3) % 7) as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_window_on_the_dedicated_app_holds_the_whole_cutover() {
    let sim = sim().await; // the sidecar layout
    let dir = scratch("inv-window");
    let file = dir.join("langfuse.yaml");
    let text = example("enforce", "30s").replace(
        "        singleton: true              # min = max = 1",
        &format!(
            "        singleton: true\n        correctionWindow: {} 00:00-24:00 UTC",
            closed_day()
        ),
    );
    assert!(
        text.contains("correctionWindow"),
        "the example's singleton line changed"
    );
    std::fs::write(&file, text).unwrap();

    let (code, plan_text) = plan(&sim, &file);
    assert_eq!(code, Some(2), "{plan_text}");
    assert!(
        plan_text.contains("is one unit") && plan_text.contains("the whole unit waits"),
        "{plan_text}"
    );

    let before = requests(&sim).await.len();
    let out = operator(&sim, &["apply", "--once", "--yes", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    let log: Vec<Value> = requests(&sim).await.split_off(before);
    assert!(
        writes(&log).is_empty(),
        "the sidecar half ran alone: {:?}\n{}",
        writes(&log),
        String::from_utf8_lossy(&out.stdout)
    );
    let langfuse = app(&sim, scenario::LANGFUSE_APP).await;
    assert!(
        langfuse.to_string().contains("\"name\":\"clickhouse\""),
        "the sidecar is still there"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rollback_under_a_running_daemon_clickhouse_runs_again_without_overlap() {
    let (sim, file) = migrated("inv-rollback").await;
    let op = daemon(&sim, &file);
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    let out = operator(&sim, &["rollback", "--yes", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    // The daemon (target layout) migrates again; the dedicated app the rollback stopped is not
    // left at zero replicas: `running` alerts it and the revision is started again.
    op.wait_event("the not-running alert", T, |e| {
        is(e, "drift_found") && e["invariant"] == "running"
    })
    .await;
    op.wait_event("the reactivation", T, |e| {
        is(e, "step") && e["phase"] == "finished" && e["kind"] == "reactivate"
    })
    .await;
    let clean = |e: &Value| is(e, "pass") && e["drifts"] == 0;
    let before = op.events().iter().filter(|e| clean(e)).count();
    op.wait_events("a clean pass after", before + 1, T, clean).await;
    assert_eq!(running(&revisions(&sim, scenario::CLICKHOUSE_APP).await).len(), 1);
    no_operator_overlap(&sim).await;
    sim.stop().await;
}
