//! What the client suites share: a fast simulator, a client for it, the admin API, the request
//! log. Each suite uses a part of it.
#![allow(dead_code)]

use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, AuthMethod, AuthSettings, LroSettings};
use aca_model::arm::{ContainerApp, ResourceId};
use aca_sim::scenario::{self, SUBSCRIPTION};
use aca_sim::{SimConfig, Simulator, StartOptions};
use azure_core::credentials::Secret;
use serde_json::{Value, json};

pub const TOKEN: &str = "sim-token-8c1f2e";

pub fn fast_sim() -> SimConfig {
    SimConfig {
        lro_duration: Duration::from_millis(120),
        revision_start: Duration::from_millis(150),
        overlap: Duration::from_millis(200),
        stop_delay: Duration::from_millis(80),
        ..SimConfig::default()
    }
}

pub async fn sim(config: SimConfig) -> Simulator {
    Simulator::start(StartOptions {
        scenario: Some("sidecar".into()),
        config,
        ..StartOptions::default()
    })
    .await
    .unwrap()
}

pub fn config_for(sim: &Simulator) -> ArmConfig {
    ArmConfig {
        endpoint: Some(sim.base_url.clone()),
        allow_insecure_loopback: true,
        auth: AuthSettings {
            method: AuthMethod::Static,
            static_token: Some(Secret::new(TOKEN)),
            ..AuthSettings::default()
        },
        retry_initial_delay: Duration::from_millis(20),
        lro: LroSettings {
            poll_interval: Duration::from_millis(30),
            ..LroSettings::default()
        },
        ..ArmConfig::default()
    }
}

/// Every injected fault answered at least one request (else the test proved nothing about it).
pub fn assert_faults_fired(sim: &Simulator) {
    let unfired = sim.unfired_faults();
    assert!(unfired.is_empty(), "injected faults that never fired: {unfired:?}");
}

pub fn client(sim: &Simulator) -> ArmClient {
    ArmClient::new(config_for(sim)).unwrap()
}

pub fn app_id(name: &str) -> ResourceId {
    ResourceId::container_app(SUBSCRIPTION, scenario::RESOURCE_GROUP, name)
}

pub async fn admin(sim: &Simulator, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::Response {
    let mut r = reqwest::Client::new().request(method, format!("{}{path}", sim.base_url));
    if let Some(b) = body {
        r = r.json(&b);
    }
    r.send().await.unwrap()
}

pub async fn request_log(sim: &Simulator) -> Vec<Value> {
    admin(sim, reqwest::Method::GET, "/_sim/requests", None)
        .await
        .json()
        .await
        .unwrap()
}

pub fn new_clickhouse_app() -> ContainerApp {
    serde_json::from_value(json!({
        "location": "Japan East",
        "properties": {
            "environmentId": scenario::environment_id(),
            "configuration": {"activeRevisionsMode": "Single", "ingress": {"external": false, "targetPort": 8123, "transport": "http"}},
            "template": {"containers": [{"name": "clickhouse", "image": "clickhouse/clickhouse-server:24.8-alpine", "resources": {"cpu": 1.0, "memory": "2Gi"}}],
                         "scale": {"minReplicas": 1, "maxReplicas": 1}}
        }
    }))
    .unwrap()
}
