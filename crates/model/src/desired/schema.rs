//! The desired-state format: every key, its type, default and meaning ([`SCHEMA`]), and the walk
//! that turns a located YAML tree into the typed model, reporting every problem it meets.
//!
//! [`SCHEMA`] is the single list of accepted keys: the walker refuses any key not in it, and
//! `docs/configuration.md` is generated from it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::diagnostic::{Diagnostics, suggest};
use super::reference::{TemplateString, parse_template};
use super::types::*;
use super::yaml::{Key, Loc, Node, Value};
use crate::quantity::{Cpu, Memory};

/// One accepted key of the desired-state format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDoc {
    /// The object the key belongs to (`stack`, `app`, `ingress`, ...).
    pub object: &'static str,
    pub key: &'static str,
    pub ty: &'static str,
    /// `required`, or the default when absent.
    pub default: &'static str,
    pub doc: &'static str,
}

const fn k(
    object: &'static str,
    key: &'static str,
    ty: &'static str,
    default: &'static str,
    doc: &'static str,
) -> KeyDoc {
    KeyDoc {
        object,
        key,
        ty,
        default,
        doc,
    }
}

/// Every key of the format, grouped by object, in documentation order.
pub const SCHEMA: &[KeyDoc] = &[
    k(
        "document",
        "stacks",
        "list of stack",
        "required",
        "The stacks this file declares.",
    ),
    k(
        "stack",
        "name",
        "string",
        "required",
        "Unique name of the stack, used in logs and metrics.",
    ),
    k(
        "stack",
        "subscription",
        "GUID",
        "required",
        "Azure subscription id of the environment.",
    ),
    k(
        "stack",
        "resourceGroup",
        "string",
        "required",
        "Resource group of the environment and its apps.",
    ),
    k(
        "stack",
        "environment",
        "string",
        "required",
        "Name of the Container Apps managed environment.",
    ),
    k(
        "stack",
        "interval",
        "duration",
        "30s",
        "Reconcile period (`500ms`, `30s`, `5m`, `1h`, `1m30s`); each pass is jittered by up to 10%.",
    ),
    k(
        "stack",
        "mode",
        "enforce | observe",
        "enforce",
        "`enforce` corrects drift and alerts; `observe` only alerts.",
    ),
    k(
        "stack",
        "correctionWindow",
        "window",
        "always",
        "When drift may be corrected, e.g. `Mon-Fri 09:00-17:00 UTC`; outside it drift is alerted only, except invariant breaches, always corrected.",
    ),
    k(
        "stack",
        "storages",
        "map of storage",
        "{}",
        "Environment storages (by name) the stack's volumes use, and how to treat them.",
    ),
    k(
        "stack",
        "apps",
        "map of app",
        "required",
        "Container apps the stack keeps, by a key that references use.",
    ),
    k(
        "storage",
        "exclusive",
        "bool",
        "false",
        "At most one running revision of one app may mount it (a database's files). Apps mounting it get `recreate` updates.",
    ),
    k(
        "storage",
        "snapshotBeforeMigration",
        "bool",
        "false",
        "Take a share snapshot before the first cutover that touches it.",
    ),
    k(
        "storage",
        "accountResourceGroup",
        "string",
        "the stack's resourceGroup",
        "Resource group of the storage account behind the share (for snapshots).",
    ),
    k(
        "storage",
        "stopIntruders",
        "bool",
        "false",
        "Exclusive storages: deactivate the running revisions of apps the YAML does not declare that mount it (never deleted). Off: they are alerted only.",
    ),
    k(
        "storage",
        "account",
        "string",
        "as first observed",
        "Storage account the environment storage must point at (exclusive storages: a change is a critical `storage-binding` alert).",
    ),
    k(
        "storage",
        "share",
        "string",
        "as first observed",
        "File share the environment storage must point at (exclusive storages: a change is a critical `storage-binding` alert).",
    ),
    k(
        "app",
        "name",
        "string",
        "the app's key",
        "ARM name of the container app (2-32 chars: lower-case letters, digits, `-`).",
    ),
    k(
        "app",
        "mode",
        "enforce | observe",
        "the stack's mode",
        "Overrides the stack's mode for this app.",
    ),
    k(
        "app",
        "correctionWindow",
        "window",
        "the stack's",
        "Overrides the stack's correction window for this app.",
    ),
    k(
        "app",
        "singleton",
        "bool",
        "false",
        "Exactly one replica: min = max = 1, no other scale accepted.",
    ),
    k(
        "app",
        "updateStrategy",
        "rolling | recreate",
        "recreate if it mounts an exclusive storage, else rolling",
        "`recreate` stops the running revision before a template change, so two revisions never share the storage.",
    ),
    k(
        "app",
        "workloadProfile",
        "string",
        "not owned",
        "Workload profile name; CPU/memory combinations are only checked for Consumption.",
    ),
    k("app", "scale", "scale", "not owned", "Replica bounds."),
    k(
        "app",
        "containers",
        "list of container",
        "not owned",
        "Containers the YAML owns, matched by name; other containers are left alone.",
    ),
    k(
        "app",
        "env",
        "map of container name to env map",
        "not owned",
        "Environment variables for containers by name, without owning their other fields.",
    ),
    k(
        "app",
        "volumes",
        "list of volume",
        "not owned",
        "Volumes backed by environment storages.",
    ),
    k("app", "ingress", "ingress", "not owned", "The app's main ingress."),
    k(
        "app",
        "additionalPorts",
        "list of additionalPort",
        "not owned",
        "Extra TCP ports of the ingress (`[]` means there must be none).",
    ),
    k(
        "app",
        "forbidContainers",
        "list of string",
        "[]",
        "Container names that must not exist in the app (e.g. a database sidecar moved to its own app).",
    ),
    k(
        "app",
        "secrets",
        "map of secret name to value or keyVault",
        "not owned",
        "Secrets (values may contain references; never logged).",
    ),
    k("scale", "min", "integer 0-1000", "not owned", "minReplicas."),
    k("scale", "max", "integer 1-1000", "not owned", "maxReplicas."),
    k(
        "container",
        "name",
        "string",
        "required",
        "Container name within the app.",
    ),
    k(
        "container",
        "image",
        "string",
        "not owned",
        "Image reference: `[registry[:port]/]repository[:tag][@sha256:digest]`, checked by `validate`.",
    ),
    k(
        "container",
        "cpu",
        "number (vCPU)",
        "not owned",
        "CPU; the app's total with memory must be an accepted combination.",
    ),
    k(
        "container",
        "memory",
        "quantity (Gi/Mi)",
        "not owned",
        "Memory such as `2Gi`.",
    ),
    k(
        "container",
        "env",
        "env map",
        "not owned",
        "Environment variables: `NAME: value`, `NAME: {secretRef: s}` or `NAME: {value: v}`.",
    ),
    k(
        "container",
        "volumeMounts",
        "list of volumeMount",
        "not owned",
        "Mounts of the app's volumes.",
    ),
    k(
        "container",
        "probes",
        "list of probe",
        "not owned",
        "Health probes; when present, exactly these kinds (at most one of each).",
    ),
    k(
        "probe",
        "type",
        "liveness | readiness | startup",
        "required",
        "Readiness gates traffic and \"running\"; startup holds the others until it passes.",
    ),
    k(
        "probe",
        "httpGet",
        "probeHttp",
        "none",
        "An HTTP GET that must answer 2xx/3xx (one of httpGet, tcpSocket).",
    ),
    k(
        "probe",
        "tcpSocket",
        "probeTcp",
        "none",
        "A TCP connect that must succeed (one of httpGet, tcpSocket).",
    ),
    k(
        "probe",
        "initialDelaySeconds",
        "integer 0-60",
        "not owned",
        "Delay before the first probe.",
    ),
    k(
        "probe",
        "periodSeconds",
        "integer 1-240",
        "not owned",
        "Time between probes.",
    ),
    k(
        "probe",
        "timeoutSeconds",
        "integer 1-240",
        "not owned",
        "Time a probe may take.",
    ),
    k(
        "probe",
        "failureThreshold",
        "integer 1-10",
        "not owned",
        "Failures in a row that count.",
    ),
    k(
        "probeHttp",
        "path",
        "string",
        "required",
        "Absolute request path, e.g. `/ping`.",
    ),
    k("probeHttp", "port", "integer 1-65535", "required", "Container port."),
    k("probeTcp", "port", "integer 1-65535", "required", "Container port."),
    k(
        "volumeMount",
        "volume",
        "string",
        "required",
        "Name of a volume in the app's `volumes`.",
    ),
    k(
        "volumeMount",
        "path",
        "string",
        "required",
        "Absolute mount path in the container.",
    ),
    k("volumeMount", "subPath", "string", "none", "Sub-path of the volume."),
    k(
        "volume",
        "name",
        "string",
        "required",
        "Volume name, as mounts refer to it.",
    ),
    k(
        "volume",
        "storage",
        "string",
        "required",
        "Environment storage backing it (declared under the stack's `storages`).",
    ),
    k(
        "ingress",
        "external",
        "bool",
        "false",
        "Reachable from outside the environment.",
    ),
    k(
        "ingress",
        "transport",
        "auto | http | http2 | tcp",
        "auto",
        "Ingress transport.",
    ),
    k(
        "ingress",
        "targetPort",
        "port",
        "required",
        "Port the container listens on.",
    ),
    k(
        "ingress",
        "exposedPort",
        "port",
        "targetPort",
        "TCP only: the port other apps connect to (not 80 or 443).",
    ),
    k(
        "ingress",
        "allowInsecure",
        "bool",
        "not owned",
        "HTTP only: serve plain HTTP on port 80 instead of redirecting to 443.",
    ),
    k(
        "additionalPort",
        "targetPort",
        "port",
        "required",
        "Port the container listens on.",
    ),
    k(
        "additionalPort",
        "exposedPort",
        "port",
        "targetPort",
        "Port other apps connect to.",
    ),
    k(
        "additionalPort",
        "external",
        "bool",
        "false",
        "Reachable from outside (needs a custom-VNet environment).",
    ),
    k(
        "env",
        "secretRef",
        "string",
        "-",
        "Use the value of the app's secret of that name.",
    ),
    k(
        "env",
        "value",
        "string",
        "-",
        "A literal value (may contain references).",
    ),
    k(
        "keyVault",
        "keyVaultUrl",
        "URL",
        "required",
        "Key Vault secret URL; Container Apps reads it with `identity`.",
    ),
    k(
        "keyVault",
        "identity",
        "string",
        "required",
        "`system` or a user-assigned identity resource id.",
    ),
];

