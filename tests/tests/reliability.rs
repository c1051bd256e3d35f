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

/// The contest wired into the daemon, step by step on its events (the backoff's arithmetic is tested
/// on an injected clock in `crates/operator/src/contest.rs`): three corrections start a hold, held
/// passes alert and do not write, and the hold ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_who_keeps_scaling_clickhouse_meets_alerts_and_backoff_not_a_hammer() {
    const T: Duration = Duration::from_secs(30);
    let sim = sim().await;
    let dir = scratch("contested");
    migrate(&sim, &dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "2s")).unwrap();
    let op = Running::spawn(operator(
        &sim,
        &[
            "run",
            "-f",
            file.to_str().unwrap(),
            "--interval",
            "2s",
            "--resync",
            "2s",
        ],
    ));
    op.wait_event("a clean pass", T, |e| e["event"] == "pass" && e["drifts"] == 0)
        .await;
    let scale = |action: &'static str| {
        move |e: &serde_json::Value| {
            e["event"] == "drift" && e["field"] == "apps.clickhouse.template.scale.maxReplicas" && e["action"] == action
        }
    };
    let edit = || {
        person_patch(
            &sim,
            "langfuse-clickhouse",
            json!({"properties": {"template": {"scale": {"minReplicas": 2, "maxReplicas": 2}}}}),
        )
    };

    // Three edits, each corrected by a pass: three corrections within 10 intervals start a hold.
    for n in 1..=3 {
        edit().await;
        op.wait_events("a correction", n, T, scale("corrected")).await;
    }
    let contested = op
        .wait_event("a contested alert", T, |e| e["event"] == "contested")
        .await;
    assert_eq!(contested["app"], "clickhouse");
    assert!(contested["changed_by"].as_str().unwrap().contains("alice@contoso.com"));
    assert_eq!(contested["hold_seconds"], 10, "5 intervals of 2 s: {contested}");

    // Held: the next edit is alerted at every pass, and nothing is written to ClickHouse.
    let log_start = requests(&sim).await.len();
    let corrected = op.events().iter().filter(|e| scale("corrected")(e)).count();
    edit().await;
    op.wait_events("two held passes", 2, T, scale("alerted")).await;
    let patches = requests(&sim).await[log_start..]
        .iter()
        .filter(|r| r["method"] == "PATCH" && r["path"].as_str().unwrap().contains("langfuse-clickhouse"))
        .count();
    assert_eq!(patches, 0, "a held app is not corrected");

    // When the hold ends, the desired state is restored.
    op.wait_events("the correction after the hold", corrected + 1, T, scale("corrected"))
        .await;
    sim.stop().await;
}
