//! The safety invariants, evaluated from the live environment (every app and every running revision
//! that mounts a declared storage, whoever created it), independent of the fields the YAML declares.
//!
//! | invariant           | holds when                                                              | repaired by the operator          |
//! |---------------------|-------------------------------------------------------------------------|-----------------------------------|
//! | `exclusive-storage` | at most one running replica, of one revision, of one app mounts it      | our own extra revision: deactivated; anything else: a person |
//! | `singleton`         | the app on an exclusive storage has min = max = 1 and Single mode       | a PATCH (see `diff`)              |
//! | `running`           | a declared singleton with no intruder on its storage runs one replica   | reactivate / restart the revision |
//! | `storage-binding`   | the storage keeps its account, share (declared or first seen), ReadWrite | a person                          |
//!
//! An intruder with zero replicas breaks nothing; a revision still draining after a Single-mode
//! update does (its replicas still write to the share).

use std::collections::BTreeMap;

use aca_model::arm::{ContainerApp, EnvironmentStorage, Revision};
use aca_model::desired::Stack;

use crate::drift::{Drift, DriftSeverity, Fix};
use crate::layout;
use crate::observe::Observed;

pub const EXCLUSIVE_STORAGE: &str = "exclusive-storage";
pub const SINGLETON: &str = "singleton";
pub const RUNNING: &str = "running";
pub const STORAGE_BINDING: &str = "storage-binding";

/// One invariant found broken in the live environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// One of the invariant names above.
    pub invariant: &'static str,
    /// The environment storage concerned.
    pub storage: String,
    /// The ARM name of the app concerned (`None`: the storage itself).
    pub app: Option<String>,
    /// The app's key in the YAML, when the app is declared.
    pub key: Option<String>,
    pub revision: Option<String>,
    pub replicas: u32,
    /// Why the singleton is not running (`running` only): `deactivated`, `provisioning failed`,
    /// `update rejected`, `operation stuck`, `no replicas`.
    pub reason: Option<&'static str>,
    /// One sentence a person can act on.
    pub what: String,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
    pub repair: Repair,
}

/// What the operator may do about a breach by itself (in enforce mode).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Needs a person: nothing is written for it.
    None,
    /// Deactivate extra revisions of our own app on the storage (the newest ready one stays).
    Deactivate { revisions: Vec<String> },
    /// Activate the revision (or restart it when it is active with no replica).
    Reactivate { revision: String, restart: bool },
    /// Deactivate revisions of an app the YAML does not declare (`stopIntruders: true` only).
    StopIntruder { app: String, revisions: Vec<String> },
    /// No revision can run again (the only ones failed to provision): provision a new one from
    /// the live template.
    Reprovision,
}

/// Where an environment storage points: account (or NFS server), share and access mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub account: Option<String>,
    pub share: Option<String>,
    pub access_mode: Option<String>,
}

impl Binding {
    pub fn of(storage: &EnvironmentStorage) -> Option<Binding> {
        let p = storage.properties.as_ref()?;
        if let Some(f) = &p.azure_file {
            return Some(Binding {
                account: f.account_name.clone(),
                share: f.share_name.clone(),
                access_mode: f.access_mode.clone(),
            });
        }
        let n = p.nfs_azure_file.as_ref()?;
        Some(Binding {
            account: n.server.clone(),
            share: n.share_name.clone(),
            access_mode: n.access_mode.clone(),
        })
    }
}

/// First-observed bindings, keyed by [`binding_key`]; kept by the daemon across passes.
pub type Bindings = BTreeMap<String, Binding>;

pub fn binding_key(stack: &Stack, storage: &str) -> String {
    format!(
        "{}/storages/{storage}",
        crate::observe::environment_id(stack).canonical()
    )
    .to_ascii_lowercase()
}

/// Every breach of the stack's live environment. `baseline`: bindings first observed earlier.
pub fn evaluate(stack: &Stack, observed: &Observed, baseline: &Bindings) -> Vec<Breach> {
    let mut out = Vec::new();
    if observed.environment.is_none() {
        return out;
    }
    for storage in layout::exclusive_storages(stack) {
        let mounters = running_mounters(stack, observed, storage);
        let intruder_runs = exclusive_storage(stack, observed, storage, &mounters, &mut out);
        if !intruder_runs {
            running(stack, observed, storage, &mounters, &mut out);
        }
        storage_binding(stack, observed, storage, baseline, &mut out);
    }
    out
}

