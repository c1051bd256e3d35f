//! High availability end to end: two operator replicas against the simulator and Azurite (the Azure
//! Storage emulator, installed from the npm registry by the test itself when missing), competing for
//! a blob lease. The simulator's request log (each request tagged with its replica) must show writes
//! from one replica at a time, and none from a replica after it lost the lease.

mod lease;

use std::time::{Duration, Instant};

use aca_e2e::*;
use lease::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_takes_over_when_the_leader_is_killed() {
    let (sim, _azurite, mut a, b) = leader_and_follower("ha-kill").await;

    // While the leader is briefly paused (well inside its lease), the follower sees the drift and
    // only alerts; the leader, resumed, corrects it.
    a.signal("STOP");
    scale_clickhouse(&sim, 2).await;
    let alert = b
        .wait_event("the follower's alert", Duration::from_secs(10), |e| {
            e["event"] == "drift" && e["field"] == "apps.clickhouse.template.scale.maxReplicas"
        })
        .await;
    assert_eq!(alert["action"], "alerted", "a follower never corrects");
    a.signal("CONT");
    wait_scale_one(&sim, Duration::from_secs(20)).await;

    a.signal("KILL");
    a.wait_exit(Duration::from_secs(5));
    let killed = Instant::now();
    b.wait_event("the take-over", Duration::from_secs(30), |e| {
        e["event"] == "leader_elected"
    })
    .await;
    assert!(
        killed.elapsed() <= Duration::from_secs(25),
        "took over within the lease period: {:?}",
        killed.elapsed()
    );
    scale_clickhouse(&sim, 3).await;
    wait_scale_one(&sim, Duration::from_secs(20)).await;

    let w = writes_by(&requests(&sim).await);
    assert!(
        w.iter().any(|(_, r)| r == "replica-a") && w.iter().any(|(_, r)| r == "replica-b"),
        "{w:?}"
    );
    assert_one_writer_at_a_time(&w);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_is_fenced_and_writes_nothing_after_it_resumes() {
    let (sim, _azurite, a, b) = leader_and_follower("ha-pause").await;

    a.signal("STOP");
    b.wait_event("the take-over", Duration::from_secs(40), |e| {
        e["event"] == "leader_elected"
    })
    .await;
    scale_clickhouse(&sim, 2).await;
    wait_scale_one(&sim, Duration::from_secs(20)).await;

    let resumed_at = requests(&sim)
        .await
        .last()
        .map(|r| r["atMs"].as_u64().unwrap())
        .unwrap_or(0);
    a.signal("CONT");
    a.wait_event("the old leader stepping down", Duration::from_secs(30), |e| {
        e["event"] == "leader_lost"
    })
    .await;
    scale_clickhouse(&sim, 3).await;
    wait_scale_one(&sim, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let log = requests(&sim).await;
    let w = writes_by(&log);
    let after: Vec<&(u64, String)> = w
        .iter()
        .filter(|(at, r)| *at >= resumed_at && r == "replica-a")
        .collect();
    assert!(after.is_empty(), "the resumed old leader wrote: {after:?}");
    assert_one_writer_at_a_time(&w);
    // It kept observing: reads from replica-a after it resumed.
    assert!(
        log.iter()
            .any(|r| r["replica"] == "replica-a" && r["atMs"].as_u64().unwrap() >= resumed_at)
    );
    sim.stop().await;
}
