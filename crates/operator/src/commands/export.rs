//! `export`: writes a desired-state YAML from live apps, so an existing deployment is adopted
//! without typing its configuration. Secret values are never written: secrets are listed as
//! comments, to be declared with `${env:...}` or Key Vault references.
//!
//! A storage mounted by one app with at most one replica is exported `exclusive: true` with that
//! app `singleton: true` (updates then stop the old revision before the new one mounts it). Any
//! other layout on a storage is refused: enforcing it would roll two revisions over the volume.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::process::ExitCode;

use aca_model::arm::{ContainerApp, ResourceId};

use crate::cli::ExportArgs;
use crate::error::{CliError, SharedStorage};

pub async fn run(args: &ExportArgs) -> ExitCode {
    let client = match crate::arm_setup::client(&args.arm, Default::default()) {
        Ok(c) => c,
        Err(e) => return crate::error::exit(&e),
    };
    let mut apps = Vec::new();
    for name in &args.apps {
        let id = ResourceId::container_app(&args.subscription, &args.resource_group, name);
        match client.find_container_app(&id).await {
            Ok(Some(app)) => apps.push((name.clone(), app)),
            Ok(None) => {
                eprintln!(
                    "aca-operator: container app `{name}` does not exist in {}",
                    args.resource_group
                );
                return ExitCode::from(1);
            }
            Err(source) => {
                let what = name.clone();
                return crate::error::exit(&CliError::Arm { what, source });
            }
        }
    }
    match to_yaml(args, &apps) {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(why) => crate::error::exit(&why.into()),
    }
}

/// Storage name → the app (name) that owns it alone, at most one replica; an error for a storage
/// whose live layout cannot be exported safely.
fn exclusive_owners(apps: &[(String, ContainerApp)]) -> Result<BTreeMap<String, String>, SharedStorage> {
    let mut mounters: BTreeMap<String, Vec<(&str, u32)>> = BTreeMap::new();
    for (name, app) in apps {
        for s in app.volumes().iter().filter_map(|v| v.storage_name.clone()) {
            let entry = mounters.entry(s).or_default();
            if !entry.iter().any(|(n, _)| *n == name) {
                entry.push((name, app.effective_scale().1));
            }
        }
    }
    let mut owners = BTreeMap::new();
    for (storage, users) in mounters {
        match users.as_slice() {
            [(name, max)] if *max <= 1 => {
                owners.insert(storage, name.to_string());
            }
            _ => {
                let mounters = users
                    .iter()
                    .map(|(n, max)| format!("{n} (up to {max} replicas)"))
                    .collect();
                return Err(SharedStorage { storage, mounters });
            }
        }
    }
    Ok(owners)
}

/// A double-quoted YAML scalar (valid YAML for any text).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