/// A revision with running replicas on a storage.
struct Mounter<'a> {
    /// Lowercased ARM name.
    name: &'a str,
    app: &'a ContainerApp,
    key: Option<String>,
    revision: &'a Revision,
    replicas: u32,
}

fn running_mounters<'a>(stack: &Stack, observed: &'a Observed, storage: &str) -> Vec<Mounter<'a>> {
    let mut out = Vec::new();
    for (name, app) in &observed.environment_apps {
        let Some(revisions) = observed.revisions.get(name) else {
            continue;
        };
        for r in layout::running_mounts(revisions, storage) {
            out.push(Mounter {
                name,
                app,
                key: declared_key(stack, name),
                revision: r,
                // A running revision that does not say how many replicas it has counts as one.
                replicas: r.replicas().max(1),
            });
        }
    }
    out
}

fn declared_key(stack: &Stack, name: &str) -> Option<String> {
    stack
        .apps
        .iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .map(|a| a.key.clone())
}

fn changed(app: &ContainerApp) -> (Option<String>, Option<String>) {
    let sd = app.system_data.as_ref();
    let by = sd.and_then(|s| {
        s.last_modified_by.clone().map(|by| match &s.last_modified_by_type {
            Some(t) => format!("{by} ({t})"),
            None => by,
        })
    });
    (by, sd.and_then(|s| s.last_modified_at.clone()))
}

fn rev_name(r: &Revision) -> String {
    r.name.clone().unwrap_or_else(|| "(unnamed)".into())
}

fn describe(m: &Mounter) -> String {
    let who = match &m.key {
        Some(k) => format!("apps.{k}"),
        None => "an undeclared app".into(),
    };
    format!(
        "revision {} of {} ({who}) with {} replica(s)",
        rev_name(m.revision),
        m.app.name.as_deref().unwrap_or(m.name),
        m.replicas
    )
}

/// Adds a breach for every mounter beyond the rightful one; returns whether someone other than
/// the owner runs on the storage (then the owner must not be started).
fn exclusive_storage(
    stack: &Stack,
    observed: &Observed,
    storage: &str,
    mounters: &[Mounter],
    out: &mut Vec<Breach>,
) -> bool {
    let owner = layout::owner(stack, storage);
    let is_owner = |m: &Mounter| owner.is_some_and(|o| o.name.eq_ignore_ascii_case(m.name));
    let intruder_runs = mounters.iter().any(|m| !is_owner(m));
    let total: u32 = mounters.iter().map(|m| m.replicas).sum();
    let stop_undeclared = stack.storages[storage].stop_intruders;
    if total <= 1 && !(stop_undeclared && mounters.iter().any(|m| m.key.is_none())) {
        return intruder_runs;
    }
    // The one allowed to stay: the owner's newest ready revision, else a declared app's revision
    // (the sidecar before the cutover); everything else is an intruder.
    let owned: Vec<usize> = (0..mounters.len()).filter(|i| is_owner(&mounters[*i])).collect();
    let rightful = if owned.is_empty() {
        (0..mounters.len()).find(|i| mounters[*i].key.is_some())
    } else {
        let latest_ready = observed
            .environment_apps
            .get(&owner.map(|o| o.name.to_ascii_lowercase()).unwrap_or_default())
            .and_then(|a| a.properties())
            .and_then(|p| p.latest_ready_revision_name.clone());
        owned
            .iter()
            .copied()
            .find(|i| mounters[*i].revision.name == latest_ready)
            .or(owned.last().copied())
    };
    let kept = rightful.map(|i| describe(&mounters[i]));
    for (i, m) in mounters.iter().enumerate() {
        if Some(i) == rightful {
            if m.replicas > 1 {
                let what = format!(
                    "{} runs {} processes on exclusive storage `{storage}`",
                    describe(m),
                    m.replicas
                );
                out.push(mounter_breach(storage, m, what, Repair::None));
            }
            continue;
        }
        // Our own app's older revision (Multiple mode, or a drain): deactivating it is safe.
        let repair = if is_owner(m) && rightful.is_some_and(|r| is_owner(&mounters[r])) {
            Repair::Deactivate {
                revisions: vec![rev_name(m.revision)],
            }
        } else if m.key.is_none() && stack.storages[storage].stop_intruders {
            Repair::StopIntruder {
                app: m.app.name.clone().unwrap_or_else(|| m.name.to_string()),
                revisions: vec![rev_name(m.revision)],
            }
        } else {
            Repair::None
        };
        let alongside = kept.clone().unwrap_or_else(|| "other revisions".into());
        let what = format!(
            "{} runs on exclusive storage `{storage}` alongside {alongside}: two processes on one share",
            describe(m)
        );
        out.push(mounter_breach(storage, m, what, repair));
    }
    intruder_runs
}

