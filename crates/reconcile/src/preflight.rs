//! Preflight: the migration plan's Phase 1 as checks answered from facts (`shared/FACTS.md`), on the
//! desired state and the live environment. `plan` shows them; `apply` and `run` do not correct a
//! stack while an error stands. Each finding says what breaks and the remedy.

use std::fmt;

use aca_model::arm::StorageKind;
use aca_model::desired::{AppSpec, EnvValue, SecretSpec, Stack, Transport};

use crate::layout;
use crate::observe::Observed;
use crate::resolve::Resolver;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warning,
    /// Blocks corrections of the stack.
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// A stable id, e.g. `migration-needs-native-protocol`.
    pub check: &'static str,
    pub what: String,
    pub remedy: String,
    pub sources: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}. Remedy: {}", self.check, self.what, self.remedy)?;
        if !self.sources.is_empty() {
            write!(f, " (sources: {})", self.sources)?;
        }
        Ok(())
    }
}

const SRC_MIGRATIONS: &str = "langfuse web/entrypoint.sh, packages/shared/clickhouse/scripts/up.sh; golang-migrate database/clickhouse; langfuse-docs self-hosting/infrastructure/clickhouse.mdx";
const SRC_CLUSTER: &str =
    "langfuse web/src/env.mjs, worker/src/env.ts; the official docker-compose sets CLICKHOUSE_CLUSTER_ENABLED=false";
const SRC_SMB: &str = "ClickHouse/ClickHouse#74572, langfuse/langfuse#4893, Altinity/clickhouse-operator#813; learn.microsoft.com container-apps storage-mounts";
const SRC_TCP: &str =
    "learn.microsoft.com container-apps ingress-overview, ingress-how-to; microsoft/azure-container-apps#540";

pub fn preflight(stack: &Stack, observed: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(env) = &observed.environment else {
        out.push(Finding {
            level: Level::Error,
            check: "environment-exists",
            what: format!(
                "the managed environment `{}` does not exist in {}",
                stack.environment, stack.resource_group
            ),
            remedy: "create it (Terraform azurerm_container_app_environment) or fix `environment`".into(),
            sources: "",
        });
        return out;
    };
    let vnet = env.has_custom_vnet();
    for s in stack.storages.values() {
        match observed.storages.get(&s.name) {
            None => out.push(Finding {
                level: Level::Error,
                check: "storage-exists",
                what: format!("the environment has no storage `{}`", s.name),
                remedy: "register the Azure Files share in the environment (azurerm_container_app_environment_storage)".into(),
                sources: "",
            }),
            Some(live) if s.exclusive && live.kind() == Some(StorageKind::AzureFile) => out.push(Finding {
                level: Level::Warning,
                check: "clickhouse-on-smb",
                what: format!(
                    "exclusive storage `{}` is an SMB Azure Files share: ClickHouse needs hard links and renames that SMB lacks (inserts fail with `rename: Permission denied`; the image's chown fails unless CLICKHOUSE_DO_NOT_CHOWN=1)",
                    s.name
                ),
                remedy: "move ClickHouse data to an NfsAzureFile storage (needs a custom-VNet environment, ports 445/2049 open)".into(),
                sources: SRC_SMB,
            }),
            Some(live) if live.kind() == Some(StorageKind::NfsAzureFile) && !vnet => out.push(Finding {
                level: Level::Error,
                check: "nfs-needs-vnet",
                what: format!("storage `{}` is NFS but the environment has no custom VNet", s.name),
                remedy: "use a custom-VNet environment for NFS Azure Files".into(),
                sources: SRC_SMB,
            }),
            Some(_) => {}
        }
    }
    let resolver = Resolver {
        stack,
        default_domain: observed.default_domain(),
    };
    for app in &stack.apps {
        tcp_checks(app, vnet, observed, &mut out);
        langfuse_checks(stack, app, observed, &resolver, &mut out);
    }
    out
}

fn tcp_checks(app: &AppSpec, vnet: bool, observed: &Observed, out: &mut Vec<Finding>) {
    let external_tcp = app
        .ingress
        .as_ref()
        .is_some_and(|i| i.transport == Transport::Tcp && i.external)
        || app.additional_ports.iter().flatten().any(|p| p.external);
    if external_tcp && !vnet {
        out.push(Finding {
            level: Level::Error,
            check: "external-tcp-needs-vnet",
            what: format!(
                "apps.{} asks for external TCP, which needs a custom-VNet environment",
                app.key
            ),
            remedy: "keep the port internal (`external: false`) or use a custom-VNet environment".into(),
            sources: SRC_TCP,
        });
    }
    if !app.tcp_ports().is_empty() {
        if !vnet {
            out.push(Finding {
                level: Level::Info,
                check: "internal-tcp-without-vnet",
                what: format!(
                    "apps.{} exposes TCP port(s) {:?} in an environment without a custom VNet; sources disagree on internal TCP there (unverified)",
                    app.key,
                    app.tcp_ports()
                ),
                remedy: "after the cutover, check from Langfuse that `clickhouse://<app>:9000` connects (migrations log), or disable automatic migrations".into(),
                sources: SRC_TCP,
            });
        }
        let live_min = observed.app(&app.key).map(|a| a.effective_scale().0);
        if app.desired_scale().min.is_none() && live_min == Some(0) {
            out.push(Finding {
                level: Level::Warning,
                check: "tcp-scaled-to-zero",
                what: format!(
                    "apps.{} has TCP ports and may scale to zero; TCP traffic does not wake it",
                    app.key
                ),
                remedy: "declare scale.min: 1".into(),
                sources: SRC_TCP,
            });
        }
    }
}

