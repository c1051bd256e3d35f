//! Preflight checks on the desired state and the live environment (the simulator's sidecar layout).

mod simulated;

use aca_arm::ArmClient;
use aca_model::desired::load_str;
use aca_reconcile::{Level, PassOptions, observe, preflight, run_pass};
use aca_sim::{SimConfig, Simulator};

const HEAD: &str = "stacks:
  - name: langfuse
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg-langfuse
    environment: cae-langfuse
    storages:
      clickhouse-data: { exclusive: true }
    apps:
      clickhouse:
        name: langfuse-clickhouse
        singleton: true
        containers: [{ name: clickhouse, image: clickhouse/clickhouse-server:24.8, cpu: 1, memory: 2Gi }]
        volumes: [{ name: data, storage: clickhouse-data }]
        ingress: { targetPort: 8123, transport: http }
      langfuse:
        name: langfuse
        forbidContainers: [clickhouse]
";

async fn setup() -> (Simulator, ArmClient) {
    let sim = aca_e2e::sidecar_sim(SimConfig::default()).await;
    let client = simulated::client(&sim);
    (sim, client)
}

#[tokio::test(start_paused = true)]
async fn an_http_migration_url_hidden_behind_a_secret_is_a_blocking_error() {
    let (sim, client) = setup().await;
    let yaml = format!(
        "{HEAD}        secrets:\n          ch-mig: \"https://${{apps.clickhouse.fqdn}}\"\n        env:\n          langfuse-web:\n            CLICKHOUSE_MIGRATION_URL: {{ secretRef: ch-mig }}\n"
    );
    let stack = load_str(&yaml, "t.yaml").unwrap().state.stacks.remove(0);
    let observed = observe(&client, &stack).await.unwrap();
    let findings = preflight(&stack, &observed);
    let f = findings
        .iter()
        .find(|f| f.check == "migration-needs-native-protocol")
        .unwrap_or_else(|| panic!("{findings:#?}"));
    assert_eq!(f.level, Level::Error);
    assert!(f.what.contains("https://langfuse-clickhouse.internal."), "{f}");
    assert!(f.remedy.contains("clickhouse://"));

    // Blocking: apply writes nothing.
    let report = run_pass(
        &client,
        &stack,
        PassOptions {
            apply: true,
            ..PassOptions::default()
        },
        &|_| {},
    )
    .await;
    assert!(
        report
            .error
            .unwrap()
            .to_string()
            .contains("migration-needs-native-protocol")
    );
    assert!(report.outcomes.is_empty());
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn cluster_mode_left_on_and_smb_storage_are_reported() {
    let (sim, client) = setup().await;
    // A person set the worker back to cluster mode; the YAML does not own that variable.
    let patch = serde_json::json!({"properties": {"template": {"containers": [
        {"name": "langfuse-web", "image": "langfuse/langfuse:3", "resources": {"cpu": 0.5, "memory": "1Gi"},
         "env": [{"name": "CLICKHOUSE_URL", "secretRef": "clickhouse-url"}, {"name": "CLICKHOUSE_CLUSTER_ENABLED", "value": "false"}]},
        {"name": "langfuse-worker", "image": "langfuse/langfuse-worker:3", "resources": {"cpu": 0.5, "memory": "1Gi"},
         "env": [{"name": "CLICKHOUSE_URL", "secretRef": "clickhouse-url"}]},
        {"name": "clickhouse", "image": "clickhouse/clickhouse-server:24.8-alpine", "resources": {"cpu": 1.0, "memory": "2Gi"},
         "volumeMounts": [{"volumeName": "clickhouse-data", "mountPath": "/var/lib/clickhouse"}]}
    ]}}});
    let r = reqwest::Client::new()
        .patch(format!(
            "{}/_sim/state{}",
            sim.base_url,
            aca_sim::scenario::app_id("langfuse")
        ))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let stack = load_str(HEAD, "t.yaml").unwrap().state.stacks.remove(0);
    let observed = observe(&client, &stack).await.unwrap();
    let findings = preflight(&stack, &observed);
    let cluster: Vec<_> = findings.iter().filter(|f| f.check == "cluster-enabled").collect();
    assert_eq!(cluster.len(), 1, "only the worker: {findings:#?}");
    assert!(cluster[0].what.contains("langfuse-worker") && cluster[0].what.contains("defaults to true"));
    let smb = findings.iter().find(|f| f.check == "clickhouse-on-smb").unwrap();
    assert_eq!(smb.level, Level::Warning);
    assert!(smb.sources.contains("ClickHouse/ClickHouse#74572"));
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_missing_environment_or_storage_is_an_error() {
    let (sim, client) = setup().await;
    let stack = load_str(&HEAD.replace("cae-langfuse", "cae-nope"), "t.yaml")
        .unwrap()
        .state
        .stacks
        .remove(0);
    let observed = observe(&client, &stack).await.unwrap();
    assert_eq!(preflight(&stack, &observed)[0].check, "environment-exists");
    let stack = load_str(&HEAD.replace("clickhouse-data", "other-data"), "t.yaml")
        .unwrap()
        .state
        .stacks
        .remove(0);
    let observed = observe(&client, &stack).await.unwrap();
    assert!(
        preflight(&stack, &observed)
            .iter()
            .any(|f| f.check == "storage-exists" && f.level == Level::Error)
    );
    sim.stop().await;
}
