//! One app: its scale, volumes, secrets, ingress and ports (containers in [`super::container`]).

use super::super::name_map::NameMap;

use super::super::diagnostic::{Diagnostics, suggest};
use super::super::types::*;
use super::super::yaml::{Key, Node, Value};
use super::container::read_containers;
use super::fields::*;

pub(super) fn read_app(
    d: &mut Diagnostics,
    key: &Key,
    node: &Node,
    path: &str,
    storages: &NameMap<StorageSpec>,
) -> Option<AppSpec> {
    let obj = Obj::open(d, node, path, "app")?;
    let name = obj.string(d, "name").unwrap_or_else(|| key.name.clone());
    let name_loc = obj.get("name").map_or(key.loc, |n| n.loc);
    if let Err(why) = check_app_name(&name) {
        d.error(
            name_loc,
            &obj.field("name"),
            format!("`{name}` is not a valid container app name: {why}"),
            Some("use 2-32 lower-case letters, digits and `-`, starting with a letter".into()),
        );
    }
    let singleton = obj.bool(d, "singleton").unwrap_or(false);
    let scale = read_scale(d, &obj, singleton);
    let containers = read_containers(d, &obj);
    let volumes = read_volumes(d, &obj, storages);
    let mounts_exclusive = volumes
        .iter()
        .any(|v| storages.get(&v.storage).is_some_and(|s| s.exclusive));
    let update_strategy = match obj.get("updateStrategy") {
        None => Some(if mounts_exclusive {
            UpdateStrategy::Recreate
        } else {
            UpdateStrategy::Rolling
        }),
        Some(n) => match string(d, n, &obj.field("updateStrategy")).as_deref() {
            Some("recreate") => Some(UpdateStrategy::Recreate),
            Some("rolling") if mounts_exclusive => {
                d.error(
                    n.loc,
                    &obj.field("updateStrategy"),
                    "`rolling` would run two revisions on an exclusive storage during every update",
                    Some("use `recreate` (or remove the key: it is the default here)".into()),
                );
                None
            }
            Some("rolling") => Some(UpdateStrategy::Rolling),
            Some(other) => {
                d.error(
                    n.loc,
                    &obj.field("updateStrategy"),
                    format!("`{other}` is not an update strategy: use rolling or recreate"),
                    None,
                );
                None
            }
            None => None,
        },
    };
    let mut env = NameMap::new();
    if let Some(env_node) = obj.get("env")
        && let Some(entries) = as_map(d, env_node, &obj.field("env"))
    {
        for (container, vars) in entries {
            let vars = read_env_map(d, vars, &join(&obj.field("env"), &container.name));
            env.insert(container.name.clone(), vars);
        }
    }
    let forbid_containers: Vec<String> = obj
        .seq(d, "forbidContainers")
        .unwrap_or(&[])
        .iter()
        .enumerate()
        .filter_map(|(i, n)| string(d, n, &format!("{}[{i}]", obj.field("forbidContainers"))))
        .collect();
    for c in &containers {
        if forbid_containers.contains(&c.name) {
            d.error(
                c.loc,
                &obj.field("containers"),
                format!("container `{}` is both declared and forbidden", c.name),
                None,
            );
        }
    }
    // Env declared per container both inline and under `env` would be ambiguous.
    let mut inline_env: Vec<(String, Vec<EnvSpec>)> = Vec::new();
    if let Some(items) = obj.get("containers").and_then(|n| match &n.value {
        Value::Seq(items) => Some(items),
        _ => None,
    }) {
        for (i, item) in items.iter().enumerate() {
            if let Value::Map(entries) = &item.value
                && let (Some(name), Some(env_node)) = (
                    entries
                        .iter()
                        .find(|(k, _)| k.name == "name")
                        .and_then(|(_, v)| v.value.scalar_text()),
                    entries.iter().find(|(k, _)| k.name == "env").map(|(_, v)| v),
                )
            {
                if env.contains_key(&name) {
                    d.error(
                        env_node.loc,
                        &format!("{}[{i}].env", obj.field("containers")),
                        format!("env of container `{name}` is also declared under `env`"),
                        Some("declare it in one place".into()),
                    );
                }
                inline_env.push((
                    name,
                    read_env_map(d, env_node, &format!("{}[{i}].env", obj.field("containers"))),
                ));
            }
        }
    }
    for (name, vars) in inline_env {
        if !env.contains_key(&name) {
            env.insert(name, vars);
        }
    }
    let secrets = read_secrets(d, &obj);
    Some(AppSpec {
        key: key.name.clone(),
        name,
        mode: mode(d, &obj, "mode"),
        correction_window: window(d, &obj),
        singleton,
        update_strategy: update_strategy?,
        workload_profile: obj.string(d, "workloadProfile"),
        scale,
        containers,
        env,
        volumes,
        ingress: obj
            .get("ingress")
            .and_then(|n| read_ingress(d, n, &obj.field("ingress"))),
        additional_ports: read_additional_ports(d, &obj),
        forbid_containers,
        secrets,
        loc: key.loc,
    })
}

