//! The client's retries and throttling against the simulator: transient statuses and dropped
//! connections retried, a 400 never, 429 with `Retry-After` honoured, the client-side throttle
//! keeping ARM from answering 429 at all.

mod common;

use std::time::Duration;

use aca_arm::{ArmClient, ArmError, ThrottleSettings};
use aca_sim::{BucketConfig, SimConfig};
use serde_json::{Value, json};

use common::*;

#[tokio::test(start_paused = true)]
async fn retries_a_503_then_succeeds() {
    let sim = sim(fast_sim()).await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "GET", "path": "containerApps/langfuse", "status": 503, "retryAfter": 0, "times": 2})),
    )
    .await;
    let c = client(&sim);
    c.get_container_app(&app_id("langfuse")).await.unwrap();
    let statuses: Vec<u64> = request_log(&sim)
        .await
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, vec![503, 503, 200]);
    assert_faults_fired(&sim);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn survives_a_dropped_connection() {
    let sim = sim(fast_sim()).await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "GET", "path": "containerApps/langfuse", "dropConnection": true, "times": 1})),
    )
    .await;
    client(&sim).get_container_app(&app_id("langfuse")).await.unwrap();
    assert_eq!(request_log(&sim).await.len(), 2, "one cut, one retried");
    assert_faults_fired(&sim);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn never_retries_a_400() {
    let sim = sim(fast_sim()).await;
    let c = client(&sim);
    let bad = json!({"properties": {"template": {"scale": {"minReplicas": 5, "maxReplicas": 1}}}});
    let err = c.update_container_app(&app_id("langfuse"), &bad).await.unwrap_err();
    assert!(
        matches!(&err, ArmError::BadRequest { status: 400, code, .. } if code == "ContainerAppInvalidScaleSettings"),
        "{err:?}"
    );
    assert_eq!(request_log(&sim).await.len(), 1);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn honours_429_and_retry_after() {
    let config = SimConfig {
        reads: BucketConfig {
            capacity: 2.0,
            per_second: 1.0,
        },
        ..fast_sim()
    };
    let sim = sim(config).await;
    let mut cfg = config_for(&sim);
    cfg.throttle = None; // the server's throttle is what this test exercises
    let c = ArmClient::new(cfg).unwrap();
    for _ in 0..3 {
        c.get_container_app(&app_id("langfuse")).await.unwrap();
    }
    let log = request_log(&sim).await;
    let throttled: Vec<&Value> = log.iter().filter(|r| r["status"] == 429).collect();
    assert!(!throttled.is_empty(), "the bucket emptied");
    // The retry came no sooner than Retry-After (1 s) after the 429.
    let i = log.iter().position(|r| r["status"] == 429).unwrap();
    let gap = log[i + 1]["atMs"].as_u64().unwrap() - log[i]["atMs"].as_u64().unwrap();
    assert!(gap >= 950, "retried after {gap} ms");
    assert_eq!(log.last().unwrap()["status"], 200);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_client_throttle_avoids_429s() {
    let config = SimConfig {
        reads: BucketConfig {
            capacity: 5.0,
            per_second: 20.0,
        },
        ..fast_sim()
    };
    let sim = sim(config).await;
    let mut cfg = config_for(&sim);
    cfg.throttle = Some(ThrottleSettings {
        reads_per_second: 18.0,
        read_burst: 5.0,
        ..ThrottleSettings::default()
    });
    let c = ArmClient::new(cfg).unwrap();
    for _ in 0..20 {
        c.get_container_app(&app_id("langfuse")).await.unwrap();
    }
    let log = request_log(&sim).await;
    assert_eq!(log.len(), 20);
    assert!(log.iter().all(|r| r["status"] == 200), "no 429");
    assert!(c.stats().throttle_wait() > Duration::ZERO, "the client waited instead");
    sim.stop().await;
}
