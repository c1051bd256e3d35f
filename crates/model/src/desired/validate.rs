//! Checks that need more than one field: references, names unique per stack, storages mounted
//! once, resource combinations, URLs between apps. Knowledge of particular software is not here:
//! the caller passes it in as [`super::StackRules`] (the reconcile crate's playbooks).

use std::collections::BTreeMap;

use super::diagnostic::{Diagnostics, suggest};
use super::reference::{Reference, Segment, TemplateString};
use super::types::*;
use super::yaml::Loc;
use crate::quantity::{Cpu, Memory, consumption_combination_ok, consumption_combinations};

pub(crate) fn check_stack(d: &mut Diagnostics, stack: &Stack, index: usize) {
    let base = format!("stacks[{index}]");
    check_unique_app_names(d, stack, &base);
    check_exclusive_storages(d, stack, &base);
    for app in &stack.apps {
        let path = format!("{base}.apps.{}", app.key);
        check_mounts(d, app, &path);
        check_resources(d, app, &path);
        check_tcp_scale(d, app, &path);
        check_singleton(d, stack, app, &path);
        for (_, template, tpath) in templates_of(app, &path) {
            check_references(d, stack, template, &tpath);
            check_url(d, stack, template, &tpath);
        }
        check_env(d, app, &path);
    }
}

fn check_unique_app_names(d: &mut Diagnostics, stack: &Stack, base: &str) {
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for app in &stack.apps {
        if let Some(first) = seen.insert(&app.name, &app.key) {
            d.error(
                app.loc,
                &format!("{base}.apps.{}", app.key),
                format!("app name `{}` is already used by apps.{first}", app.name),
                Some("each entry must name a different container app".into()),
            );
        }
    }
}

fn check_exclusive_storages(d: &mut Diagnostics, stack: &Stack, base: &str) {
    for storage in stack.storages.values().filter(|s| s.exclusive) {
        let users: Vec<&AppSpec> = stack
            .apps
            .iter()
            .filter(|a| a.storages().any(|s| s == storage.name))
            .collect();
        if users.len() > 1 {
            let names: Vec<String> = users.iter().map(|a| format!("apps.{}", a.key)).collect();
            for app in &users[1..] {
                let loc = app
                    .volumes
                    .iter()
                    .find(|v| v.storage == storage.name)
                    .map_or(app.loc, |v| v.loc);
                d.error(
                    loc,
                    &format!("{base}.apps.{}.volumes", app.key),
                    format!(
                        "exclusive storage `{}` is mounted by {}",
                        storage.name,
                        names.join(" and ")
                    ),
                    Some("an exclusive storage (a database's files) may be mounted by one app only".into()),
                );
            }
        }
    }
}

fn check_mounts(d: &mut Diagnostics, app: &AppSpec, path: &str) {
    for c in &app.containers {
        for m in c.volume_mounts.iter().flatten() {
            if !app.volumes.iter().any(|v| v.name == m.volume) {
                let hint = suggest(&m.volume, app.volumes.iter().map(|v| v.name.as_str()))
                    .map(|s| format!("did you mean `{s}`?"));
                d.error(
                    c.loc,
                    &format!("{path}.containers.{}.volumeMounts", c.name),
                    format!("volume `{}` is not declared in the app's `volumes`", m.volume),
                    hint,
                );
            }
        }
    }
}

fn check_resources(d: &mut Diagnostics, app: &AppSpec, path: &str) {
    if app.containers.is_empty()
        || app
            .workload_profile
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case("consumption"))
    {
        return;
    }
    let (mut cpu, mut mem) = (0u32, 0u64);
    for c in &app.containers {
        let (Some(Cpu(cc)), Some(Memory(mm))) = (c.cpu, c.memory) else {
            return;
        };
        cpu += cc;
        mem += mm;
    }
    if !consumption_combination_ok(Cpu(cpu), Memory(mem)) {
        let table: Vec<String> = consumption_combinations().map(|(c, m)| format!("{c}/{m}")).collect();
        d.error(
            app.containers[0].loc,
            &format!("{path}.containers"),
            format!(
                "CPU {} with memory {} is not a combination Container Apps accepts",
                Cpu(cpu),
                Memory(mem)
            ),
            Some(format!(
                "the total over the app's containers must be one of (vCPU/memory): {}",
                table.join(", ")
            )),
        );
    }
}

