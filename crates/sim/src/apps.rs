//! Container apps, their revisions and their long-running operations, as Container Apps behaves:
//!
//! - PUT/PATCH/DELETE are long-running operations (`InProgress` → `Succeeded` or `Failed`).
//! - A template change creates a revision; configuration-only changes (ingress, secrets, scale is
//!   part of the template) do not.
//! - Single revision mode keeps the previous revision's replicas running until the new revision is
//!   ready, and for `overlap` after that: an update that does not stop the old revision first
//!   runs two revisions at once.
//! - Replicas keep the secret values they started with until their revision restarts.
//! - GET hides secret values; `listSecrets` returns them.
//!
//! Everything time-dependent is computed from timestamps when asked ("lazy"), so no background
//! task is needed and paused-time tests are deterministic.

use std::collections::BTreeMap;

use aca_model::arm::ResourceId;
use aca_model::quantity::{Cpu, Memory, consumption_combination_ok};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::clock::wall_now;
use crate::config::SimConfig;
use crate::environments::{default_domain, fnv, has_custom_vnet};
use crate::error::{ArmFailure, ArmResult};
use crate::faults::Fault;
use crate::state::{Principal, State, stamp_system_data};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Put,
    Patch,
    Delete,
}

/// A long-running operation on one app.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    /// Canonical id of the app.
    pub app: String,
    pub app_id: String,
    pub kind: OpKind,
    pub location: String,
    pub subscription: String,
    pub started_wall: String,
    /// `None`: never ends (an injected hang).
    pub done_at: Option<Instant>,
    pub failure: Option<(String, String)>,
}

impl Operation {
    pub fn is_done(&self, now: Instant) -> bool {
        self.done_at.is_some_and(|t| t <= now)
    }

    /// `InProgress`, `Succeeded` or `Failed`.
    pub fn status(&self, now: Instant) -> &'static str {
        match (self.is_done(now), &self.failure) {
            (false, _) => "InProgress",
            (true, None) => "Succeeded",
            (true, Some(_)) => "Failed",
        }
    }
}

#[derive(Debug, Clone)]
pub struct RevisionRecord {
    pub name: String,
    pub template: Value,
    pub created: Instant,
    pub created_wall: String,
    /// When its replicas start running; `None`: never (failed or hung provisioning).
    pub ready_at: Option<Instant>,
    pub failed: bool,
    /// A newer revision became ready at this time (Single mode); replicas drain `overlap` later.
    pub superseded_at: Option<Instant>,
    pub deactivated_at: Option<Instant>,
    /// Secret values the running replicas started with.
    pub secrets: BTreeMap<String, String>,
    pub restarts: u32,
    /// Who made the change that created it (`systemData.lastModifiedBy` of that write).
    pub created_by: Principal,
}

impl RevisionRecord {
    /// When its replicas start running, if ever.
    pub fn running_from(&self) -> Option<Instant> {
        self.ready_at
    }

