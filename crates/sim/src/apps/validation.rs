//! The checks Container Apps makes on an app write (environment, resources, ingress, secrets,
//! volumes), with ARM's error codes.

use aca_model::arm::ResourceId;
use aca_model::quantity::{Cpu, Memory, consumption_combination_ok};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::environments::has_custom_vnet;
use crate::error::{ArmFailure, ArmResult};
use crate::state::State;

pub(super) fn invalid(code: &str, message: impl Into<String>) -> ArmFailure {
    ArmFailure::bad_request(code, message)
}

/// The checks Container Apps makes on a write, so the operator cannot get away with what ARM refuses.
pub(super) fn validate(state: &State, app: &Value) -> ArmResult<()> {
    let props = app.get("properties").cloned().unwrap_or(json!({}));
    let env_id = props
        .get("managedEnvironmentId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                "ManagedEnvironmentRequired",
                "properties.managedEnvironmentId (or environmentId) is required.",
            )
        })?;
    let env_key = ResourceId::parse(env_id)
        .map(|i| i.canonical())
        .map_err(|e| invalid("InvalidParameterValue", e.to_string()))?;
    let env = state.environments.get(&env_key).ok_or_else(|| {
        ArmFailure::new(
            StatusCode::NOT_FOUND,
            "ManagedEnvironmentNotFound",
            format!("Managed environment '{env_id}' was not found."),
        )
    })?;
    let empty = Vec::new();
    let secrets = props
        .pointer("/configuration/secrets")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut secret_names = Vec::new();
    for s in secrets {
        let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
        if s.get("value").and_then(Value::as_str).is_none() && s.get("keyVaultUrl").and_then(Value::as_str).is_none() {
            return Err(invalid(
                "ContainerAppSecretInvalid",
                format!("Secret '{name}' needs a value or a keyVaultUrl."),
            ));
        }
        secret_names.push(name);
    }
    let template = props.get("template").cloned().unwrap_or(json!({}));
    let containers = template.get("containers").and_then(Value::as_array).unwrap_or(&empty);
    if containers.is_empty() {
        return Err(invalid(
            "ContainerAppContainersRequired",
            "A container app needs at least one container.",
        ));
    }
    let volumes = template.get("volumes").and_then(Value::as_array).unwrap_or(&empty);
    let mut names = Vec::new();
    let (mut cpu, mut mem, mut all_sized) = (0u32, 0u64, true);
    for c in containers {
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() || c.get("image").and_then(Value::as_str).is_none() {
            return Err(invalid(
                "ContainerAppInvalidContainer",
                "Every container needs a name and an image.",
            ));
        }
        if names.contains(&name) {
            return Err(invalid(
                "ContainerAppDuplicateContainerName",
                format!("Container name '{name}' is used twice."),
            ));
        }
        names.push(name);
        for e in c.get("env").and_then(Value::as_array).unwrap_or(&empty) {
            if let Some(r) = e.get("secretRef").and_then(Value::as_str)
                && !secret_names.contains(&r)
            {
                return Err(invalid(
                    "ContainerAppSecretRefNotFound",
                    format!("Container '{name}' references secret '{r}', which does not exist."),
                ));
            }
        }
        for m in c.get("volumeMounts").and_then(Value::as_array).unwrap_or(&empty) {
            let v = m.get("volumeName").and_then(Value::as_str).unwrap_or_default();
            if !volumes
                .iter()
                .any(|vol| vol.get("name").and_then(Value::as_str) == Some(v))
            {
                return Err(invalid(
                    "ContainerAppVolumeMountInvalid",
                    format!("Container '{name}' mounts volume '{v}', which the template does not declare."),
                ));
            }
        }
        match (
            c.pointer("/resources/cpu").and_then(Value::as_f64),
            c.pointer("/resources/memory").and_then(Value::as_str),
        ) {
            (Some(c), Some(m)) => {
                let (Ok(c), Ok(m)) = (Cpu::from_vcpu(c), Memory::parse(m)) else {
                    return Err(invalid(
                        "ContainerAppInvalidResources",
                        format!("Container '{name}' has invalid cpu or memory."),
                    ));
                };
                cpu += c.0;
                mem += m.0;
            }
            _ => all_sized = false,
        }
    }
    let on_consumption = props
        .get("workloadProfileName")
        .and_then(Value::as_str)
        .is_none_or(|p| p.eq_ignore_ascii_case("consumption"));
    if all_sized && on_consumption && !consumption_combination_ok(Cpu(cpu), Memory(mem)) {
        return Err(invalid(
            "ContainerAppInvalidResourceTotal",
            format!(
                "The total requested CPU and memory ({} vCPU, {}) is not a supported combination.",
                Cpu(cpu),
                Memory(mem)
            ),
        ));
    }
    for v in volumes {
        let vname = v.get("name").and_then(Value::as_str).unwrap_or_default();
        let kind = v.get("storageType").and_then(Value::as_str).unwrap_or("EmptyDir");
        if kind.eq_ignore_ascii_case("AzureFile") || kind.eq_ignore_ascii_case("NfsAzureFile") {
            let storage = v.get("storageName").and_then(Value::as_str).unwrap_or_default();
            let sid = format!("{env_key}/storages/{}", storage.to_ascii_lowercase());
            let Some(st) = state.storages.get(&sid) else {
                return Err(invalid(
                    "ManagedEnvironmentStorageNotFound",
                    format!("Volume '{vname}' uses storage '{storage}', which the environment does not have."),
                ));
            };
            let is_nfs = st.pointer("/properties/nfsAzureFile").is_some();
            if is_nfs != kind.eq_ignore_ascii_case("NfsAzureFile") {
                return Err(invalid(
                    "ContainerAppVolumeStorageTypeMismatch",
                    format!("Volume '{vname}' is {kind} but storage '{storage}' is not."),
                ));
            }
        }
    }
    if let Some(scale) = template.get("scale") {
        let min = scale.get("minReplicas").and_then(Value::as_i64).unwrap_or(0);
        let max = scale.get("maxReplicas").and_then(Value::as_i64).unwrap_or(10);
        if !(0..=1000).contains(&min) || !(1..=1000).contains(&max) || min > max {
            return Err(invalid(
                "ContainerAppInvalidScaleSettings",
                format!("minReplicas {min} and maxReplicas {max} are not valid."),
            ));
        }
    }
    if let Some(ingress) = props.pointer("/configuration/ingress") {
        validate_ingress(ingress, has_custom_vnet(env))?;
    }
    Ok(())
}

