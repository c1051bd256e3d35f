//! High availability end to end: two operator replicas against the simulator and Azurite (the Azure
//! Storage emulator, installed from the npm registry by the test itself when missing), competing for
//! a blob lease. The simulator's request log (each request tagged with its replica) must show writes
//! from one replica at a time, and none from a replica after it lost the lease.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aca_e2e::*;
use serde_json::{Value, json};

const AZURITE_VERSION: &str = "3.35.0";

/// `azurite-blob` on the PATH, or installed under target/azurite from the npm registry. Once per
/// process: the tests of this file run in parallel, and two npm installs into one prefix collide.
fn azurite_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY.get_or_init(find_or_install_azurite).clone()
}

fn find_or_install_azurite() -> PathBuf {
    if Command::new("azurite-blob")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        return PathBuf::from("azurite-blob");
    }
    let prefix = repo().join("target/azurite");
    let bin = prefix.join("node_modules/.bin/azurite-blob");
    if !bin.exists() {
        let status = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                prefix.to_str().unwrap(),
                &format!("azurite@{AZURITE_VERSION}"),
            ])
            .status()
            .expect("npm is needed to install Azurite (Node.js 20+)");
        assert!(status.success(), "npm install azurite@{AZURITE_VERSION} failed");
    }
    bin
}

/// A CA and a 127.0.0.1 certificate for Azurite's HTTPS (its OAuth mode needs HTTPS).
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "aca-test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &ca).unwrap();
    let (ca_path, cert_path, key_path) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&ca_path, ca.pem()).unwrap();
    std::fs::write(&cert_path, format!("{}{}", cert.pem(), ca.pem())).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca_path, cert_path, key_path)
}

/// A token Azurite's OAuth "basic" mode accepts (it checks issuer, audience and times, not the
/// signature). The simulator accepts any bearer token.
fn emulator_token() -> String {
    fn b64(v: &Value) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = v.to_string().into_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let tenant = "ab1f708d-50f6-404c-a006-d71b2ac7a606";
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(&json!({"alg": "RS256", "typ": "JWT"})),
        b64(
            &json!({"aud": "https://storage.azure.com", "iss": format!("https://sts.windows.net/{tenant}/"), "tid": tenant,
                    "oid": "00000000-0000-0000-0000-0000000000aa", "nbf": now - 300, "iat": now - 300, "exp": now + 7200})
        )
    )
}

struct Azurite {
    child: Child,
    url: String,
    ca: PathBuf,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_azurite(dir: &Path) -> Azurite {
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

fn replica(sim: &aca_sim::Simulator, az: &Azurite, file: &Path, id: &str) -> Running {
    let mut cmd = operator(
        sim,
        &[
            "run",
            "-f",
            file.to_str().unwrap(),
            "--interval",
            "1s",
            "--leader-election",
            "blob",
            "--lease-duration",
            "15s",
        ],
    );
    cmd.env("ACA_STATIC_TOKEN", emulator_token())
        .env("ACA_LEASE_ACCOUNT", &az.url)
        .env("ACA_LEASE_CONTAINER", "aca-leases")
        .env("ACA_CA_CERT", &az.ca)
        .env("ACA_REPLICA_ID", id);
    Running::spawn(cmd)
}

/// The simulator in the target layout, Azurite, replica-a leading and replica-b following.
async fn leader_and_follower(name: &str) -> (aca_sim::Simulator, Azurite, Running, Running) {
    let sim = sim().await;
    let dir = scratch(name);
    migrate(&sim, &dir);
    let az = start_azurite(&dir);
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let a = replica(&sim, &az, &file, "replica-a");
    a.wait_event("a leader", Duration::from_secs(30), |e| e["event"] == "leader_elected")
        .await;
    let b = replica(&sim, &az, &file, "replica-b");
    b.wait_event("the follower observing", Duration::from_secs(30), |e| {
        e["event"] == "pass"
    })
    .await;
    (sim, az, a, b)
}

fn writes_by(log: &[Value]) -> Vec<(u64, String)> {
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
fn assert_one_writer_at_a_time(writes: &[(u64, String)]) {
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

async fn scale_clickhouse(sim: &aca_sim::Simulator, n: u32) {
    person_patch(
        sim,
        "langfuse-clickhouse",
        json!({"properties": {"template": {"scale": {"minReplicas": n, "maxReplicas": n}}}}),
    )
    .await;
}

async fn wait_scale_one(sim: &aca_sim::Simulator, within: Duration) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_takes_over_when_the_leader_is_killed() {
    let (sim, _azurite, mut a, b) = leader_and_follower("ha-kill").await;

    // While the leader is briefly paused (well inside its lease), the follower sees the drift and
    // only alerts; the leader, resumed, corrects it.
    a.signal("STOP");
    scale_clickhouse(&sim, 2).await;
    let alert = b
        .wait_event("the follower's alert", Duration::from_secs(10), |e| {
            e["event"] == "drift" && e["field"] == "apps.clickhouse.template.scale.maxReplicas"
        })
        .await;
    assert_eq!(alert["action"], "alerted", "a follower never corrects");
    a.signal("CONT");
    wait_scale_one(&sim, Duration::from_secs(20)).await;

    a.signal("KILL");
    a.wait_exit(Duration::from_secs(5));
    let killed = Instant::now();
    b.wait_event("the take-over", Duration::from_secs(30), |e| {
        e["event"] == "leader_elected"
    })
    .await;
    assert!(
        killed.elapsed() <= Duration::from_secs(25),
        "took over within the lease period: {:?}",
        killed.elapsed()
    );
    scale_clickhouse(&sim, 3).await;
    wait_scale_one(&sim, Duration::from_secs(20)).await;

    let w = writes_by(&requests(&sim).await);
    assert!(
        w.iter().any(|(_, r)| r == "replica-a") && w.iter().any(|(_, r)| r == "replica-b"),
        "{w:?}"
    );
    assert_one_writer_at_a_time(&w);
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_leader_is_fenced_and_writes_nothing_after_it_resumes() {
    let (sim, _azurite, a, b) = leader_and_follower("ha-pause").await;

    a.signal("STOP");
    b.wait_event("the take-over", Duration::from_secs(40), |e| {
        e["event"] == "leader_elected"
    })
    .await;
    scale_clickhouse(&sim, 2).await;
    wait_scale_one(&sim, Duration::from_secs(20)).await;

    let resumed_at = requests(&sim)
        .await
        .last()
        .map(|r| r["atMs"].as_u64().unwrap())
        .unwrap_or(0);
    a.signal("CONT");
    a.wait_event("the old leader stepping down", Duration::from_secs(30), |e| {
        e["event"] == "leader_lost"
    })
    .await;
    scale_clickhouse(&sim, 3).await;
    wait_scale_one(&sim, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let log = requests(&sim).await;
    let w = writes_by(&log);
    let after: Vec<&(u64, String)> = w
        .iter()
        .filter(|(at, r)| *at >= resumed_at && r == "replica-a")
        .collect();
    assert!(after.is_empty(), "the resumed old leader wrote: {after:?}");
    assert_one_writer_at_a_time(&w);
    // It kept observing: reads from replica-a after it resumed.
    assert!(
        log.iter()
            .any(|r| r["replica"] == "replica-a" && r["atMs"].as_u64().unwrap() >= resumed_at)
    );
    sim.stop().await;
}
