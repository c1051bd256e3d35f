//! The walk that turns a located YAML tree into the typed model, reporting every problem it meets.
//! It accepts exactly the keys of [`SCHEMA`](super::keys::SCHEMA) (the table in `keys.rs`): this
//! file reads the document and its stacks; `schema/` holds the scalar readers (`fields`), apps
//! (`app`) and containers (`container`).

mod app;
mod container;
mod fields;

use super::name_map::NameMap;
use std::time::Duration;

use super::diagnostic::Diagnostics;
use super::types::*;
use super::yaml::{Node, Value};
use app::read_app;
use fields::*;

/// Reads the whole document. Returns what could be read; `d` holds every problem.
pub(crate) fn read_document(d: &mut Diagnostics, root: &Node, source: &str) -> DesiredState {
    let mut state = DesiredState::default();
    let Some(doc) = Obj::open(d, root, "", "document") else {
        return state;
    };
    let Some(stacks) = doc.required(d, "stacks") else {
        return state;
    };
    let Value::Seq(items) = &stacks.value else {
        d.error(
            stacks.loc,
            "stacks",
            format!("expected a list of stacks, found {}", stacks.value.kind()),
            None,
        );
        return state;
    };
    for (i, node) in items.iter().enumerate() {
        if let Some(stack) = read_stack(d, node, &format!("stacks[{i}]"), source) {
            state.stacks.push(stack);
        }
    }
    state
}

fn read_stack(d: &mut Diagnostics, node: &Node, path: &str, source: &str) -> Option<Stack> {
    let obj = Obj::open(d, node, path, "stack")?;
    let name = obj.required_string(d, "name");
    let subscription = obj.required_string(d, "subscription");
    if let (Some(s), Some(n)) = (&subscription, obj.get("subscription"))
        && !is_guid(s)
    {
        d.error(
            n.loc,
            &obj.field("subscription"),
            format!("`{s}` is not a subscription id"),
            Some("a subscription id is a GUID such as 00000000-0000-0000-0000-000000000000".into()),
        );
    }
    let resource_group = obj.required_string(d, "resourceGroup");
    let environment = obj.required_string(d, "environment");
    let interval = match obj.get("interval") {
        None => Some(DEFAULT_INTERVAL),
        Some(n) if matches!(n.value, Value::Seq(_) | Value::Map(_) | Value::Null) => {
            d.error(
                n.loc,
                &obj.field("interval"),
                format!("expected a duration such as 30s, found {}", n.value.kind()),
                Some("write it as 30s, 5m, 1h or 1m30s".into()),
            );
            None
        }
        Some(n) => {
            let text = n.value.scalar_text().unwrap_or_default();
            match parse_duration(&text) {
                Some(v) if v >= Duration::from_millis(100) => Some(v),
                _ => {
                    d.error(
                        n.loc,
                        &obj.field("interval"),
                        format!("`{text}` is not a duration of at least 100ms"),
                        Some("write it as 30s, 5m, 1h or 1m30s".into()),
                    );
                    None
                }
            }
        }
    };
    let mode = mode(d, &obj, "mode");
    let correction_window = window(d, &obj);
    let storages = read_storages(d, &obj);
    let mut apps = Vec::new();
    if let Some(apps_node) = obj.required(d, "apps")
        && let Some(entries) = as_map(d, apps_node, &obj.field("apps"))
    {
        for (key, app_node) in entries {
            if let Some(app) = read_app(d, key, app_node, &join(&obj.field("apps"), &key.name), &storages) {
                apps.push(app);
            }
        }
    }
    Some(Stack {
        name: name?,
        subscription: subscription?,
        resource_group: resource_group?,
        environment: environment?,
        interval: interval?,
        mode: mode.unwrap_or_default(),
        correction_window,
        storages,
        apps,
        source: source.to_string(),
        loc: node.loc,
    })
}

fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn read_storages(d: &mut Diagnostics, stack: &Obj) -> NameMap<StorageSpec> {
    let mut out = NameMap::new();
    let Some(node) = stack.get("storages") else {
        return out;
    };
    if node.value == Value::Null {
        return out;
    }
    let Some(entries) = as_map(d, node, &stack.field("storages")) else {
        return out;
    };
    for (key, value) in entries {
        let path = join(&stack.field("storages"), &key.name);
        let Some(obj) = Obj::open(d, value, &path, "storage") else {
            continue;
        };
        out.insert(
            key.name.clone(),
            StorageSpec {
                name: key.name.clone(),
                exclusive: obj.bool(d, "exclusive").unwrap_or(false),
                snapshot_before_migration: obj.bool(d, "snapshotBeforeMigration").unwrap_or(false),
                account_resource_group: obj.string(d, "accountResourceGroup"),
                stop_intruders: obj.bool(d, "stopIntruders").unwrap_or(false),
                account: obj.string(d, "account"),
                share: obj.string(d, "share"),
                loc: key.loc,
            },
        );
    }
    out
}

pub use fields::parse_duration;
