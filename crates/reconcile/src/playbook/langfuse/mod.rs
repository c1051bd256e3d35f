//! Langfuse with ClickHouse: the migration plan's knowledge (`shared/FACTS.md`). Which containers
//! are Langfuse (they carry `CLICKHOUSE_URL`) and which ClickHouse (the official server image), and
//! the traps of moving ClickHouse out of the Langfuse app into its own.

mod credentials;
mod outage;
mod rules;
mod versions;

pub use outage::{DEFAULT_REVISION_START, Estimate, ExpectedOutage, OutageClock, OutageWindow, expected_outage};

use super::{ContainerRef, Context, Playbook};
use aca_model::arm::StorageKind;
use aca_model::desired::{Diagnostic, Stack};

use crate::finding::{Finding, Level};
use crate::image::ImageRef;

const SRC_MIGRATIONS: &str = "langfuse web/entrypoint.sh, packages/shared/clickhouse/scripts/up.sh; golang-migrate database/clickhouse; langfuse-docs self-hosting/infrastructure/clickhouse.mdx";
const SRC_CLUSTER: &str =
    "langfuse web/src/env.mjs, worker/src/env.ts; the official docker-compose sets CLICKHOUSE_CLUSTER_ENABLED=false";
const SRC_SMB: &str = "ClickHouse/ClickHouse#74572, langfuse/langfuse#4893, Altinity/clickhouse-operator#813; learn.microsoft.com container-apps storage-mounts";
const SRC_PROBES: &str =
    "learn.microsoft.com container-apps health-probes; clickhouse.com docs, HTTP interface (/ping)";

pub struct Langfuse;

impl Playbook for Langfuse {
    fn validate(&self, stack: &Stack, index: usize) -> Vec<Diagnostic> {
        rules::check(stack, index)
    }

    fn preflight(&self, cx: &Context<'_>) -> Vec<Finding> {
        let mut out = Vec::new();
        let langfuse = langfuse_containers(cx);
        let clickhouse = clickhouse_containers(cx);
        for &c in &langfuse {
            migration_url(cx, c, &mut out);
            cluster_mode(cx, c, &clickhouse, &mut out);
        }
        for &ch in &clickhouse {
            credentials::check(cx, ch, &langfuse, &mut out);
            versions::downgrade(cx, ch, &mut out);
            versions::langfuse_needs(cx, ch, &langfuse, &mut out);
            versions::timezone(cx, ch, &mut out);
            readiness(cx, ch, &mut out);
        }
        on_smb(cx, &clickhouse, &mut out);
        outage::pending(cx, &clickhouse, &mut out);
        out
    }
}

/// The official ClickHouse server image (any registry, any tag).
pub(super) fn is_clickhouse(image: &str) -> bool {
    ImageRef::parse(image).name() == "clickhouse-server"
}

/// Langfuse web and worker containers: those that will carry `CLICKHOUSE_URL`.
fn langfuse_containers<'a>(cx: &'a Context<'a>) -> Vec<ContainerRef<'a>> {
    cx.stack
        .apps
        .iter()
        .flat_map(|a| cx.containers(a))
        .filter(|&c| cx.var(c, "CLICKHOUSE_URL").is_some())
        .collect()
}

/// ClickHouse containers that will run after apply (a forbidden sidecar is not one).
fn clickhouse_containers<'a>(cx: &'a Context<'a>) -> Vec<ContainerRef<'a>> {
    cx.stack
        .apps
        .iter()
        .flat_map(|a| cx.containers(a))
        .filter(|&c| cx.image(c).is_some_and(|i| is_clickhouse(&i)))
        .collect()
}

