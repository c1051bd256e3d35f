//! The Langfuse/ClickHouse rules decidable from the desired-state file alone, run by the loader
//! (`aca-operator validate`, `plan`, `run`); the ones that need live state are preflight checks.
//! Each rule here is also the one preflight uses, so it is written once.

use aca_model::desired::{AppSpec, Diagnostic, EnvValue, Severity, Stack, app_url, missing_tcp_port, templates_of};

use super::is_clickhouse;

/// Golang-migrate's clickhouse driver speaks only the native protocol (`shared/FACTS.md`).
pub(super) const MIGRATION_OVER_HTTP: &str = "Langfuse runs its ClickHouse migrations with golang-migrate's clickhouse driver, which speaks the native TCP protocol: an http(s) URL fails with \"unknown driver\"";
pub(super) const MIGRATION_REMEDY: &str = "use clickhouse://<app>:9000 with a TCP port on the ClickHouse app, or set LANGFUSE_AUTO_CLICKHOUSE_MIGRATION_DISABLED=true and run migrations elsewhere";
pub(super) const CLUSTER_REMEDY: &str = "set it to \"false\" on both the web and the worker containers (Langfuse defaults it to true, which needs a ClickHouse cluster)";
/// The native protocol's default port, for a `clickhouse://` URL without one.
const NATIVE_PORT: u32 = 9000;

/// Whether a variable or secret by this name is the migration URL.
pub(super) fn is_migration_url(name: &str) -> bool {
    name.eq_ignore_ascii_case("CLICKHOUSE_MIGRATION_URL") || name.eq_ignore_ascii_case("clickhouse-migration-url")
}

/// The migration-URL rule: an http(s) URL breaks the migrations unless Langfuse does not run them.
pub(super) fn migration_url_breaks(url: &str, auto_migration_disabled: bool) -> bool {
    (url.starts_with("http://") || url.starts_with("https://")) && !auto_migration_disabled
}

/// The cluster rule: a single ClickHouse needs `CLICKHOUSE_CLUSTER_ENABLED` to be exactly `false`.
pub(super) fn cluster_setting_breaks(value: Option<&str>) -> bool {
    value != Some("false")
}

/// An app that will run one ClickHouse: one replica by `singleton`, or the owner of an exclusive
/// storage (its data).
pub(super) fn runs_single(stack: &Stack, app: &AppSpec) -> bool {
    app.singleton
        || app
            .storages()
            .any(|s| stack.storages.get(s).is_some_and(|st| st.exclusive))
}

/// Whether the file declares a ClickHouse image in this app.
fn declares_clickhouse(app: &AppSpec) -> bool {
    app.containers
        .iter()
        .any(|c| c.image.as_deref().is_some_and(is_clickhouse))
}

fn literal<'a>(app: &'a AppSpec, name: &str) -> impl Iterator<Item = &'a str> {
    app.env
        .values()
        .flatten()
        .filter(move |v| v.name == name)
        .filter_map(|v| match &v.value {
            EnvValue::Literal(t) => Some(t.raw.as_str()),
            EnvValue::SecretRef(_) => None,
        })
}

