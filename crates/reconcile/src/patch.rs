//! Request bodies: the PATCH that brings a live app to the desired state, and the PUT that
//! creates a missing one.
//!
//! A PATCH is built from a fresh read right before the write. Arrays (containers, env, volumes,
//! secrets, port mappings) are rebuilt from that read, changing only owned entries, so other
//! people's changes survive. When the template changes, the whole template is sent; when the
//! configuration changes, the whole configuration with every secret's value (from `listSecrets`),
//! so the body is correct whether ARM merges or replaces those objects.

use aca_model::arm::{ContainerApp, EnvironmentStorage, ManagedEnvironment, Secret, StorageKind};
use aca_model::desired::{AppSpec, ContainerSpec, EnvValue, SecretSpec, Stack};
use aca_model::desired::{ProbeAction, ProbeSpec};
use serde_json::{Map, Value, json};

use crate::layout;
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

fn apply_template(template: &mut Value, input: &PatchInput) -> Result<(), ResolveError> {
    let spec = input.spec;
    if !template.is_object() {
        *template = json!({});
    }
    // Forbidden containers go, and so do volumes on exclusive storages this app does not own (with
    // their mounts).
    let foreign: Vec<String> = layout::exclusive_storages(input.stack)
        .filter(|s| !spec.storages().any(|o| o == *s))
        .map(str::to_string)
        .collect();
    let foreign_volumes: Vec<String> = volumes_on(template, &foreign)
        .iter()
        .filter_map(|v| name_of(v))
        .collect();
    {
        let containers = array(template, "containers");
        containers.retain(|c| {
            !c.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| spec.forbid_containers.iter().any(|f| f == n))
        });
        for c in containers.iter_mut() {
            if let Some(mounts) = c.get_mut("volumeMounts").and_then(Value::as_array_mut) {
                mounts.retain(|m| {
                    !m.get("volumeName")
                        .and_then(Value::as_str)
                        .is_some_and(|v| foreign_volumes.iter().any(|f| f == v))
                });
            }
        }
    }
    if !foreign_volumes.is_empty() {
        array(template, "volumes").retain(|v| {
            !v.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| foreign_volumes.iter().any(|f| f == n))
        });
    }
    for c in &spec.containers {
        upsert_container(array(template, "containers"), c);
    }
    for (container, vars) in &spec.env {
        if let Some(c) = array(template, "containers")
            .iter_mut()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        {
            let env = array(c, "env");
            for var in vars {
                let mut entry = json!({ "name": var.name });
                match &var.value {
                    EnvValue::SecretRef(s) => entry["secretRef"] = json!(s),
                    EnvValue::Literal(t) => entry["value"] = json!(input.resolver.resolve(t)?),
                }
                upsert_by_name(env, entry);
            }
        }
    }
    for v in &spec.volumes {
        let entry = json!({ "name": v.name, "storageType": storage_type(input.storages, &v.storage), "storageName": v.storage });
        upsert_by_name(array(template, "volumes"), entry);
    }
    let scale = spec.desired_scale();
    if scale.min.is_some() || scale.max.is_some() {
        if !template.get("scale").is_some_and(Value::is_object) {
            template["scale"] = json!({});
        }
        if let Some(min) = scale.min {
            template["scale"]["minReplicas"] = json!(min);
        }
        if let Some(max) = scale.max {
            template["scale"]["maxReplicas"] = json!(max);
        }
    }
    // ARM answers an empty volume list as absent: keep the shape the live read had.
    if template
        .get("volumes")
        .and_then(Value::as_array)
        .is_some_and(Vec::is_empty)
        && input.live.template().and_then(|t| t.volumes.as_ref()).is_none()
    {
        template.as_object_mut().expect("an object").remove("volumes");
    }
    Ok(())
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

