//! The invariant oracle: what really ran, revision by revision, for tests and the demo to judge
//! the operator by (never exposed through ARM).

use serde_json::{Value, json};
use tokio::time::Instant;

use crate::records::{RevisionRecord, desired_replicas};
use crate::state::State;

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