pub(super) fn check(stack: &Stack, index: usize) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let error = |loc, path: String, message: String, hint: &str| Diagnostic {
        severity: Severity::Error,
        file: stack.source.clone(),
        loc,
        path,
        message,
        hint: Some(hint.to_string()),
    };
    let single = stack
        .apps
        .iter()
        .any(|a| declares_clickhouse(a) && runs_single(stack, a));
    for app in &stack.apps {
        let path = format!("stacks[{index}].apps.{}", app.key);
        let disabled = literal(app, "LANGFUSE_AUTO_CLICKHOUSE_MIGRATION_DISABLED").any(|v| v == "true");
        for (name, t, tpath) in templates_of(app, &path) {
            if is_migration_url(name) && migration_url_breaks(&t.raw, disabled) {
                out.push(error(
                    t.loc,
                    tpath.clone(),
                    MIGRATION_OVER_HTTP.into(),
                    MIGRATION_REMEDY,
                ));
            }
            if let Some(url) = app_url(t)
                && url.scheme == "clickhouse"
                && let Some(target) = stack.app(url.app_key)
                && let Some((message, hint)) = missing_tcp_port(target, url.port.unwrap_or(NATIVE_PORT))
            {
                out.push(error(t.loc, tpath.clone(), message, &hint));
            }
        }
        if !single {
            continue;
        }
        for (container, vars) in &app.env {
            for var in vars.iter().filter(|v| v.name == "CLICKHOUSE_CLUSTER_ENABLED") {
                let EnvValue::Literal(t) = &var.value else { continue };
                if cluster_setting_breaks(Some(&t.raw)) {
                    let message = format!(
                        "CLICKHOUSE_CLUSTER_ENABLED is `{}`, but this stack runs a single ClickHouse",
                        t.raw
                    );
                    let vpath = format!("{path}.env.{container}.{}", var.name);
                    out.push(error(t.loc, vpath, message, CLUSTER_REMEDY));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aca_model::desired::{LoadError, load_str, load_str_with};

    const HEAD: &str = "stacks:\n  - name: s\n    subscription: 00000000-0000-0000-0000-000000000000\n    resourceGroup: rg\n    environment: cae\n    apps:\n";
    const CH: &str = "      ch:\n        singleton: true\n        ingress: { targetPort: 8123 }\n        containers: [{ name: ch, image: clickhouse/clickhouse-server:25.12 }]\n";

    fn errors(apps: &str) -> Vec<Diagnostic> {
        let text = format!("{HEAD}{apps}");
        load_str(&text, "t.yaml").expect("valid without the playbook");
        match load_str_with(&text, "t.yaml", &[&crate::playbook::Rules]) {
            Ok(_) => Vec::new(),
            Err(LoadError::Invalid(d)) => d,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn an_http_migration_url_is_an_error_unless_migrations_are_disabled() {
        let lf = "      lf:\n        secrets:\n          clickhouse-migration-url: \"https://${apps.ch.fqdn}\"\n";
        let e = errors(&format!("{CH}{lf}"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].message.contains("native TCP protocol"), "{}", e[0]);
        assert_eq!(e[0].path, "stacks[0].apps.lf.secrets.clickhouse-migration-url");
        let off = format!(
            "{lf}        env:\n          web:\n            LANGFUSE_AUTO_CLICKHOUSE_MIGRATION_DISABLED: \"true\"\n"
        );
        assert!(errors(&format!("{CH}{off}")).is_empty());
    }

    #[test]
    fn a_native_url_needs_the_tcp_port_default_9000() {
        let lf = "      lf:\n        secrets:\n          u: \"clickhouse://${apps.ch.name}\"\n";
        let e = errors(&format!("{CH}{lf}"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].message.contains("TCP port 9000 on apps.ch"), "{}", e[0]);
        let with_port = CH.replace(
            "ingress: { targetPort: 8123 }",
            "ingress: { targetPort: 8123 }\n        additionalPorts: [{ targetPort: 9000, exposedPort: 9000, external: false }]",
        );
        assert!(errors(&format!("{with_port}{lf}")).is_empty());
    }

    #[test]
    fn cluster_mode_with_a_single_clickhouse_is_an_error() {
        let lf = "      lf:\n        env:\n          web:\n            CLICKHOUSE_CLUSTER_ENABLED: \"true\"\n";
        let e = errors(&format!("{CH}{lf}"));
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].message.contains("single ClickHouse"), "{}", e[0]);
        // `singleton` alone does not make an app ClickHouse: no ClickHouse image, no rule.
        let other = CH.replace("clickhouse/clickhouse-server:25.12", "postgres:16");
        assert!(errors(&format!("{other}{lf}")).is_empty());
    }
}
