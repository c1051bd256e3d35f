//! Leader fencing end to end, as an operator would try it: two `run` replicas, the simulator and
//! Azurite. A write the old leader was retrying must never land after the new leader's first write;
//! leadership signals must follow the lease, not the last success; a new leader corrects at once.
//! Figures are in docs/reliability.md ("Leader election").

mod lease;

use std::time::{Duration, Instant};

use aca_e2e::*;
use lease::*;
use serde_json::{Value, json};

const DECLARED_IMAGE: &str = "clickhouse/clickhouse-server:24.8-alpine";
const PERSON_IMAGE: &str = "clickhouse/clickhouse-server:24.3-alpine";

fn is_clickhouse_patch(r: &Value, status: u64, replica: &str) -> bool {
    r["method"] == "PATCH"
        && r["path"].as_str().unwrap_or_default().ends_with("/langfuse-clickhouse")
        && r["status"] == status
        && r["replica"] == replica
}

fn has_person_note(app: &Value) -> bool {
    app["properties"]["template"]["containers"][0]["env"]
        .as_array()
        .is_some_and(|env| env.iter().any(|e| e["name"] == "PERSON_NOTE"))
}

fn abandoned(e: &Value) -> bool {
    e["event"] == "pass" && e["error"].as_str().unwrap_or_default().contains("write abandoned")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_of_a_paused_leader_never_lands() {
    let (sim, _azurite, a, b) = leader_and_follower("ha-503-pause").await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "PATCH", "path": "containerApps/langfuse-clickhouse", "status": 503, "retryAfter": 2, "times": 1})),
    )
    .await;
    person_edits_clickhouse_container(&sim, |c| c["image"] = json!(PERSON_IMAGE)).await;

    // The leader's PATCH gets the 503 (the fault fired); it is paused during its Retry-After.
    wait_request(&sim, "the leader's 503", Duration::from_secs(30), |r| {
        is_clickhouse_patch(r, 503, "replica-a")
    })
    .await;
    a.signal("STOP");
    b.wait_event("the take-over", Duration::from_secs(40), |e| {
        e["event"] == "leader_elected"
    })
    .await;
    wait_clickhouse_image(&sim, DECLARED_IMAGE, Duration::from_secs(20)).await;
    let new_leader_first = first_write_of(&requests(&sim).await, "replica-b").expect("the new leader wrote");

    // A person edits the app; then the old leader resumes.
    person_edits_clickhouse_container(&sim, |c| {
        c["env"] = json!([{"name": "PERSON_NOTE", "value": "kept"}]);
    })
    .await;
    a.signal("CONT");
    a.wait_event("the old leader stepping down", Duration::from_secs(10), |e| {
        e["event"] == "leader_lost"
    })
    .await;
    // One more pass of the old leader, as a follower: anything it still had in flight is over.
    let passes = a.events().iter().filter(|e| e["event"] == "pass").count();
    a.wait_events("a pass after resuming", passes + 1, Duration::from_secs(10), |e| {
        e["event"] == "pass"
    })
    .await;

    let log = requests(&sim).await;
    let late = writes_of_since(&log, "replica-a", new_leader_first);
    assert!(late.is_empty(), "the old leader wrote after the new one: {late:?}");
    assert!(
        has_person_note(&app(&sim, "langfuse-clickhouse").await),
        "the person's edit was wiped"
    );
    assert!(
        overlap_started_by_operator(&sim, "clickhouse-data").await.is_empty(),
        "two revisions on the share"
    );
    // The retry was abandoned by the fence, not lost some other way.
    let gave_up = a
        .wait_event("the abandoned write", Duration::from_secs(10), abandoned)
        .await;
    assert!(gave_up["error"].as_str().unwrap().contains("lease"), "{gave_up}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_held_by_429_while_cut_off_from_storage_is_abandoned() {
    let sim = sim().await;
    let dir = scratch("ha-429-partition");
    migrate(&sim, &dir);
    let az = start_azurite(&dir);
    let proxy = StorageProxy::start(&az).await;
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let a = replica_via(&sim, &az, &proxy.url, &file, "replica-a", "1s");
    a.wait_event("a leader", Duration::from_secs(30), |e| e["event"] == "leader_elected")
        .await;
    let b = replica(&sim, &az, &file, "replica-b");
    b.wait_event("the follower observing", Duration::from_secs(30), |e| {
        e["event"] == "pass"
    })
    .await;

    // Every PATCH of ClickHouse is throttled for 25 s, longer than any lease window.
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "PATCH", "path": "containerApps/langfuse-clickhouse", "status": 429, "retryAfter": 25})),
    )
    .await;
    proxy.cut();
    let cut = Instant::now();
    person_edits_clickhouse_container(&sim, |c| c["image"] = json!(PERSON_IMAGE)).await;
    wait_request(&sim, "the leader's 429", Duration::from_secs(12), |r| {
        is_clickhouse_patch(r, 429, "replica-a")
    })
    .await;
    let lease_error = a
        .wait_event("the first failed renewal", Duration::from_secs(10), |e| {
            e["event"] == "lease_error"
        })
        .await;
    assert_eq!(lease_error["consecutive"], 1);
    let first_error_after = cut.elapsed();
    let lost = a
        .wait_event("the old leader stepping down", Duration::from_secs(15), |e| {
            e["event"] == "leader_lost"
        })
        .await;
    let lost_after = cut.elapsed();
    assert!(
        lost_after <= Duration::from_secs(15),
        "lost within the lease: {lost_after:?}"
    );
    let elected = b
        .wait_event("the take-over", Duration::from_secs(30), |e| {
            e["event"] == "leader_elected"
        })
        .await;
    // Never two leaders: the old one stepped down before the new one was elected.
    assert!(
        lost["timestamp"].as_str().unwrap() < elected["timestamp"].as_str().unwrap(),
        "{lost}\n{elected}"
    );
    let elected_after = cut.elapsed();
    admin(&sim, reqwest::Method::DELETE, "/_sim/faults", None).await;
    wait_clickhouse_image(&sim, DECLARED_IMAGE, Duration::from_secs(20)).await;
    let new_leader_first = first_write_of(&requests(&sim).await, "replica-b").expect("the new leader wrote");
    // Past the 25 s the throttled write would have waited: nothing came from the old leader.
    tokio::time::sleep(Duration::from_secs(25).saturating_sub(cut.elapsed())).await;

    let log = requests(&sim).await;
    let late = writes_of_since(&log, "replica-a", new_leader_first);
    assert!(late.is_empty(), "the old leader wrote after the new one: {late:?}");
    assert!(
        overlap_started_by_operator(&sim, "clickhouse-data").await.is_empty(),
        "two revisions on the share"
    );
    // The throttled write was abandoned by the fence at once, not retried 25 s later.
    let gave_up = a
        .wait_event("the abandoned write", Duration::from_secs(10), abandoned)
        .await;
    assert!(gave_up["error"].as_str().unwrap().contains("would wait"), "{gave_up}");
    println!(
        "429 then partition: lease_error after {first_error_after:?}, leader_lost after {lost_after:?}, new leader after {elected_after:?}; 0 late writes"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_storage_stopped_the_leader_flag_drops_within_the_lease() {
    let (sim, azurite, a, b) = leader_and_follower("ha-storage-stopped").await;
    let addr = health_addr(&a).await;
    assert_eq!(readyz(&addr).await, (200, true));
    assert_eq!(leader_gauge(&addr).await, 1);

    drop(azurite);
    let stopped = Instant::now();
    let error = a
        .wait_event("the first failed renewal", Duration::from_secs(15), |e| {
            e["event"] == "lease_error"
        })
        .await;
    let first_error_after = stopped.elapsed();
    assert_eq!(error["consecutive"], 1);
    assert!(
        error["error"].as_str().unwrap().starts_with("lease storage"),
        "the cause in our words: {error}"
    );
    a.wait_event("leadership dropping", Duration::from_secs(15), |e| {
        e["event"] == "leader_lost"
    })
    .await;
    let dropped_after = stopped.elapsed();
    assert!(
        dropped_after <= Duration::from_secs(15),
        "within the lease: {dropped_after:?}"
    );
    // A follower is ready; it only says it does not lead.
    assert_eq!(readyz(&addr).await, (200, false));
    assert_eq!(leader_gauge(&addr).await, 0);
    assert!(
        !b.events().iter().any(|e| e["event"] == "leader_elected"),
        "nobody can take a lease from stopped storage"
    );
    // renewals every 5 s, each answered within 3 s
    assert!(
        first_error_after <= Duration::from_secs(9),
        "first lease_error after {first_error_after:?}"
    );
    println!(
        "storage stopped: first lease_error after {first_error_after:?}, leader flag dropped after {dropped_after:?}"
    );
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_leader_corrects_at_once_not_at_its_next_interval() {
    let (sim, _azurite, mut a, b) = leader_and_follower_every("ha-kill-30s", "30s").await;
    a.signal("KILL");
    a.wait_exit(Duration::from_secs(5));
    let killed = Instant::now();
    scale_clickhouse(&sim, 2).await;
    b.wait_event("the take-over", Duration::from_secs(25), |e| {
        e["event"] == "leader_elected"
    })
    .await;
    let elected_after = killed.elapsed();
    b.wait_event("the pass on election", Duration::from_secs(2), |e| {
        e["event"] == "leader_pass"
    })
    .await;
    wait_scale_one(&sim, Duration::from_secs(15)).await;
    let corrected_after = killed.elapsed();
    // Lease (15 s) after the last renewal (at most 5 s before the kill) + a follower's try (2.5 s).
    assert!(
        elected_after <= Duration::from_secs(19),
        "elected {elected_after:?} after the kill"
    );
    // The correcting pass ran on election, well before the next interval (27-33 s after b's last).
    assert!(
        corrected_after <= Duration::from_secs(27),
        "corrected {corrected_after:?} after the kill"
    );
    println!("leader killed: new leader after {elected_after:?}, drift corrected after {corrected_after:?}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_releases_the_lease_and_the_follower_takes_over_at_once() {
    let (sim, _azurite, mut a, b) = leader_and_follower("ha-sigterm").await;
    a.signal("TERM");
    let stopped = Instant::now();
    let status = a.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    assert!(
        a.events().iter().any(|e| e["event"] == "leader_released"),
        "no leader_released in:\n{}",
        a.logs.lock().unwrap().join("\n")
    );
    b.wait_event("the take-over", Duration::from_secs(10), |e| {
        e["event"] == "leader_elected"
    })
    .await;
    // The follower tries every sixth of the lease (2.5 s): no waiting for the lease to expire.
    let after = stopped.elapsed();
    assert!(after <= Duration::from_secs(6), "taken over {after:?} after SIGTERM");
    println!("SIGTERM: taken over after {after:?}");
    sim.stop().await;
}
