//! The `aca-sim` binary: first stdout line, scenario, seed file, and HTTPS with its generated CA.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary and returns it with the URL from its first line.
fn spawn(args: &[&str]) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_aca-sim"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("first line was {line:?}"))
        .to_string();
    (Running(child), url)
}

const APP: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-langfuse/providers/Microsoft.App/containerApps/langfuse?api-version=2025-07-01";

#[tokio::test]
async fn prints_its_address_first_and_serves_the_scenario() {
    let (_sim, url) = spawn(&["--listen", "127.0.0.1:0", "--scenario", "sidecar"]);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let resp = reqwest::Client::new()
        .get(format!("{url}{APP}"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn seeds_from_a_yaml_file() {
    let dir = std::env::temp_dir().join(format!("aca-sim-seed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let seed = dir.join("seed.yaml");
    std::fs::write(
        &seed,
        "- id: /subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments/env1\n  location: westeurope\n  properties: {}\n",
    )
    .unwrap();
    let (_sim, url) = spawn(&["--seed", seed.to_str().unwrap()]);
    let env: Value = reqwest::Client::new()
        .get(format!("{url}/subscriptions/11111111-1111-1111-1111-111111111111/resourceGroups/rg1/providers/Microsoft.App/managedEnvironments/env1?api-version=2025-07-01"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        env["properties"]["defaultDomain"]
            .as_str()
            .unwrap()
            .ends_with(".westeurope.azurecontainerapps.io")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn serves_https_with_a_ca_written_at_start() {
    let dir = std::env::temp_dir().join(format!("aca-sim-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let (_sim, url) = spawn(&["--tls", "--ca-out", ca.to_str().unwrap(), "--scenario", "sidecar"]);
    assert!(url.starts_with("https://localhost:"), "{url}");
    let pem = std::fs::read(&ca).unwrap();
    let trusting = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let resp = trusting
        .get(format!("{url}{APP}"))
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    // A client that does not trust the CA is refused.
    let untrusting = reqwest::Client::builder().tls_certs_only([]).build().unwrap();
    assert!(
        untrusting
            .get(format!("{url}{APP}"))
            .bearer_auth("t")
            .send()
            .await
            .is_err()
    );
    std::fs::remove_dir_all(dir).unwrap();
}
