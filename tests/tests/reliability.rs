//! Reliability with the real binary: killed at random moments during the migration (20 seeded
//! iterations), and a person who keeps changing what the daemon keeps correcting.

use std::time::{Duration, Instant};

use aca_e2e::*;
use serde_json::json;

/// A deterministic "random" delay for iteration `seed`, in milliseconds.
fn delay_ms(seed: u64, max: u64) -> u64 {
    let mut x = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (x ^ (x >> 31)) % max
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_during_the_migration_20_times() {
    for seed in 0..20u64 {
        let sim = sim().await;
        let dir = scratch(&format!("random-kill-{seed}"));
        let file = dir.join("langfuse.yaml");
        std::fs::write(&file, example("enforce", "30s")).unwrap();
        let args = ["apply", "--once", "--yes", "-f", file.to_str().unwrap()];
        let mut first = Running::spawn(operator(&sim, &args));
        tokio::time::sleep(Duration::from_millis(delay_ms(seed, 2500))).await;
        first.signal("KILL");
        first.wait_exit(Duration::from_secs(5));
        // Start again until it reports success (a pass may meet an operation still running).
        let start = Instant::now();
        loop {
            let out = operator(&sim, &args).output().unwrap();
            if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Nothing to apply.") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "seed {seed}: no convergence: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let bad = overlap_started_by_operator(&sim, "clickhouse-data").await;
        assert!(bad.is_empty(), "seed {seed}: {bad:?}");
        let deletes = requests(&sim).await.iter().filter(|r| r["method"] == "DELETE").count();
        assert_eq!(deletes, 0);
        sim.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_keeps_scaling_clickhouse_meets_alerts_and_backoff_not_a_hammer() {
    let sim = sim().await;
    let dir = scratch("contested");
    migrate(&sim, &dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let op = Running::spawn(operator(
        &sim,
        &["run", "-f", file.to_str().unwrap(), "--interval", "1s"],
    ));
    op.wait_event("a clean pass", Duration::from_secs(30), |e| {
        e["event"] == "pass" && e["drifts"] == 0
    })
    .await;
    let log_start = requests(&sim).await.len();
    // Every 1.5 s for 15 s, a person sets ClickHouse to 2 replicas.
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        person_patch(
            &sim,
            "langfuse-clickhouse",
            json!({"properties": {"template": {"scale": {"minReplicas": 2, "maxReplicas": 2}}}}),
        )
        .await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let contested = op
        .wait_event("a contested alert", Duration::from_secs(5), |e| {
            e["event"] == "contested"
        })
        .await;
    assert_eq!(contested["app"], "clickhouse");
    assert!(contested["changed_by"].as_str().unwrap().contains("alice@contoso.com"));
    let alerts = op
        .events()
        .iter()
        .filter(|e| e["event"] == "drift" && e["field"] == "apps.clickhouse.template.scale.maxReplicas")
        .count();
    let held = op
        .events()
        .iter()
        .filter(|e| {
            e["event"] == "drift"
                && e["field"] == "apps.clickhouse.template.scale.maxReplicas"
                && e["action"] == "alerted"
        })
        .count();
    assert!(alerts >= 6, "passes keep alerting ({alerts})");
    assert!(held >= 2, "some passes only alerted while held ({held})");
    // Writes to ClickHouse: far fewer than the person's 10 edits would have caused (one recreate each).
    let patches = requests(&sim).await[log_start..]
        .iter()
        .filter(|r| r["method"] == "PATCH" && r["path"].as_str().unwrap().contains("langfuse-clickhouse"))
        .count();
    assert!(patches <= 6, "the operator backed off: {patches} PATCHes for 10 edits");
    sim.stop().await;
}
