//! The planner: an ordered list of steps that brings a stack to its desired state without breaking
//! an invariant at any point.
//!
//! Order, and why:
//! 1. For each exclusive storage mounted by an app that does not own it (a database sidecar
//!    moving to its own app): snapshot the share (if asked), update those apps (removing the mount, and
//!    applying their other drifts in the same revision), then wait until none of their revisions
//!    with the mount has running replicas. Only then may the owner start on the share.
//! 2. The other apps, those referenced by others first (`${apps.X...}`): create the missing ones and
//!    wait until they run; update the drifted ones — with `recreate` (stop, wait for zero replicas,
//!    then change) for a template change of an app on an exclusive storage. Before the owner of an
//!    exclusive storage starts a revision (create or template change), a wait that no other app's
//!    revision with that storage still runs (an old revision may drain after a restart mid-way).
//!
//! Apps in `observe` mode get no steps; steps that depend on them are dropped too.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use aca_model::arm::ResourceId;
use aca_model::desired::{AppSpec, EnvValue, Mode, Reference, SecretSpec, Stack, UpdateStrategy};

use crate::diff::Diff;
use crate::drift::Fix;
use crate::layout;
use crate::observe::Observed;

mod repairs;
use repairs::plan_repairs;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Snapshot the share behind an environment storage.
    Snapshot { storage: String, share: ResourceId },
    /// Create a missing app.
    Create { app: String },
    /// PATCH an app; with `recreate`, first stop its revisions that run on that exclusive storage.
    Update {
        app: String,
        recreate: Option<String>,
        secrets_only: bool,
    },
    /// Wait until no revision of these apps that mounts the storage has running replicas.
    WaitNoMount { storage: String, apps: Vec<String> },
    /// Wait until the app runs (a ready revision with replicas).
    WaitRunning { app: String },
    /// Invariant repair: deactivate extra revisions of our own app on an exclusive storage and
    /// wait until they have no replica.
    Deactivate {
        app: String,
        storage: String,
        revisions: Vec<String>,
    },
    /// Invariant repair (`stopIntruders: true`): deactivate revisions of an app the YAML does not
    /// declare (by its ARM name) and wait until they have no replica. The app is kept.
    StopIntruder {
        name: String,
        storage: String,
        revisions: Vec<String>,
    },
    /// Invariant repair: activate (or restart) a stopped singleton's revision, refused while
    /// another app runs on its storage.
    Reactivate {
        app: String,
        storage: String,
        revision: String,
        restart: bool,
    },
    /// Invariant repair: provision a new revision from the live template (every revision failed).
    Reprovision { app: String, storage: String },
    /// Rollback: deactivate the app's revisions on the storage and wait for zero replicas.
    Stop { app: String, storage: String },
    /// Rollback: put the owner's containers back into `app` as a sidecar on the storage, at one
    /// replica, with its secrets pointing at localhost.
    RestoreSidecar { app: String, from: String, storage: String },
}

impl Step {
    pub fn app(&self) -> Option<&str> {
        match self {
            Step::Create { app }
            | Step::Update { app, .. }
            | Step::WaitRunning { app }
            | Step::Stop { app, .. }
            | Step::Deactivate { app, .. }
            | Step::Reactivate { app, .. }
            | Step::Reprovision { app, .. }
            | Step::RestoreSidecar { app, .. } => Some(app),
            Step::Snapshot { .. } | Step::WaitNoMount { .. } | Step::StopIntruder { .. } => None,
        }
    }