/// Container Apps names: 2-32 chars, lower-case letters, digits and `-`, letter first, no `--`,
/// not ending in `-`.
pub(super) fn check_app_name(name: &str) -> Result<(), &'static str> {
    if !(2..=32).contains(&name.len()) {
        return Err("it must be 2-32 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err("only lower-case letters, digits and `-` are allowed");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("it must start with a letter");
    }
    if name.ends_with('-') || name.contains("--") {
        return Err("it must not end with `-` or contain `--`");
    }
    Ok(())
}

pub(super) fn read_scale(d: &mut Diagnostics, app: &Obj, singleton: bool) -> Option<ScaleSpec> {
    let node = app.get("scale")?;
    let obj = Obj::open(d, node, &app.field("scale"), "scale")?;
    let min = obj.int(d, "min", 0..=1000, "minReplicas");
    let max = obj.int(d, "max", 1..=1000, "maxReplicas");
    if singleton {
        for (key, value) in [("min", min), ("max", max)] {
            if let (Some(v), Some(n)) = (value, obj.get(key))
                && v != 1
            {
                d.error(
                    n.loc,
                    &obj.field(key),
                    format!("a singleton runs exactly one replica, so `{key}` must be 1, not {v}"),
                    Some("remove `scale` (singleton implies min = max = 1) or set it to 1".into()),
                );
            }
        }
    }
    if let (Some(lo), Some(hi)) = (min, max)
        && lo > hi
    {
        d.error(
            node.loc,
            &app.field("scale"),
            format!("min ({lo}) is greater than max ({hi})"),
            None,
        );
    }
    Some(ScaleSpec { min, max })
}

pub(super) fn read_volumes(d: &mut Diagnostics, app: &Obj, storages: &NameMap<StorageSpec>) -> Vec<VolumeSpec> {
    let mut out: Vec<VolumeSpec> = Vec::new();
    for (i, node) in app.seq(d, "volumes").unwrap_or(&[]).iter().enumerate() {
        let path = format!("{}[{i}]", app.field("volumes"));
        let Some(obj) = Obj::open(d, node, &path, "volume") else {
            continue;
        };
        let (Some(name), Some(storage)) = (obj.required_string(d, "name"), obj.required_string(d, "storage")) else {
            continue;
        };
        if out.iter().any(|v| v.name == name) {
            d.error(node.loc, &path, format!("volume `{name}` is declared twice"), None);
            continue;
        }
        if !storages.contains_key(&storage) {
            let hint = suggest(&storage, storages.keys().map(String::as_str))
                .map(|s| format!("did you mean `{s}`?"))
                .unwrap_or_else(|| {
                    format!("declare it under the stack's `storages:` ({storage}: {{ exclusive: true }})")
                });
            let loc = obj.get("storage").map_or(node.loc, |n| n.loc);
            d.error(
                loc,
                &obj.field("storage"),
                format!("storage `{storage}` is not declared in the stack's `storages`"),
                Some(hint),
            );
        }
        out.push(VolumeSpec {
            name,
            storage,
            loc: node.loc,
        });
    }
    out
}

