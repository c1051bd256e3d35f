//! Azurite, the Azure Storage emulator, for the suites and the benchmark: found on the PATH or
//! installed from the npm registry under target/azurite, run with HTTPS (a throwaway CA) and
//! OAuth, and a token its OAuth mode accepts. The queue service backs the events watch; the blob
//! service (see tests/tests/lease) backs leader election.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The queue the simulator publishes into and the operator reads.
pub const QUEUE: &str = "events";

const AZURITE_VERSION: &str = "3.35.0";

/// `azurite-blob` on the PATH, or installed under target/azurite from the npm registry. Once per
/// process: the tests of a file run in parallel, and two npm installs into one prefix collide.
pub fn azurite_binary() -> PathBuf {
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
    let prefix = crate::repo().join("target/azurite");
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
pub fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
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
pub fn emulator_token() -> String {
    fn b64(v: &Value) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
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

/// `azurite-queue`, beside the `azurite-blob` the lease tests find or install (one npm package).
fn queue_binary() -> PathBuf {
    let blob = azurite_binary();
    match blob.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("azurite-queue"),
        _ => PathBuf::from("azurite-queue"),
    }
}

/// Azurite's queue service on a fixed port and data folder, so it can be stopped and restarted.
pub struct QueueService {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    pub ca: PathBuf,
}

impl QueueService {
    pub fn start(dir: &Path) -> Self {
        let (ca, cert, key) = certificates(dir);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut q = QueueService {
            child: None,
            port,
            dir: dir.to_path_buf(),
            cert,
            key,
            ca,
        };
        q.restart();
        q
    }

    pub fn restart(&mut self) {
        let child = Command::new(queue_binary())
            .args(["--queueHost", "127.0.0.1", "--queuePort", &self.port.to_string()])
            .args(["--location", self.dir.join("queue-data").to_str().unwrap()])
            .args(["--oauth", "basic", "--cert", self.cert.to_str().unwrap()])
            .args(["--key", self.key.to_str().unwrap()])
            .args(["--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start azurite-queue");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(30), "azurite-queue did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}/devstoreaccount1/{QUEUE}", self.port)
    }

    pub fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.ca).unwrap();
        reqwest::Client::builder()
            .tls_certs_merge([reqwest::Certificate::from_pem(&pem).unwrap()])
            .build()
            .unwrap()
    }

    pub async fn create_queue(&self) {
        let r = self
            .client()
            .put(self.url())
            .bearer_auth(emulator_token())
            .header("x-ms-version", "2025-11-05")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "create queue: {}", r.status());
    }

    /// The queue's approximate message count (visible and invisible).
    pub async fn messages(&self) -> u64 {
        let r = self
            .client()
            .get(format!("{}?comp=metadata", self.url()))
            .bearer_auth(emulator_token())
            .header("x-ms-version", "2025-11-05")
            .send()
            .await
            .unwrap();
        r.headers()["x-ms-approximate-messages-count"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap()
    }
}

impl Drop for QueueService {
    fn drop(&mut self) {
        self.stop();
    }
}
