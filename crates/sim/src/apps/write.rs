//! The write path of container apps: PUT (replace), PATCH (merge), DELETE and revision actions,
//! each as Container Apps applies it (a long-running operation, a new revision on a template
//! change, Single mode's overlap). `write` is where every app change lands — ARM calls and a
//! person's edits through the admin API alike.

use std::collections::BTreeMap;

use aca_model::arm::ResourceId;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::validation::{invalid, validate};
use crate::clock::wall_now;
use crate::environments::fnv;
use crate::error::{ArmFailure, ArmResult};
use crate::faults::Fault;
use crate::records::{AppRecord, OpKind, Operation, Principal, RevisionRecord};
use crate::state::{State, merge_patch, stamp_system_data};

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
            merge_patch(&mut merged, &body);
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