    /// When its replicas stop, if that is decided.
    pub fn running_until(&self, config: &SimConfig) -> Option<Instant> {
        let by_supersede = self.superseded_at.map(|t| t + config.overlap);
        let by_deactivate = self.deactivated_at.map(|t| t + config.stop_delay);
        match (by_supersede, by_deactivate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn replicas(&self, now: Instant, config: &SimConfig) -> u32 {
        let started = self.ready_at.is_some_and(|t| t <= now);
        let stopped = self.running_until(config).is_some_and(|t| t <= now);
        if started && !stopped {
            desired_replicas(&self.template)
        } else {
            0
        }
    }

    /// When it stopped being active (ARM's `lastActiveTime`), if it has.
    pub fn inactive_since(&self, config: &SimConfig) -> Option<Instant> {
        let by_supersede = self.superseded_at.map(|t| t + config.overlap);
        match (by_supersede, self.deactivated_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Active as ARM reports it: not deactivated and not drained after being superseded.
    pub fn is_active(&self, now: Instant, config: &SimConfig) -> bool {
        !self.failed && self.deactivated_at.is_none() && self.superseded_at.is_none_or(|t| t + config.overlap > now)
    }

    pub fn storages(&self) -> Vec<String> {
        self.template
            .get("volumes")
            .and_then(Value::as_array)
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| v.get("storageName").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Replicas a running revision has: its minimum, at least one (as if it had traffic), at most its maximum.
fn desired_replicas(template: &Value) -> u32 {
    let min = template
        .pointer("/scale/minReplicas")
        .and_then(Value::as_u64)
        .unwrap_or(0) as u32;
    let max = template
        .pointer("/scale/maxReplicas")
        .and_then(Value::as_u64)
        .unwrap_or(10) as u32;
    min.max(1).min(max.max(1))
}

#[derive(Debug, Clone)]
pub struct AppRecord {
    pub id: ResourceId,
    /// The stored resource, secret values included.
    pub resource: Value,
    pub revisions: Vec<RevisionRecord>,
    pub last_op: Option<String>,
}

/// Properties ARM computes; a client's values for them are ignored.
const READ_ONLY_PROPERTIES: &[&str] = &[
    "provisioningState",
    "runningStatus",
    "latestRevisionName",
    "latestReadyRevisionName",
    "latestRevisionFqdn",
    "outboundIpAddresses",
    "eventStreamEndpoint",
    "customDomainVerificationId",
    "deploymentErrors",
];

/// The result of an accepted write.
#[derive(Debug)]
pub struct WriteOutcome {
    pub created: bool,
    pub operation: Option<String>,
}

pub fn seed(state: &mut State, id: &ResourceId, resource: Value, by: &Principal) -> ArmResult<()> {
    write(state, id, resource, OpKind::Put, by, None, true).map(|_| ())
}

/// PUT (replace) or PATCH (merge) of an app. `immediate` applies it at once with no operation
/// (seeding, or a person's edit through the admin API).
pub fn write(
    state: &mut State,
    id: &ResourceId,
    body: Value,
    kind: OpKind,
    by: &Principal,
    fault: Option<&Fault>,
    immediate: bool,
) -> ArmResult<WriteOutcome> {
    let now = Instant::now();
    let key = id.canonical();
    if !body.is_object() {
        return Err(ArmFailure::bad_request(
            "InvalidRequestContent",
            "The request content must be a JSON object.",
        ));
    }
    let existing = state.apps.get(&key);
    if !immediate
        && let Some(op) = existing
            .and_then(|a| a.last_op.as_ref())
            .and_then(|op| state.operations.get(op))
        && !op.is_done(now)
    {
        return Err(ArmFailure::new(
            StatusCode::CONFLICT,
            "ContainerAppOperationInProgress",
            format!(
                "Cannot modify container app '{}' while an operation is in progress.",
                id.name()
            ),
        ));
    }
    let mut resource = match (kind, existing) {
        (OpKind::Patch, None) => {
            return Err(ArmFailure::not_found(
                "Microsoft.App/containerApps/".to_string().as_str(),
                &id.to_string(),
            ));
        }
        (OpKind::Patch, Some(app)) => {
            let mut merged = writable(&app.resource);
            crate::state::merge_patch(&mut merged, &body);
            merged
        }
        (_, Some(app)) => {
            let mut replaced = writable(&body);
            if let Some(sd) = app.resource.get("systemData") {
                replaced["systemData"] = sd.clone();
            }
            replaced
        }
        (_, None) => writable(&body),
    };
    normalise_environment_id(&mut resource);
    resource["id"] = json!(id.to_string());
    resource["name"] = json!(id.name());
    resource["type"] = json!("Microsoft.App/containerApps");
    if resource.get("location").and_then(Value::as_str).is_none() {
        return Err(ArmFailure::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    }
    validate(state, &resource)?;
    let created = existing.is_none();
    stamp_system_data(&mut resource, by, created);

    let fails = fault.is_some_and(|f| f.fail_lro);
    let hangs = fault.is_some_and(|f| f.hang_lro);
    let config = state.config.clone();
    let new_template = resource.pointer("/properties/template").cloned().unwrap_or(json!({}));
    let template_changed = existing
        .and_then(|a| a.revisions.last())
        .is_none_or(|latest| latest.template != new_template);
    let single_mode = resource
        .pointer("/properties/configuration/activeRevisionsMode")
        .and_then(Value::as_str)
        .is_none_or(|m| m.eq_ignore_ascii_case("single"));
    let secrets = secret_values(&resource);
    let counter = state.next_id();

    let ready_at = if fails || hangs {
        None
    } else if immediate {
        Some(
            now + if created {
                std::time::Duration::ZERO
            } else {
                config.revision_start
            },
        )
    } else {
        Some(now + config.revision_start.max(config.lro_duration))
    };
    let operation = if immediate {
        None
    } else {
        let op_id = format!(
            "{:08x}-{:04x}-4000-8000-{:012x}",
            fnv(&key) as u32,
            counter & 0xffff,
            counter
        );
        let location = resource["location"]
            .as_str()
            .unwrap_or("eastus")
            .to_ascii_lowercase()
            .replace(' ', "");
        let failure = fails.then(|| {
            (
                "ContainerAppProvisioningFailed".to_string(),
                format!(
                    "The provisioning of container app '{}' failed (injected fault).",
                    id.name()
                ),
            )
        });
        state.operations.insert(
            op_id.clone(),
            Operation {
                id: op_id.clone(),
                app: key.clone(),
                app_id: id.to_string(),
                kind,
                location,
                subscription: id.subscription.clone(),
                started_wall: wall_now(),
                done_at: if hangs { None } else { Some(now + config.lro_duration) },
                failure,
            },
        );
        Some(op_id)
    };

    let app = state.apps.entry(key).or_insert_with(|| AppRecord {
        id: id.clone(),
        resource: Value::Null,
        revisions: Vec::new(),
        last_op: None,
    });
    app.resource = resource;
    app.last_op = operation.clone();
    if template_changed {
        let suffix = new_template
            .get("revisionSuffix")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| revision_suffix(counter));
        if single_mode && let Some(ready) = ready_at {
            for old in app.revisions.iter_mut().filter(|r| r.superseded_at.is_none()) {
                old.superseded_at = Some(ready.max(old.ready_at.unwrap_or(ready)));
            }
        }
        app.revisions.push(RevisionRecord {
            name: format!("{}--{suffix}", id.name()),
            template: new_template,
            created: now,
            created_wall: wall_now(),
            ready_at,
            failed: fails,
            superseded_at: None,
            deactivated_at: None,
            secrets,
            restarts: 0,
            created_by: by.clone(),
        });
    }
    Ok(WriteOutcome { created, operation })
}

/// Starts a delete; `None` when the app does not exist (ARM answers 204).
pub fn delete(state: &mut State, id: &ResourceId, fault: Option<&Fault>) -> ArmResult<Option<String>> {
    let key = id.canonical();
    let Some(app) = state.apps.get(&key) else {
        return Ok(None);
    };
    let location = app.resource["location"]
        .as_str()
        .unwrap_or("eastus")
        .to_ascii_lowercase()
        .replace(' ', "");
    let counter = state.next_id();
    let op_id = format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        fnv(&key) as u32,
        counter & 0xffff,
        counter
    );
    let now = Instant::now();
    state.operations.insert(
        op_id.clone(),
        Operation {
            id: op_id.clone(),
            app: key.clone(),
            app_id: id.to_string(),
            kind: OpKind::Delete,
            location,
            subscription: id.subscription.clone(),
            started_wall: wall_now(),
            done_at: if fault.is_some_and(|f| f.hang_lro) {
                None
            } else {
                Some(now + state.config.lro_duration)
            },
            failure: fault.filter(|f| f.fail_lro).map(|_| {
                (
                    "ContainerAppDeleteFailed".into(),
                    "Delete failed (injected fault).".into(),
                )
            }),
        },
    );
    if let Some(app) = state.apps.get_mut(&key) {
        app.last_op = Some(op_id.clone());
    }
    Ok(Some(op_id))
}

/// Drops what ARM computes, keeping what a client may write.
fn writable(resource: &Value) -> Value {
    let mut r = resource.clone();
    if let Some(obj) = r.as_object_mut() {
        obj.remove("systemData");
        if let Some(props) = obj.get_mut("properties").and_then(Value::as_object_mut) {
            for k in READ_ONLY_PROPERTIES {
                props.remove(*k);
            }
            if let Some(ingress) = props
                .get_mut("configuration")
                .and_then(|c| c.get_mut("ingress"))
                .and_then(Value::as_object_mut)
            {
                ingress.remove("fqdn");
            }
        }
    }
    r
}

/// ARM accepts the legacy `environmentId` and answers with `managedEnvironmentId`.
fn normalise_environment_id(resource: &mut Value) {
    if let Some(props) = resource.get_mut("properties").and_then(Value::as_object_mut)
        && let Some(legacy) = props.remove("environmentId")
        && !props.contains_key("managedEnvironmentId")
    {
        props.insert("managedEnvironmentId".into(), legacy);
    }
}

fn secret_values(resource: &Value) -> BTreeMap<String, String> {
    resource
        .pointer("/properties/configuration/secrets")
        .and_then(Value::as_array)
        .map(|ss| {
            ss.iter()
                .filter_map(|s| {
                    Some((
                        s.get("name")?.as_str()?.to_string(),
                        s.get("value")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Seven lower-case letters and digits, as Container Apps' generated revision suffixes look.
fn revision_suffix(counter: u64) -> String {
    let mut h = fnv(&counter.to_string());
    (0..7)
        .map(|_| {
            let c = b"abcdefghijklmnopqrstuvwxyz0123456789"[(h % 36) as usize] as char;
            h /= 36;
            c
        })
        .collect()
}

fn invalid(code: &str, message: impl Into<String>) -> ArmFailure {
    ArmFailure::bad_request(code, message)
}

/// The checks Container Apps makes on a write, so the operator cannot get away with what ARM refuses.
fn validate(state: &State, app: &Value) -> ArmResult<()> {
    let props = app.get("properties").cloned().unwrap_or(json!({}));
    let env_id = props
        .get("managedEnvironmentId")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            invalid(
                "ManagedEnvironmentRequired",
                "properties.managedEnvironmentId (or environmentId) is required.",
            )
        })?;
    let env_key = ResourceId::parse(env_id)
        .map(|i| i.canonical())
        .map_err(|e| invalid("InvalidParameterValue", e.to_string()))?;
    let env = state.environments.get(&env_key).ok_or_else(|| {
        ArmFailure::new(
            StatusCode::NOT_FOUND,
            "ManagedEnvironmentNotFound",
            format!("Managed environment '{env_id}' was not found."),
        )
    })?;
    let empty = Vec::new();
    let secrets = props
        .pointer("/configuration/secrets")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let mut secret_names = Vec::new();
    for s in secrets {
        let name = s.get("name").and_then(Value::as_str).unwrap_or_default();
        if s.get("value").and_then(Value::as_str).is_none() && s.get("keyVaultUrl").and_then(Value::as_str).is_none() {
            return Err(invalid(
                "ContainerAppSecretInvalid",
                format!("Secret '{name}' needs a value or a keyVaultUrl."),
            ));
        }
        secret_names.push(name);
    }
    let template = props.get("template").cloned().unwrap_or(json!({}));
    let containers = template.get("containers").and_then(Value::as_array).unwrap_or(&empty);
    if containers.is_empty() {
        return Err(invalid(
            "ContainerAppContainersRequired",
            "A container app needs at least one container.",
        ));
    }
    let volumes = template.get("volumes").and_then(Value::as_array).unwrap_or(&empty);
    let mut names = Vec::new();
    let (mut cpu, mut mem, mut all_sized) = (0u32, 0u64, true);
    for c in containers {
        let name = c.get("name").and_then(Value::as_str).unwrap_or_default();
        if name.is_empty() || c.get("image").and_then(Value::as_str).is_none() {
            return Err(invalid(
                "ContainerAppInvalidContainer",
                "Every container needs a name and an image.",
            ));
        }
        if names.contains(&name) {
            return Err(invalid(
                "ContainerAppDuplicateContainerName",
                format!("Container name '{name}' is used twice."),
            ));
        }
        names.push(name);
        for e in c.get("env").and_then(Value::as_array).unwrap_or(&empty) {
            if let Some(r) = e.get("secretRef").and_then(Value::as_str)
                && !secret_names.contains(&r)
            {
                return Err(invalid(
                    "ContainerAppSecretRefNotFound",
                    format!("Container '{name}' references secret '{r}', which does not exist."),
                ));
            }
        }
        for m in c.get("volumeMounts").and_then(Value::as_array).unwrap_or(&empty) {
            let v = m.get("volumeName").and_then(Value::as_str).unwrap_or_default();
            if !volumes
                .iter()
                .any(|vol| vol.get("name").and_then(Value::as_str) == Some(v))
            {
                return Err(invalid(
                    "ContainerAppVolumeMountInvalid",
                    format!("Container '{name}' mounts volume '{v}', which the template does not declare."),
                ));
            }
        }
        match (
            c.pointer("/resources/cpu").and_then(Value::as_f64),
            c.pointer("/resources/memory").and_then(Value::as_str),
        ) {
            (Some(c), Some(m)) => {
                let (Ok(c), Ok(m)) = (Cpu::from_vcpu(c), Memory::parse(m)) else {
                    return Err(invalid(
                        "ContainerAppInvalidResources",
                        format!("Container '{name}' has invalid cpu or memory."),
                    ));
                };
                cpu += c.0;
                mem += m.0;
            }
            _ => all_sized = false,
        }
    }
    let on_consumption = props
        .get("workloadProfileName")
        .and_then(Value::as_str)
        .is_none_or(|p| p.eq_ignore_ascii_case("consumption"));
    if all_sized && on_consumption && !consumption_combination_ok(Cpu(cpu), Memory(mem)) {
        return Err(invalid(
            "ContainerAppInvalidResourceTotal",
            format!(
                "The total requested CPU and memory ({} vCPU, {}) is not a supported combination.",
                Cpu(cpu),
                Memory(mem)
            ),
        ));
    }
    for v in volumes {
        let vname = v.get("name").and_then(Value::as_str).unwrap_or_default();
        let kind = v.get("storageType").and_then(Value::as_str).unwrap_or("EmptyDir");
        if kind.eq_ignore_ascii_case("AzureFile") || kind.eq_ignore_ascii_case("NfsAzureFile") {
            let storage = v.get("storageName").and_then(Value::as_str).unwrap_or_default();
            let sid = format!("{env_key}/storages/{}", storage.to_ascii_lowercase());
            let Some(st) = state.storages.get(&sid) else {
                return Err(invalid(
                    "ManagedEnvironmentStorageNotFound",
                    format!("Volume '{vname}' uses storage '{storage}', which the environment does not have."),
                ));
            };
            let is_nfs = st.pointer("/properties/nfsAzureFile").is_some();
            if is_nfs != kind.eq_ignore_ascii_case("NfsAzureFile") {
                return Err(invalid(
                    "ContainerAppVolumeStorageTypeMismatch",
                    format!("Volume '{vname}' is {kind} but storage '{storage}' is not."),
                ));
            }
        }
    }
    if let Some(scale) = template.get("scale") {
        let min = scale.get("minReplicas").and_then(Value::as_i64).unwrap_or(0);
        let max = scale.get("maxReplicas").and_then(Value::as_i64).unwrap_or(10);
        if !(0..=1000).contains(&min) || !(1..=1000).contains(&max) || min > max {
            return Err(invalid(
                "ContainerAppInvalidScaleSettings",
                format!("minReplicas {min} and maxReplicas {max} are not valid."),
            ));
        }
    }
    if let Some(ingress) = props.pointer("/configuration/ingress") {
        validate_ingress(ingress, has_custom_vnet(env))?;
    }
    Ok(())
}

fn validate_ingress(ingress: &Value, custom_vnet: bool) -> ArmResult<()> {
    let transport = ingress
        .get("transport")
        .and_then(Value::as_str)
        .unwrap_or("auto")
        .to_ascii_lowercase();
    if !["auto", "http", "http2", "tcp"].contains(&transport.as_str()) {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            format!("Transport '{transport}' is not supported."),
        ));
    }
    let external = ingress.get("external").and_then(Value::as_bool).unwrap_or(false);
    let target = ingress.get("targetPort").and_then(Value::as_u64).unwrap_or(0);
    if !(1..=65535).contains(&target) {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            "ingress.targetPort must be 1-65535.",
        ));
    }
    if let Some(exposed) = ingress.get("exposedPort").and_then(Value::as_u64).filter(|p| *p != 0) {
        if transport != "tcp" {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                "ingress.exposedPort is only supported with TCP transport.",
            ));
        }
        if exposed == 80 || exposed == 443 || exposed > 65535 {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                format!("ingress.exposedPort {exposed} is reserved or invalid."),
            ));
        }
    }
    if transport == "tcp" && external && !custom_vnet {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            "External TCP ingress requires an environment with a custom virtual network.",
        ));
    }
    let empty = Vec::new();
    let extra = ingress
        .get("additionalPortMappings")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    if extra.len() > 5 {
        return Err(invalid(
            "ContainerAppInvalidIngress",
            "At most 5 additional port mappings are allowed.",
        ));
    }
    let mut ports = vec![target];
    for m in extra {
        let p = m.get("targetPort").and_then(Value::as_u64).unwrap_or(0);
        if !(1..=65535).contains(&p) || ports.contains(&p) {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                format!("Additional port mapping target port {p} is invalid or not unique."),
            ));
        }
        ports.push(p);
        if m.get("external").and_then(Value::as_bool).unwrap_or(false) && (!external || !custom_vnet) {
            return Err(invalid(
                "ContainerAppInvalidIngress",
                "External additional ports need an external app in a custom virtual network.",
            ));
        }
    }
    Ok(())
}

