//! Versions and time zone: the dedicated ClickHouse must not be older than the one that wrote the
//! data, must be new enough for the Langfuse major in use, and must run in UTC.

use super::super::{ContainerRef, Context};
use super::is_clickhouse;
use crate::finding::{Finding, Level};
use crate::image::{ImageRef, Version};

const SRC_DOWNGRADE: &str = "clickhouse.com docs, upgrades (compatibility is promised forward only; treated as a rule)";
const SRC_LANGFUSE: &str = "langfuse docs self-hosting/deployment/infrastructure/clickhouse";

/// The oldest ClickHouse each Langfuse major supports.
const LANGFUSE_NEEDS: &[(u32, &[u32])] = &[(3, &[24, 3]), (4, &[25, 12])];

/// Time zone names that mean UTC.
const UTC_NAMES: &[&str] = &[
    "UTC",
    "Etc/UTC",
    "UCT",
    "Etc/UCT",
    "Universal",
    "Etc/Universal",
    "Zulu",
    "Etc/Zulu",
    "GMT",
    "Etc/GMT",
];

/// Where the ClickHouse image reads extra server configuration (a mount there may set `<timezone>`).
const CONFIG_DIR: &str = "/etc/clickhouse-server";

/// `clickhouse-downgrade`: the declared image against the images running the same data today (the
/// sidecar, and the dedicated app if it already runs).
pub(super) fn downgrade(cx: &Context<'_>, ch: ContainerRef<'_>, out: &mut Vec<Finding>) {
    let Some(declared) = ch
        .app
        .containers
        .iter()
        .find(|c| c.name == ch.name)
        .and_then(|c| c.image.as_deref())
    else {
        return;
    };
    let where_ = format!("apps.{}: container `{}`", ch.app.key, ch.name);
    let mut running: Vec<(String, String)> = Vec::new();
    for app in &cx.stack.apps {
        let Some(live) = cx.observed.app(&app.key) else {
            continue;
        };
        for c in live.containers() {
            if let Some(image) = c.image.as_deref().filter(|i| is_clickhouse(i)) {
                running.push((format!("apps.{}: container `{}`", app.key, c.name), image.to_string()));
            }
        }
    }
    if running.is_empty() {
        return;
    }
    let Some(want) = ImageRef::parse(declared).version() else {
        out.push(cannot_check(&where_, declared));
        return;
    };
    for (who, image) in running {
        match ImageRef::parse(&image).version() {
            Some(have) if want.older_than(&have) => out.push(Finding {
                level: Level::Error,
                check: "clickhouse-downgrade",
                what: format!(
                    "{where_} declares ClickHouse {want} ({declared}) but {who} runs {have} ({image}) on the same data: a server must not start on data a newer one wrote"
                ),
                remedy: format!("declare an image of ClickHouse {have} or newer, pinned (e.g. clickhouse/clickhouse-server:{have}-alpine)"),
                sources: SRC_DOWNGRADE,
            }),
            Some(_) => {}
            None => out.push(cannot_check(&who, &image)),
        }
    }
}

fn cannot_check(who: &str, image: &str) -> Finding {
    Finding {
        level: Level::Warning,
        check: "clickhouse-downgrade",
        what: format!(
            "{who} runs {image}, whose tag names no version: whether the cutover downgrades ClickHouse cannot be checked"
        ),
        remedy: "use version tags (e.g. clickhouse/clickhouse-server:24.8-alpine) on the sidecar and the dedicated app"
            .into(),
        sources: SRC_DOWNGRADE,
    }
}

/// `langfuse-clickhouse-version`: each Langfuse container's major against the ClickHouse it will use.
pub(super) fn langfuse_needs(
    cx: &Context<'_>,
    ch: ContainerRef<'_>,
    langfuse: &[ContainerRef<'_>],
    out: &mut Vec<Finding>,
) {
    let Some(ch_image) = cx.image(ch) else { return };
    let Some(have) = ImageRef::parse(&ch_image).version() else {
        return;
    };
    for &lf in langfuse {
        let Some(image) = cx.image(lf) else { continue };
        let Some(major) = ImageRef::parse(&image).version().map(|v| v.major()) else {
            continue;
        };
        // A newer major than known needs at least what the newest known one needs.
        let Some((_, need)) = LANGFUSE_NEEDS.iter().rev().find(|(m, _)| *m <= major) else {
            continue;
        };
        let need = Version(need.to_vec());
        if have.older_than(&need) {
            out.push(Finding {
                level: Level::Error,
                check: "langfuse-clickhouse-version",
                what: format!(
                    "apps.{}: container `{}` runs Langfuse {major} ({image}), which needs ClickHouse >= {need}, but apps.{} declares {have} ({ch_image}): Langfuse's migrations or queries fail",
                    lf.app.key, lf.name, ch.app.key
                ),
                remedy: format!("declare clickhouse/clickhouse-server:{need} or newer (pinned), or keep Langfuse on an older major"),
                sources: SRC_LANGFUSE,
            });
        }
    }
}

/// `clickhouse-timezone`: Langfuse expects ClickHouse in UTC.
pub(super) fn timezone(cx: &Context<'_>, ch: ContainerRef<'_>, out: &mut Vec<Finding>) {
    let where_ = format!("apps.{}: container `{}`", ch.app.key, ch.name);
    if let Some(tz) = cx.var_text(ch, "TZ")
        && !UTC_NAMES
            .iter()
            .any(|u| u.eq_ignore_ascii_case(tz.trim_start_matches(':')))
    {
        out.push(Finding {
            level: Level::Warning,
            check: "clickhouse-timezone",
            what: format!("{where_} sets TZ={tz:?}: ClickHouse must run in UTC for Langfuse (timestamps and partitions shift otherwise)"),
            remedy: format!("remove TZ from env.{} or set it to UTC", ch.name),
            sources: SRC_LANGFUSE,
        });
    }
    if let Some(path) = cx.mount_paths(ch).into_iter().find(|p| p.starts_with(CONFIG_DIR)) {
        out.push(Finding {
            level: Level::Info,
            check: "clickhouse-timezone",
            what: format!("{where_} mounts configuration at {path}; a `<timezone>` there other than UTC breaks Langfuse (not checkable from here)"),
            remedy: "make sure the mounted configuration sets no timezone, or UTC".into(),
            sources: SRC_LANGFUSE,
        });
    }
}
