//! What the invariant scenarios share: a migrated simulator, the daemon and `plan` on it, a
//! person's ARM calls, and reading the revision history.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aca_e2e::*;
use aca_sim::{Simulator, scenario};
use serde_json::Value;

pub const T: Duration = Duration::from_secs(40);
pub const API: &str = "api-version=2025-07-01";

pub fn is(e: &Value, event: &str) -> bool {
    e["event"] == event
}

pub fn field(e: &Value) -> &str {
    e["field"].as_str().unwrap_or_default()
}

/// A simulator in the target layout, and the example file (interval 1 s) next to it.
pub async fn migrated(name: &str) -> (Simulator, PathBuf) {
    let sim = sim().await;
    let dir = scratch(name);
    migrate(&sim, &dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    (sim, file)
}

pub fn daemon(sim: &Simulator, file: &Path) -> Running {
    let file = file.to_str().unwrap();
    Running::spawn(operator(
        sim,
        &[
            "run",
            "-f",
            file,
            "--interval",
            "1s",
            "--resync",
            "1s",
            "--reload-interval",
            "200ms",
        ],
    ))
}

/// `plan`'s exit code and text output.
pub fn plan(sim: &Simulator, file: &Path) -> (Option<i32>, String) {
    let out = operator(sim, &["plan", "-f", file.to_str().unwrap()]).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// An ARM call as a person's tool makes it (the simulator's bearer check only).
pub async fn arm_post(sim: &Simulator, path: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}{path}?{API}", sim.base_url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {:?}", r.text().await);
}

pub async fn revisions(sim: &Simulator, app: &str) -> Vec<Value> {
    let r: Value = reqwest::Client::new()
        .get(format!("{}{}/revisions?{API}", sim.base_url, app_path(app)))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["value"].as_array().cloned().unwrap_or_default()
}

pub fn running(revs: &[Value]) -> Vec<String> {
    revs.iter()
        .filter(|r| r["properties"]["replicas"].as_u64().unwrap_or(0) > 0)
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Polls (with a deadline, not a fixed sleep) until `app` runs exactly `count` revisions.
pub async fn wait_running(sim: &Simulator, app: &str, count: usize) {
    let deadline = std::time::Instant::now() + T;
    loop {
        let now = running(&revisions(sim, app).await);
        if now.len() == count {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{app} runs {now:?}, not {count} revision(s)"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

pub async fn no_operator_overlap(sim: &Simulator) {
    let bad = overlap_started_by_operator(sim, scenario::STORAGE).await;
    assert!(
        bad.is_empty(),
        "the operator started a revision on the share while another ran: {bad:?}"
    );
}
