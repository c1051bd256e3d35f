//! Managed environments and their storages: mostly read by the operator, seeded by the admin API.

use aca_model::arm::ResourceId;
use serde_json::{Value, json};

/// Fills what ARM computes for an environment: type, name, provisioning state, default domain.
pub fn normalise(id: &ResourceId, mut env: Value) -> Value {
    env["id"] = json!(id.to_string());
    env["name"] = json!(id.name());
    env["type"] = json!("Microsoft.App/managedEnvironments");
    if env.get("location").is_none() {
        env["location"] = json!("eastus");
    }
    let location = env["location"]
        .as_str()
        .unwrap_or("eastus")
        .to_ascii_lowercase()
        .replace(' ', "");
    let props = env
        .as_object_mut()
        .expect("environments are objects")
        .entry("properties")
        .or_insert(json!({}));
    if props.get("provisioningState").is_none() {
        props["provisioningState"] = json!("Succeeded");
    }
    if props.get("defaultDomain").is_none() {
        // ARM: <adjective-noun>-<8 hex>.<region>.azurecontainerapps.io; derived from the id here.
        let hash = fnv(&id.canonical());
        props["defaultDomain"] = json!(format!(
            "{}-{:08x}.{location}.azurecontainerapps.io",
            id.name(),
            hash as u32
        ));
    }
    env
}

pub fn normalise_storage(id: &ResourceId, mut storage: Value) -> Value {
    storage["id"] = json!(id.to_string());
    storage["name"] = json!(id.name());
    storage["type"] = json!("Microsoft.App/managedEnvironments/storages");
    if storage.get("properties").is_none() {
        storage["properties"] = json!({});
    }
    storage
}

/// A storage as GET shows it: the account key is write-only.
pub fn storage_view(storage: &Value) -> Value {
    let mut v = storage.clone();
    if let Some(f) = v.pointer_mut("/properties/azureFile").and_then(Value::as_object_mut) {
        f.remove("accountKey");
    }
    v
}

pub fn default_domain(env: &Value) -> String {
    env.pointer("/properties/defaultDomain")
        .and_then(Value::as_str)
        .unwrap_or("example.azurecontainerapps.io")
        .to_string()
}

pub fn has_custom_vnet(env: &Value) -> bool {
    env.pointer("/properties/vnetConfiguration/infrastructureSubnetId")
        .is_some_and(|v| v.is_string())
}

/// FNV-1a: a stable, dependency-free hash for made-up but deterministic names.
pub fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