/// The app as GET shows it: computed properties filled, secret values hidden.
pub fn view(state: &State, app: &AppRecord, now: Instant) -> Value {
    let mut v = app.resource.clone();
    let config = &state.config;
    let env_id = v
        .pointer("/properties/managedEnvironmentId")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let domain = ResourceId::parse(&env_id)
        .ok()
        .and_then(|i| state.environments.get(&i.canonical()))
        .map(default_domain)
        .unwrap_or_default();
    let op = app.last_op.as_ref().and_then(|id| state.operations.get(id));
    let provisioning = match op {
        Some(op) if op.kind != OpKind::Delete => op.status(now),
        Some(op) if !op.is_done(now) => "Deleting",
        _ => "Succeeded",
    };
    let running = app.revisions.iter().any(|r| r.replicas(now, config) > 0);
    let latest_ready = app
        .revisions
        .iter()
        .rev()
        .find(|r| r.ready_at.is_some_and(|t| t <= now));
    let name = app.id.name().to_string();
    let location = v["location"]
        .as_str()
        .unwrap_or("eastus")
        .to_ascii_lowercase()
        .replace(' ', "");
    let props = v
        .as_object_mut()
        .expect("apps are objects")
        .entry("properties")
        .or_insert(json!({}));
    props["provisioningState"] = json!(provisioning);
    props["runningStatus"] = json!(if provisioning == "InProgress" {
        "Progressing"
    } else if running {
        "Running"
    } else {
        "Stopped"
    });
    let internal = |external: bool| if external { "" } else { "internal." };
    let ingress_external = props
        .pointer("/configuration/ingress/external")
        .and_then(Value::as_bool);
    props["latestRevisionFqdn"] = json!(match (ingress_external, app.revisions.last()) {
        (Some(ext), Some(rev)) => format!("{}.{}{domain}", rev.name, internal(ext)),
        _ => String::new(),
    });
    if let Some(r) = latest_ready {
        props["latestReadyRevisionName"] = json!(r.name);
    }
    props["eventStreamEndpoint"] = json!(format!(
        "https://{location}.azurecontainerapps.dev/subscriptions/{}/resourceGroups/{}/containerApps/{name}/eventstream",
        app.id.subscription, app.id.resource_group
    ));
    if let Some(ingress) = props
        .pointer_mut("/configuration/ingress")
        .and_then(Value::as_object_mut)
    {
        let ext = ingress.get("external").and_then(Value::as_bool).unwrap_or(false);
        ingress.insert("fqdn".into(), json!(format!("{name}.{}{domain}", internal(ext))));
    }
    if let Some(secrets) = props
        .pointer_mut("/configuration/secrets")
        .and_then(Value::as_array_mut)
    {
        for s in secrets.iter_mut().filter_map(Value::as_object_mut) {
            s.remove("value");
        }
    }
    v
}