pub(super) fn read_secrets(d: &mut Diagnostics, app: &Obj) -> NameMap<SecretSpec> {
    let mut out = NameMap::new();
    let Some(node) = app.get("secrets") else { return out };
    let Some(entries) = as_map(d, node, &app.field("secrets")) else {
        return out;
    };
    for (key, value) in entries {
        let path = join(&app.field("secrets"), &key.name);
        let valid = !key.name.is_empty()
            && key.name.len() <= 253
            && key
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !valid {
            d.error(
                key.loc,
                &path,
                format!("`{}` is not a valid secret name", key.name),
                Some("secret names use lower-case letters, digits, `-` and `.`".into()),
            );
        }
        let spec = match &value.value {
            Value::Map(_) => Obj::open(d, value, &path, "keyVault").and_then(|obj| {
                let url = obj.required_string(d, "keyVaultUrl");
                let identity = obj.required_string(d, "identity");
                if let (Some(u), Some(n)) = (&url, obj.get("keyVaultUrl"))
                    && !u.starts_with("https://")
                {
                    d.error(
                        n.loc,
                        &obj.field("keyVaultUrl"),
                        "a Key Vault URL starts with https://",
                        None,
                    );
                }
                Some(SecretSpec::KeyVault {
                    url: url?,
                    identity: identity?,
                })
            }),
            _ => template(d, value, &path).map(SecretSpec::Value),
        };
        if let Some(spec) = spec {
            out.insert(key.name.clone(), spec);
        }
    }
    out
}

pub(super) fn read_ingress(d: &mut Diagnostics, node: &Node, path: &str) -> Option<IngressSpec> {
    let obj = Obj::open(d, node, path, "ingress")?;
    let transport = match obj.get("transport") {
        None => Some(Transport::Auto),
        Some(n) => {
            let text = string(d, n, &obj.field("transport"))?;
            let t = Transport::parse(&text);
            if t.is_none() {
                d.error(
                    n.loc,
                    &obj.field("transport"),
                    format!("`{text}` is not a transport: use auto, http, http2 or tcp"),
                    None,
                );
            }
            t
        }
    };
    let target_port = obj.required(d, "targetPort").and_then(|_| obj.port(d, "targetPort"));
    let exposed_port = obj.port(d, "exposedPort");
    if let (Some(p), Some(n)) = (exposed_port, obj.get("exposedPort")) {
        if transport != Some(Transport::Tcp) {
            d.error(
                n.loc,
                &obj.field("exposedPort"),
                "`exposedPort` applies to TCP ingress only",
                Some("set `transport: tcp`, or remove it: HTTP ingress is reached on 80/443".into()),
            );
        } else if p == 80 || p == 443 {
            d.error(
                n.loc,
                &obj.field("exposedPort"),
                format!("TCP ingress cannot expose port {p}"),
                Some("80 and 443 belong to HTTP ingress".into()),
            );
        }
    }
    let allow_insecure = obj.bool(d, "allowInsecure");
    if let (Some(true), Some(Transport::Tcp), Some(n)) = (allow_insecure, transport, obj.get("allowInsecure")) {
        d.error(
            n.loc,
            &obj.field("allowInsecure"),
            "`allowInsecure` applies to HTTP ingress only",
            None,
        );
    }
    Some(IngressSpec {
        external: obj.bool(d, "external").unwrap_or(false),
        transport: transport?,
        target_port: target_port?,
        exposed_port,
        allow_insecure,
        loc: node.loc,
    })
}

pub(super) fn read_additional_ports(d: &mut Diagnostics, app: &Obj) -> Option<Vec<PortSpec>> {
    let items = app.seq(d, "additionalPorts")?;
    let path = app.field("additionalPorts");
    if items.len() > 5 {
        d.error(
            app.get("additionalPorts").map_or(app.loc, |n| n.loc),
            &path,
            format!(
                "{} additional ports declared; Container Apps allows at most 5",
                items.len()
            ),
            None,
        );
    }
    let mut out: Vec<PortSpec> = Vec::new();
    for (i, node) in items.iter().enumerate() {
        let ipath = format!("{path}[{i}]");
        let Some(obj) = Obj::open(d, node, &ipath, "additionalPort") else {
            continue;
        };
        let target = obj.required(d, "targetPort").and_then(|_| obj.port(d, "targetPort"));
        let exposed = obj.port(d, "exposedPort");
        let Some(target_port) = target else { continue };
        if out.iter().any(|p| p.target_port == target_port) {
            d.error(
                node.loc,
                &ipath,
                format!("target port {target_port} is used twice"),
                Some("target ports of additional ports must be unique".into()),
            );
        }
        out.push(PortSpec {
            target_port,
            exposed_port: exposed,
            external: obj.bool(d, "external").unwrap_or(false),
        });
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_names() {
        assert!(check_app_name("web-db-2").is_ok());
        for bad in ["a", "Web", "1abc", "ab-", "a--b", "a_b", &"a".repeat(33)] {
            assert!(check_app_name(bad).is_err(), "{bad}");
        }
    }
}