/// The value a container's variable will have after apply: declared (resolved) first, else live.
fn effective_env(
    app: &AppSpec,
    observed: &Observed,
    resolver: &Resolver,
    container: &str,
    name: &str,
) -> Option<String> {
    if let Some(var) = app.env.get(container).and_then(|vs| vs.iter().find(|v| v.name == name)) {
        return match &var.value {
            EnvValue::Literal(t) => resolver.resolve(t).ok(),
            EnvValue::SecretRef(s) => match app.secrets.get(s) {
                Some(SecretSpec::Value(t)) => resolver.resolve(t).ok(),
                _ => Some(format!("(secret {s})")),
            },
        };
    }
    let live = observed.app(&app.key)?;
    let c = live.containers().iter().find(|c| c.name == container)?;
    let e = c.env().iter().find(|e| e.name == name)?;
    match (&e.value, &e.secret_ref) {
        (Some(v), _) => Some(v.clone()),
        (None, Some(s)) => Some(format!("(secret {s})")),
        _ => None,
    }
}

fn containers_of<'a>(app: &'a AppSpec, observed: &'a Observed) -> Vec<String> {
    let mut names: Vec<String> = observed
        .app(&app.key)
        .map(|a| a.containers().iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    for c in app.env.keys().chain(app.containers.iter().map(|c| &c.name)) {
        if !names.contains(c) {
            names.push(c.clone());
        }
    }
    names.retain(|n| !app.forbid_containers.contains(n));
    names
}

fn langfuse_checks(stack: &Stack, app: &AppSpec, observed: &Observed, resolver: &Resolver, out: &mut Vec<Finding>) {
    let single_clickhouse =
        layout::exclusive_storages(stack).next().is_some() || stack.apps.iter().any(|a| a.singleton);
    for container in containers_of(app, observed) {
        let url = effective_env(app, observed, resolver, &container, "CLICKHOUSE_URL");
        if url.is_none() {
            continue;
        }
        // A Langfuse container (web or worker).
        if let Some(m) = effective_env(app, observed, resolver, &container, "CLICKHOUSE_MIGRATION_URL") {
            let disabled = effective_env(
                app,
                observed,
                resolver,
                &container,
                "LANGFUSE_AUTO_CLICKHOUSE_MIGRATION_DISABLED",
            )
            .as_deref()
                == Some("true");
            if (m.starts_with("http://") || m.starts_with("https://")) && !disabled {
                out.push(Finding {
                    level: Level::Error,
                    check: "migration-needs-native-protocol",
                    what: format!(
                        "apps.{}: container `{container}` runs Langfuse's ClickHouse migrations over {m:?}; golang-migrate's clickhouse driver speaks only the native TCP protocol, so an HTTP URL fails with \"unknown driver\" (the migration plan's HTTP-only Option 1 does not work as written)",
                        app.key
                    ),
                    remedy: "point CLICKHOUSE_MIGRATION_URL at clickhouse://<app>:9000 with a TCP port on the ClickHouse app, or set LANGFUSE_AUTO_CLICKHOUSE_MIGRATION_DISABLED=true and run migrations elsewhere".into(),
                    sources: SRC_MIGRATIONS,
                });
            }
        }
        if single_clickhouse {
            let cluster = effective_env(app, observed, resolver, &container, "CLICKHOUSE_CLUSTER_ENABLED");
            if cluster.as_deref() != Some("false") {
                out.push(Finding {
                    level: Level::Error,
                    check: "cluster-enabled",
                    what: format!(
                        "apps.{}: container `{container}` has CLICKHOUSE_CLUSTER_ENABLED={}; Langfuse then runs ReplicatedMergeTree migrations, which a single ClickHouse cannot serve",
                        app.key,
                        cluster.as_deref().map_or("(unset: defaults to true)".to_string(), |v| format!("{v:?}"))
                    ),
                    remedy: format!("declare CLICKHOUSE_CLUSTER_ENABLED: \"false\" under env.{container} (web and worker both)"),
                    sources: SRC_CLUSTER,
                });
            }
        }
    }
}