/// `listSecrets`: names and values (Key Vault secrets show their URL and identity instead).
pub fn list_secrets(app: &AppRecord) -> Value {
    let secrets = app
        .resource
        .pointer("/properties/configuration/secrets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    json!({ "value": secrets })
}

pub fn revision_view(state: &State, app: &AppRecord, rev: &RevisionRecord, now: Instant) -> Value {
    let config = &state.config;
    let replicas = rev.replicas(now, config);
    let provisioning = if rev.failed {
        "Failed"
    } else if rev.ready_at.is_none_or(|t| t > now) {
        "Provisioning"
    } else if rev.is_active(now, config) {
        "Provisioned"
    } else {
        "Deprovisioned"
    };
    let running_state = match (provisioning, replicas) {
        ("Failed", _) => "Failed",
        ("Provisioning", _) => "Processing",
        (_, 0) => "Stopped",
        _ => "Running",
    };
    let latest_ready = app
        .revisions
        .iter()
        .rev()
        .find(|r| r.ready_at.is_some_and(|t| t <= now))
        .map(|r| r.name.as_str());
    let domain = app
        .resource
        .pointer("/properties/managedEnvironmentId")
        .and_then(Value::as_str)
        .and_then(|e| ResourceId::parse(e).ok())
        .and_then(|i| state.environments.get(&i.canonical()))
        .map(default_domain)
        .unwrap_or_default();
    let mut props = Map::new();
    props.insert("createdTime".into(), json!(rev.created_wall));
    // ARM: "when the revision was last active; only meaningful when inactive".
    if !rev.is_active(now, config)
        && let Some(t) = rev.inactive_since(config).filter(|t| *t <= now)
        && let Some(wall) = crate::clock::wall_after(&rev.created_wall, t.saturating_duration_since(rev.created))
    {
        props.insert("lastActiveTime".into(), json!(wall));
    }
    props.insert("fqdn".into(), json!(format!("{}.internal.{domain}", rev.name)));
    props.insert("template".into(), rev.template.clone());
    props.insert("active".into(), json!(rev.is_active(now, config)));
    props.insert("replicas".into(), json!(replicas));
    props.insert(
        "trafficWeight".into(),
        json!(if Some(rev.name.as_str()) == latest_ready {
            100
        } else {
            0
        }),
    );
    props.insert(
        "healthState".into(),
        json!(if replicas > 0 { "Healthy" } else { "None" }),
    );
    props.insert("provisioningState".into(), json!(provisioning));
    props.insert("runningState".into(), json!(running_state));
    json!({
        "id": format!("{}/revisions/{}", app.id, rev.name),
        "name": rev.name,
        "type": "Microsoft.App/containerApps/revisions",
        "properties": props,
    })
}

pub fn replicas_view(state: &State, app: &AppRecord, rev: &RevisionRecord, now: Instant) -> Value {
    let n = rev.replicas(now, &state.config);
    let containers: Vec<Value> = rev
        .template
        .get("containers")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .map(|c| json!({"name": c.get("name"), "ready": true, "started": true, "restartCount": rev.restarts, "runningState": "Running"}))
                .collect()
        })
        .unwrap_or_default();
    let value: Vec<Value> = (0..n)
        .map(|i| {
            let name = format!("{}-{:x}", rev.name, fnv(&format!("{}{i}", rev.name)) & 0xffff_ffff);
            json!({
                "id": format!("{}/revisions/{}/replicas/{name}", app.id, rev.name),
                "name": name,
                "type": "Microsoft.App/containerApps/revisions/replicas",
                "properties": {"createdTime": rev.created_wall, "runningState": "Running", "containers": containers},
            })
        })
        .collect();
    json!({ "value": value })
}