/// An app on an exclusive storage runs at most one replica: `singleton: true` (min = max = 1,
/// Single revision mode) is the only layout accepted, whatever `scale` says.
fn check_singleton(d: &mut Diagnostics, stack: &Stack, app: &AppSpec, path: &str) {
    let Some(volume) = app
        .volumes
        .iter()
        .find(|v| stack.storages.get(&v.storage).is_some_and(|s| s.exclusive))
    else {
        return;
    };
    if app.singleton {
        return;
    }
    let scale = app.scale.map_or("no `singleton`".to_string(), |s| {
        let n = |v: Option<u32>| v.map_or("unset".to_string(), |v| v.to_string());
        format!("scale min {}, max {}", n(s.min), n(s.max))
    });
    d.error(
        app.loc,
        &format!("{path}.singleton"),
        format!(
            "apps.{} mounts exclusive storage `{}` with {scale}: more than one replica could write the share",
            app.key, volume.storage
        ),
        Some("set `singleton: true` (min = max = 1, Single revision mode) and remove `scale`".into()),
    );
}

fn check_tcp_scale(d: &mut Diagnostics, app: &AppSpec, path: &str) {
    if app.tcp_ports().is_empty() {
        return;
    }
    // Where the TCP port is declared: the reason for the check.
    let tcp_loc = app
        .ingress
        .as_ref()
        .filter(|i| i.transport == Transport::Tcp)
        .map_or(app.loc, |i| i.loc);
    match app.desired_scale().min {
        Some(0) => d.error(app.loc, &format!("{path}.scale.min"), "an app with TCP ports must keep at least one replica", Some("TCP traffic does not wake an app scaled to zero (microsoft/azure-container-apps#540): set scale.min to 1".into())),
        None => d.warning(tcp_loc, &format!("{path}.scale"), "an app with TCP ports should declare scale.min >= 1", Some("TCP traffic does not wake an app scaled to zero; the default minReplicas is 0".into())),
        Some(_) => {}
    }
}

fn check_references(d: &mut Diagnostics, stack: &Stack, template: &TemplateString, path: &str) {
    for r in template.references() {
        if let Reference::EnvVar(name) = r {
            check_env_var(d, name, template, path);
            continue;
        }
        let (Reference::AppName(key) | Reference::AppFqdn(key)) = r else {
            continue;
        };
        match stack.app(key) {
            None => {
                let hint = suggest(key, stack.apps.iter().map(|a| a.key.as_str()))
                    .map(|s| format!("did you mean `{s}`?"))
                    .unwrap_or_else(|| {
                        format!(
                            "declared apps: {}",
                            stack.apps.iter().map(|a| a.key.as_str()).collect::<Vec<_>>().join(", ")
                        )
                    });
                d.error(
                    template.loc,
                    path,
                    format!("`{r}` refers to no app: there is no `apps.{key}` in this stack"),
                    Some(hint),
                );
            }
            Some(app) if matches!(r, Reference::AppFqdn(_)) && app.ingress.is_none() => {
                d.error(
                    template.loc,
                    path,
                    format!("`{r}`: apps.{key} declares no ingress, so it has no FQDN"),
                    Some("declare its ingress, or use ${apps.<key>.name}".into()),
                );
            }
            Some(_) => {}
        }
    }
}

/// `${env:NAME}` must be set in the operator's environment when the file is loaded: a pass would
/// otherwise fail on it later, far from the file. Only the name is ever shown, never the value.
fn check_env_var(d: &mut Diagnostics, name: &str, template: &TemplateString, path: &str) {
    let problem = match std::env::var(name) {
        Ok(_) => return,
        Err(std::env::VarError::NotPresent) => "is not set",
        Err(std::env::VarError::NotUnicode(_)) => "is not valid Unicode text",
    };
    d.error(
        template.loc,
        path,
        format!("`${{env:{name}}}`: the operator's environment variable {name} {problem}"),
        Some(format!(
            "set {name} in the environment of the process that runs aca-operator (validate, plan, apply and run all read it)"
        )),
    );
}

/// `scheme://${apps.K.name|fqdn}[:port]...` split into its parts, when the host is one app reference.
pub struct AppUrl<'a> {
    pub scheme: &'a str,
    pub app_key: &'a str,
    pub port: Option<u32>,
}