fn validate_ingress(ingress: &Value, custom_vnet: bool) -> ArmResult<()> {
    let transport = ingress
        .get("transport")
        .and_then(Value::as_str)
        .unwrap_or("auto")
        .to_ascii_lowercase();
    if !["auto", "http", "http2", "tcp"].contains(&transport.as_str()) {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            format!("Transport '{transport}' is not supported."),
        ));
    }
    let external = ingress.get("external").and_then(Value::as_bool).unwrap_or(false);
    let target = ingress.get("targetPort").and_then(Value::as_u64).unwrap_or(0);
    if !(1..=65535).contains(&target) {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            "ingress.targetPort must be 1-65535.",
        ));
    }
    if let Some(exposed) = ingress.get("exposedPort").and_then(Value::as_u64).filter(|p| *p != 0) {
        if transport != "tcp" {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                "ingress.exposedPort is only supported with TCP transport.",
            ));
        }
        if exposed == 80 || exposed == 443 || exposed > 65535 {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                format!("ingress.exposedPort {exposed} is reserved or invalid."),
            ));
        }
    }
    if transport == "tcp" && external && !custom_vnet {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            "External TCP ingress requires an environment with a custom virtual network.",
        ));
    }
    let empty = Vec::new();
    let extra = ingress
        .get("additionalPortMappings")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    if extra.len() > 5 {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            "At most 5 additional port mappings are allowed.",
        ));
    }
    let mut ports = vec![target];
    for m in extra {
        let p = m.get("targetPort").and_then(Value::as_u64).unwrap_or(0);
        if !(1..=65535).contains(&p) || ports.contains(&p) {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                format!("Additional port mapping target port {p} is invalid or not unique."),
            ));
        }
        ports.push(p);
        if m.get("external").and_then(Value::as_bool).unwrap_or(false) && (!external || !custom_vnet) {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                "External additional ports need an external app in a custom virtual network.",
            ));
        }
    }
    Ok(())
}
