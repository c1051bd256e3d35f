//! `aca-operator plan` states the cutover's expected outage, from the revision timings the
//! simulator shows (`--revision-start-ms`/`--overlap-ms` as `SimConfig`), checked against the
//! simulator's own revision history.

use std::time::{Duration, Instant};

use aca_e2e::*;
use aca_sim::{SimConfig, Simulator};
use serde_json::{Value, json};

fn plan(sim: &Simulator) -> String {
    let file = repo().join("deploy/examples/langfuse.yaml");
    let out = operator(sim, &["plan", "-f", file.to_str().unwrap()]).output().unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "the sidecar layout drifts:\n{text}");
    text
}

/// The seconds in `about N s (T0→T2)`.
fn wired_seconds(plan: &str) -> f64 {
    let at = plan
        .find(" s (T0→T2)")
        .unwrap_or_else(|| panic!("no expected window:\n{plan}"));
    let head = &plan[..at];
    head[head.rfind("about ").unwrap() + 6..].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_states_the_expected_outage_from_the_revision_start_times() {
    let sim = aca_e2e::sidecar_sim(SimConfig {
        lro_duration: Duration::from_millis(200),
        revision_start: Duration::from_millis(1500),
        overlap: Duration::from_millis(500),
        ..fast_sim()
    })
    .await;
    // No revision was ever replaced: the stated default.
    let first = plan(&sim);
    assert!(first.contains("no replaced revision observed: assumed 60 s"), "{first}");
    assert_eq!(wired_seconds(&first), 120.0);

    // Someone changes Langfuse's template: a second revision replaces the first.
    person_patch(
        &sim,
        "langfuse",
        json!({"properties": {"template": {"revisionSuffix": "timing"}}}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = plan(&sim);
        if text.contains("to the old one's lastActiveTime") {
            break text;
        }
        assert!(Instant::now() < deadline, "never observed the replacement:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let history = admin(&sim, reqwest::Method::GET, "/_sim/revisions", None).await;
    let langfuse: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["app"] == "langfuse")
        .collect();
    assert_eq!(langfuse.len(), 2, "{history:#}");
    let ms = |v: &Value| v.as_u64().unwrap() as f64;
    let replaced = (ms(&langfuse[0]["runningUntilMs"]) - ms(&langfuse[1]["createdMs"])) / 1000.0;
    assert!(replaced >= 2.0, "the revision start and the overlap: {replaced} s");
    // No ClickHouse app yet: both halves take Langfuse's figure, printed to 0.1 s.
    let wired = wired_seconds(&text);
    assert!(
        (wired - 2.0 * replaced).abs() <= 0.11,
        "plan expects {wired} s, the simulator's history gives 2 × {replaced} s:\n{text}"
    );
    sim.stop().await;
}
