//! `run` reads the cache (the reflector): in steady state the simulator sees no per-app GET, and
//! secrets and revisions are read again only after a resync; a person's edit in the portal is
//! caught by the next resync (`--resync 2s`) and corrected.

use std::time::Duration;

use aca_e2e::*;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

fn is(e: &Value, event: &str) -> bool {
    e["event"] == event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steady_passes_send_no_per_app_get_and_a_resync_catches_a_portal_edit() {
    let sim = sim().await;
    let dir = scratch("reflector");
    migrate(&sim, &dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let op = Running::spawn(operator(
        &sim,
        &[
            "run",
            "-f",
            file.to_str().unwrap(),
            "--interval",
            "1s",
            "--resync",
            "2s",
        ],
    ));
    op.wait_event("a clean pass", T, |e| is(e, "pass") && e["drifts"] == 0)
        .await;
    // The first passes read secrets and revisions once; after a resync the cache is at rest.
    let resyncs = op.events().into_iter().filter(|e| is(e, "resync")).count();
    op.wait_events("a resync", resyncs + 1, T, |e| is(e, "resync")).await;
    let passes = op.events().into_iter().filter(|e| is(e, "pass")).count();
    op.wait_events("a pass", passes + 1, T, |e| is(e, "pass")).await;
    admin(&sim, reqwest::Method::DELETE, "/_sim/requests", None).await;
    let resyncs_before = op.events().into_iter().filter(|e| is(e, "resync")).count();
    let passes = op.events().into_iter().filter(|e| is(e, "pass")).count();
    let steady = op.wait_events("3 more passes", passes + 3, T, |e| is(e, "pass")).await;
    assert!(steady.iter().all(|e| e["drifts"] == 0), "steady: {steady:?}");
    let log = requests(&sim).await;
    let resyncs_during = op.events().into_iter().filter(|e| is(e, "resync")).count() - resyncs_before;
    let path = |r: &Value| r["path"].as_str().unwrap_or_default().to_ascii_lowercase();
    // `.../containerApps/{name}` itself: a GET of one app.
    let app_gets: Vec<String> = log
        .iter()
        .filter(|r| r["method"] == "GET" && path(r).contains("/resourcegroups/"))
        .map(path)
        .filter(|p| p.rsplit('/').nth(1) == Some("containerapps"))
        .collect();
    assert!(app_gets.is_empty(), "no per-app GET in steady state: {app_gets:#?}");
    // Secrets and revisions are read again only after a resync (their cache is dropped there):
    // two apps declare secrets, one mounts the storage.
    let secrets = log.iter().filter(|r| path(r).ends_with("/listsecrets")).count();
    let revisions = log.iter().filter(|r| path(r).ends_with("/revisions")).count();
    assert!(
        secrets <= 2 * (resyncs_during + 1) && revisions <= resyncs_during + 1,
        "{secrets} listSecrets and {revisions} revision lists over {resyncs_during} resyncs"
    );
    assert!(writes(&log).is_empty(), "{log:#?}");

    // A person scales ClickHouse in the portal: the next resync brings it, the next pass corrects it.
    let resyncs = op.events().into_iter().filter(|e| is(e, "resync")).count();
    person_patch(
        &sim,
        "langfuse-clickhouse",
        json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 3}}}}),
    )
    .await;
    let drift = op
        .wait_event("the scale drift corrected", T, |e| {
            is(e, "drift") && e["field"] == "apps.clickhouse.template.scale.maxReplicas" && e["action"] == "corrected"
        })
        .await;
    assert!(
        drift["changed_by"].as_str().unwrap().contains("alice@contoso.com"),
        "{drift}"
    );
    let events = op.events();
    let field = |e: &&Value| e["field"] == "apps.clickhouse.template.scale.maxReplicas";
    let found = events
        .iter()
        .position(|e| is(e, "drift_found") && field(&e))
        .expect("drift_found");
    let (at, resync) = events
        .iter()
        .enumerate()
        .filter(|(_, e)| is(e, "resync"))
        .nth(resyncs)
        .expect("a resync after the edit");
    assert!(at < found, "the edit reached the passes through a resync");
    assert!(resync["pages"].as_u64().unwrap() >= 3, "{resync}");
    let scale = &app(&sim, "langfuse-clickhouse").await["properties"]["template"]["scale"];
    assert_eq!(scale["maxReplicas"].as_u64(), Some(1));
}
