//! A fleet of N Langfuse stacks already in the target layout, spread over subscriptions and
//! resource groups: the live resources (copied from one real migration on the simulator, so they
//! are exactly what the operator produces) and the desired-state files.

use std::path::Path;
use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, AuthMethod, AuthSettings, LroSettings, Secret};
use aca_model::desired::load_str;
use aca_reconcile::{ExecSettings, PassOptions, run_pass};
use aca_sim::{SimConfig, Simulator, StartOptions, scenario};
use serde_json::Value;

/// 2,500 stacks (5,000 apps) fill ten subscriptions.
pub const STACKS_PER_SUBSCRIPTION: usize = 250;
pub const EXAMPLE: &str = include_str!("../../../deploy/examples/langfuse.yaml");

pub fn subscription(i: usize) -> String {
    format!("b0000000-0000-4000-8000-{:012}", i / STACKS_PER_SUBSCRIPTION)
}

/// Replaces the example's identifiers with stack `i`'s.
pub fn rename(text: &str, i: usize) -> String {
    text.replace(scenario::SUBSCRIPTION, &subscription(i))
        .replace(scenario::RESOURCE_GROUP, &format!("rg-team-{i}"))
        .replace(scenario::ENVIRONMENT, &format!("cae-team-{i}"))
        .replace(scenario::STORAGE_ACCOUNT, &format!("stteam{i}"))
}

/// The live resources of one migrated stack (environment, storage, share, both apps).
pub async fn migrated_template() -> Vec<Value> {
    let config = SimConfig {
        lro_duration: Duration::from_millis(20),
        revision_start: Duration::from_millis(20),
        overlap: Duration::from_millis(20),
        stop_delay: Duration::from_millis(20),
        throttle: false,
        ..SimConfig::default()
    };
    let sim = Simulator::start(StartOptions {
        scenario: Some("sidecar".into()),
        config,
        ..StartOptions::default()
    })
    .await
    .expect("template simulator");
    let client = ArmClient::new(ArmConfig {
        endpoint: Some(sim.base_url.clone()),
        allow_insecure_loopback: true,
        auth: AuthSettings {
            method: AuthMethod::Static,
            static_token: Some(Secret::new("bench")),
            ..AuthSettings::default()
        },
        lro: LroSettings {
            poll_interval: Duration::from_millis(10),
            ..LroSettings::default()
        },
        ..ArmConfig::default()
    })
    .expect("client");
    let stack = load_str(EXAMPLE, "langfuse.yaml")
        .expect("example")
        .state
        .stacks
        .remove(0);
    let options = PassOptions {
        apply: true,
        exec: ExecSettings {
            poll_interval: Duration::from_millis(20),
            wait_timeout: Duration::from_secs(30),
        },
        ..PassOptions::default()
    };
    let report = run_pass(&client, &stack, options, &|_| {}).await;
    assert!(report.error.is_none(), "template migration failed: {:?}", report.error);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let resources = sim.state().lock().expect("state").all_resources();
    sim.stop().await;
    resources
}

/// Writes the desired state of N stacks, 50 per file, into `dir`.
pub fn write_desired(dir: &Path, n: usize) {
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).expect("desired dir");
    let body = EXAMPLE.split_once("stacks:\n").expect("the example has stacks").1;
    for chunk in 0..n.div_ceil(50) {
        let mut text = String::from("stacks:\n");
        for i in chunk * 50..((chunk + 1) * 50).min(n) {
            text.push_str(&rename(body, i).replacen("- name: langfuse\n", &format!("- name: team-{i}\n"), 1));
        }
        std::fs::write(dir.join(format!("stacks-{chunk:03}.yaml")), text).expect("write desired");
    }
}

/// The resources of N stacks.
pub fn resources(template: &[Value], n: usize) -> Vec<Value> {
    let texts: Vec<String> = template.iter().map(|r| r.to_string()).collect();
    (0..n)
        .flat_map(|i| {
            texts
                .iter()
                .map(move |t| serde_json::from_str(&rename(t, i)).expect("renamed resource"))
        })
        .collect()
}