/// An `exclusive-storage` breach by one mounter of `storage`.
fn mounter_breach(storage: &str, m: &Mounter, what: String, repair: Repair) -> Breach {
    let (changed_by, changed_at) = changed(m.app);
    Breach {
        invariant: EXCLUSIVE_STORAGE,
        storage: storage.into(),
        app: m.app.name.clone(),
        key: m.key.clone(),
        revision: m.revision.name.clone(),
        replicas: m.replicas,
        reason: None,
        what,
        changed_by,
        changed_at,
        repair,
    }
}

/// A declared singleton on `storage` with no intruder must run one replica.
fn running(stack: &Stack, observed: &Observed, storage: &str, mounters: &[Mounter], out: &mut Vec<Breach>) {
    let Some(owner) = layout::owner(stack, storage).filter(|o| o.singleton) else {
        return;
    };
    let Some(app) = observed.app(&owner.key) else {
        return; // A missing app is drift (create), not a stopped one.
    };
    if mounters.iter().any(|m| m.name.eq_ignore_ascii_case(&owner.name)) {
        return;
    }
    let Some(revisions) = observed.revisions_of(&owner.name) else {
        return;
    };
    let failed = |r: &Revision| {
        r.properties
            .as_ref()
            .and_then(|p| p.provisioning_state.as_deref())
            .is_some_and(|s| s.eq_ignore_ascii_case("Failed"))
    };
    let props = app.properties();
    let latest_name = props.and_then(|p| p.latest_revision_name.clone());
    let latest = revisions
        .iter()
        .find(|r| r.name.is_some() && r.name == latest_name)
        .or(revisions.last());
    let ready_name = props.and_then(|p| p.latest_ready_revision_name.clone());
    let candidate = revisions
        .iter()
        .find(|r| r.name.is_some() && r.name == ready_name && !failed(r))
        .or_else(|| revisions.iter().rev().find(|r| !failed(r)));
    let app_state = app.provisioning_state().unwrap_or("Succeeded");
    let in_progress = ["InProgress", "Updating", "Creating", "Progressing"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(app_state));
    let reason = if in_progress {
        "operation stuck"
    } else if latest.is_some_and(failed) {
        "provisioning failed"
    } else if app_state.eq_ignore_ascii_case("Failed") {
        "update rejected"
    } else if candidate.is_some_and(|r| !r.is_active()) {
        "deactivated"
    } else {
        "no replicas"
    };
    // While an operation runs, a write is refused (409) and may race it: a person looks first.
    let repair = match candidate {
        _ if in_progress => Repair::None,
        Some(r) => Repair::Reactivate {
            revision: rev_name(r),
            restart: r.is_active(),
        },
        None => Repair::Reprovision,
    };
    let (changed_by, changed_at) = changed(app);
    out.push(Breach {
        invariant: RUNNING,
        storage: storage.into(),
        app: Some(owner.name.clone()),
        key: Some(owner.key.clone()),
        revision: candidate.and_then(|r| r.name.clone()),
        replicas: 0,
        reason: Some(reason),
        what: format!(
            "not-running: apps.{} ({}) has no running replica ({reason}); nothing serves it",
            owner.key, owner.name
        ),
        changed_by,
        changed_at,
        repair,
    });
}

