//! `clickhouse-credentials`: after leaving `localhost`, ClickHouse's `default` user has no network
//! access unless the image is told about a user; and Langfuse must log in as that user. Values are
//! compared by reference or digest and never shown.

use super::super::{ContainerRef, Context, VarValue};
use crate::finding::{Finding, Level};

const SRC: &str = "clickhouse.com docs, Install ClickHouse using Docker (managing the default user); langfuse docs self-hosting/deployment/infrastructure/clickhouse";
const CHECK: &str = "clickhouse-credentials";
/// The user the image configures when `CLICKHOUSE_USER` is unset.
const DEFAULT_USER: &str = "default";

pub(super) fn check(cx: &Context<'_>, ch: ContainerRef<'_>, langfuse: &[ContainerRef<'_>], out: &mut Vec<Finding>) {
    let where_ = format!("apps.{}: container `{}`", ch.app.key, ch.name);
    if cx.var_text(ch, "CLICKHOUSE_SKIP_USER_SETUP").as_deref() == Some("1") {
        out.push(Finding {
            level: Level::Warning,
            check: CHECK,
            what: format!("{where_} sets CLICKHOUSE_SKIP_USER_SETUP=1: the `default` user is open to the network without a password"),
            remedy: "remove it and set CLICKHOUSE_USER and CLICKHOUSE_PASSWORD (from a secret)".into(),
            sources: SRC,
        });
        return;
    }
    let user = cx.var(ch, "CLICKHOUSE_USER");
    let password = cx.var(ch, "CLICKHOUSE_PASSWORD");
    let access = cx.var(ch, "CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT");
    if user.is_none() && password.is_none() && access.is_none() {
        out.push(Finding {
            level: Level::Error,
            check: CHECK,
            what: format!(
                "{where_} sets none of CLICKHOUSE_USER, CLICKHOUSE_PASSWORD, CLICKHOUSE_DEFAULT_ACCESS_MANAGEMENT: the image then gives `default` no network access, and every Langfuse connection fails after the cutover (the sidecar only worked over localhost)"
            ),
            remedy: format!(
                "declare under env.{}: CLICKHOUSE_USER and CLICKHOUSE_PASSWORD {{ secretRef: ... }} (a Key Vault reference or ${{env:...}} secret), and the same on Langfuse web and worker",
                ch.name
            ),
            sources: SRC,
        });
        return;
    }
    let ch_user = user.unwrap_or(VarValue::Literal(DEFAULT_USER.to_string()));
    for &lf in langfuse {
        let lf_where = format!("apps.{}: container `{}`", lf.app.key, lf.name);
        let lf_user = cx.var(lf, "CLICKHOUSE_USER");
        if lf_user.as_ref().and_then(|u| u.same_value(&ch_user)) != Some(true) {
            out.push(Finding {
                level: Level::Error,
                check: CHECK,
                what: format!(
                    "{lf_where} logs in to ClickHouse as {} but {where_} configures the user {}: Langfuse's connections fail",
                    lf_user.as_ref().map_or("(CLICKHOUSE_USER unset)".to_string(), show),
                    show(&ch_user)
                ),
                remedy: format!("set CLICKHOUSE_USER under env.{} to the ClickHouse app's user", lf.name),
                sources: SRC,
            });
        }
        let lf_password = cx.var(lf, "CLICKHOUSE_PASSWORD");
        match (&password, &lf_password) {
            (None, None) => {}
            (Some(a), Some(b)) => match a.same_value(b) {
                Some(true) => {}
                Some(false) => out.push(mismatch(&lf_where, &where_, lf.name)),
                None => out.push(Finding {
                    level: Level::Warning,
                    check: CHECK,
                    what: format!(
                        "{lf_where}'s CLICKHOUSE_PASSWORD cannot be compared with {where_}'s (different references and no values to digest)"
                    ),
                    remedy: "reference the same secret source on both sides (the same Key Vault secret or ${env:...} variable)".into(),
                    sources: SRC,
                }),
            },
            _ => out.push(mismatch(&lf_where, &where_, lf.name)),
        }
    }
}

fn mismatch(lf_where: &str, ch_where: &str, container: &str) -> Finding {
    Finding {
        level: Level::Error,
        check: CHECK,
        what: format!(
            "{lf_where}'s CLICKHOUSE_PASSWORD does not match {ch_where}'s (values not shown): Langfuse's connections fail after the cutover"
        ),
        remedy: format!(
            "give env.{container}.CLICKHOUSE_PASSWORD a secret with the same source as the ClickHouse app's"
        ),
        sources: SRC,
    }
}

/// A user name for a message: a literal as is, a secret by name only.
fn show(v: &VarValue) -> String {
    match v {
        VarValue::Literal(u) => format!("{u:?}"),
        VarValue::Secret { name, .. } => format!("(secret {name})"),
    }
}