pub fn app_url(t: &TemplateString) -> Option<AppUrl<'_>> {
    let [
        Segment::Text(head),
        Segment::Ref(Reference::AppName(key) | Reference::AppFqdn(key)),
        rest @ ..,
    ] = t.segments.as_slice()
    else {
        return None;
    };
    let scheme = head.strip_suffix("://")?;
    let port = match rest.first() {
        Some(Segment::Text(tail)) => tail.strip_prefix(':').and_then(|p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        }),
        _ => None,
    };
    Some(AppUrl {
        scheme,
        app_key: key,
        port,
    })
}

/// The error (message, hint) when `target` declares no TCP port `port` for a native-protocol URL.
pub fn missing_tcp_port(target: &AppSpec, port: u32) -> Option<(String, String)> {
    if target.tcp_ports().contains(&port) {
        return None;
    }
    Some((
        format!(
            "the native protocol needs TCP port {port} on apps.{}, which declares no such port",
            target.key
        ),
        format!(
            "add `additionalPorts: [{{ targetPort: {port}, exposedPort: {port}, external: false }}]` to apps.{} (or make its main ingress `transport: tcp`)",
            target.key
        ),
    ))
}

fn check_url(d: &mut Diagnostics, stack: &Stack, t: &TemplateString, path: &str) {
    let Some(url) = app_url(t) else { return };
    let Some(target) = stack.app(url.app_key) else { return };
    match url.scheme {
        // Other schemes of a native TCP protocol (with their default ports) are a playbook's.
        "tcp" => {
            if let Some(port) = url.port
                && let Some((message, hint)) = missing_tcp_port(target, port)
            {
                d.error(t.loc, path, message, Some(hint));
            }
        }
        "http" | "https" => {
            if let (Some(port), Some(ingress)) = (url.port, &target.ingress)
                && ingress.transport != Transport::Tcp
                && port == ingress.target_port
                && port != 80
                && port != 443
            {
                d.error(t.loc, path, format!("apps.{} has HTTP ingress, which other apps reach on port 80/443, never at its target port {port}", url.app_key), Some(format!("drop `:{port}` from the URL ({}://<app> reaches target port {port} through ingress)", url.scheme)));
            }
        }
        _ => {}
    }
}

fn check_env(d: &mut Diagnostics, app: &AppSpec, path: &str) {
    for (container, vars) in &app.env {
        if app.forbid_containers.contains(container) {
            d.error(
                app.loc,
                &format!("{path}.env.{container}"),
                format!("env is declared for container `{container}`, which `forbidContainers` forbids"),
                None,
            );
        }
        for var in vars {
            if let EnvValue::SecretRef(s) = &var.value
                && !app.secrets.contains_key(s)
            {
                let vpath = format!("{path}.env.{container}.{}", var.name);
                d.warning(
                    var.loc,
                    &vpath,
                    format!(
                        "secret `{s}` is not declared in this app's `secrets`; it must already exist in the live app"
                    ),
                    None,
                );
            }
        }
    }
}

/// Stacks must have unique names, and no two stacks may own the same app.
pub(crate) fn check_across_stacks(stacks: &[(usize, &Stack)], report: &mut dyn FnMut(&Stack, Loc, String, String)) {
    let mut names: BTreeMap<&str, &Stack> = BTreeMap::new();
    let mut apps: BTreeMap<String, (&Stack, &AppSpec)> = BTreeMap::new();
    for (index, stack) in stacks {
        if let Some(first) = names.insert(&stack.name, stack) {
            report(
                stack,
                stack.loc,
                format!("stacks[{index}].name"),
                format!("stack name `{}` is already used (in {})", stack.name, first.source),
            );
        }
        for app in &stack.apps {
            let id = format!("{}/{}/{}", stack.subscription, stack.resource_group, app.name).to_ascii_lowercase();
            if let Some((other, _)) = apps.insert(id, (stack, app))
                && !std::ptr::eq(other, *stack)
            {
                report(
                    stack,
                    app.loc,
                    format!("stacks[{index}].apps.{}", app.key),
                    format!("container app `{}` is also owned by stack `{}`", app.name, other.name),
                );
            }
        }
    }
}