fn keys_of(object: &str) -> Vec<&'static str> {
    SCHEMA.iter().filter(|d| d.object == object).map(|d| d.key).collect()
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// A mapping being read: reports unknown keys and gives located access to the known ones.
struct Obj<'a> {
    entries: &'a [(Key, Node)],
    path: String,
    loc: Loc,
}

impl<'a> Obj<'a> {
    /// Reads `node` as a mapping of `object`'s keys; reports unknown keys (with a suggestion).
    fn open(d: &mut Diagnostics, node: &'a Node, path: &str, object: &str) -> Option<Self> {
        let entries = as_map(d, node, path)?;
        let known = keys_of(object);
        for (key, _) in entries {
            if !known.contains(&key.name.as_str()) {
                let hint = match suggest(&key.name, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known keys here: {}", known.join(", ")),
                };
                d.error(key.loc, path, format!("unknown key `{}`", key.name), Some(hint));
            }
        }
        Some(Obj {
            entries,
            path: path.to_string(),
            loc: node.loc,
        })
    }

    fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn required(&self, d: &mut Diagnostics, key: &str) -> Option<&'a Node> {
        let node = self.get(key);
        if node.is_none() {
            d.error(self.loc, &self.path, format!("missing required key `{key}`"), None);
        }
        node
    }

    fn string(&self, d: &mut Diagnostics, key: &str) -> Option<String> {
        self.get(key).and_then(|n| string(d, n, &self.field(key)))
    }

    fn required_string(&self, d: &mut Diagnostics, key: &str) -> Option<String> {
        self.required(d, key).and_then(|n| string(d, n, &self.field(key)))
    }

    fn bool(&self, d: &mut Diagnostics, key: &str) -> Option<bool> {
        let node = self.get(key)?;
        match node.value {
            Value::Bool(b) => Some(b),
            ref v => {
                d.error(
                    node.loc,
                    &self.field(key),
                    format!("expected true or false, found {}", v.kind()),
                    None,
                );
                None
            }
        }
    }

    fn int(&self, d: &mut Diagnostics, key: &str, range: std::ops::RangeInclusive<i64>, what: &str) -> Option<u32> {
        let node = self.get(key)?;
        int_in(d, node, &self.field(key), range, what)
    }

    fn port(&self, d: &mut Diagnostics, key: &str) -> Option<u32> {
        self.int(d, key, 1..=65535, "a port")
    }

    fn seq(&self, d: &mut Diagnostics, key: &str) -> Option<&'a [Node]> {
        let node = self.get(key)?;
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            v => {
                d.error(
                    node.loc,
                    &self.field(key),
                    format!("expected a list, found {}", v.kind()),
                    None,
                );
                None
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Reads `node` as a mapping. A key given twice is an error at the second (YAML keys are unique;
/// which value would win is not something a reader of the file should have to know).
fn as_map<'a>(d: &mut Diagnostics, node: &'a Node, path: &str) -> Option<&'a [(Key, Node)]> {
    match &node.value {
        Value::Map(entries) => {
            for (i, (key, _)) in entries.iter().enumerate() {
                if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.name == key.name) {
                    d.error(
                        key.loc,
                        &join(path, &key.name),
                        format!(
                            "key `{}` is given twice in this mapping (first at {})",
                            key.name, first.loc
                        ),
                        Some("keep one of them: YAML keys must be unique".into()),
                    );
                }
            }
            Some(entries)
        }
        v => {
            d.error(node.loc, path, format!("expected a mapping, found {}", v.kind()), None);
            None
        }
    }
}

