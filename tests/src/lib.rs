//! The helper the cross-crate end-to-end suites share: a simulator on loopback, the real
//! `aca-operator` binary (built once per test process), its logs.

pub mod azurite;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use aca_sim::{SimConfig, Simulator, StartOptions};
use serde_json::Value;

pub const TOKEN: &str = "e2e-static-token-5b2d";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace's `aca-operator` binary, fresh. A suite in this package cannot name another
/// package's binary (`CARGO_BIN_EXE_*` covers only its own), and `cargo test -p aca-e2e` alone would not
/// build it. So the first test of each process runs `cargo test --workspace --no-run` into the target
/// directory it runs from: a no-op under the README's `cargo test --workspace` (everything is built),
/// and with the same features, so the binary is not rebuilt back and forth between the two commands.
/// Concurrent test processes wait on cargo's own lock.
pub fn operator_binary() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| workspace_binary("aca-operator"))
}

/// Builds the workspace (as `cargo test --workspace` does) and returns the path of binary `bin`.
pub fn workspace_binary(bin: &str) -> PathBuf {
    // This test runs as <target>/<profile>/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("<target>");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a profile name");
    let profile = if profile == "debug" { "test" } else { profile };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["test", "--workspace", "--no-run", "--quiet", "--profile", profile])
        .arg("--target-dir")
        .arg(target_dir)
        .current_dir(repo())
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo test --workspace --no-run failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = profile_dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} was not built", binary.display());
    binary
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

/// Shorter timings still, for the suites that run passes in the test's own process (no binary
/// to start, no log to read between steps).
pub fn in_process_sim() -> SimConfig {
    SimConfig {
        lro_duration: Duration::from_millis(100),
        revision_start: Duration::from_millis(150),
        overlap: Duration::from_millis(300),
        stop_delay: Duration::from_millis(100),
        ..SimConfig::default()
    }
}

/// The `sidecar` scenario with the fast timings of [`fast_sim`].
pub async fn sim() -> Simulator {
    sidecar_sim(fast_sim()).await
}

/// The `sidecar` scenario (Langfuse with its ClickHouse sidecar) with these timings.
pub async fn sidecar_sim(config: SimConfig) -> Simulator {
    Simulator::start(StartOptions {
        scenario: Some("sidecar".into()),
        config,
        ..StartOptions::default()
    })
    .await
    .unwrap()
}

/// User + system CPU seconds a process has used so far (Linux `/proc`).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i)?.parse::<f64>().ok())
        .sum();
    ticks / clock_ticks()
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 on Linux when it cannot be asked).
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// A scratch directory for one test, under `<tmp>/aca-e2e-<pid>/`. A test's directory outlives
/// it (its files are there to read when it fails); the first call in each test process removes
/// the directories of test processes that ended over an hour ago, so runs do not pile up in
/// `/tmp` while a failed test's files survive the rest of its run (`--no-fail-fast`, nextest).
pub fn scratch(name: &str) -> PathBuf {
    static SWEPT: OnceLock<()> = OnceLock::new();
    SWEPT.get_or_init(sweep_ended_runs);
    let dir = std::env::temp_dir()
        .join(format!("aca-e2e-{}", std::process::id()))
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Removes `<tmp>/aca-e2e-…-<pid>` directories whose process is gone and which nothing changed
/// for an hour (this layout and the older `aca-e2e-<name>-<pid>` one). Only where `/proc` says
/// which processes live.
fn sweep_ended_runs() {
    const AFTER: Duration = Duration::from_secs(3600);
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("aca-e2e-")) else {
            continue;
        };
        let pid = rest.rsplit('-').next().and_then(|p| p.parse::<u32>().ok());
        let idle = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= AFTER);
        if let Some(pid) = pid
            && idle
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The first stack of the shipped Langfuse example, loaded as the operator loads it.
pub fn example_stack() -> aca_model::desired::Stack {
    let path = repo().join("deploy/examples/langfuse.yaml");
    aca_model::desired::load_file(&path).unwrap().state.stacks.remove(0)
}

/// The Langfuse example with a different mode and interval.
pub fn example(mode: &str, interval: &str) -> String {
    std::fs::read_to_string(repo().join("deploy/examples/langfuse.yaml"))
        .unwrap()
        .replace("interval: 30s", &format!("interval: {interval}"))
        .replace("mode: enforce", &format!("mode: {mode}"))
}

pub fn operator(sim: &Simulator, args: &[&str]) -> Command {
    let mut cmd = Command::new(operator_binary());
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