fn storage_binding(stack: &Stack, observed: &Observed, storage: &str, baseline: &Bindings, out: &mut Vec<Breach>) {
    let Some(live) = observed.storages.get(storage) else {
        return; // A missing storage is reported by the diff.
    };
    let Some(have) = Binding::of(live) else {
        return;
    };
    let spec = &stack.storages[storage];
    let first = baseline.get(&binding_key(stack, storage));
    let want_account = spec.account.clone().or_else(|| first.and_then(|b| b.account.clone()));
    let want_share = spec.share.clone().or_else(|| first.and_then(|b| b.share.clone()));
    let same = |want: &Option<String>, have: &Option<String>| match (want, have) {
        (Some(w), Some(h)) => w.eq_ignore_ascii_case(h),
        (Some(_), None) => false,
        (None, _) => true,
    };
    let mut problems = Vec::new();
    if !same(&want_account, &have.account) {
        problems.push(format!(
            "account {} (expected {})",
            have.account.as_deref().unwrap_or("(none)"),
            want_account.as_deref().unwrap_or_default()
        ));
    }
    if !same(&want_share, &have.share) {
        problems.push(format!(
            "share {} (expected {})",
            have.share.as_deref().unwrap_or("(none)"),
            want_share.as_deref().unwrap_or_default()
        ));
    }
    if let Some(mode) = &have.access_mode
        && !mode.eq_ignore_ascii_case("ReadWrite")
    {
        problems.push(format!("access mode {mode} (expected ReadWrite)"));
    }
    if problems.is_empty() {
        return;
    }
    let sd = live.system_data.as_ref();
    out.push(Breach {
        invariant: STORAGE_BINDING,
        storage: storage.into(),
        app: None,
        key: None,
        revision: None,
        replicas: 0,
        reason: None,
        what: format!(
            "environment storage `{storage}` now has {}: its app would read or write another share, or fail to write",
            problems.join(", ")
        ),
        changed_by: sd.and_then(|s| s.last_modified_by.clone()),
        changed_at: sd.and_then(|s| s.last_modified_at.clone()),
        repair: Repair::None,
    });
}

/// The stack's own entries of `all`: what a pass of it reads, copied out of the process-wide map
/// without copying the other stacks' (a pass ran in time and memory linear in the fleet).
pub fn bindings_of(stack: &Stack, all: &Bindings) -> Bindings {
    layout::exclusive_storages(stack)
        .filter_map(|storage| {
            let key = binding_key(stack, storage);
            let b = all.get(&key)?.clone();
            Some((key, b))
        })
        .collect()
}

/// Records the bindings of exclusive storages seen for the first time (never overwrites).
pub fn remember_bindings(stack: &Stack, observed: &Observed, baseline: &mut Bindings) {
    for storage in layout::exclusive_storages(stack) {
        if let Some(b) = observed.storages.get(storage).and_then(Binding::of) {
            baseline.entry(binding_key(stack, storage)).or_insert(b);
        }
    }
}

impl Breach {
    /// The breach as a critical drift, for the report, logs, metrics and exit codes.
    pub fn to_drift(&self) -> Drift {
        let subject = self.app.as_deref().unwrap_or("environment-storage");
        let live = match (&self.revision, self.reason) {
            (_, Some(reason)) => format!("0 replicas ({reason})"),
            (Some(r), None) => format!("{r}: {} replica(s)", self.replicas),
            (None, None) => self.what.clone(),
        };
        let desired = match self.invariant {
            EXCLUSIVE_STORAGE => "at most one running replica of one revision of one app",
            RUNNING => "1 running replica",
            STORAGE_BINDING => "the account, share and ReadWrite access first seen or declared",
            _ => "min = max = 1, Single revision mode",
        };
        Drift {
            app: self.key.clone(),
            path: format!("invariants.{}.{}.{subject}", self.invariant, self.storage),
            desired: desired.into(),
            live,
            severity: DriftSeverity::Critical,
            fix: if self.repair == Repair::None {
                Fix::None
            } else {
                Fix::Revision
            },
            note: Some(self.what.clone()),
            changed_by: self.changed_by.clone(),
            changed_at: self.changed_at.clone(),
            invariant: Some(self.invariant),
        }
    }
}

#[cfg(test)]
#[path = "invariants_tests.rs"]
mod tests;
