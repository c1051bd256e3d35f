//! Revisions as Container Apps has them: overlap in Single mode, no revision for configuration-only
//! changes, secrets fixed at start until restart, activate/deactivate, replica counts.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn revisions(s: &Sim, app: &str) -> Vec<Value> {
    s.get_json(&format!("{}/revisions", app_path(app))).await["value"]
        .as_array()
        .unwrap()
        .clone()
}

async fn running(s: &Sim, app: &str) -> Vec<(String, u64)> {
    revisions(s, app)
        .await
        .iter()
        .filter(|r| r["properties"]["replicas"].as_u64().unwrap_or(0) > 0)
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["properties"]["replicas"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_template_change_overlaps_the_old_revision_until_the_new_one_is_ready() {
    // A wide overlap window, so a slow machine still observes it.
    let s = start(
        Some("sidecar"),
        aca_sim::SimConfig {
            overlap: Duration::from_millis(1500),
            ..fast_config()
        },
    )
    .await;
    let before = running(&s, "langfuse").await;
    assert_eq!(before.len(), 1);
    assert_eq!(before[0].1, 2, "the sidecar scenario runs Langfuse at 2 replicas");

    let patch = json!({"properties": {"template": {"containers": [
        {"name": "langfuse-web", "image": "langfuse/langfuse:3.1", "resources": {"cpu": 0.5, "memory": "1Gi"}},
        {"name": "langfuse-worker", "image": "langfuse/langfuse-worker:3", "resources": {"cpu": 0.5, "memory": "1Gi"}}
    ], "volumes": null}}});
    assert_eq!(
        s.arm(Method::PATCH, &app_path("langfuse"), Some(&patch)).await.status(),
        StatusCode::ACCEPTED
    );
    let revs = revisions(&s, "langfuse").await;
    assert_eq!(revs.len(), 2, "a template change makes a revision");
    assert_eq!(revs[1]["properties"]["provisioningState"], "Provisioning");
    assert_eq!(
        running(&s, "langfuse").await,
        before,
        "the old revision runs while the new one starts"
    );

    // New one ready (200 ms), old one still draining (1500 ms overlap): both run.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(running(&s, "langfuse").await.len(), 2, "overlap: two revisions running");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = running(&s, "langfuse").await;
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].0, revs[1]["name"]);

    // The history records both intervals, overlapping.
    let hist = s.history().await;
    let langfuse: Vec<&Value> = hist.iter().filter(|h| h["app"] == "langfuse").collect();
    let (old, new) = (langfuse[0], langfuse[1]);
    assert!(new["runningFromMs"].as_u64().unwrap() < old["runningUntilMs"].as_u64().unwrap());
    assert_eq!(old["storages"], json!(["clickhouse-data"]));
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn ingress_and_secret_changes_make_no_revision_and_secrets_apply_on_restart() {
    let s = start(Some("sidecar"), fast_config()).await;
    let app = s.get_json(&app_path("langfuse")).await;
    let mut ingress = app["properties"]["configuration"]["ingress"].clone();
    ingress["allowInsecure"] = json!(true);
    let op = s
        .arm(
            Method::PATCH,
            &app_path("langfuse"),
            Some(&json!({"properties": {"configuration": {"ingress": ingress}}})),
        )
        .await;
    s.wait_async_operation(&header(&op, "azure-asyncoperation").unwrap())
        .await;

    let listed: Value = s
        .arm(Method::POST, &format!("{}/listSecrets", app_path("langfuse")), None)
        .await
        .json()
        .await
        .unwrap();
    let mut secrets = listed["value"].as_array().unwrap().clone();
    secrets.iter_mut().find(|s| s["name"] == "clickhouse-url").unwrap()["value"] = json!("http://langfuse-clickhouse");
    let op = s
        .arm(
            Method::PATCH,
            &app_path("langfuse"),
            Some(&json!({"properties": {"configuration": {"secrets": secrets}}})),
        )
        .await;
    s.wait_async_operation(&header(&op, "azure-asyncoperation").unwrap())
        .await;

    let revs = revisions(&s, "langfuse").await;
    assert_eq!(revs.len(), 1, "ingress-only and secret-only changes create no revision");
    let hist = s.history().await;
    assert_eq!(
        hist[0]["secrets"]["clickhouse-url"], "http://localhost:8123",
        "running replicas keep the old value"
    );

    let name = revs[0]["name"].as_str().unwrap();
    let resp = s
        .arm(
            Method::POST,
            &format!("{}/revisions/{name}/restart", app_path("langfuse")),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let hist = s.history().await;
    assert_eq!(
        hist[0]["secrets"]["clickhouse-url"], "http://langfuse-clickhouse",
        "a restart picks the new value up"
    );
    assert_eq!(hist[0]["restarts"], 1);
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn deactivate_drains_to_zero_and_activate_starts_again() {
    let s = start(Some("sidecar"), fast_config()).await;
    let name = revisions(&s, "langfuse").await[0]["name"].as_str().unwrap().to_string();
    let rev_path = format!("{}/revisions/{name}", app_path("langfuse"));
    assert_eq!(
        s.arm(Method::POST, &format!("{rev_path}/deactivate"), None)
            .await
            .status(),
        StatusCode::OK
    );
    let r = s.get_json(&rev_path).await;
    assert_eq!(r["properties"]["active"], false);
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = s.get_json(&rev_path).await;
    assert_eq!(r["properties"]["replicas"], 0);
    assert_eq!(r["properties"]["runningState"], "Stopped");
    assert_eq!(
        s.get_json(&app_path("langfuse")).await["properties"]["runningStatus"],
        "Stopped"
    );
    let replicas = s.get_json(&format!("{rev_path}/replicas")).await;
    assert_eq!(replicas["value"].as_array().unwrap().len(), 0);

    assert_eq!(
        s.arm(Method::POST, &format!("{rev_path}/activate"), None)
            .await
            .status(),
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let r = s.get_json(&rev_path).await;
    assert_eq!(r["properties"]["replicas"], 2);
    let replicas = s.get_json(&format!("{rev_path}/replicas")).await;
    assert_eq!(replicas["value"].as_array().unwrap().len(), 2);
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_portal_edit_through_the_admin_api_names_a_person_and_makes_a_revision() {
    let s = start(Some("sidecar"), fast_config()).await;
    let resp = s
        .admin(
            Method::PATCH,
            &format!("/_sim/state{}?by=bob@contoso.com", app_path("langfuse")),
            Some(&json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 3}}}})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let stored: Value = resp.json().await.unwrap();
    assert!(
        stored["properties"]["configuration"]["secrets"][0]["value"].is_string(),
        "the admin view has values"
    );
    let app = s.get_json(&app_path("langfuse")).await;
    assert_eq!(app["systemData"]["lastModifiedBy"], "bob@contoso.com");
    assert_eq!(app["systemData"]["lastModifiedByType"], "User");
    assert_eq!(
        app["properties"]["provisioningState"], "Succeeded",
        "no operation to wait for"
    );
    assert_eq!(revisions(&s, "langfuse").await.len(), 2);
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(running(&s, "langfuse").await[0].1, 3);
    s.sim.stop().await;
}
