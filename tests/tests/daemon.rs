//! The `run` daemon end to end: the real binary against the simulator over loopback.

use std::time::Duration;

use aca_e2e::*;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);

fn is(e: &Value, event: &str) -> bool {
    e["event"] == event
}

/// A simulator in the target layout and a daemon on it (interval 1 s), after its first clean pass.
async fn migrated_daemon(name: &str, mode: &str, extra: &[&str]) -> (aca_sim::Simulator, Running, std::path::PathBuf) {
    let sim = sim().await;
    let dir = scratch(name);
    migrate(&sim, &dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example(mode, "1s")).unwrap();
    let op = Running::spawn(operator(&sim, &run_args(file.to_str().unwrap(), extra)));
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    (sim, op, file)
}

fn run_args<'a>(file: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    // `--resync 1s`: a person's edit reaches the cache the passes read within a second.
    let mut args = vec![
        "run",
        "-f",
        file,
        "--interval",
        "1s",
        "--resync",
        "1s",
        "--reload-interval",
        "200ms",
    ];
    args.extend_from_slice(extra);
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_scales_clickhouse_to_3_and_it_is_alerted_and_corrected() {
    let (sim, op, _) = migrated_daemon("scale", "enforce", &[]).await;

    person_patch(
        &sim,
        "langfuse-clickhouse",
        json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 3}}}}),
    )
    .await;
    let drift = op
        .wait_event("the scale drift", T, |e| {
            is(e, "drift") && e["field"] == "apps.clickhouse.template.scale.maxReplicas"
        })
        .await;
    assert_eq!(
        drift["level"], "ERROR",
        "a singleton with 3 replicas is critical: {drift}"
    );
    assert_eq!(drift["severity"], "critical");
    assert_eq!(drift["live"], "3");
    assert_eq!(drift["desired"], "1");
    assert!(
        drift["changed_by"].as_str().unwrap().contains("alice@contoso.com"),
        "{drift}"
    );
    assert_eq!(drift["action"], "corrected");
    let scale = &app(&sim, "langfuse-clickhouse").await["properties"]["template"]["scale"];
    assert_eq!(
        (scale["minReplicas"].as_u64(), scale["maxReplicas"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        overlap_started_by_operator(&sim, "clickhouse-data").await.is_empty(),
        "recreate kept the share exclusive"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observe_mode_alerts_and_never_writes() {
    let (sim, op, _) = migrated_daemon("observe", "observe", &[]).await;
    let before = requests(&sim).await.len();

    person_patch(
        &sim,
        "langfuse-clickhouse",
        json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 3}}}}),
    )
    .await;
    let drifts = op
        .wait_events("two alerted passes", 2, T, |e| {
            is(e, "drift") && e["field"] == "apps.clickhouse.template.scale.maxReplicas"
        })
        .await;
    assert!(drifts.iter().all(|d| d["action"] == "alerted"), "{drifts:?}");
    let after: Vec<Value> = requests(&sim).await.split_off(before);
    assert!(writes(&after).is_empty(), "observe mode wrote: {:?}", writes(&after));
    assert_eq!(
        app(&sim, "langfuse-clickhouse").await["properties"]["template"]["scale"]["maxReplicas"],
        3
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undeclared_fields_are_left_alone_and_steady_state_only_reads() {
    // The read budget below is the polling mode's (`--cache off`); the cache's steady state
    // (no per-app read at all) is tests/tests/reflector.rs.
    let (sim, op, _) = migrated_daemon(
        "steady",
        "enforce",
        &["--listen-metrics", "127.0.0.1:0", "--cache", "off"],
    )
    .await;

    // A pipeline bumps the Langfuse image and a person adds a tag: neither is declared.
    let live = app(&sim, "langfuse").await;
    let mut containers = live["properties"]["template"]["containers"].clone();
    containers[0]["image"] = json!("langfuse/langfuse:3.99");
    person_patch(
        &sim,
        "langfuse",
        json!({"tags": {"owner": "team-a"}, "properties": {"template": {"containers": containers}}}),
    )
    .await;
    // Two more passes: the second one started after the edit, so it read it.
    let edited = op.events().iter().filter(|e| is(e, "pass")).count();
    op.wait_events("two passes after the edit", edited + 2, T, |e| is(e, "pass"))
        .await;

    // Start counting right after a pass ended (passes are 1 s apart), so no pass counted below
    // made requests before the log was read.
    let passes_before = op.events().iter().filter(|e| is(e, "pass")).count() + 1;
    op.wait_events("a pass to end", passes_before, T, |e| is(e, "pass"))
        .await;
    let log_before = requests(&sim).await.len();
    op.wait_events("three more passes", passes_before + 3, T, |e| is(e, "pass"))
        .await;
    let passes_after = op.events().iter().filter(|e| is(e, "pass")).count();
    let log: Vec<Value> = requests(&sim).await.split_off(log_before);

    assert!(
        op.events()
            .iter()
            .filter(|e| is(e, "pass"))
            .skip(passes_before)
            .all(|e| e["drifts"] == 0),
        "no drift for undeclared fields"
    );
    assert!(writes(&log).is_empty(), "steady state wrote: {:?}", writes(&log));
    assert_eq!(
        app(&sim, "langfuse").await["properties"]["template"]["containers"][0]["image"],
        "langfuse/langfuse:3.99"
    );

    // Per pass: the environment, its storages, one GET per declared app, listSecrets for each app
    // declaring secrets (Langfuse, and ClickHouse for its password), and for the invariants one
    // LIST of the environment's apps and the revisions of ClickHouse (the only app on a declared
    // storage).
    let passes = (passes_after - passes_before) as f64;
    let count = |pred: &dyn Fn(&Value) -> bool| log.iter().filter(|r| pred(r)).count() as f64 / passes;
    let path = |r: &Value| r["path"].as_str().unwrap_or_default().to_string();
    let app_gets =
        count(&|r| r["method"] == "GET" && path(r).contains("/containerApps/") && !path(r).contains("/revisions"));
    let secrets = count(&|r| path(r).ends_with("/listSecrets"));
    let revisions = count(&|r| path(r).contains("/revisions"));
    let lists = count(&|r| r["method"] == "GET" && path(r).ends_with("/containerApps"));
    assert!(
        (1.5..=2.5).contains(&app_gets),
        "about 2 app GETs per pass, got {app_gets}"
    );
    assert!(
        (1.5..=2.5).contains(&secrets),
        "about 2 listSecrets per pass (both apps declare secrets), got {secrets}"
    );
    assert!(
        (0.5..=1.5).contains(&revisions),
        "about 1 revision list per pass (ClickHouse only), got {revisions}"
    );
    assert!((0.5..=1.5).contains(&lists), "about 1 app list per pass, got {lists}");

    // Metrics are served.
    let addr = op.events().into_iter().find(|e| is(e, "listening")).unwrap()["addr"]
        .as_str()
        .unwrap()
        .to_string();
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("aca_reconcile_passes_total"), "{metrics}");
    assert!(metrics.contains("aca_arm_requests_total"));
    // One pass-duration histogram for the fleet, not one per stack.
    assert!(metrics.contains("aca_reconcile_duration_seconds_count "), "{metrics}");
    assert!(!metrics.contains("aca_reconcile_duration_seconds_count{"), "{metrics}");
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_new_file_is_refused_and_the_old_state_still_enforced() {
    let (sim, op, file) = migrated_daemon("reload", "enforce", &[]).await;

    std::fs::write(
        &file,
        example("enforce", "1s").replace("singleton: true", "singleton: true\n        scale: { min: 1, max: 3 }"),
    )
    .unwrap();
    let rejected = op.wait_event("the refusal", T, |e| is(e, "config_rejected")).await;
    assert!(rejected["reason"].as_str().unwrap().contains("singleton"), "{rejected}");
    assert_eq!(rejected["level"], "ERROR");

    person_patch(
        &sim,
        "langfuse-clickhouse",
        json!({"properties": {"template": {"scale": {"minReplicas": 2, "maxReplicas": 2}}}}),
    )
    .await;
    op.wait_event("a correction under the old state", T, |e| {
        is(e, "drift") && e["field"] == "apps.clickhouse.template.scale.maxReplicas" && e["action"] == "corrected"
    })
    .await;
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly() {
    let sim = sim().await;
    let dir = scratch("sigterm");
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let mut op = Running::spawn(operator(
        &sim,
        &run_args(file.to_str().unwrap(), &["--shutdown-timeout", "10s"]),
    ));
    op.wait_event("the start", T, |e| is(e, "started")).await;
    // Signal in the middle of the migration: once its first write reached ARM.
    let deadline = std::time::Instant::now() + T;
    while writes(&requests(&sim).await).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no write within {T:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    op.signal("TERM");
    let status = op.wait_exit(Duration::from_secs(15));
    assert!(status.success(), "{status:?}");
    assert!(
        op.events()
            .iter()
            .any(|e| is(e, "shutdown") && e["signal"] == "SIGTERM")
    );
    assert!(op.events().iter().any(|e| is(e, "stopped")));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_against_the_sidecar_layout_shows_drift_and_steps_and_writes_nothing() {
    let sim = sim().await;
    let file = repo().join("deploy/examples/langfuse.yaml");
    let out = operator(&sim, &["plan", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "drift found: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("! template.containers.clickhouse: present -> (absent)"),
        "{stdout}"
    );
    assert!(stdout.contains("+ create"), "{stdout}");
    assert!(
        stdout.contains("1. snapshot the share behind storage `clickhouse-data`"),
        "{stdout}"
    );
    assert!(stdout.contains("4. create apps.clickhouse"), "{stdout}");
    assert!(!stdout.contains(aca_sim::scenario::SIDECAR_CLICKHOUSE_PASSWORD));
    assert!(writes(&requests(&sim).await).is_empty());

    let out = operator(&sim, &["plan", "-f", file.to_str().unwrap(), "--output", "json"])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<&str> = doc["stacks"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["snapshot", "update", "wait-no-mount", "create", "wait-running"]);
    assert!(
        doc["stacks"][0]["drifts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["severity"] == "critical")
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_exit_codes_for_no_drift_and_errors() {
    let sim = sim().await;
    let dir = scratch("exitcodes");
    migrate(&sim, &dir);
    let file = dir.join("target.yaml");
    let out = operator(&sim, &["plan", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no drift"));

    let bad = repo().join("crates/model/tests/fixtures/three-errors.yaml");
    let out = operator(&sim, &["plan", "-f", bad.to_str().unwrap()]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing was sent to ARM"));

    // An HTTP endpoint that is not loopback is refused before anything is sent.
    let out = operator(
        &sim,
        &[
            "plan",
            "-f",
            file.to_str().unwrap(),
            "--arm-endpoint",
            "http://management.azure.com",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("HTTPS"));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn between_passes_the_daemon_is_idle() {
    // Regression: a closed channel in a select loop once spun a core between passes. Every
    // background task (controller, resync, leadership) must wait, not poll.
    let sim = sim().await;
    let dir = scratch("idle");
    migrate(&sim, &dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "30s")).unwrap();
    let op = Running::spawn(operator(&sim, &["run", "-f", file.to_str().unwrap()]));
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    let before = cpu_seconds(op.child.id());
    tokio::time::sleep(Duration::from_secs(3)).await;
    let used = cpu_seconds(op.child.id()) - before;
    assert!(used < 0.5, "the idle daemon used {used:.2} CPU seconds in 3 s");
    // Regression: a sole replica (no election) once announced "leadership gained" at start and
    // ran every stack a second time right after its first pass.
    let events = op.events();
    let passes: Vec<&Value> = events.iter().filter(|e| is(e, "pass")).collect();
    assert_eq!(passes.len(), 1, "one pass at start, the next after 30 s: {passes:?}");
    assert_eq!(passes[0]["cause"], "start");
    assert!(
        !events.iter().any(|e| is(e, "leader_pass")),
        "no leadership change without an election"
    );
}
