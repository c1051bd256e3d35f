//! The simulator's world: every resource, in-flight operation, fault, and the request log.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::config::SimConfig;
use crate::error::{ArmFailure, ArmResult};
use crate::faults::Fault;
pub use crate::records::Principal;
use crate::records::{AppRecord, OpKind, Operation};
use crate::shares::ShareRecord;
use crate::throttle::{RequestKind, Throttle};

/// One ARM request as the log shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestRecord {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    /// Milliseconds since the simulator started.
    pub at_ms: u64,
    pub kind: RequestKind,
    /// The `x-aca-replica` header, when a caller tags its requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replica: Option<String>,
    /// True when an injected fault answered (or delayed, or cut) this request.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fault: bool,
}

#[derive(Debug)]
pub struct State {
    pub config: SimConfig,
    pub started: Instant,
    /// `subscription/resourcegroup`, lower-cased.
    pub resource_groups: BTreeSet<String>,
    /// Keyed by canonical (lower-cased) resource id.
    pub environments: BTreeMap<String, Value>,
    pub storages: BTreeMap<String, Value>,
    pub apps: BTreeMap<String, AppRecord>,
    pub shares: BTreeMap<String, ShareRecord>,
    pub operations: BTreeMap<String, Operation>,
    pub requests: Vec<RequestRecord>,
    pub faults: Vec<Fault>,
    pub throttle: Throttle,
    counter: u64,
}

impl State {
    pub fn new(config: SimConfig) -> Self {
        State {
            config,
            started: Instant::now(),
            resource_groups: BTreeSet::new(),
            environments: BTreeMap::new(),
            storages: BTreeMap::new(),
            apps: BTreeMap::new(),
            shares: BTreeMap::new(),
            operations: BTreeMap::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            throttle: Throttle::default(),
            counter: 0,
        }
    }

    /// A fresh number for names, etags and operation ids (deterministic per run).
    pub fn next_id(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    pub fn ms_since_start(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_millis() as u64
    }

    pub fn has_resource_group(&self, subscription: &str, rg: &str) -> bool {
        self.resource_groups.contains(&rg_key(subscription, rg))
    }

    pub fn add_resource_group(&mut self, subscription: &str, rg: &str) {
        self.resource_groups.insert(rg_key(subscription, rg));
    }

    /// 404 `ResourceGroupNotFound` unless the resource group exists.
    pub fn require_resource_group(&self, subscription: &str, rg: &str) -> ArmResult<()> {
        if self.has_resource_group(subscription, rg) {
            Ok(())
        } else {
            Err(ArmFailure::new(
                axum::http::StatusCode::NOT_FOUND,
                "ResourceGroupNotFound",
                format!("Resource group '{rg}' could not be found."),
            ))
        }
    }

    /// Every resource in its stored form (secret values included), for the admin API.
    pub fn all_resources(&self) -> Vec<Value> {
        let mut out: Vec<Value> = Vec::new();
        out.extend(self.environments.values().cloned());
        out.extend(self.storages.values().cloned());
        out.extend(self.apps.values().map(|a| a.resource.clone()));
        out.extend(self.shares.values().map(|s| s.resource.clone()));
        out
    }

    /// Finishes operations whose time has come: deletes take effect.
    pub fn settle(&mut self, now: Instant) {
        let finished_deletes: Vec<String> = self
            .operations
            .values()
            .filter(|op| op.kind == OpKind::Delete && op.is_done(now) && op.failure.is_none())
            .map(|op| op.app.clone())
            .collect();
        for app in finished_deletes {
            self.apps.remove(&app);
        }
    }
}

fn rg_key(subscription: &str, rg: &str) -> String {
    format!("{subscription}/{rg}").to_ascii_lowercase()
}

/// Sets `systemData` for a write by `by` (and the creation fields when `created`).
pub fn stamp_system_data(resource: &mut Value, by: &Principal, created: bool) {
    let now = crate::clock::wall_now();
    let previous = resource.get("systemData").cloned().unwrap_or_else(|| json!({}));
    let mut sd = previous.as_object().cloned().unwrap_or_default();
    if created || !sd.contains_key("createdAt") {
        sd.insert("createdBy".into(), json!(by.name));
        sd.insert("createdByType".into(), json!(by.kind));
        sd.insert("createdAt".into(), json!(now));
    }
    sd.insert("lastModifiedBy".into(), json!(by.name));
    sd.insert("lastModifiedByType".into(), json!(by.kind));
    sd.insert("lastModifiedAt".into(), json!(now));
    resource["systemData"] = Value::Object(sd);
}

/// RFC 7386 JSON merge patch, as ARM applies PATCH bodies: objects merge, arrays and scalars
/// replace, `null` removes.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (k, v) in patch_map {
        if v.is_null() {
            target_map.remove(k);
        } else {
            merge_patch(target_map.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_merges_objects_and_replaces_arrays() {
        let mut t = json!({"a": {"b": 1, "c": [1, 2]}, "d": 1});
        merge_patch(&mut t, &json!({"a": {"c": [3], "e": true}, "d": null}));
        assert_eq!(t, json!({"a": {"b": 1, "c": [3], "e": true}}));
    }
}
