//! An approved plan: what a person saw and accepted, so that what runs is exactly that.
//!
//! A plan is a pure function of the desired state and the observed live state. An [`Approval`]
//! records, per live resource, its `systemData.lastModifiedAt`/`lastModifiedBy` as read when the
//! plan was made, and a digest of the plan itself (its drifts and steps). Before executing, the
//! pass checks both against what it has just read and planned: if anything moved, nothing runs and
//! the error says what changed (see `docs/decisions/0019-approved-plans.md`).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::diff::Diff;
use crate::observe::Observed;
use crate::plan::Plan;

/// What was approved: the live stamps the plan was made from and the plan's digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Resource (`environment`, `storages.NAME`, `apps.KEY`) → `lastModifiedAt by lastModifiedBy`,
    /// or `(absent)`.
    pub live: BTreeMap<String, String>,
    /// SHA-256 (hex) of the plan's drifts and steps. Secret values never enter it: drifts hold
    /// `(sensitive)` for them, and a changed secret moves its app's stamp.
    pub plan: String,
}

/// Why an approved plan does not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotApproved {
    #[error(
        "the live state changed since the plan was approved ({}); nothing was changed: make and review a new plan",
        .0.join("; ")
    )]
    LiveChanged(Vec<String>),
    #[error("the plan made now differs from the approved one; nothing was changed: make and review a new plan")]
    PlanChanged,
}

impl Approval {
    /// The approval of `plan`, made from `observed` with `diff`.
    pub fn of(observed: &Observed, diff: &Diff, plan: &Plan) -> Self {
        Approval {
            live: stamps(observed),
            plan: plan_digest(diff, plan),
        }
    }

    /// Ok when the live state and the plan are the ones approved.
    pub fn check(&self, observed: &Observed, diff: &Diff, plan: &Plan) -> Result<(), NotApproved> {
        let now = stamps(observed);
        if now != self.live {
            let mut keys: Vec<&String> = now.keys().chain(self.live.keys()).collect();
            keys.sort();
            keys.dedup();
            let changes = keys
                .into_iter()
                .filter(|k| now.get(*k) != self.live.get(*k))
                .map(|k| {
                    let was = self.live.get(k).map_or("(not read)", String::as_str);
                    let is = now.get(k).map_or("(not read)", String::as_str);
                    format!("{k}: was {was}, now {is}")
                })
                .collect();
            return Err(NotApproved::LiveChanged(changes));
        }
        if plan_digest(diff, plan) != self.plan {
            return Err(NotApproved::PlanChanged);
        }
        Ok(())
    }
}

fn stamp(system_data: Option<&aca_model::arm::SystemData>) -> String {
    let at = system_data.and_then(|s| s.last_modified_at.as_deref()).unwrap_or("?");
    let by = system_data.and_then(|s| s.last_modified_by.as_deref()).unwrap_or("?");
    format!("modified {at} by {by}")
}

fn stamps(observed: &Observed) -> BTreeMap<String, String> {
    let absent = || crate::drift::ABSENT.to_string();
    let mut out = BTreeMap::new();
    out.insert(
        "environment".to_string(),
        observed
            .environment
            .as_ref()
            .map_or_else(absent, |e| stamp(e.system_data.as_ref())),
    );
    for (name, s) in &observed.storages {
        out.insert(format!("storages.{name}"), stamp(s.system_data.as_ref()));
    }
    for (key, app) in &observed.apps {
        let value = app.as_ref().map_or_else(absent, |a| stamp(a.system_data.as_ref()));
        out.insert(format!("apps.{key}"), value);
    }
    out
}

fn plan_digest(diff: &Diff, plan: &Plan) -> String {
    let mut text = String::new();
    for d in &diff.drifts {
        let _ = writeln!(text, "drift {}\t{}\t{}", d.path, d.desired, d.live);
    }
    for s in &plan.steps {
        let _ = writeln!(text, "step {s:?}");
    }
    for h in &plan.held {
        let _ = writeln!(text, "held {h}");
    }
    sha256_hex(text.as_bytes())
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, b| {
            let _ = write!(hex, "{b:02x}");
            hex
        })
}

#[cfg(test)]
mod tests {
    use aca_model::arm::{ContainerApp, SystemData};

    use super::*;
    use crate::plan::Step;

    fn observed(modified_at: &str) -> Observed {
        let app = ContainerApp {
            system_data: Some(SystemData {
                last_modified_at: Some(modified_at.to_string()),
                last_modified_by: Some("alice@example.com".to_string()),
                ..SystemData::default()
            }),
            ..ContainerApp::default()
        };
        let mut o = Observed::default();
        o.apps.insert("db".to_string(), Some(app));
        o.apps.insert("web".to_string(), None);
        o
    }

    fn plan() -> Plan {
        Plan {
            steps: vec![Step::Create { app: "web".to_string() }],
            held: Vec::new(),
        }
    }

    #[test]
    fn the_same_live_state_and_plan_pass() {
        let a = Approval::of(&observed("t1"), &Diff::default(), &plan());
        assert_eq!(a.check(&observed("t1"), &Diff::default(), &plan()), Ok(()));
    }

    #[test]
    fn a_moved_resource_is_named() {
        let a = Approval::of(&observed("t1"), &Diff::default(), &plan());
        let Err(NotApproved::LiveChanged(changes)) = a.check(&observed("t2"), &Diff::default(), &plan()) else {
            panic!("a changed lastModifiedAt must refuse the plan");
        };
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert!(changes[0].starts_with("apps.db: was modified t1"), "{changes:?}");
        assert!(
            changes[0].contains("now modified t2 by alice@example.com"),
            "{changes:?}"
        );
    }

    #[test]
    fn another_plan_is_refused() {
        let a = Approval::of(&observed("t1"), &Diff::default(), &plan());
        let other = Plan::default();
        assert_eq!(
            a.check(&observed("t1"), &Diff::default(), &other),
            Err(NotApproved::PlanChanged)
        );
    }

    #[test]
    fn an_approval_round_trips_through_json() {
        let a = Approval::of(&observed("t1"), &Diff::default(), &plan());
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Approval>(&text).unwrap(), a);
        assert_eq!(a.plan.len(), 64);
    }
}
