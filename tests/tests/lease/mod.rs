//! Shared by the high-availability end-to-end tests: Azurite (the Azure Storage emulator, installed
//! from the npm registry when missing) with HTTPS and OAuth, replicas competing for its blob lease,
//! a proxy that cuts one replica off from lease storage, and checks on the simulator's request log
//! (each request tagged with its replica by `x-aca-replica`).

#![allow(dead_code)] // each test file uses a part

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use aca_e2e::*;

pub use aca_e2e::azurite::{azurite_binary, certificates, emulator_token};

pub struct Azurite {
    child: Child,
    pub url: String,
    pub ca: PathBuf,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_azurite(dir: &Path) -> Azurite {
    let (ca, cert, key) = certificates(dir);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(azurite_binary())
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--location",
            dir.join("data").to_str().unwrap(),
        ])
        .args([
            "--oauth",
            "basic",
            "--cert",
            cert.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ])
        .args(["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start azurite-blob");
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "Azurite did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    Azurite {
        child,
        url: format!("https://127.0.0.1:{port}/devstoreaccount1"),
        ca,
    }
}

/// A `run` replica competing for the lease (15 s) through `lease_url` (Azurite, or a proxy to it),
/// serving metrics and health on a loopback port.
pub fn replica_via(
    sim: &aca_sim::Simulator,
    az: &Azurite,
    lease_url: &str,
    file: &Path,
    id: &str,
    interval: &str,
) -> Running {
    let mut cmd = operator(
        sim,
        &[
            "run",
            "-f",
            file.to_str().unwrap(),
            "--interval",
            interval,
            // A person's edit reaches the cache within a second whatever the interval: a new
            // leader's first pass sees it.
            "--resync",
            "1s",
            "--leader-election",
            "blob",
            "--lease-duration",
            "15s",
            "--listen-metrics",
            "127.0.0.1:0",
        ],
    );
    cmd.env("ACA_STATIC_TOKEN", emulator_token())
        .env("ACA_LEASE_ACCOUNT", lease_url)
        .env("ACA_LEASE_CONTAINER", "aca-leases")
        .env("ACA_CA_CERT", &az.ca)
        .env("ACA_REPLICA_ID", id);
    Running::spawn(cmd)
}

pub fn replica(sim: &aca_sim::Simulator, az: &Azurite, file: &Path, id: &str) -> Running {
    replica_via(sim, az, &az.url, file, id, "1s")
}

/// The simulator in the target layout, Azurite, replica-a leading and replica-b following.
pub async fn leader_and_follower(name: &str) -> (aca_sim::Simulator, Azurite, Running, Running) {
    leader_and_follower_every(name, "1s").await
}

