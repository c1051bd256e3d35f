//! File shares (ETags, snapshots), environments and storages, and ARM's throttle.

mod common;

use std::time::{Duration, Instant};

use aca_sim::{BucketConfig, SimConfig};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn share_path() -> String {
    aca_sim::scenario::share_id()
}

async fn storage_call(
    s: &Sim,
    method: Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> reqwest::Response {
    let sep = if path.contains('?') { '&' } else { '?' };
    let mut req = s
        .http
        .request(method, s.url(&format!("{path}{sep}api-version=2025-06-01")))
        .bearer_auth("t");
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn file_shares_have_etags_and_a_stale_if_match_is_412() {
    let s = start(Some("sidecar"), fast_config()).await;
    let resp = storage_call(&s, Method::GET, &share_path(), None, None).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let etag = header(&resp, "etag").unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["etag"], etag);

    let resp = storage_call(
        &s,
        Method::PUT,
        &share_path(),
        Some(&etag),
        Some(&json!({"properties": {"shareQuota": 100}})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let new_etag = header(&resp, "etag").unwrap();
    assert_ne!(new_etag, etag, "a write moves the ETag");

    let resp = storage_call(
        &s,
        Method::PUT,
        &format!("{}?$expand=snapshots", share_path()),
        Some(&etag),
        Some(&json!({})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "ConditionNotMet");
    s.sim.stop().await;
}

#[tokio::test]
async fn snapshots_are_created_and_listed_with_expand() {
    let s = start(Some("sidecar"), fast_config()).await;
    let etag = header(&storage_call(&s, Method::GET, &share_path(), None, None).await, "etag").unwrap();
    let resp = storage_call(
        &s,
        Method::PUT,
        &format!("{}?$expand=snapshots", share_path()),
        Some(&etag),
        Some(&json!({})),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let snap: Value = resp.json().await.unwrap();
    assert!(snap["properties"]["snapshotTime"].is_string());
    assert_eq!(snap["id"], share_path(), "a snapshot has the share's id");

    let list_path = share_path().rsplit_once('/').unwrap().0.to_string();
    let all: Value = storage_call(&s, Method::GET, &format!("{list_path}?$expand=snapshots"), None, None)
        .await
        .json()
        .await
        .unwrap();
    let items = all["value"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items
            .iter()
            .filter(|i| i["properties"]["snapshotTime"].is_string())
            .count(),
        1
    );
    let plain: Value = storage_call(&s, Method::GET, &list_path, None, None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        plain["value"].as_array().unwrap().len(),
        1,
        "without $expand, no snapshots"
    );
    s.sim.stop().await;
}

#[tokio::test]
async fn environments_and_storages_read_as_arm_shows_them() {
    let s = start(Some("sidecar"), fast_config()).await;
    let env_path = aca_sim::scenario::environment_id();
    let env = s.get_json(&env_path).await;
    assert_eq!(env["properties"]["defaultDomain"], aca_sim::scenario::DEFAULT_DOMAIN);
    let storages = s.get_json(&format!("{env_path}/storages")).await;
    let st = &storages["value"][0];
    assert_eq!(st["properties"]["azureFile"]["shareName"], "clickhouse");
    assert!(
        st["properties"]["azureFile"].get("accountKey").is_none(),
        "the account key is write-only"
    );
    let one = s.get_json(&format!("{env_path}/storages/clickhouse-data")).await;
    assert_eq!(one["name"], "clickhouse-data");
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_throttle_answers_429_with_a_retry_after_that_is_enough() {
    let config = SimConfig {
        reads: BucketConfig {
            capacity: 3.0,
            per_second: 2.0,
        },
        ..fast_config()
    };
    let s = start(Some("sidecar"), config).await;
    let path = app_path("langfuse");
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let resp = s.arm(Method::GET, &path, None).await;
        assert_eq!(resp.status(), StatusCode::OK);
        remaining.push(header(&resp, "x-ms-ratelimit-remaining-subscription-reads").unwrap());
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let resp = s.arm(Method::GET, &path, None).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = header(&resp, "retry-after").unwrap().parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "SubscriptionRequestsThrottled"
    );
    // Writes have their own bucket.
    let w = s.arm(Method::POST, &format!("{path}/listSecrets"), None).await;
    assert_eq!(w.status(), StatusCode::OK);
    assert!(header(&w, "x-ms-ratelimit-remaining-subscription-writes").is_some());
    // Honouring Retry-After is enough.
    let waited = Instant::now();
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(
        s.arm(Method::GET, &path, None).await.status(),
        StatusCode::OK,
        "after {:?}",
        waited.elapsed()
    );
    s.sim.stop().await;
}
