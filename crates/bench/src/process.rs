//! The operator under test: a real `aca-operator run` process, its JSON log events, its memory and CPU.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Operator {
    child: Child,
    pub started: Instant,
    events: Arc<Mutex<Vec<(Instant, Value)>>>,
}

impl Operator {
    pub fn spawn(binary: &Path, endpoint: &str, desired: &Path, extra: &[String]) -> Self {
        Self::spawn_with(binary, endpoint, desired, extra, &[])
    }

    /// Like [`Operator::spawn`], with more environment (e.g. the events queue's credentials).
    pub fn spawn_with(
        binary: &Path,
        endpoint: &str,
        desired: &Path,
        extra: &[String],
        env: &[(String, String)],
    ) -> Self {
        let mut child = Command::new(binary)
            .args([
                "run",
                "-f",
                desired.to_str().expect("utf-8 path"),
                "--log-format",
                "json",
            ])
            .args(extra)
            .env("ACA_STATIC_TOKEN", "bench")
            .env("ACA_ARM_ENDPOINT", endpoint)
            .env("ACA_ALLOW_INSECURE_LOOPBACK", "true")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start aca-operator (build it first: cargo build --release -p aca-operator)");
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    sink.lock().expect("events").push((Instant::now(), v));
                }
            }
        });
        Operator {
            child,
            started: Instant::now(),
            events,
        }
    }

    /// Waits until `n` events match; returns the instant of the n-th.
    pub fn wait_for(&self, n: usize, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Option<Instant> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            let events = self.events.lock().expect("events");
            let mut matching = events.iter().filter(|(_, e)| pred(e));
            if let Some((t, _)) = matching.nth(n - 1) {
                return Some(*t);
            }
            drop(events);
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The last event that matches, if any.
    pub fn last(&self, pred: impl Fn(&Value) -> bool) -> Option<Value> {
        let events = self.events.lock().expect("events");
        events.iter().rev().find(|(_, e)| pred(e)).map(|(_, e)| e.clone())
    }

    pub fn count(&self, pred: impl Fn(&Value) -> bool) -> usize {
        self.events
            .lock()
            .expect("events")
            .iter()
            .filter(|(_, e)| pred(e))
            .count()
    }

    /// Peak resident memory (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// User + system CPU time so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        aca_e2e::cpu_seconds(self.child.id())
    }

    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