/// `activate`, `deactivate`, `restart` on a revision.
pub fn revision_action(state: &mut State, app_key: &str, rev_name: &str, action: &str) -> ArmResult<()> {
    let now = Instant::now();
    let config = state.config.clone();
    let app = state
        .apps
        .get_mut(app_key)
        .ok_or_else(|| ArmFailure::not_found("Microsoft.App/containerApps", app_key))?;
    let secrets = secret_values(&app.resource);
    let rev = app
        .revisions
        .iter_mut()
        .find(|r| r.name.eq_ignore_ascii_case(rev_name))
        .ok_or_else(|| ArmFailure::not_found("Microsoft.App/containerApps/revisions", rev_name))?;
    match action {
        "deactivate" => {
            if rev.deactivated_at.is_none() {
                rev.deactivated_at = Some(now);
            }
        }
        "activate" => {
            if rev.failed {
                return Err(invalid(
                    "RevisionFailed",
                    format!("Revision '{rev_name}' failed to provision and cannot be activated."),
                ));
            }
            if !rev.is_active(now, &config) {
                rev.deactivated_at = None;
                rev.superseded_at = None;
                rev.ready_at = Some(now + config.revision_start);
                rev.secrets = secrets;
            }
        }
        "restart" => {
            if !rev.is_active(now, &config) {
                return Err(invalid(
                    "RevisionNotActive",
                    format!("Revision '{rev_name}' is not active and cannot be restarted."),
                ));
            }
            rev.secrets = secrets;
            rev.restarts += 1;
        }
        other => return Err(ArmFailure::not_found("action", other)),
    }
    Ok(())
}

