//! Steps that repair invariant breaches (see `crate::invariants`).

use aca_model::desired::{AppSpec, Mode, Stack};

use super::{Plan, Step};
use crate::diff::Diff;
use crate::invariants::Repair;

/// Steps that repair invariant breaches of our own apps. Extra revisions go first (nothing else
/// may start on the storage while they run); a stopped singleton is started last, and not at all
/// when an update of it already starts a revision.
pub(super) fn plan_repairs(stack: &Stack, diff: &Diff, hold: &dyn Fn(&AppSpec) -> Option<String>, plan: &mut Plan) {
    let mut first = Vec::new();
    for b in &diff.breaches {
        if let Repair::StopIntruder { app, revisions } = &b.repair {
            if stack.mode == Mode::Enforce {
                first.push(Step::StopIntruder {
                    name: app.clone(),
                    storage: b.storage.clone(),
                    revisions: revisions.clone(),
                });
            }
            continue;
        }
        let Some(spec) = b.key.as_deref().and_then(|k| stack.app(k)) else {
            continue;
        };
        if b.repair == Repair::None {
            continue;
        }
        if let Some(why) = hold(spec) {
            plan.held.push(format!(
                "apps.{} {why}: its `{}` breach is reported, not repaired",
                spec.key, b.invariant
            ));
            continue;
        }
        let (app, storage) = (spec.key.clone(), b.storage.clone());
        let starts = plan
            .steps
            .iter()
            .any(|s| matches!(s, Step::Create { app: a } | Step::Update { app: a, .. } if *a == app));
        match &b.repair {
            Repair::None | Repair::StopIntruder { .. } => {}
            Repair::Deactivate { revisions } => first.push(Step::Deactivate {
                app,
                storage,
                revisions: revisions.clone(),
            }),
            Repair::Reactivate { .. } | Repair::Reprovision if starts => {}
            Repair::Reactivate { revision, restart } => {
                plan.steps.push(Step::Reactivate {
                    app: app.clone(),
                    storage,
                    revision: revision.clone(),
                    restart: *restart,
                });
                plan.steps.push(Step::WaitRunning { app });
            }
            Repair::Reprovision => {
                plan.steps.push(Step::Reprovision {
                    app: app.clone(),
                    storage,
                });
                plan.steps.push(Step::WaitRunning { app });
            }
        }
    }
    plan.steps.splice(0..0, first);
}
