//! Helpers for end-to-end tests: a simulator on loopback, the real `aca-operator` binary, its logs.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aca_sim::{SimConfig, Simulator, StartOptions};
use serde_json::Value;

pub const TOKEN: &str = "e2e-static-token-5b2d";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fast_sim() -> SimConfig {
    SimConfig {
        lro_duration: Duration::from_millis(150),
        revision_start: Duration::from_millis(250),
        overlap: Duration::from_millis(500),
        stop_delay: Duration::from_millis(150),
        ..SimConfig::default()
    }
}

pub async fn sim() -> Simulator {
    Simulator::start(StartOptions {
        scenario: Some("sidecar".into()),
        config: fast_sim(),
        ..StartOptions::default()
    })
    .await
    .unwrap()
}

/// A scratch directory for one test.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aca-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The Langfuse example with a different mode and interval.
pub fn example(mode: &str, interval: &str) -> String {
    std::fs::read_to_string(repo().join("deploy/examples/langfuse.yaml"))
        .unwrap()
        .replace("interval: 30s", &format!("interval: {interval}"))
        .replace("mode: enforce", &format!("mode: {mode}"))
}

pub fn operator(sim: &Simulator, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aca-operator"));
    cmd.args(args)
        .env("ACA_STATIC_TOKEN", TOKEN)
        .env("ACA_ARM_ENDPOINT", &sim.base_url)
        .env("ACA_ALLOW_INSECURE_LOOPBACK", "true")
        .env("ACA_LOG_FORMAT", "json")
        .env_remove("ACA_LOG");
    cmd
}

/// A running operator whose stderr (JSON logs) and stdout lines are collected.
pub struct Running {
    pub child: Child,
    pub logs: Arc<Mutex<Vec<String>>>,
    pub stdout: Arc<Mutex<Vec<String>>>,
}

impl Running {
    pub fn spawn(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        for (pipe, sink) in [
            (
                Box::new(child.stderr.take().unwrap()) as Box<dyn std::io::Read + Send>,
                logs.clone(),
            ),
            (
                Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
                stdout.clone(),
            ),
        ] {
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Running { child, logs, stdout }
    }

    /// JSON log events so far.
    pub fn events(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until an event matches; panics with the logs after `timeout`.
    pub async fn wait_event(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(e) = self.events().into_iter().find(|e| pred(e)) {
                return e;
            }
            if start.elapsed() > timeout {
                panic!(
                    "no {what} within {timeout:?}; logs:\n{}",
                    self.logs.lock().unwrap().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the n-th event matching.
    pub async fn wait_events(
        &self,
        what: &str,
        n: usize,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Vec<Value> {
        let start = Instant::now();
        loop {
            let found: Vec<Value> = self.events().into_iter().filter(|e| pred(e)).collect();
            if found.len() >= n {
                return found;
            }
            if start.elapsed() > timeout {
                panic!(
                    "{} of {n} {what} within {timeout:?}; logs:\n{}",
                    found.len(),
                    self.logs.lock().unwrap().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn signal(&self, sig: &str) {
        // The process may have exited already: that is not an error here.
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "the operator did not exit within {timeout:?}; logs:\n{}",
                    self.logs.lock().unwrap().join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    /// Stops the process and keeps its output under target/e2e-output/ for the secret scan of CI.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let dir = repo().join("target/e2e-output");
        if std::fs::create_dir_all(&dir).is_ok() {
            let mut text = self.logs.lock().unwrap().join("\n");
            text.push('\n');
            text.push_str(&self.stdout.lock().unwrap().join("\n"));
            let _ = std::fs::write(
                dir.join(format!("{}-{}.log", std::process::id(), self.child.id())),
                text,
            );
        }
    }
}

pub async fn admin(sim: &Simulator, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
    let mut r = reqwest::Client::new().request(method, format!("{}{path}", sim.base_url));
    if let Some(b) = body {
        r = r.json(&b);
    }
    let resp = r.send().await.unwrap();
    resp.json().await.unwrap_or(Value::Null)
}

pub async fn requests(sim: &Simulator) -> Vec<Value> {
    admin(sim, reqwest::Method::GET, "/_sim/requests", None)
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// ARM writes in the log (PUT/PATCH/DELETE, and POSTs other than listSecrets).
pub fn writes(log: &[Value]) -> Vec<Value> {
    log.iter()
        .filter(|r| {
            let m = r["method"].as_str().unwrap_or_default();
            let path = r["path"].as_str().unwrap_or_default();
            matches!(m, "PUT" | "PATCH" | "DELETE") || (m == "POST" && !path.ends_with("/listSecrets"))
        })
        .cloned()
        .collect()
}

pub fn app_path(name: &str) -> String {
    aca_sim::scenario::app_id(name)
}

pub async fn app(sim: &Simulator, name: &str) -> Value {
    admin(
        sim,
        reqwest::Method::GET,
        &format!("/_sim/state{}", app_path(name)),
        None,
    )
    .await
}

/// The value of an app's secret, from the simulator's stored state (which keeps values).
pub fn secret_value(app: &Value, name: &str) -> String {
    let secrets = app["properties"]["configuration"]["secrets"]
        .as_array()
        .expect("the app has secrets");
    let secret = secrets
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no secret {name}"));
    secret["value"].as_str().expect("a value").to_string()
}

/// A person edits an app in the portal (merge patch, applied at once).
pub async fn person_patch(sim: &Simulator, name: &str, patch: Value) {
    let r = reqwest::Client::new()
        .patch(format!(
            "{}/_sim/state{}?by=alice@contoso.com",
            sim.base_url,
            app_path(name)
        ))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{:?}", r.text().await);
}

/// Runs `apply --once` on the example to reach the target layout.
pub fn migrate(sim: &Simulator, dir: &Path) {
    let file = dir.join("target.yaml");
    std::fs::write(&file, example("enforce", "30s")).unwrap();
    let out = operator(sim, &["apply", "--once", "--yes", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Revisions the operator started on the share while another ran (empty: the invariant held).
pub async fn overlap_started_by_operator(sim: &Simulator, storage: &str) -> Vec<(String, String)> {
    aca_sim::apps::operator_overlaps(&sim.state().lock().unwrap(), storage)
}