fn upsert_container(containers: &mut Vec<Value>, c: &ContainerSpec) {
    let idx = match containers
        .iter()
        .position(|x| x.get("name").and_then(Value::as_str) == Some(&c.name))
    {
        Some(i) => i,
        None => {
            containers.push(json!({ "name": c.name }));
            containers.len() - 1
        }
    };
    let target = &mut containers[idx];
    if let Some(image) = &c.image {
        target["image"] = json!(image);
    }
    if c.cpu.is_some() || c.memory.is_some() {
        if !target.get("resources").is_some_and(Value::is_object) {
            target["resources"] = json!({});
        }
        // Keep the live number form when the quantity is equal (1 and 1.0 are the same CPU).
        if let Some(cpu) = c.cpu {
            let same = target["resources"]
                .get("cpu")
                .and_then(Value::as_f64)
                .and_then(|v| aca_model::quantity::Cpu::from_vcpu(v).ok())
                == Some(cpu);
            if !same {
                target["resources"]["cpu"] = json!(cpu.vcpu());
            }
        }
        if let Some(mem) = c.memory {
            let same = target["resources"]
                .get("memory")
                .and_then(Value::as_str)
                .and_then(|m| aca_model::quantity::Memory::parse(m).ok())
                == Some(mem);
            if !same {
                target["resources"]["memory"] = json!(mem.to_string());
            }
        }
    }
    if let Some(mounts) = &c.volume_mounts {
        let list: Vec<Value> = mounts
            .iter()
            .map(|m| {
                let mut v = json!({ "volumeName": m.volume, "mountPath": m.path });
                if let Some(sp) = &m.sub_path {
                    v["subPath"] = json!(sp);
                }
                v
            })
            .collect();
        target["volumeMounts"] = Value::Array(list);
    }
    if let Some(probes) = &c.probes {
        target["probes"] = Value::Array(probes.iter().map(probe_json).collect());
    }
}

/// A declared probe as ARM writes it.
pub fn probe_json(p: &ProbeSpec) -> Value {
    let mut v = json!({ "type": p.kind.as_arm() });
    match &p.action {
        ProbeAction::Http { path, port } => v["httpGet"] = json!({ "path": path, "port": port }),
        ProbeAction::Tcp { port } => v["tcpSocket"] = json!({ "port": port }),
    }
    for (key, n) in [
        ("initialDelaySeconds", p.initial_delay_seconds),
        ("periodSeconds", p.period_seconds),
        ("timeoutSeconds", p.timeout_seconds),
        ("failureThreshold", p.failure_threshold),
    ] {
        if let Some(n) = n {
            v[key] = json!(n);
        }
    }
    v
}