    /// Short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Step::Snapshot { .. } => "snapshot",
            Step::Create { .. } => "create",
            Step::Update { recreate: Some(_), .. } => "recreate",
            Step::Update { .. } => "update",
            Step::WaitNoMount { .. } => "wait-no-mount",
            Step::WaitRunning { .. } => "wait-running",
            Step::Stop { .. } => "stop",
            Step::Deactivate { .. } => "deactivate",
            Step::StopIntruder { .. } => "stop-intruder",
            Step::Reactivate { restart: true, .. } => "restart",
            Step::Reactivate { .. } => "reactivate",
            Step::Reprovision { .. } => "reprovision",
            Step::RestoreSidecar { .. } => "restore-sidecar",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Snapshot { storage, share } => {
                write!(f, "snapshot the share behind storage `{storage}` ({})", share.name())
            }
            Step::Create { app } => write!(f, "create apps.{app}"),
            Step::Update {
                app, recreate: Some(s), ..
            } => {
                write!(
                    f,
                    "recreate apps.{app}: stop its revisions on `{s}`, wait for zero replicas, then update its template"
                )
            }
            Step::Update {
                app,
                secrets_only: true,
                ..
            } => write!(
                f,
                "update apps.{app} and restart its active revision (secret values changed)"
            ),
            Step::Update { app, .. } => write!(f, "update apps.{app}"),
            Step::WaitNoMount { storage, apps } => {
                let names: Vec<String> = apps.iter().map(|a| format!("apps.{a}")).collect();
                write!(
                    f,
                    "wait until no revision of {} with `{storage}` has running replicas",
                    names.join(", ")
                )
            }
            Step::WaitRunning { app } => write!(f, "wait until apps.{app} runs"),
            Step::Stop { app, storage } => write!(
                f,
                "stop apps.{app}: deactivate its revisions on `{storage}` and wait for zero replicas (the app is kept)"
            ),
            Step::Deactivate {
                app,
                storage,
                revisions,
            } => write!(
                f,
                "deactivate {} of apps.{app} (extra revisions on `{storage}`) and wait for zero replicas",
                revisions.join(", ")
            ),
            Step::StopIntruder {
                name,
                storage,
                revisions,
            } => write!(
                f,
                "deactivate {} of undeclared app {name} on `{storage}` (stopIntruders: true; the app is kept) and wait for zero replicas",
                revisions.join(", ")
            ),
            Step::Reactivate {
                app,
                storage,
                revision,
                restart,
            } => write!(
                f,
                "{} revision {revision} of apps.{app} (no replica runs on `{storage}`; refused while another app does)",
                if *restart { "restart" } else { "activate" }
            ),
            Step::Reprovision { app, storage } => write!(
                f,
                "provision a new revision of apps.{app} from its live template (every revision failed; refused while another app runs on `{storage}`)"
            ),
            Step::RestoreSidecar { app, from, storage } => write!(
                f,
                "put apps.{from}'s containers back into apps.{app} as a sidecar on `{storage}`, at exactly one replica, secrets pointing at localhost"
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// Why drift is left uncorrected (observe mode, nothing to fix it with...).
    pub held: Vec<String>,
}

fn actionable(diff: &Diff, app: &str) -> Vec<Fix> {
    diff.drifts
        .iter()
        .filter(|d| d.app.as_deref() == Some(app) && !matches!(d.fix, Fix::None | Fix::Revision))
        .map(|d| d.fix)
        .collect()
}

pub fn plan(stack: &Stack, observed: &Observed, diff: &Diff) -> Plan {
    plan_with_holds(stack, observed, diff, &BTreeMap::new())
}

/// [`plan`], with corrections of some apps held (app key → why), e.g. a field a person keeps changing.
pub fn plan_with_holds(stack: &Stack, observed: &Observed, diff: &Diff, holds: &BTreeMap<String, String>) -> Plan {
    let mut plan = Plan::default();
    if observed.environment.is_none() {
        plan.held.push(format!(
            "environment `{}` does not exist: nothing is planned",
            stack.environment
        ));
        return plan;
    }
    let hold = |a: &AppSpec| -> Option<String> {
        if stack.mode_of(a) != Mode::Enforce {
            Some("is in observe mode".to_string())
        } else {
            holds.get(&a.key).map(|why| format!("has its corrections held ({why})"))
        }
    };
    let mut handled: BTreeSet<String> = BTreeSet::new();

    for storage in layout::exclusive_storages(stack) {
        let intruders = layout::intruders(stack, |k| observed.app(k), storage);
        if intruders.is_empty() {
            continue;
        }
        let owner = layout::owner(stack, storage);
        // The cutover is one unit: the sidecar goes out only if the dedicated app may come in
        // (created) in the same plan; a hold on either part holds the whole unit.
        let owner_held = owner
            .filter(|o| observed.app(&o.key).is_none() && actionable(diff, &o.key).contains(&Fix::Create))
            .and_then(|o| hold(o).map(|w| (o, w)));
        if let Some((o, why)) = owner_held {
            plan.held.push(format!(
                "the cutover on `{storage}` (sidecar out of {}, apps.{} in) is one unit and apps.{} {why}: the whole unit waits",
                intruders
                    .iter()
                    .map(|a| format!("apps.{}", a.key))
                    .collect::<Vec<_>>()
                    .join(", "),
                o.key,
                o.key
            ));
            handled.extend(intruders.iter().map(|a| a.key.clone()));
            handled.insert(o.key.clone());
            continue;
        }
        if let Some((held, why)) = intruders.iter().find_map(|a| hold(a).map(|w| (a, w))) {
            plan.held.push(format!(
                "apps.{} mounts exclusive storage `{storage}` but {why}: the cutover waits",
                held.key
            ));
            handled.extend(intruders.iter().map(|a| a.key.clone()));
            handled.extend(owner.map(|o| o.key.clone()));
            continue;
        }
        let spec = &stack.storages[storage];
        if spec.snapshot_before_migration
            && let Some(share) = share_id(stack, observed, storage)
        {
            plan.steps.push(Step::Snapshot {
                storage: storage.to_string(),
                share,
            });
        }
        for app in &intruders {
            plan.steps.push(Step::Update {
                app: app.key.clone(),
                recreate: None,
                secrets_only: false,
            });
            handled.insert(app.key.clone());
        }
        plan.steps.push(Step::WaitNoMount {
            storage: storage.to_string(),
            apps: intruders.iter().map(|a| a.key.clone()).collect(),
        });
    }

    for spec in dependency_order(stack) {
        if handled.contains(&spec.key) {
            continue;
        }
        let fixes = actionable(diff, &spec.key);
        if fixes.is_empty() {
            continue;
        }
        if let Some(why) = hold(spec) {
            plan.held
                .push(format!("apps.{} {why}: drift is reported, not corrected", spec.key));
            continue;
        }
        let template = fixes.contains(&Fix::Template);
        let exclusive = spec
            .storages()
            .find(|s| stack.storages.get(s).is_some_and(|st| st.exclusive))
            .map(str::to_string);
        // Before the owner of an exclusive storage starts a revision on it, every other app's
        // revision with that storage must have stopped — also after a restart mid-migration, when
        // the live templates no longer show the mount but an old revision still drains.
        if let Some(storage) = &exclusive
            && (template || fixes.contains(&Fix::Create))
            && !plan
                .steps
                .iter()
                .any(|s| matches!(s, Step::WaitNoMount { storage: w, .. } if w == storage))
        {
            let others: Vec<String> = stack
                .apps
                .iter()
                .filter(|a| a.key != spec.key && observed.app(&a.key).is_some())
                .map(|a| a.key.clone())
                .collect();
            if !others.is_empty() {
                plan.steps.push(Step::WaitNoMount {
                    storage: storage.clone(),
                    apps: others,
                });
            }
        }
        if fixes.contains(&Fix::Create) {
            plan.steps.push(Step::Create { app: spec.key.clone() });
            plan.steps.push(Step::WaitRunning { app: spec.key.clone() });
            continue;
        }
        let template = fixes.contains(&Fix::Template);
        let exclusive = spec
            .storages()
            .find(|s| stack.storages.get(s).is_some_and(|st| st.exclusive))
            .map(str::to_string);
        let recreate = if template && spec.update_strategy == UpdateStrategy::Recreate {
            exclusive
        } else {
            None
        };
        let secrets_only = !template
            && diff
                .drifts
                .iter()
                .any(|d| d.app.as_deref() == Some(&spec.key) && d.path.contains(".configuration.secrets."));
        let wait = recreate.is_some();
        plan.steps.push(Step::Update {
            app: spec.key.clone(),
            recreate,
            secrets_only,
        });
        if wait {
            plan.steps.push(Step::WaitRunning { app: spec.key.clone() });
        }
    }
    plan_repairs(stack, diff, &hold, &mut plan);
    plan
}

/// The file share behind an environment storage (SMB: its account and share name).
pub fn share_id(stack: &Stack, observed: &Observed, storage: &str) -> Option<ResourceId> {
    let live = observed.storages.get(storage)?;
    let f = live.properties.as_ref()?.azure_file.as_ref()?;
    let rg = stack
        .storages
        .get(storage)
        .and_then(|s| s.account_resource_group.clone())
        .unwrap_or_else(|| stack.resource_group.clone());
    Some(ResourceId::file_share(
        &stack.subscription,
        &rg,
        f.account_name.as_deref()?,
        f.share_name.as_deref()?,
    ))
}

/// Apps referenced by others (`${apps.X...}` in secrets or env) come before the apps that reference them.
fn dependency_order(stack: &Stack) -> Vec<&AppSpec> {
    fn visit<'a>(stack: &'a Stack, app: &'a AppSpec, seen: &mut BTreeSet<String>, out: &mut Vec<&'a AppSpec>) {
        if !seen.insert(app.key.clone()) {
            return;
        }
        for dep in references(app) {
            if let Some(d) = stack.app(&dep) {
                visit(stack, d, seen, out);
            }
        }
        out.push(app);
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for app in &stack.apps {
        visit(stack, app, &mut seen, &mut out);
    }
    out
}

fn references(app: &AppSpec) -> Vec<String> {
    let mut keys = Vec::new();
    let templates = app
        .secrets
        .values()
        .filter_map(|s| match s {
            SecretSpec::Value(t) => Some(t),
            SecretSpec::KeyVault { .. } => None,
        })
        .chain(app.env.values().flatten().filter_map(|e| match &e.value {
            EnvValue::Literal(t) => Some(t),
            EnvValue::SecretRef(_) => None,
        }));
    for t in templates {
        for r in t.references() {
            if let Reference::AppName(k) | Reference::AppFqdn(k) = r {
                keys.push(k.clone());
            }
        }
    }
    keys
}

/// The rollback to the sidecar layout (the migration plan's rollback procedure), with the same
/// care: a snapshot, the dedicated app stopped (not deleted) before the sidecar starts on the share,
/// and the host pinned to one replica so only one copy of the owner runs on the share.
pub fn plan_rollback(stack: &Stack, observed: &Observed) -> Result<Vec<Step>, String> {
    let mut steps = Vec::new();
    for storage in layout::exclusive_storages(stack) {
        let Some(owner) = layout::owner(stack, storage) else {
            continue;
        };
        let names: Vec<&str> = owner.containers.iter().map(|c| c.name.as_str()).collect();
        let Some(host) = stack
            .apps
            .iter()
            .find(|a| a.forbid_containers.iter().any(|f| names.contains(&f.as_str())))
        else {
            continue;
        };
        let Some(live_owner) = observed.app(&owner.key) else {
            return Err(format!(
                "apps.{} does not exist: there is nothing to roll back",
                owner.key
            ));
        };
        if observed.app(&host.key).is_some_and(|h| layout::mounts(h, storage)) {
            return Err(format!(
                "apps.{} already mounts `{storage}`: it looks rolled back already",
                host.key
            ));
        }
        if observed.app(&host.key).is_none() {
            return Err(format!("apps.{} does not exist", host.key));
        }
        if stack.storages[storage].snapshot_before_migration
            && let Some(share) = share_id(stack, observed, storage)
        {
            steps.push(Step::Snapshot {
                storage: storage.to_string(),
                share,
            });
        }
        if layout::mounts(live_owner, storage) {
            steps.push(Step::Stop {
                app: owner.key.clone(),
                storage: storage.to_string(),
            });
        }
        steps.push(Step::RestoreSidecar {
            app: host.key.clone(),
            from: owner.key.clone(),
            storage: storage.to_string(),
        });
        steps.push(Step::WaitRunning { app: host.key.clone() });
    }
    if steps.is_empty() {
        return Err(
            "no exclusive storage with an owner app and a host app forbidding its containers: nothing to roll back"
                .into(),
        );
    }
    Ok(steps)
}