pub fn to_yaml(args: &ExportArgs, apps: &[(String, ContainerApp)]) -> Result<String, SharedStorage> {
    let owners = exclusive_owners(apps)?;
    let mut y = String::new();
    let _ = writeln!(
        y,
        "# Exported by aca-operator from live state. Review before enforcing: every field below is owned."
    );
    let _ = writeln!(
        y,
        "stacks:\n  - name: {}\n    subscription: {}\n    resourceGroup: {}\n    environment: {}\n    mode: observe",
        q(&args.stack_name),
        q(&args.subscription),
        q(&args.resource_group),
        q(&args.environment)
    );
    let storages: BTreeSet<String> = apps
        .iter()
        .flat_map(|(_, a)| a.volumes().iter().filter_map(|v| v.storage_name.clone()))
        .collect();
    if !storages.is_empty() {
        let _ = writeln!(y, "    storages:");
        for s in &storages {
            let exclusive = owners.contains_key(s);
            let _ = writeln!(y, "      {}: {{ exclusive: {exclusive} }}", q(s));
        }
    }
    let _ = writeln!(y, "    apps:");
    for (name, app) in apps {
        let _ = writeln!(y, "      {}:\n        name: {}", q(name), q(name));
        let (min, max) = app.effective_scale();
        if owners.values().any(|o| o == name) {
            let _ = writeln!(
                y,
                "        singleton: true   # the only app on an exclusive storage (live scale: min {min}, max {max})"
            );
        } else {
            let _ = writeln!(y, "        scale: {{ min: {min}, max: {max} }}");
        }
        if !app.containers().is_empty() {
            let _ = writeln!(y, "        containers:");
            for c in app.containers() {
                let _ = writeln!(y, "          - name: {}", q(&c.name));
                if let Some(i) = &c.image {
                    let _ = writeln!(y, "            image: {}", q(i));
                }
                if let Some(r) = &c.resources {
                    if let Some(cpu) = r.cpu {
                        let _ = writeln!(y, "            cpu: {cpu}");
                    }
                    if let Some(m) = &r.memory {
                        let _ = writeln!(y, "            memory: {}", q(m));
                    }
                }
                if !c.volume_mounts().is_empty() {
                    let _ = writeln!(y, "            volumeMounts:");
                    for m in c.volume_mounts() {
                        let _ = writeln!(
                            y,
                            "              - {{ volume: {}, path: {} }}",
                            q(&m.volume_name),
                            q(&m.mount_path)
                        );
                    }
                }
                if !c.env().is_empty() {
                    let _ = writeln!(y, "            env:");
                    for e in c.env() {
                        match (&e.secret_ref, &e.value) {
                            (Some(s), _) => {
                                let _ = writeln!(y, "              {}: {{ secretRef: {} }}", q(&e.name), q(s));
                            }
                            (None, v) => {
                                // `$` would start a reference: write it as `$$`.
                                let _ = writeln!(
                                    y,
                                    "              {}: {}",
                                    q(&e.name),
                                    q(&v.clone().unwrap_or_default().replace('$', "$$"))
                                );
                            }
                        }
                    }
                }
            }
        }
        if !app.volumes().is_empty() {
            let _ = writeln!(y, "        volumes:");
            for v in app.volumes() {
                if let Some(s) = &v.storage_name {
                    let _ = writeln!(y, "          - {{ name: {}, storage: {} }}", q(&v.name), q(s));
                }
            }
        }
        if let Some(i) = app.ingress() {
            let _ = write!(
                y,
                "        ingress: {{ external: {}, transport: {}, targetPort: {}",
                i.external.unwrap_or(false),
                q(i.transport.as_deref().unwrap_or("auto")),
                i.target_port.unwrap_or(80)
            );
            if i.transport.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("tcp")) {
                if let Some(p) = i.exposed_port {
                    let _ = write!(y, ", exposedPort: {p}");
                }
            } else if let Some(ai) = i.allow_insecure {
                let _ = write!(y, ", allowInsecure: {ai}");
            }
            let _ = writeln!(y, " }}");
            if let Some(ports) = &i.additional_port_mappings {
                let _ = writeln!(y, "        additionalPorts:");
                for p in ports {
                    let _ = writeln!(
                        y,
                        "          - {{ targetPort: {}, exposedPort: {}, external: {} }}",
                        p.target_port,
                        p.exposed_port.unwrap_or(p.target_port),
                        p.external
                    );
                }
            }
        }
        if !app.secrets().is_empty() {
            let names: Vec<&str> = app.secrets().iter().map(|s| s.name.as_str()).collect();
            let _ = writeln!(
                y,
                "        # secrets not exported (values are never written): {}",
                names.join(", ")
            );
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(max: u32, storage: &str) -> ContainerApp {
        serde_json::from_value(serde_json::json!({"properties": {"template": {
            "scale": {"minReplicas": 1, "maxReplicas": max},
            "volumes": [{"name": "d", "storageName": storage}]
        }}}))
        .unwrap()
    }

    #[test]
    fn one_app_with_one_replica_owns_its_storage() {
        let owners = exclusive_owners(&[("ch".into(), app(1, "data"))]).unwrap();
        assert_eq!(owners.get("data").map(String::as_str), Some("ch"));
    }

    #[test]
    fn several_replicas_or_several_apps_on_a_storage_are_refused() {
        let e = exclusive_owners(&[("ch".into(), app(3, "data"))])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ch (up to 3 replicas)") && e.contains("two revisions"),
            "{e}"
        );
        let e = exclusive_owners(&[("a".into(), app(1, "data")), ("b".into(), app(1, "data"))])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a (up to 1 replicas), b (up to 1 replicas)"), "{e}");
    }
}
