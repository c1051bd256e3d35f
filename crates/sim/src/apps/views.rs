//! Apps and revisions as ARM shows them: computed properties (provisioning and running state,
//! FQDNs, latest ready revision) filled from the clock, secret values hidden except by
//! `listSecrets`.

use aca_model::arm::ResourceId;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use crate::environments::{default_domain, fnv};
use crate::records::{AppRecord, OpKind, RevisionRecord};
use crate::state::State;

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
