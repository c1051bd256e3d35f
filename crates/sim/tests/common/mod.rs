//! Helpers for the simulator's integration tests: a simulator on loopback and a small ARM caller.

#![allow(dead_code)]

use std::time::Duration;

use aca_sim::{SimConfig, Simulator, StartOptions};
use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

pub const API: &str = "api-version=2025-07-01";
pub const SUB: &str = aca_sim::scenario::SUBSCRIPTION;

pub struct Sim {
    pub sim: Simulator,
    pub http: reqwest::Client,
}

/// Fast timings so tests run quickly but still observe every transition.
pub fn fast_config() -> SimConfig {
    SimConfig {
        lro_duration: Duration::from_millis(150),
        revision_start: Duration::from_millis(200),
        overlap: Duration::from_millis(300),
        stop_delay: Duration::from_millis(100),
        ..SimConfig::default()
    }
}

pub async fn start(scenario: Option<&str>, config: SimConfig) -> Sim {
    let sim = Simulator::start(StartOptions {
        scenario: scenario.map(str::to_string),
        config,
        ..StartOptions::default()
    })
    .await
    .expect("simulator starts");
    Sim {
        sim,
        http: reqwest::Client::new(),
    }
}

impl Sim {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sim.base_url)
    }

    /// An ARM call with a bearer token; `path` may carry its own query (api-version is appended).
    pub async fn arm(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let sep = if path.contains('?') { '&' } else { '?' };
        self.raw(method, &format!("{path}{sep}{API}"), body).await
    }

    pub async fn raw(&self, method: Method, path_and_query: &str, body: Option<&Value>) -> Response {
        let mut req = self
            .http
            .request(method, self.url(path_and_query))
            .bearer_auth("test-token");
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.expect("request reaches the simulator")
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let resp = self.arm(Method::GET, path, None).await;
        assert_eq!(resp.status(), StatusCode::OK, "GET {path}");
        resp.json().await.unwrap()
    }

    /// GETs `path` until `done` holds; panics with the last answer after 10 s of real time.
    pub async fn poll_json(&self, path: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.get_json(path).await;
            if done(&got) {
                return got;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "GET {path} never got there: {got:#}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<&Value>) -> Response {
        let mut req = self.http.request(method, self.url(path));
        if let Some(b) = body {
            req = req.json(b);
        }
        req.send().await.unwrap()
    }

    pub async fn requests(&self) -> Vec<Value> {
        self.admin(Method::GET, "/_sim/requests", None)
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
    }

    pub async fn history(&self) -> Vec<Value> {
        self.admin(Method::GET, "/_sim/revisions", None)
            .await
            .json::<Vec<Value>>()
            .await
            .unwrap()
    }

    /// Polls an `Azure-AsyncOperation` URL until the operation ends; returns its final status body.
    pub async fn wait_async_operation(&self, url: &str) -> Value {
        for _ in 0..200 {
            let body: Value = self
                .http
                .get(url)
                .bearer_auth("test-token")
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            if body["status"] != "InProgress" {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("operation {url} did not end");
    }
}

pub fn app_path(name: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg-langfuse/providers/Microsoft.App/containerApps/{name}")
}

pub fn header(resp: &Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// A minimal valid app for the `sidecar` scenario's environment.
pub fn simple_app(image: &str) -> Value {
    serde_json::json!({
        "location": "Japan East",
        "properties": {
            "environmentId": aca_sim::scenario::environment_id(),
            "configuration": {"activeRevisionsMode": "Single", "ingress": {"external": false, "targetPort": 8123, "transport": "http"},
                              "secrets": [{"name": "pw", "value": "first-value"}]},
            "template": {"containers": [{"name": "main", "image": image, "resources": {"cpu": 0.5, "memory": "1Gi"},
                                         "env": [{"name": "PW", "secretRef": "pw"}]}],
                         "scale": {"minReplicas": 1, "maxReplicas": 1}}
        }
    })
}
