//! The watch end to end: the real binary with `--events-queue`, the simulator publishing Event
//! Grid events into Azurite's queue service (HTTPS, OAuth), and faults on those events.

mod lease;

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use aca_e2e::azurite::{QueueService, emulator_token};
use aca_e2e::*;

/// The simulator in the target layout, publishing into a fresh Azurite queue; the operator running
/// with `--events-queue` at `interval`, its first pass done.
async fn setup(name: &str, interval: &str, extra: &[&str]) -> (aca_sim::Simulator, QueueService, Running) {
    let sim = sim().await;
    let dir = scratch(name);
    migrate(&sim, &dir);
    let queue = QueueService::start(&dir);
    queue.create_queue().await;
    sim.publish_events(aca_sim::events::EventsTarget {
        queue_url: queue.url(),
        token: Some(emulator_token()),
        ca_cert: Some(queue.ca.clone()),
    })
    .unwrap();
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "30s")).unwrap();
    let mut cmd = operator(
        &sim,
        &[
            "run",
            "-f",
            file.to_str().unwrap(),
            "--interval",
            interval,
            "--initial-spread",
            "0s",
            "--listen-metrics",
            "127.0.0.1:0",
        ]
        .into_iter()
        .chain(extra.iter().copied())
        .collect::<Vec<_>>(),
    );
    cmd.env("ACA_STATIC_TOKEN", emulator_token())
        .env("ACA_CA_CERT", &queue.ca)
        .env("ACA_EVENTS_QUEUE", queue.url());
    let op = Running::spawn(cmd);
    op.wait_event("the first pass", Duration::from_secs(30), |e| e["event"] == "pass")
        .await;
    (sim, queue, op)
}

/// A person scales the Langfuse app in the portal (declared `max: 10`; one PATCH corrects it).
async fn scale_langfuse(sim: &aca_sim::Simulator, max: u32) {
    person_patch(
        sim,
        "langfuse",
        json!({"properties": {"template": {"scale": {"maxReplicas": max}}}}),
    )
    .await;
}

