//! The rollback's PATCH: the owner of an exclusive storage put back into its host as a sidecar.

use aca_model::arm::{ContainerApp, Secret};
use aca_model::desired::{AppSpec, SecretSpec, Stack};
use serde_json::{Value, json};

use super::{array, name_of, upsert_by_name, volumes_on};
use crate::resolve::{ResolveError, Resolver};

/// The PATCH that puts the owner's containers and volume back into the host as a sidecar (the
/// rollback), at exactly one replica, with the host's secrets that referenced the owner pointing at
/// `localhost` and the container's own ports.
pub fn build_sidecar_restore(
    stack: &Stack,
    host: &AppSpec,
    owner: &AppSpec,
    live_host: &ContainerApp,
    live_owner: &ContainerApp,
    host_secrets: &[Secret],
    storage: &str,
) -> Result<Value, ResolveError> {
    let host_json = serde_json::to_value(live_host).unwrap_or(Value::Null);
    let mut template = host_json
        .pointer("/properties/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let owner_json = serde_json::to_value(live_owner).unwrap_or(Value::Null);
    let owner_template = owner_json
        .pointer("/properties/template")
        .cloned()
        .unwrap_or_else(|| json!({}));
    let owner_volumes: Vec<Value> = volumes_on(&owner_template, &[storage.to_string()])
        .into_iter()
        .cloned()
        .collect();
    let volume_names: Vec<String> = owner_volumes.iter().filter_map(name_of).collect();
    for c in owner_json
        .pointer("/properties/template/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
    {
        let mounts_storage = c.get("volumeMounts").and_then(Value::as_array).is_some_and(|ms| {
            ms.iter().any(|m| {
                m.get("volumeName")
                    .and_then(Value::as_str)
                    .is_some_and(|v| volume_names.iter().any(|n| n == v))
            })
        });
        if mounts_storage {
            upsert_by_name(array(&mut template, "containers"), c);
        }
    }
    for v in owner_volumes {
        upsert_by_name(array(&mut template, "volumes"), v);
    }
    // Each host replica would start its own copy of the owner on the share: one replica only.
    template["scale"] = json!({ "minReplicas": 1, "maxReplicas": 1 });

    let target_port = live_owner.ingress().and_then(|i| i.target_port);
    let tcp_ports: Vec<(u32, u32)> = live_owner
        .ingress()
        .and_then(|i| i.additional_port_mappings.as_ref())
        .map(|ms| {
            ms.iter()
                .map(|m| (m.exposed_port.unwrap_or(m.target_port), m.target_port))
                .collect()
        })
        .unwrap_or_default();
    let localhost = Resolver {
        stack,
        default_domain: None,
    };
    let mut list: Vec<Value> = host_secrets
        .iter()
        .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
        .collect();
    for (name, spec) in &host.secrets {
        let SecretSpec::Value(t) = spec else { continue };
        let refers_to_owner = t.references().any(|r| matches!(r, aca_model::desired::Reference::AppName(k) | aca_model::desired::Reference::AppFqdn(k) if *k == owner.key));
        if !refers_to_owner {
            continue;
        }
        let url = t
            .resolve(|r| match r {
                aca_model::desired::Reference::AppName(k) | aca_model::desired::Reference::AppFqdn(k)
                    if *k == owner.key =>
                {
                    Some("localhost".to_string())
                }
                other => localhost
                    .resolve(&aca_model::desired::TemplateString {
                        raw: String::new(),
                        segments: vec![aca_model::desired::Segment::Ref(other.clone())],
                        loc: Default::default(),
                    })
                    .ok(),
            })
            .map_err(|r| ResolveError {
                reference: r.to_string(),
                why: "cannot resolve for the rollback".into(),
            })?;
        let value = sidecar_url(&url, target_port, &tcp_ports);
        match list
            .iter_mut()
            .find(|s| s.get("name").and_then(Value::as_str) == Some(name))
        {
            Some(existing) => *existing = json!({ "name": name, "value": value }),
            None => list.push(json!({ "name": name, "value": value })),
        }
    }
    let mut config = host_json
        .pointer("/properties/configuration")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(ingress) = config.get_mut("ingress").and_then(Value::as_object_mut) {
        ingress.remove("fqdn");
    }
    config["secrets"] = Value::Array(list);
    Ok(json!({ "properties": { "template": template, "configuration": config } }))
}

/// `http://localhost` (through ingress, port 80) becomes `http://localhost:<target port>`; a
/// native-protocol URL's exposed port becomes the container's target port.
fn sidecar_url(url: &str, http_target: Option<u32>, tcp_ports: &[(u32, u32)]) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (hostport, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => (h, p.parse::<u32>().ok()),
        None => (hostport, None),
    };
    let port = match (scheme, port) {
        ("http" | "https", None) => http_target,
        (_, Some(p)) => Some(
            tcp_ports
                .iter()
                .find(|(exposed, _)| *exposed == p)
                .map_or(p, |(_, target)| *target),
        ),
        (_, None) => None,
    };
    match port {
        Some(p) => format!("{scheme}://{host}:{p}{path}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::sidecar_url;

    #[test]
    fn sidecar_urls_go_to_the_container_ports() {
        assert_eq!(
            sidecar_url("http://localhost", Some(8123), &[]),
            "http://localhost:8123"
        );
        assert_eq!(
            sidecar_url("tcp://localhost:9000", Some(8123), &[(9000, 9000)]),
            "tcp://localhost:9000"
        );
        assert_eq!(
            sidecar_url("tcp://localhost:19000/db", None, &[(19000, 9000)]),
            "tcp://localhost:9000/db"
        );
        assert_eq!(sidecar_url("not a url", None, &[]), "not a url");
    }
}