/// A live container's probes (kept in the container's unmodelled fields).
pub fn live_probes(c: &aca_model::arm::Container) -> Vec<Value> {
    c.extra
        .get("probes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Reduces a live probe to the fields `p` owns, so the two compare equal when they agree.
pub fn keep_declared(live: &mut Value, p: &ProbeSpec) {
    let declared = probe_json(p);
    if let (Some(l), Some(d)) = (live.as_object_mut(), declared.as_object()) {
        l.retain(|k, _| d.contains_key(k));
        for (k, inner) in [
            ("httpGet", ["path", "port"].as_slice()),
            ("tcpSocket", ["port"].as_slice()),
        ] {
            if let Some(o) = l.get_mut(k).and_then(Value::as_object_mut) {
                o.retain(|key, _| inner.contains(&key.as_str()));
            }
        }
    }
}

/// Applies owned configuration; returns whether a secret value changed.
fn apply_configuration(config: &mut Value, input: &PatchInput) -> Result<bool, ResolveError> {
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
    use std::collections::BTreeMap;

    use aca_model::arm::{ContainerApp, Secret};
    use aca_model::desired::load_str;
    use serde_json::json;

    use super::*;

    const YAML: &str = "stacks:
  - name: s
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg
    environment: env
    storages:
      data: { exclusive: true }
    apps:
      ch:
        name: ch-app
        singleton: true
        containers: [{ name: ch, image: ch:2, cpu: 1, memory: 2Gi }]
        volumes: [{ name: data, storage: data }]
      web:
        name: web-app
        forbidContainers: [ch]
        secrets:
          url: \"http://${apps.ch.name}\"
        env:
          web:
            URL: { secretRef: url }
            MODE: \"fast\"
";

    fn live_web() -> ContainerApp {
        serde_json::from_value(json!({
            "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.App/containerApps/web-app",
            "properties": {
                "configuration": {"secrets": [{"name": "url"}, {"name": "other"}], "registries": [{"server": "r.io"}]},
                "template": {
                    "containers": [
                        {"name": "web", "image": "web:7", "env": [{"name": "KEEP", "value": "1"}, {"name": "MODE", "value": "slow"}], "probes": [{"type": "Liveness"}]},
                        {"name": "ch", "image": "ch:1", "volumeMounts": [{"volumeName": "d", "mountPath": "/data"}]},
                        {"name": "sidecar2", "image": "x:1"}
                    ],
                    "volumes": [{"name": "d", "storageType": "AzureFile", "storageName": "data"}, {"name": "tmp", "storageType": "EmptyDir"}],
                    "scale": {"minReplicas": 2, "maxReplicas": 5, "rules": [{"name": "http"}]}
                }
            }
        }))
        .unwrap()
    }

    #[test]
    fn the_patch_removes_the_sidecar_and_its_mount_and_keeps_everything_it_does_not_own() {
        let stack = load_str(YAML, "t.yaml").unwrap().state.stacks.remove(0);
        let spec = stack.app("web").unwrap();
        let live = live_web();
        let secrets = vec![
            Secret {
                name: "url".into(),
                value: Some("http://localhost:8123".into()),
                ..Secret::default()
            },
            Secret {
                name: "other".into(),
                value: Some("keep-me".into()),
                ..Secret::default()
            },
        ];
        let resolver = Resolver {
            stack: &stack,
            default_domain: Some("d.io".into()),
        };
        let storages = BTreeMap::new();
        let input = PatchInput {
            stack: &stack,
            spec,
            live: &live,
            live_secrets: Some(&secrets),
            storages: &storages,
            resolver: &resolver,
        };
        let patch = build_patch(&input).unwrap().expect("something to change");
        assert!(patch.template_changed && patch.secrets_changed);
        let t = &patch.body["properties"]["template"];
        let names: Vec<&str> = t["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            ["web", "sidecar2"],
            "the forbidden container goes, another stays"
        );
        assert_eq!(
            t["volumes"],
            json!([{"name": "tmp", "storageType": "EmptyDir"}]),
            "only the exclusive storage's volume goes"
        );
        assert_eq!(
            t["scale"]["rules"],
            json!([{"name": "http"}]),
            "unowned scale rules stay"
        );
        let web = &t["containers"][0];
        assert_eq!(web["image"], "web:7", "the image is not owned");
        assert_eq!(web["probes"], json!([{"type": "Liveness"}]));
        assert_eq!(
            web["env"],
            json!([{"name": "KEEP", "value": "1"}, {"name": "MODE", "value": "fast"}, {"name": "URL", "secretRef": "url"}])
        );
        let c = &patch.body["properties"]["configuration"];
        assert_eq!(
            c["secrets"],
            json!([{"name": "url", "value": "http://ch-app"}, {"name": "other", "value": "keep-me"}]),
            "all values sent, owned one changed"
        );
        assert_eq!(c["registries"], json!([{"server": "r.io"}]));
    }

    #[test]
    fn no_patch_when_the_owned_fields_already_match() {
        let stack = load_str(YAML, "t.yaml").unwrap().state.stacks.remove(0);
        let spec = stack.app("ch").unwrap();
        let live: ContainerApp = serde_json::from_value(json!({
            "id": "/x",
            "properties": {"template": {
                "containers": [{"name": "ch", "image": "ch:2", "resources": {"cpu": 1.0, "memory": "2.0Gi"}}],
                "volumes": [{"name": "data", "storageType": "AzureFile", "storageName": "data"}],
                "scale": {"minReplicas": 1, "maxReplicas": 1}
            }}
        }))
        .unwrap();
        let resolver = Resolver {
            stack: &stack,
            default_domain: None,
        };
        let storages = BTreeMap::new();
        let input = PatchInput {
            stack: &stack,
            spec,
            live: &live,
            live_secrets: Some(&[]),
            storages: &storages,
            resolver: &resolver,
        };
        assert_eq!(
            build_patch(&input).unwrap(),
            None,
            "1 vCPU = 1.0 and 2Gi = 2.0Gi: no flapping"
        );
    }

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