/// Waits until the Langfuse app is back at `maxReplicas: 10`.
async fn wait_langfuse_corrected(sim: &aca_sim::Simulator, within: Duration) {
    let start = Instant::now();
    while app(sim, "langfuse").await["properties"]["template"]["scale"]["maxReplicas"] != 10 {
        assert!(
            start.elapsed() < within,
            "the drift was not corrected within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn event_faults(sim: &aca_sim::Simulator, faults: Value) {
    admin(sim, reqwest::Method::POST, "/_sim/event-faults", Some(faults)).await;
}

/// The operator's writes at or after `from_ms` (simulator clock).
fn writes_since(log: &[Value], from_ms: u64) -> Vec<Value> {
    writes(log)
        .into_iter()
        .filter(|r| r["atMs"].as_u64().unwrap() >= from_ms)
        .collect()
}

fn now_ms(log: &[Value]) -> u64 {
    log.iter().filter_map(|r| r["atMs"].as_u64()).max().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_portal_edit_is_corrected_within_three_seconds_by_its_event_alone() {
    // A 10-minute interval: only the event can start a pass within the test.
    let (sim, _queue, op) = setup("events-edit", "10m", &[]).await;
    let edited = Instant::now();
    scale_langfuse(&sim, 3).await;
    wait_langfuse_corrected(&sim, Duration::from_secs(3)).await;
    assert!(edited.elapsed() < Duration::from_secs(3));
    let drift = op
        .wait_event("the drift alerted", Duration::from_secs(1), |e| {
            e["event"] == "drift_found" && e["field"] == "apps.langfuse.template.scale.maxReplicas"
        })
        .await;
    assert!(drift["cause"].as_str().unwrap_or_default().contains("watch"), "{drift}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicated_reordered_and_poison_events_cost_no_extra_writes_and_leave_the_queue_empty() {
    let (sim, queue, op) = setup("events-faults", "10m", &[]).await;
    let langfuse = "containerApps/langfuse";
    event_faults(
        &sim,
        json!([
            {"path": langfuse, "action": "reorder", "times": 1},
            {"path": langfuse, "action": "duplicate", "times": 1},
            {"path": langfuse, "action": "poison", "times": 1},
        ]),
    )
    .await;
    let from = now_ms(&requests(&sim).await);
    // Held back (reorder), then duplicated and then preceded by a poison message.
    scale_langfuse(&sim, 3).await;
    scale_langfuse(&sim, 4).await;
    scale_langfuse(&sim, 5).await;
    wait_langfuse_corrected(&sim, Duration::from_secs(5)).await;
    op.wait_event("the poison logged", Duration::from_secs(5), |e| {
        e["event"] == "event_poison"
    })
    .await;
    // Let every event (and the operator's own write's event) be handled.
    let start = Instant::now();
    while queue.messages().await > 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "the queue did not drain");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let faults = admin(&sim, reqwest::Method::GET, "/_sim/event-faults", None).await;
    for f in faults.as_array().unwrap() {
        assert_eq!(f["fired"], 1, "every event fault fired: {faults}");
    }
    let writes = writes_since(&requests(&sim).await, from);
    assert_eq!(writes.len(), 1, "one correction, however many events: {writes:#?}");
    let poison = op.events().into_iter().find(|e| e["event"] == "event_poison").unwrap();
    assert!(
        poison["message_id"].is_string() && poison["dequeue_count"] == 1,
        "{poison}"
    );
    let logs = op.logs.lock().unwrap().join("\n");
    assert!(
        !logs.contains("not\\\": \\\"an event") && !logs.contains("eyJub3Qi"),
        "a body was logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_event_is_caught_by_the_resync_alone() {
    // A 10-minute interval: without the event, only the resync (which refills the cache and
    // then runs every stack) can find the edit within the test.
    let (sim, _queue, op) = setup("events-dropped", "10m", &["--resync", "2s"]).await;
    event_faults(
        &sim,
        json!({"path": "containerApps/langfuse", "action": "drop", "times": 1}),
    )
    .await;
    scale_langfuse(&sim, 3).await;
    wait_langfuse_corrected(&sim, Duration::from_secs(10)).await;
    let faults = admin(&sim, reqwest::Method::GET, "/_sim/event-faults", None).await;
    assert_eq!(faults[0]["fired"], 1, "the edit's event was dropped: {faults}");
    let drift = op
        .wait_event("the drift alerted", Duration::from_secs(1), |e| {
            e["event"] == "drift_found" && e["field"] == "apps.langfuse.template.scale.maxReplicas"
        })
        .await;
    // The causes name what asked for the run since the last one (the 10-minute requeue is
    // pending too); the resync is what ran it, and no event did.
    let cause = drift["cause"].as_str().unwrap_or_default();
    assert!(
        cause.split('+').any(|c| c == "resync") && !cause.contains("watch"),
        "found by the resync, not an event: {drift}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_queue_down_passes_go_on_it_is_said_once_and_events_return_after() {
    let (sim, mut queue, op) = setup("events-outage", "2s", &["--resync", "2s"]).await;
    queue.stop();
    op.wait_event("the outage reported", Duration::from_secs(10), |e| {
        e["event"] == "events_degraded"
    })
    .await;
    let passes_before = op.events().iter().filter(|e| e["event"] == "pass").count();
    // Passes go on, on the interval.
    op.wait_events("passes", passes_before + 2, Duration::from_secs(10), |e| {
        e["event"] == "pass"
    })
    .await;
    queue.restart();
    // Azurite may not have saved the queue itself before it was killed.
    queue.create_queue().await;
    op.wait_event("the recovery", Duration::from_secs(40), |e| {
        e["event"] == "events_recovered"
    })
    .await;
    let degraded = op.events().iter().filter(|e| e["event"] == "events_degraded").count();
    assert_eq!(degraded, 1, "one warning per outage");
    // An edit now reaches the operator through the queue again.
    let addr = lease::health_addr(&op).await;
    let decoded = metric(&addr, "aca_events_decoded_total").await;
    assert_eq!(metric(&addr, "aca_events_degraded").await, 0);
    scale_langfuse(&sim, 3).await;
    let start = Instant::now();
    while metric(&addr, "aca_events_decoded_total").await <= decoded {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no event decoded after the recovery"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A metric's value from the operator's `/metrics`.
async fn metric(addr: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}
