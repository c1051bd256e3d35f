//! Request bodies: the PATCH that brings a live app to the desired state, and the PUT that
//! creates a missing one.
//!
//! A PATCH is built from a fresh read right before the write. Arrays (containers, env, volumes,
//! secrets, port mappings) are rebuilt from that read, changing only owned entries, so other
//! people's changes survive. When the template changes, the whole template is sent; when the
//! configuration changes, the whole configuration with every secret's value (from `listSecrets`),
//! so the body is correct whether ARM merges or replaces those objects.

mod configuration;
mod probes;
mod rollback;
mod template;
#[cfg(test)]
mod tests;

pub use probes::{keep_declared, live_probes, probe_json};
pub use rollback::build_sidecar_restore;

use aca_model::arm::{ContainerApp, EnvironmentStorage, ManagedEnvironment, Secret, StorageKind};
use aca_model::desired::{AppSpec, Stack};
use configuration::apply_configuration;
use serde_json::{Map, Value, json};
use template::apply_template;

use crate::resolve::{ResolveError, Resolver};

/// A PATCH body and what it changes.
#[derive(Debug, Clone, PartialEq)]
pub struct AppPatch {
    pub body: Value,
    pub template_changed: bool,
    pub configuration_changed: bool,
    /// Secret values changed (running replicas keep old values until a restart or new revision).
    pub secrets_changed: bool,
}

/// What a patch needs besides the spec: the fresh app, its secret values, and the environment's storages.
pub struct PatchInput<'a> {
    pub stack: &'a Stack,
    pub spec: &'a AppSpec,
    pub live: &'a ContainerApp,
    /// From `listSecrets` (values); needed only when the configuration changes.
    pub live_secrets: Option<&'a [Secret]>,
    pub storages: &'a std::collections::BTreeMap<String, EnvironmentStorage>,
    pub resolver: &'a Resolver<'a>,
}

/// The PATCH for `spec` against the live app, or `None` when nothing owned differs.
pub fn build_patch(input: &PatchInput) -> Result<Option<AppPatch>, ResolveError> {
    let live = serde_json::to_value(input.live).unwrap_or(Value::Null);
    let live_template = live
        .pointer("/properties/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut template = live_template.clone();
    apply_template(&mut template, input)?;
    let template_changed = template != live_template;

    let live_config = live
        .pointer("/properties/configuration")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let mut config = live_config.clone();
    let secrets_changed = apply_configuration(&mut config, input)?;
    // Secrets are compared by value separately: GET shows none.
    let configuration_changed = secrets_changed || strip_secrets(&config) != strip_secrets(&live_config);

    if !template_changed && !configuration_changed {
        return Ok(None);
    }
    let mut props = Map::new();
    if template_changed {
        props.insert("template".into(), template);
    }
    if configuration_changed {
        if let Some(obj) = config.as_object_mut()
            && let Some(ingress) = obj.get_mut("ingress").and_then(Value::as_object_mut)
        {
            ingress.remove("fqdn");
        }
        props.insert("configuration".into(), config);
    }
    Ok(Some(AppPatch {
        body: json!({ "properties": props }),
        template_changed,
        configuration_changed,
        secrets_changed,
    }))
}

fn strip_secrets(config: &Value) -> Value {
    let mut c = config.clone();
    if let Some(obj) = c.as_object_mut() {
        obj.remove("secrets");
    }
    c
}

fn storage_type(storages: &std::collections::BTreeMap<String, EnvironmentStorage>, name: &str) -> &'static str {
    storages
        .get(name)
        .and_then(EnvironmentStorage::kind)
        .unwrap_or(StorageKind::AzureFile)
        .volume_storage_type()
}

fn array<'v>(obj: &'v mut Value, key: &str) -> &'v mut Vec<Value> {
    if !obj.get(key).is_some_and(Value::is_array) {
        obj[key] = json!([]);
    }
    obj[key].as_array_mut().expect("made an array above")
}

/// The volumes of a template that are backed by one of `storages`.
fn volumes_on<'t>(template: &'t Value, storages: &[String]) -> Vec<&'t Value> {
    template
        .get("volumes")
        .and_then(Value::as_array)
        .map(|vs| {
            vs.iter()
                .filter(|v| {
                    v.get("storageName")
                        .and_then(Value::as_str)
                        .is_some_and(|s| storages.iter().any(|f| f.eq_ignore_ascii_case(s)))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn name_of(entry: &Value) -> Option<String> {
    entry.get("name").and_then(Value::as_str).map(str::to_string)
}

/// Replaces the entry with the same `name`, keeping fields of the old entry the new one does not set.
fn upsert_by_name(list: &mut Vec<Value>, entry: Value) {
    let name = entry.get("name").cloned();
    match list.iter_mut().find(|e| e.get("name") == name.as_ref()) {
        Some(existing) => {
            if let (Some(old), Some(new)) = (existing.as_object_mut(), entry.as_object()) {
                // A literal and a secretRef are alternatives: setting one removes the other.
                if new.contains_key("value") {
                    old.remove("secretRef");
                }
                if new.contains_key("secretRef") {
                    old.remove("value");
                }
                for (k, v) in new {
                    old.insert(k.clone(), v.clone());
                }
            }
        }
        None => list.push(entry),
    }
}

/// The PUT body that creates `spec` in the environment.
pub fn build_create(
    input_stack: &Stack,
    spec: &AppSpec,
    env: &ManagedEnvironment,
    storages: &std::collections::BTreeMap<String, EnvironmentStorage>,
    resolver: &Resolver,
) -> Result<ContainerApp, ResolveError> {
    let env_id = env.id.clone().unwrap_or_default();
    let mut template = json!({ "containers": [] });
    let empty_live = ContainerApp::default();
    let input = PatchInput {
        stack: input_stack,
        spec,
        live: &empty_live,
        live_secrets: Some(&[]),
        storages,
        resolver,
    };
    apply_template(&mut template, &input)?;
    let mut config = json!({ "activeRevisionsMode": "Single" });
    apply_configuration(&mut config, &input)?;
    let mut props = json!({ "environmentId": env_id, "configuration": config, "template": template });
    if let Some(profile) = &spec.workload_profile {
        props["workloadProfileName"] = json!(profile);
    }
    let body = json!({ "location": env.location.clone().unwrap_or_default(), "properties": props });
    Ok(serde_json::from_value(body).expect("the body is a container app"))
}
