//! What the reflector keeps, and the rules for trusting it. Plain data: no I/O, no lock.
//!
//! Only what the desired state names is kept — its subscriptions' declared environments (with
//! their storages) and declared apps — plus the apps of those environments that mount a declared
//! storage (the invariants' mounters). Everything else a subscription LIST returns is dropped.

use std::collections::{BTreeMap, BTreeSet};

use aca_model::arm::{ContainerApp, EnvironmentStorage, ManagedEnvironment, ResourceId, Revision, Secret};
use aca_model::desired::Stack;

use super::packed::Packed;
use crate::layout;
use crate::observe::{app_id, environment_id};

/// `systemData.lastModifiedAt`: what moves when anyone changes the resource.
pub(crate) type Stamp = Option<String>;

pub(crate) fn stamp(app: &ContainerApp) -> Stamp {
    app.system_data.as_ref().and_then(|s| s.last_modified_at.clone())
}

/// What the desired state names, by canonical (lower-cased) id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scope {
    pub subscriptions: BTreeSet<String>,
    pub environments: BTreeSet<String>,
    pub apps: BTreeSet<String>,
    /// Declared storage names per declared environment.
    pub storages: BTreeMap<String, BTreeSet<String>>,
}

impl Scope {
    pub fn of(stacks: &[Stack]) -> Scope {
        let mut scope = Scope::default();
        for stack in stacks {
            let env = environment_id(stack).canonical();
            scope.subscriptions.insert(stack.subscription.to_ascii_lowercase());
            scope.environments.insert(env.clone());
            for spec in &stack.apps {
                scope.apps.insert(app_id(stack, &spec.name).canonical());
            }
            if !stack.storages.is_empty() {
                scope
                    .storages
                    .entry(env)
                    .or_default()
                    .extend(stack.storages.keys().cloned());
            }
        }
        scope
    }

    /// Declared, or in a declared environment and mounting one of its declared storages.
    pub fn keeps(&self, app: &ContainerApp) -> bool {
        let Some(id) = app.id.as_deref() else { return false };
        if self.apps.contains(&id.to_ascii_lowercase()) {
            return true;
        }
        let env = app.environment_id().map(str::to_ascii_lowercase).unwrap_or_default();
        self.storages
            .get(&env)
            .is_some_and(|names| names.iter().any(|s| layout::mounts(app, s)))
    }
}

/// One kept app and what was read about it at its current stamp, packed (see [`Packed`]).
#[derive(Debug, Clone)]
pub(crate) struct AppEntry {
    pub app: Packed<ContainerApp>,
    /// The app's stamp, kept beside it: compared on every read of secrets and revisions.
    pub stamp: Stamp,
    /// When it was installed (see `Cache::seq`).
    pub seq: u64,
    /// Nothing about it is in motion (see `app_settled`): reads may be served from here.
    pub settled: bool,
    pub secrets: Option<(Stamp, Packed<Vec<Secret>>)>,
    pub revisions: Option<(Stamp, Packed<Vec<Revision>>)>,
}

impl AppEntry {
    pub fn new(app: &ContainerApp, seq: u64) -> Self {
        AppEntry {
            settled: app_settled(app),
            stamp: stamp(app),
            app: Packed::shared(app),
            seq,
            secrets: None,
            revisions: None,
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct Cache {
    pub scope: Scope,
    /// Lower-cased subscriptions a full LIST has filled: only there does absence mean NotFound.
    pub filled: BTreeSet<String>,
    /// Declared environments that exist, by canonical id.
    pub environments: BTreeMap<String, Packed<ManagedEnvironment>>,
    /// Storages of declared environments that declare storages, by canonical environment id.
    pub storages: BTreeMap<String, Packed<Vec<EnvironmentStorage>>>,
    /// Kept apps by canonical id.
    pub apps: BTreeMap<String, AppEntry>,
    /// Bumped by every install: an answer read before a later install (a write of ours, a
    /// refresh) never overwrites it.
    pub seq: u64,
}

impl Cache {
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Whether the cache answers for this app id (else the read goes to ARM).
    pub fn serves_app(&self, id: &ResourceId) -> bool {
        self.filled.contains(&id.subscription.to_ascii_lowercase()) && self.scope.apps.contains(&id.canonical())
    }

    pub fn serves_environment(&self, id: &ResourceId) -> bool {
        self.filled.contains(&id.subscription.to_ascii_lowercase()) && self.scope.environments.contains(&id.canonical())
    }

    /// Installs an app as read by a call that started at `started` (a seq): unless something
    /// newer was installed meanwhile. `None` (ARM said NotFound) removes it. An app out of scope
    /// is not kept.
    pub fn install_app(&mut self, id: &ResourceId, app: Option<ContainerApp>, started: u64) {
        let key = id.canonical();
        if self.apps.get(&key).is_some_and(|e| e.seq > started) {
            return;
        }
        let seq = self.next_seq();
        match app {
            Some(app) if self.scope.keeps(&app) => {
                let mut entry = AppEntry::new(&app, seq);
                // What was read at the same stamp is still right.
                if let Some(old) = self.apps.remove(&key)
                    && old.stamp == entry.stamp
                {
                    entry.secrets = old.secrets;
                    entry.revisions = old.revisions.filter(|_| entry.settled);
                }
                self.apps.insert(key, entry);
            }
            _ => {
                self.apps.remove(&key);
            }
        }
    }

    /// After a write of ours that ARM answered with the app: the answer is installed and
    /// nothing read before it is trusted.
    pub fn install_written(&mut self, id: &ResourceId, app: ContainerApp) {
        let seq = self.next_seq();
        if !self.scope.keeps(&app) {
            return;
        }
        let mut entry = AppEntry::new(&app, seq);
        // Its revisions are about to move (a new one starts, the old one drains).
        entry.settled = false;
        self.apps.insert(id.canonical(), entry);
    }

    /// Something of ours moved the app's revisions (an action): read them again, and the app.
    pub fn unsettle(&mut self, id: &ResourceId) {
        let seq = self.next_seq();
        if let Some(e) = self.apps.get_mut(&id.canonical()) {
            e.settled = false;
            e.revisions = None;
            e.seq = seq;
        }
    }
}

/// Nothing in motion: provisioned, and the newest revision is the ready one (when ARM says which
/// is newest; the API's own examples omit it). Until then every read of the app goes to ARM
/// (replicas start and drain without `lastModifiedAt` moving).
pub(crate) fn app_settled(app: &ContainerApp) -> bool {
    let Some(p) = app.properties() else { return false };
    let done = matches!(p.provisioning_state.as_deref(), Some("Succeeded") | None);
    let newest_ready = p
        .latest_revision_name
        .as_ref()
        .is_none_or(|latest| p.latest_ready_revision_name.as_ref() == Some(latest));
    done && newest_ready
}

/// Revisions at rest: none provisioning, none inactive with replicas, at most one running. A
/// list in motion is never cached (the next pass reads it again).
pub(crate) fn revisions_settled(revisions: &[Revision]) -> bool {
    let moving = revisions.iter().any(|r| {
        let provisioning = r
            .properties
            .as_ref()
            .and_then(|p| p.provisioning_state.as_deref())
            .is_some_and(|s| s.eq_ignore_ascii_case("Provisioning") || s.eq_ignore_ascii_case("Deprovisioning"));
        provisioning || (!r.is_active() && r.may_be_running())
    });
    !moving && revisions.iter().filter(|r| r.may_be_running()).count() <= 1
}