fn migration_url(cx: &Context<'_>, c: ContainerRef<'_>, out: &mut Vec<Finding>) {
    let Some(m) = cx.var_text(c, "CLICKHOUSE_MIGRATION_URL") else {
        return;
    };
    let disabled = cx.var_text(c, "LANGFUSE_AUTO_CLICKHOUSE_MIGRATION_DISABLED").as_deref() == Some("true");
    if rules::migration_url_breaks(&m, disabled) {
        out.push(Finding {
            level: Level::Error,
            check: "migration-needs-native-protocol",
            what: format!(
                "apps.{}: container `{}` runs Langfuse's ClickHouse migrations over {m:?}; golang-migrate's clickhouse driver speaks only the native TCP protocol, so an HTTP URL fails with \"unknown driver\" (the migration plan's HTTP-only Option 1 does not work as written)",
                c.app.key, c.name
            ),
            remedy: "point CLICKHOUSE_MIGRATION_URL at clickhouse://<app>:9000 with a TCP port on the ClickHouse app, or set LANGFUSE_AUTO_CLICKHOUSE_MIGRATION_DISABLED=true and run migrations elsewhere".into(),
            sources: SRC_MIGRATIONS,
        });
    }
}

fn cluster_mode(cx: &Context<'_>, c: ContainerRef<'_>, clickhouse: &[ContainerRef<'_>], out: &mut Vec<Finding>) {
    if !clickhouse.iter().any(|ch| rules::runs_single(cx.stack, ch.app)) {
        return;
    }
    let cluster = cx.var_text(c, "CLICKHOUSE_CLUSTER_ENABLED");
    if rules::cluster_setting_breaks(cluster.as_deref()) {
        out.push(Finding {
            level: Level::Error,
            check: "cluster-enabled",
            what: format!(
                "apps.{}: container `{}` has CLICKHOUSE_CLUSTER_ENABLED={}; Langfuse then runs ReplicatedMergeTree migrations, which a single ClickHouse cannot serve",
                c.app.key,
                c.name,
                cluster.as_deref().map_or("(unset: defaults to true)".to_string(), |v| format!("{v:?}"))
            ),
            remedy: format!(
                "declare CLICKHOUSE_CLUSTER_ENABLED: \"false\" under env.{} (web and worker both)",
                c.name
            ),
            sources: SRC_CLUSTER,
        });
    }
}

fn readiness(cx: &Context<'_>, ch: ContainerRef<'_>, out: &mut Vec<Finding>) {
    if cx.has_probe(ch, "Readiness") {
        return;
    }
    out.push(Finding {
        level: Level::Warning,
        check: "clickhouse-readiness",
        what: format!(
            "apps.{}: container `{}` has no readiness probe, so \"the ClickHouse app runs\" only means a replica started, not that ClickHouse answers; the cutover would point Langfuse at it too early",
            ch.app.key, ch.name
        ),
        remedy: format!(
            "declare probes under containers[{}]: readiness httpGet /ping on 8123, and a tcpSocket startup probe on 9000",
            ch.name
        ),
        sources: SRC_PROBES,
    });
}

/// `clickhouse-on-smb`: a storage ClickHouse's app mounts is an SMB share.
fn on_smb(cx: &Context<'_>, clickhouse: &[ContainerRef<'_>], out: &mut Vec<Finding>) {
    let mut seen: Vec<&str> = Vec::new();
    for ch in clickhouse {
        for storage in ch.app.storages() {
            let smb = cx.observed.storages.get(storage).and_then(|s| s.kind()) == Some(StorageKind::AzureFile);
            if !smb || seen.contains(&storage) {
                continue;
            }
            seen.push(storage);
            out.push(Finding {
                level: Level::Warning,
                check: "clickhouse-on-smb",
                what: format!(
                    "storage `{storage}` of apps.{} is an SMB Azure Files share: ClickHouse needs hard links and renames that SMB lacks (inserts fail with `rename: Permission denied`; the image's chown fails unless CLICKHOUSE_DO_NOT_CHOWN=1)",
                    ch.app.key
                ),
                remedy: "move ClickHouse data to an NfsAzureFile storage (needs a custom-VNet environment, ports 445/2049 open)".into(),
                sources: SRC_SMB,
            });
        }
    }
}
