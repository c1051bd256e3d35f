//! Built-in scenarios: ready-made worlds to start the simulator with.
//!
//! `sidecar` is the migration plan's *current* layout: Langfuse runs ClickHouse as a sidecar on an
//! Azure Files share, at 2 replicas (so 2 ClickHouse processes on one share). Its names match
//! `deploy/examples/langfuse.yaml`.

use serde_json::{Value, json};

pub const SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
pub const RESOURCE_GROUP: &str = "rg-langfuse";
pub const ENVIRONMENT: &str = "cae-langfuse";
pub const DEFAULT_DOMAIN: &str = "calmwave-5e3d1a7c.japaneast.azurecontainerapps.io";
pub const STORAGE: &str = "clickhouse-data";
pub const STORAGE_ACCOUNT: &str = "stlangfusedata";
pub const SHARE: &str = "clickhouse";
pub const LANGFUSE_APP: &str = "langfuse";
pub const CLICKHOUSE_APP: &str = "langfuse-clickhouse";
/// The password the sidecar layout's secrets carry (a simulator value, not a real credential).
pub const SIDECAR_CLICKHOUSE_PASSWORD: &str = "sim-sidecar-password-7f3a";

pub fn names() -> &'static [&'static str] {
    &["sidecar", "empty"]
}

/// The resources of a built-in scenario, or `None` for an unknown name.
pub fn resources(name: &str) -> Option<Vec<Value>> {
    match name {
        "sidecar" => Some(sidecar()),
        "empty" => Some(Vec::new()),
        _ => None,
    }
}

fn rg_id() -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}")
}

pub fn environment_id() -> String {
    format!("{}/providers/Microsoft.App/managedEnvironments/{ENVIRONMENT}", rg_id())
}

pub fn app_id(name: &str) -> String {
    format!("{}/providers/Microsoft.App/containerApps/{name}", rg_id())
}

pub fn share_id() -> String {
    format!(
        "{}/providers/Microsoft.Storage/storageAccounts/{STORAGE_ACCOUNT}/fileServices/default/shares/{SHARE}",
        rg_id()
    )
}

fn sidecar() -> Vec<Value> {
    let env = environment_id();
    let clickhouse_env = |with_migration: bool| {
        let mut vars = vec![
            json!({"name": "CLICKHOUSE_URL", "secretRef": "clickhouse-url"}),
            json!({"name": "CLICKHOUSE_USER", "value": "clickhouse"}),
            json!({"name": "CLICKHOUSE_PASSWORD", "secretRef": "clickhouse-password"}),
            json!({"name": "CLICKHOUSE_CLUSTER_ENABLED", "value": "false"}),
        ];
        if with_migration {
            vars.insert(
                1,
                json!({"name": "CLICKHOUSE_MIGRATION_URL", "secretRef": "clickhouse-migration-url"}),
            );
        }
        Value::Array(vars)
    };
    vec![
        json!({
            "id": env,
            "location": "Japan East",
            "tags": {"application": "langfuse"},
            "properties": {
                "provisioningState": "Succeeded",
                "defaultDomain": DEFAULT_DOMAIN,
                "staticIp": "20.78.1.10",
                "zoneRedundant": false,
                "workloadProfiles": [{"name": "Consumption", "workloadProfileType": "Consumption"}]
            }
        }),
        json!({
            "id": format!("{env}/storages/{STORAGE}"),
            "properties": {
                "azureFile": {
                    "accountName": STORAGE_ACCOUNT,
                    "accountKey": "c2ltLWFjY291bnQta2V5LW5vdC1yZWFs",
                    "shareName": SHARE,
                    "accessMode": "ReadWrite"
                }
            }
        }),
        json!({
            "id": share_id(),
            "properties": {"shareQuota": 50, "enabledProtocols": "SMB", "accessTier": "TransactionOptimized"}
        }),
        json!({
            "id": app_id(LANGFUSE_APP),
            "location": "Japan East",
            "tags": {"application": "langfuse"},
            "properties": {
                "managedEnvironmentId": env,
                "configuration": {
                    "activeRevisionsMode": "Single",
                    "ingress": {"external": true, "targetPort": 3000, "transport": "auto", "allowInsecure": false,
                                "traffic": [{"weight": 100, "latestRevision": true}]},
                    "secrets": [
                        {"name": "clickhouse-url", "value": "http://localhost:8123"},
                        {"name": "clickhouse-migration-url", "value": "clickhouse://localhost:9000"},
                        {"name": "clickhouse-password", "value": SIDECAR_CLICKHOUSE_PASSWORD},
                        {"name": "database-url", "value": "postgresql://langfuse:sim-db-password@psql-langfuse:5432/langfuse"}
                    ]
                },
                "template": {
                    "containers": [
                        {"name": "langfuse-web", "image": "langfuse/langfuse:3",
                         "resources": {"cpu": 0.5, "memory": "1Gi"}, "env": clickhouse_env(true),
                         "probes": [{"type": "Liveness", "httpGet": {"path": "/api/public/health", "port": 3000}}]},
                        {"name": "langfuse-worker", "image": "langfuse/langfuse-worker:3",
                         "resources": {"cpu": 0.5, "memory": "1Gi"}, "env": clickhouse_env(false)},
                        // The official compose file gives ClickHouse the user Langfuse logs in as.
                        {"name": "clickhouse", "image": "clickhouse/clickhouse-server:24.8-alpine",
                         "resources": {"cpu": 1.0, "memory": "2Gi"},
                         "env": [{"name": "CLICKHOUSE_USER", "value": "clickhouse"},
                                 {"name": "CLICKHOUSE_PASSWORD", "secretRef": "clickhouse-password"}],
                         "volumeMounts": [{"volumeName": "clickhouse-data", "mountPath": "/var/lib/clickhouse"}]}
                    ],
                    "scale": {"minReplicas": 2, "maxReplicas": 5},
                    "volumes": [{"name": "clickhouse-data", "storageType": "AzureFile", "storageName": STORAGE}]
                }
            }
        }),
    ]
}

/// For list and paging tests: the id of environment `cae-{resource_group}`.
pub fn bare_environment_id(subscription: &str, resource_group: &str) -> String {
    format!(
        "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.App/managedEnvironments/cae-{resource_group}"
    )
}

/// For list and paging tests: an empty environment `cae-{resource_group}` to seed.
pub fn bare_environment(subscription: &str, resource_group: &str) -> Value {
    json!({"id": bare_environment_id(subscription, resource_group), "location": "Japan East", "properties": {}})
}

/// For list and paging tests: a one-container app in environment `cae-{resource_group}`.
pub fn bare_app(subscription: &str, resource_group: &str, name: &str) -> Value {
    json!({
        "id": format!("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.App/containerApps/{name}"),
        "location": "Japan East",
        "properties": {
            "managedEnvironmentId": bare_environment_id(subscription, resource_group),
            "configuration": {"activeRevisionsMode": "Single"},
            "template": {"containers": [{"name": "main", "image": "nginx:1", "resources": {"cpu": 0.5, "memory": "1Gi"}}]}
        }
    })
}
