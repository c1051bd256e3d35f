//! What the simulator stores about container apps: the app record, its revisions with their
//! lifecycle instants, its long-running operations, and who made a change. Plain data and the
//! arithmetic on it; nothing here reads or writes the world (`State`).

use std::collections::BTreeMap;

use aca_model::arm::ResourceId;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::SimConfig;

/// Who made a change, as `systemData` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    /// `User`, `Application`, `ManagedIdentity`, `Key`.
    pub kind: String,
}

impl Principal {
    /// ARM callers (the operator): the simulator does not decode tokens.
    pub fn arm_caller() -> Self {
        Principal {
            name: "aca-operator".into(),
            kind: "Application".into(),
        }
    }
}

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
pub(crate) fn desired_replicas(template: &Value) -> u32 {
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