/// The same with a given reconcile interval.
pub async fn leader_and_follower_every(name: &str, interval: &str) -> (aca_sim::Simulator, Azurite, Running, Running) {
    let sim = sim().await;
    let dir = scratch(name);
    migrate(&sim, &dir);
    let az = start_azurite(&dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", interval)).unwrap();
    let a = replica_via(&sim, &az, &az.url, &file, "replica-a", interval);
    a.wait_event("a leader", Duration::from_secs(30), |e| e["event"] == "leader_elected")
        .await;
    let b = replica_via(&sim, &az, &az.url, &file, "replica-b", interval);
    b.wait_event("the follower observing", Duration::from_secs(30), |e| {
        e["event"] == "pass"
    })
    .await;
    (sim, az, a, b)
}

pub fn writes_by(log: &[Value]) -> Vec<(u64, String)> {
    writes(log)
        .iter()
        .map(|r| {
            (
                r["atMs"].as_u64().unwrap(),
                r["replica"].as_str().unwrap_or("?").to_string(),
            )
        })
        .collect()
}

/// The replicas' writes never interleave: once another replica wrote, an earlier writer is done.
pub fn assert_one_writer_at_a_time(writes: &[(u64, String)]) {
    let mut seen: Vec<&str> = Vec::new();
    for (_, r) in writes {
        if seen.last() != Some(&r.as_str()) {
            assert!(
                !seen.contains(&r.as_str()),
                "replica {r} wrote again after another replica took over: {writes:?}"
            );
            seen.push(r);
        }
    }
}

pub async fn scale_clickhouse(sim: &aca_sim::Simulator, n: u32) {
    person_patch(
        sim,
        "langfuse-clickhouse",
        json!({"properties": {"template": {"scale": {"minReplicas": n, "maxReplicas": n}}}}),
    )
    .await;
}

pub async fn wait_scale_one(sim: &aca_sim::Simulator, within: Duration) {
    let start = Instant::now();
    loop {
        if app(sim, "langfuse-clickhouse").await["properties"]["template"]["scale"]["maxReplicas"] == 1 {
            return;
        }
        assert!(
            start.elapsed() < within,
            "the drift was not corrected within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A TCP proxy to Azurite for one replica: `cut` partitions that replica from lease storage (open
/// connections are dropped, new ones are accepted and never answered, as a black hole would).
pub struct StorageProxy {
    pub url: String,
    cut: Arc<AtomicBool>,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl StorageProxy {
    pub async fn start(az: &Azurite) -> Self {
        let upstream: u16 = az
            .url
            .trim_start_matches("https://127.0.0.1:")
            .split('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (c, t) = (cut.clone(), tasks.clone());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((mut down, _)) = listener.accept().await {
                if c.load(Ordering::SeqCst) {
                    held.push(down);
                    continue;
                }
                t.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut up) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                }));
            }
        });
        StorageProxy {
            url: format!("https://127.0.0.1:{port}/devstoreaccount1"),
            cut,
            tasks,
        }
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// The address of a replica's metrics and health listener, from its `listening` event.
pub async fn health_addr(r: &Running) -> String {
    let e = r
        .wait_event("the listener", Duration::from_secs(30), |e| e["event"] == "listening")
        .await;
    e["addr"].as_str().unwrap().to_string()
}

/// `/readyz`'s status and its `leader` field.
pub async fn readyz(addr: &str) -> (u16, bool) {
    let r = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (status, body["leader"].as_bool().unwrap())
}

/// The `aca_leader` gauge.
pub async fn leader_gauge(addr: &str) -> i64 {
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("aca_leader "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no aca_leader in:\n{text}"))
}

/// A person edits the ClickHouse container in the portal (the containers array is replaced whole).
pub async fn person_edits_clickhouse_container(sim: &aca_sim::Simulator, edit: impl Fn(&mut Value)) {
    let current = app(sim, "langfuse-clickhouse").await;
    let mut containers = current["properties"]["template"]["containers"].clone();
    edit(&mut containers[0]);
    person_patch(
        sim,
        "langfuse-clickhouse",
        json!({"properties": {"template": {"containers": containers}}}),
    )
    .await;
}

/// Waits until the simulator's log has a request matching `pred`; returns it.
pub async fn wait_request(
    sim: &aca_sim::Simulator,
    what: &str,
    within: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let start = Instant::now();
    loop {
        if let Some(r) = requests(sim).await.into_iter().find(|r| pred(r)) {
            return r;
        }
        assert!(start.elapsed() < within, "no {what} within {within:?}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Waits until the ClickHouse app's first container runs `image`.
pub async fn wait_clickhouse_image(sim: &aca_sim::Simulator, image: &str, within: Duration) {
    let start = Instant::now();
    loop {
        if app(sim, "langfuse-clickhouse").await["properties"]["template"]["containers"][0]["image"] == image {
            return;
        }
        assert!(start.elapsed() < within, "ClickHouse not on {image} within {within:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The write attempts a replica sent at or after `from_ms` (simulator clock).
pub fn writes_of_since(log: &[Value], replica: &str, from_ms: u64) -> Vec<Value> {
    writes(log)
        .into_iter()
        .filter(|r| r["replica"] == replica && r["atMs"].as_u64().unwrap() >= from_ms)
        .collect()
}

/// The simulator time of a replica's first write attempt.
pub fn first_write_of(log: &[Value], replica: &str) -> Option<u64> {
    writes(log)
        .iter()
        .filter(|r| r["replica"] == replica)
        .map(|r| r["atMs"].as_u64().unwrap())
        .min()
}