/// Every revision that ever existed, with the interval its replicas ran, for invariant checks.
pub fn history(state: &State) -> Value {
    let mut out = Vec::new();
    for app in state.apps.values() {
        for rev in &app.revisions {
            let from = rev.running_from().map(|t| state.ms_since_start(t));
            let until = rev.running_until(&state.config).map(|t| state.ms_since_start(t));
            let ran = match (from, until) {
                (Some(f), Some(u)) => f < u,
                (Some(_), None) => true,
                _ => false,
            };
            out.push(json!({
                "app": app.id.name(),
                "appId": app.id.to_string(),
                "revision": rev.name,
                "storages": rev.storages(),
                "replicas": desired_replicas(&rev.template),
                "createdMs": state.ms_since_start(rev.created),
                "runningFromMs": if ran { from } else { None },
                "runningUntilMs": if ran { until } else { None },
                "failed": rev.failed,
                "createdBy": rev.created_by.name,
                "createdByType": rev.created_by.kind,
                "secrets": rev.secrets,
                "restarts": rev.restarts,
            }));
        }
    }
    Value::Array(out)
}

/// Revisions the operator (an `Application` caller) started on `storage` while another revision
/// ran there: `(started, already running)` pairs. Empty when the exclusive-storage invariant held.
/// A person can start one too (a portal edit): that is the drift the operator reports, not counted.
pub fn operator_overlaps(state: &State, storage: &str) -> Vec<(String, String)> {
    let config = &state.config;
    let on_share: Vec<(&RevisionRecord, Instant, Option<Instant>)> = state
        .apps
        .values()
        .flat_map(|a| a.revisions.iter())
        .filter(|r| r.storages().iter().any(|s| s.eq_ignore_ascii_case(storage)))
        .filter_map(|r| {
            let from = r.running_from()?;
            let until = r.running_until(config);
            until.is_none_or(|u| from < u).then_some((r, from, until))
        })
        .collect();
    let mut bad = Vec::new();
    for (later, from, _) in on_share.iter().filter(|(r, _, _)| r.created_by.kind == "Application") {
        for (other, o_from, o_until) in &on_share {
            if other.name != later.name && *o_from <= *from && o_until.is_none_or(|u| *from < u) {
                bad.push((later.name.clone(), other.name.clone()));
            }
        }
    }
    bad
}
