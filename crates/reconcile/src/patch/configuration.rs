//! The owned part of a configuration: revision mode, ingress, additional ports, secrets.

use aca_model::desired::SecretSpec;
use serde_json::{Value, json};

use super::PatchInput;
use crate::resolve::ResolveError;

/// Applies owned configuration; returns whether a secret value changed.
pub(super) fn apply_configuration(config: &mut Value, input: &PatchInput) -> Result<bool, ResolveError> {
    let spec = input.spec;
    if !config.is_object() {
        *config = json!({});
    }
    // A singleton's revision mode is owned even though the YAML does not spell it out: in
    // Multiple mode a template change runs two revisions on its exclusive storage.
    // Absent means Single (ARM's default), so an absent mode is left alone.
    let multiple = config
        .get("activeRevisionsMode")
        .and_then(Value::as_str)
        .is_some_and(|m| !m.eq_ignore_ascii_case("single"));
    if spec.singleton && multiple {
        config["activeRevisionsMode"] = json!("Single");
    }
    if let Some(want) = &spec.ingress {
        if !config.get("ingress").is_some_and(Value::is_object) {
            config["ingress"] = json!({});
        }
        let ingress = &mut config["ingress"];
        ingress["external"] = json!(want.external);
        ingress["targetPort"] = json!(want.target_port);
        let live_transport = ingress
            .get("transport")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        // `auto` is ARM's default: an absent transport already is `auto`.
        if !(live_transport.is_none() && want.transport == aca_model::desired::Transport::Auto) {
            ingress["transport"] = json!(want.transport.as_str());
        }
        if want.transport == aca_model::desired::Transport::Tcp {
            ingress["exposedPort"] = json!(want.exposed_port.unwrap_or(want.target_port));
        }
        if let Some(ai) = want.allow_insecure {
            ingress["allowInsecure"] = json!(ai);
        }
    }
    if let Some(ports) = &spec.additional_ports {
        if !config.get("ingress").is_some_and(Value::is_object) {
            config["ingress"] = json!({});
        }
        let mappings: Vec<Value> = ports
            .iter()
            .map(|p| json!({ "targetPort": p.target_port, "exposedPort": p.effective_exposed_port(), "external": p.external }))
            .collect();
        let same = {
            let live: Vec<(u64, u64, bool)> = config["ingress"]
                .get("additionalPortMappings")
                .and_then(Value::as_array)
                .map(|ms| {
                    ms.iter()
                        .map(|m| {
                            let t = m.get("targetPort").and_then(Value::as_u64).unwrap_or(0);
                            (
                                t,
                                m.get("exposedPort").and_then(Value::as_u64).unwrap_or(t),
                                m.get("external").and_then(Value::as_bool).unwrap_or(false),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let mut a = live;
            let mut b: Vec<(u64, u64, bool)> = ports
                .iter()
                .map(|p| {
                    (
                        u64::from(p.target_port),
                        u64::from(p.effective_exposed_port()),
                        p.external,
                    )
                })
                .collect();
            a.sort_unstable();
            b.sort_unstable();
            a == b
        };
        if !same {
            config["ingress"]["additionalPortMappings"] = Value::Array(mappings);
        }
    }
    // Secrets: the whole list with values, owned ones set to their desired value.
    let mut secrets_changed = false;
    if let Some(values) = input.live_secrets {
        let mut list: Vec<Value> = values
            .iter()
            .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            .collect();
        for (name, want) in &spec.secrets {
            let entry = match want {
                SecretSpec::Value(t) => json!({ "name": name, "value": input.resolver.resolve(t)? }),
                SecretSpec::KeyVault { url, identity } => {
                    json!({ "name": name, "keyVaultUrl": url, "identity": identity })
                }
            };
            match list
                .iter_mut()
                .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
            {
                Some(existing) if *existing == entry => {}
                Some(existing) => {
                    *existing = entry;
                    secrets_changed = true;
                }
                None => {
                    list.push(entry);
                    secrets_changed = true;
                }
            }
        }
        config["secrets"] = Value::Array(list);
    }
    Ok(secrets_changed)
}