fn string(d: &mut Diagnostics, node: &Node, path: &str) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        v => {
            d.error(node.loc, path, format!("expected a string, found {}", v.kind()), None);
            None
        }
    }
}

fn int_in(
    d: &mut Diagnostics,
    node: &Node,
    path: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Option<u32> {
    match node.value {
        Value::Int(i) if range.contains(&i) => Some(i as u32),
        Value::Int(i) => {
            d.error(
                node.loc,
                path,
                format!("{i} is out of range for {what} ({}-{})", range.start(), range.end()),
                None,
            );
            None
        }
        ref v => {
            d.error(
                node.loc,
                path,
                format!("expected an integer ({what}), found {}", v.kind()),
                None,
            );
            None
        }
    }
}

fn template(d: &mut Diagnostics, node: &Node, path: &str) -> Option<TemplateString> {
    // Env values and secrets are strings in ARM; unquoted scalars (`false`, `8123`) are taken as text.
    let text = match &node.value {
        Value::Seq(_) | Value::Map(_) | Value::Null => {
            d.error(
                node.loc,
                path,
                format!("expected a string, found {}", node.value.kind()),
                None,
            );
            return None;
        }
        v => v.scalar_text().unwrap_or_default(),
    };
    match parse_template(&text, node.loc) {
        Ok(t) => Some(t),
        Err(msg) => {
            d.error(node.loc, path, msg, None);
            None
        }
    }
}

fn mode(d: &mut Diagnostics, obj: &Obj, key: &str) -> Option<Mode> {
    let node = obj.get(key)?;
    match string(d, node, &obj.field(key))?.as_str() {
        "enforce" => Some(Mode::Enforce),
        "observe" => Some(Mode::Observe),
        other => {
            let hint = suggest(other, ["enforce", "observe"]).map(|s| format!("did you mean `{s}`?"));
            d.error(
                node.loc,
                &obj.field(key),
                format!("`{other}` is not a mode: use enforce or observe"),
                hint,
            );
            None
        }
    }
}

fn window(d: &mut Diagnostics, obj: &Obj) -> Option<super::window::CorrectionWindow> {
    let node = obj.get("correctionWindow")?;
    let text = string(d, node, &obj.field("correctionWindow"))?;
    super::window::CorrectionWindow::parse(&text)
        .map_err(|e| {
            d.error(
                node.loc,
                &obj.field("correctionWindow"),
                e,
                Some("e.g. `Mon-Fri 09:00-17:00 UTC`".into()),
            )
        })
        .ok()
}

/// Parses `500ms`, `30s`, `5m`, `1h`, `1m30s`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

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

fn read_storages(d: &mut Diagnostics, stack: &Obj) -> BTreeMap<String, StorageSpec> {
    let mut out = BTreeMap::new();
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

fn read_app(
    d: &mut Diagnostics,
    key: &Key,
    node: &Node,
    path: &str,
    storages: &BTreeMap<String, StorageSpec>,
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
    let mut env = BTreeMap::new();
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
        env.entry(name).or_insert(vars);
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
fn check_app_name(name: &str) -> Result<(), &'static str> {
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

fn read_scale(d: &mut Diagnostics, app: &Obj, singleton: bool) -> Option<ScaleSpec> {
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

fn read_containers(d: &mut Diagnostics, app: &Obj) -> Vec<ContainerSpec> {
    let mut out: Vec<ContainerSpec> = Vec::new();
    for (i, node) in app.seq(d, "containers").unwrap_or(&[]).iter().enumerate() {
        let path = format!("{}[{i}]", app.field("containers"));
        let Some(obj) = Obj::open(d, node, &path, "container") else {
            continue;
        };
        let Some(name) = obj.required_string(d, "name") else {
            continue;
        };
        if out.iter().any(|c| c.name == name) {
            d.error(node.loc, &path, format!("container `{name}` is declared twice"), None);
            continue;
        }
        let cpu = obj.get("cpu").and_then(|n| {
            let v = match n.value {
                Value::Int(i) => Some(i as f64),
                Value::Float(f) => Some(f),
                Value::Str(ref s) => s.trim().parse().ok(),
                _ => None,
            };
            let Some(v) = v else {
                let found = match &n.value {
                    Value::Str(s) => format!("`{s}`"),
                    other => other.kind().to_string(),
                };
                d.error(
                    n.loc,
                    &obj.field("cpu"),
                    format!("expected a number of vCPU such as 0.5 or 1.0, found {found}"),
                    None,
                );
                return None;
            };
            Cpu::from_vcpu(v)
                .map_err(|e| d.error(n.loc, &obj.field("cpu"), e.to_string(), None))
                .ok()
        });
        let memory = obj.get("memory").and_then(|n| {
            let text = n.value.scalar_text().unwrap_or_default();
            Memory::parse(&text)
                .map_err(|e| d.error(n.loc, &obj.field("memory"), e.to_string(), None))
                .ok()
        });
        let volume_mounts = obj.seq(d, "volumeMounts").map(|items| {
            items
                .iter()
                .enumerate()
                .filter_map(|(j, m)| {
                    let mp = format!("{}[{j}]", obj.field("volumeMounts"));
                    let mo = Obj::open(d, m, &mp, "volumeMount")?;
                    let volume = mo.required_string(d, "volume");
                    let path = mo.required_string(d, "path");
                    if let (Some(p), Some(n)) = (&path, mo.get("path"))
                        && !p.starts_with('/')
                    {
                        d.error(
                            n.loc,
                            &mo.field("path"),
                            format!("mount path `{p}` must be absolute"),
                            None,
                        );
                    }
                    Some(MountSpec {
                        volume: volume?,
                        path: path?,
                        sub_path: mo.string(d, "subPath"),
                    })
                })
                .collect()
        });
        let probes = read_probes(d, &obj);
        out.push(ContainerSpec {
            name,
            image: obj.string(d, "image").filter(|image| {
                let checked = super::image::check_image_reference(image);
                if let (Err(message), Some(n)) = (&checked, obj.get("image")) {
                    d.error(n.loc, &obj.field("image"), message.clone(), Some(IMAGE_HINT.into()));
                }
                checked.is_ok()
            }),
            cpu,
            memory,
            volume_mounts,
            probes,
            loc: node.loc,
        });
    }
    out
}

const IMAGE_HINT: &str =
    "an image reference is [registry[:port]/]repository[:tag][@sha256:digest], e.g. docker.io/library/postgres:16";

/// A container's `probes`: each with one action, at most one of each kind.
fn read_probes(d: &mut Diagnostics, container: &Obj) -> Option<Vec<ProbeSpec>> {
    let items = container.seq(d, "probes")?;
    let mut out: Vec<ProbeSpec> = Vec::new();
    for (i, node) in items.iter().enumerate() {
        let path = format!("{}[{i}]", container.field("probes"));
        let Some(obj) = Obj::open(d, node, &path, "probe") else {
            continue;
        };
        let kind = obj.required_string(d, "type").and_then(|t| {
            let k = ProbeKind::parse(&t);
            if k.is_none() {
                d.error(
                    node.loc,
                    &obj.field("type"),
                    format!("`{t}` is not a probe type: use liveness, readiness or startup"),
                    None,
                );
            }
            k
        });
        let http = obj.get("httpGet").and_then(|n| {
            let o = Obj::open(d, n, &obj.field("httpGet"), "probeHttp")?;
            let path = o.required_string(d, "path");
            let port = o.required(d, "port").and_then(|_| o.port(d, "port"));
            if let (Some(p), Some(n)) = (&path, o.get("path"))
                && !p.starts_with('/')
            {
                d.error(
                    n.loc,
                    &o.field("path"),
                    format!("probe path `{p}` must start with /"),
                    None,
                );
            }
            Some(ProbeAction::Http {
                path: path?,
                port: port?,
            })
        });
        let tcp = obj.get("tcpSocket").and_then(|n| {
            let o = Obj::open(d, n, &obj.field("tcpSocket"), "probeTcp")?;
            let port = o.required(d, "port").and_then(|_| o.port(d, "port"));
            Some(ProbeAction::Tcp { port: port? })
        });
        let action = match (
            http,
            tcp,
            obj.get("httpGet").is_some() || obj.get("tcpSocket").is_some(),
        ) {
            (Some(a), None, _) | (None, Some(a), _) => Some(a),
            (Some(_), Some(_), _) => {
                d.error(
                    node.loc,
                    &path,
                    "a probe has either httpGet or tcpSocket, not both".to_string(),
                    None,
                );
                None
            }
            (None, None, false) => {
                d.error(node.loc, &path, "a probe needs httpGet or tcpSocket".to_string(), None);
                None
            }
            (None, None, true) => None,
        };
        let (Some(kind), Some(action)) = (kind, action) else {
            continue;
        };
        if out.iter().any(|p| p.kind == kind) {
            d.error(
                node.loc,
                &path,
                format!("a second {} probe", kind.as_arm().to_ascii_lowercase()),
                None,
            );
            continue;
        }
        out.push(ProbeSpec {
            kind,
            action,
            initial_delay_seconds: obj.int(d, "initialDelaySeconds", 0..=60, "seconds"),
            period_seconds: obj.int(d, "periodSeconds", 1..=240, "seconds"),
            timeout_seconds: obj.int(d, "timeoutSeconds", 1..=240, "seconds"),
            failure_threshold: obj.int(d, "failureThreshold", 1..=10, "a count"),
        });
    }
    Some(out)
}

fn read_volumes(d: &mut Diagnostics, app: &Obj, storages: &BTreeMap<String, StorageSpec>) -> Vec<VolumeSpec> {
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

fn read_env_map(d: &mut Diagnostics, node: &Node, path: &str) -> Vec<EnvSpec> {
    let Some(entries) = as_map(d, node, path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let vpath = join(path, &key.name);
        let mut loc = value.loc;
        let parsed = match &value.value {
            Value::Map(_) => {
                let Some(obj) = Obj::open(d, value, &vpath, "env") else {
                    continue;
                };
                match (obj.get("secretRef"), obj.get("value")) {
                    (Some(s), None) => {
                        loc = s.loc;
                        string(d, s, &obj.field("secretRef")).map(EnvValue::SecretRef)
                    }
                    (None, Some(v)) => {
                        loc = v.loc;
                        template(d, v, &obj.field("value")).map(EnvValue::Literal)
                    }
                    _ => {
                        d.error(value.loc, &vpath, "give exactly one of `secretRef` and `value`", None);
                        None
                    }
                }
            }
            _ => template(d, value, &vpath).map(EnvValue::Literal),
        };
        if let Some(value) = parsed {
            out.push(EnvSpec {
                name: key.name.clone(),
                value,
                loc,
            });
        }
    }
    out
}

fn read_secrets(d: &mut Diagnostics, app: &Obj) -> BTreeMap<String, SecretSpec> {
    let mut out = BTreeMap::new();
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

fn read_ingress(d: &mut Diagnostics, node: &Node, path: &str) -> Option<IngressSpec> {
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

fn read_additional_ports(d: &mut Diagnostics, app: &Obj) -> Option<Vec<PortSpec>> {
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
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "s", "30", "30x", "-1s", "1.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn app_names() {
        assert!(check_app_name("web-db-2").is_ok());
        for bad in ["a", "Web", "1abc", "ab-", "a--b", "a_b", &"a".repeat(33)] {
            assert!(check_app_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn schema_keys_are_unique_per_object() {
        for (i, a) in SCHEMA.iter().enumerate() {
            assert!(
                !SCHEMA[i + 1..].iter().any(|b| a.object == b.object && a.key == b.key),
                "{}.{}",
                a.object,
                a.key
            );
        }
    }
}
