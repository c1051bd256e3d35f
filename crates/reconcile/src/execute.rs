//! The executor: runs a plan's steps in order, each against a fresh read, and stops at the first
//! failure (the next pass re-plans from live state, so every step is idempotent).
//!
//! Guarantees:
//! - **No lost update.** Container apps have no ETag, so before writing an app the executor reads it
//!   again and gives the write up if `systemData.lastModifiedAt` moved since the pass observed it.
//! - **Exclusive storage.** Before writing the app that owns an exclusive storage, it checks that no
//!   revision of another declared app mounting that storage has running replicas.
//! - **Recreate.** A template change of an app on an exclusive storage first deactivates its running
//!   revisions on that storage and waits for zero replicas.
//! - **Secrets reach replicas.** A secret change without a template change restarts the active revision.
//! - **Nothing deleted.** No step deletes anything.

use std::time::Duration;

use aca_arm_api::{ArmError, RevisionAction};
use aca_model::arm::ContainerApp;
use aca_model::desired::{AppSpec, Stack};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::api::ArmApi;
use crate::layout;
use crate::observe::{Observed, app_id};
use crate::patch::{PatchInput, build_create, build_patch};
use crate::plan::Step;
use crate::resolve::Resolver;

mod repair;

#[derive(Debug, Clone, Copy)]
pub struct ExecSettings {
    /// Between polls while waiting for replicas.
    pub poll_interval: Duration,
    /// Longest wait for replicas to start or stop.
    pub wait_timeout: Duration,
}

impl Default for ExecSettings {
    fn default() -> Self {
        ExecSettings {
            poll_interval: Duration::from_secs(5),
            wait_timeout: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    #[error("ARM: {0}")]
    Arm(#[from] ArmError),
    /// Someone changed the app after it was observed: the write is given up, the next pass re-plans.
    #[error("apps.{app} was modified (by {by}) since it was observed; the write is given up and re-planned next pass")]
    ChangedSinceObserved { app: String, by: String },
    /// Writing would break an invariant; nothing was written.
    #[error("refused: {0}")]
    Invariant(String),
    #[error("timed out after {}s: {what}", after.as_secs())]
    Timeout { what: String, after: Duration },
    /// A shutdown was requested; the plan stopped between ARM operations.
    #[error("stopped: shutdown requested")]
    Stopped,
    /// This replica is not (or no longer) the leader: nothing more is written.
    #[error("not the leader: writes stopped")]
    NotLeader,
    #[error("{0}")]
    Other(String),
}

impl ExecError {
    /// Worth retrying on the next pass without any change.
    pub fn is_transient(&self) -> bool {
        match self {
            ExecError::Arm(e) => e.is_transient(),
            ExecError::ChangedSinceObserved { .. } | ExecError::Timeout { .. } | ExecError::Invariant(_) => true,
            ExecError::Other(_) | ExecError::Stopped => false,
            ExecError::NotLeader => true,
        }
    }
}

/// What happened to a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    Done(String),
    /// Nothing to do on the fresh read.
    Skipped(String),
}

/// Progress of the executor, for a terminal display or logs.
#[derive(Debug, Clone)]
pub enum StepEvent<'a> {
    Started { index: usize, total: usize, step: &'a Step },
    Waiting { step: &'a Step, detail: String },
    Finished { step: &'a Step, outcome: &'a StepOutcome },
    Failed { step: &'a Step, error: &'a ExecError },
}

pub struct Executor<'a> {
    pub api: &'a dyn ArmApi,
    pub stack: &'a Stack,
    pub observed: &'a Observed,
    pub settings: ExecSettings,
    pub on_event: &'a (dyn Fn(&StepEvent) + Send + Sync),
    /// Checked before each step and while waiting: a shutdown stops between ARM operations.
    pub cancel: Option<&'a CancellationToken>,
    /// Checked right before every write: a replica that is no longer the leader writes nothing.
    pub gate: Option<&'a WriteGate>,
}

/// Whether this replica may write to ARM now (leader election fences writes by time).
#[derive(Clone)]
pub struct WriteGate(pub std::sync::Arc<dyn Fn() -> bool + Send + Sync>);

impl std::fmt::Debug for WriteGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WriteGate")
    }
}

impl Executor<'_> {
    /// Runs the steps in order; stops at the first failure. Returns the outcome of each step run.
    pub async fn run(&self, steps: &[Step]) -> (Vec<StepOutcome>, Option<ExecError>) {
        let mut outcomes = Vec::new();
        for (index, step) in steps.iter().enumerate() {
            if self.cancelled() {
                return (outcomes, Some(ExecError::Stopped));
            }
            (self.on_event)(&StepEvent::Started {
                index,
                total: steps.len(),
                step,
            });
            match self.step_or_stop(index, step).await {
                Ok(outcome) => {
                    (self.on_event)(&StepEvent::Finished {
                        step,
                        outcome: &outcome,
                    });
                    outcomes.push(outcome);
                }
                Err(error) => {
                    (self.on_event)(&StepEvent::Failed { step, error: &error });
                    return (outcomes, Some(error));
                }
            }
        }
        (outcomes, None)
    }

    /// Runs one step; a shutdown request ends it at once, whatever it waits for (replicas, a
    /// long-running operation, a retry): every step is idempotent, so the next start resumes from
    /// the live state.
    async fn step_or_stop(&self, index: usize, step: &Step) -> Result<StepOutcome, ExecError> {
        let Some(cancel) = self.cancel else {
            return self.step(step).await;
        };
        tokio::select! {
            biased;
            r = self.step(step) => r,
            () = cancel.cancelled() => {
                tracing::warn!(event = "step_abandoned", stack = %self.stack.name, step = index + 1, kind = step.kind(),
                    "shutdown during step {}: {step}; the next start resumes from the live state", index + 1);
                Err(ExecError::Stopped)
            }
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.is_some_and(CancellationToken::is_cancelled)
    }

    /// Refuses a write when this replica may not write (any more).
    fn may_write(&self) -> Result<(), ExecError> {
        match self.gate {
            Some(g) if !(g.0)() => Err(ExecError::NotLeader),
            _ => Ok(()),
        }
    }

    fn spec(&self, key: &str) -> Result<&AppSpec, ExecError> {
        self.stack
            .app(key)
            .ok_or_else(|| ExecError::Other(format!("no app `{key}` in the stack")))
    }

    fn resolver(&self) -> Resolver<'_> {
        Resolver {
            stack: self.stack,
            default_domain: self.observed.default_domain(),
        }
    }

    async fn step(&self, step: &Step) -> Result<StepOutcome, ExecError> {
        match step {
            Step::Snapshot { storage, share } => {
                let current = self.api.get_share(share).await?;
                self.may_write()?;
                let snap = self.api.snapshot_share(share, current.etag.as_deref()).await?;
                Ok(StepOutcome::Done(format!(
                    "snapshot of `{storage}` taken at {}",
                    snap.snapshot_time().unwrap_or("(time not reported)")
                )))
            }
            Step::Create { app } => self.create(app).await,
            Step::Update { app, recreate, .. } => self.update(app, recreate.as_deref()).await,
            Step::WaitNoMount { storage, apps } => {
                for app in apps {
                    self.wait_no_mount(step, app, storage).await?;
                }
                Ok(StepOutcome::Done(format!(
                    "no running revision mounts `{storage}` any more"
                )))
            }
            Step::WaitRunning { app } => self.wait_running(step, app).await,
            Step::Stop { app, storage } => self.stop(step, app, storage).await,
            Step::Deactivate {
                app,
                storage,
                revisions,
            } => self.deactivate(step, app, storage, revisions).await,
            Step::Reactivate {
                app, revision, restart, ..
            } => self.reactivate(app, revision, *restart).await,
            Step::Reprovision { app, .. } => self.reprovision(app).await,
            Step::StopIntruder {
                name,
                storage,
                revisions,
            } => self.stop_intruder(step, name, storage, revisions).await,
            Step::RestoreSidecar { app, from, storage } => self.restore_sidecar(app, from, storage).await,
        }
    }

    /// The fresh app, refusing to go on if it changed since the observation.
    async fn fresh(&self, key: &str, spec: &AppSpec) -> Result<Option<ContainerApp>, ExecError> {
        let fresh = self.api.find_app(&app_id(self.stack, &spec.name)).await?;
        let seen = self.observed.app(key);
        let stamp = |a: Option<&ContainerApp>| {
            a.and_then(|a| a.system_data.as_ref())
                .and_then(|s| s.last_modified_at.clone())
        };
        if fresh.is_some() != seen.is_some() || stamp(fresh.as_ref()) != stamp(seen) {
            let by = fresh
                .as_ref()
                .and_then(|a| a.system_data.as_ref())
                .and_then(|s| s.last_modified_by.clone())
                .unwrap_or_else(|| {
                    if fresh.is_none() {
                        "a deletion".into()
                    } else {
                        "someone".into()
                    }
                });
            return Err(ExecError::ChangedSinceObserved {
                app: key.to_string(),
                by,
            });
        }
        Ok(fresh)
    }

    /// Refuses to write the owner of an exclusive storage while another app — declared or not —
    /// still runs on it (fresh reads of every other app observed in the environment).
    async fn ensure_exclusive(&self, spec: &AppSpec) -> Result<(), ExecError> {
        for storage in spec
            .storages()
            .filter(|s| self.stack.storages.get(*s).is_some_and(|st| st.exclusive))
        {
            let mut others: Vec<(String, String)> = self
                .stack
                .apps
                .iter()
                .filter(|a| a.key != spec.key)
                .map(|a| (a.name.clone(), format!("apps.{}", a.key)))
                .collect();
            for (name, app) in &self.observed.environment_apps {
                let declared = self.stack.apps.iter().any(|a| a.name.eq_ignore_ascii_case(name));
                let mounted = layout::mounts(app, storage) || self.observed.revisions.contains_key(name);
                if !declared && mounted {
                    others.push((
                        app.name.clone().unwrap_or_else(|| name.clone()),
                        format!("undeclared app {name}"),
                    ));
                }
            }
            for (name, label) in others {
                let id = app_id(self.stack, &name);
                let revisions = match self.api.list_revisions(&id).await {
                    Ok(r) => r,
                    Err(ArmError::NotFound { .. }) => continue,
                    Err(e) => return Err(e.into()),
                };
                let running = layout::running_mounts(&revisions, storage);
                if let Some(r) = running.first() {
                    return Err(ExecError::Invariant(format!(
                        "revision {} of {label} still runs {} replica(s) on exclusive storage `{storage}`; apps.{} must not start on it",
                        r.name.as_deref().unwrap_or("?"),
                        r.replicas(),
                        spec.key
                    )));
                }
            }
        }
        Ok(())
    }

    async fn create(&self, key: &str) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        if self.fresh(key, spec).await?.is_some() {
            return Ok(StepOutcome::Skipped(format!("apps.{key} exists already")));
        }
        self.ensure_exclusive(spec).await?;
        let env = self
            .observed
            .environment
            .as_ref()
            .ok_or_else(|| ExecError::Other("the environment does not exist".into()))?;
        let body = build_create(self.stack, spec, env, &self.observed.storages, &self.resolver())
            .map_err(|e| ExecError::Other(e.to_string()))?;
        self.may_write()?;
        self.api.create_app(&app_id(self.stack, &spec.name), &body).await?;
        Ok(StepOutcome::Done(format!("created {}", spec.name)))
    }

    async fn update(&self, key: &str, recreate: Option<&str>) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        let Some(fresh) = self.fresh(key, spec).await? else {
            return Err(ExecError::Other(format!("apps.{key} does not exist")));
        };
        let secrets = if fresh.secrets().is_empty() && spec.secrets.is_empty() {
            Vec::new()
        } else {
            self.api.list_secrets(&id).await?
        };
        let resolver = self.resolver();
        let input = PatchInput {
            stack: self.stack,
            spec,
            live: &fresh,
            live_secrets: Some(&secrets),
            storages: &self.observed.storages,
            resolver: &resolver,
        };
        let Some(patch) = build_patch(&input).map_err(|e| ExecError::Other(e.to_string()))? else {
            return Ok(StepOutcome::Skipped(format!("apps.{key} is already as desired")));
        };
        let mounts_exclusive = spec
            .storages()
            .any(|s| self.stack.storages.get(s).is_some_and(|st| st.exclusive));
        if mounts_exclusive {
            self.ensure_exclusive(spec).await?;
        }
        let mut stopped = Vec::new();
        if let (Some(storage), true) = (recreate, patch.template_changed) {
            let revisions = self.api.list_revisions(&id).await?;
            for r in revisions
                .iter()
                .filter(|r| r.is_active() && r.mounted_storages().iter().any(|s| s.eq_ignore_ascii_case(storage)))
            {
                if let Some(name) = &r.name {
                    self.may_write()?;
                    self.api.revision_action(&id, name, RevisionAction::Deactivate).await?;
                    stopped.push(name.clone());
                }
            }
            self.wait_for(
                &Step::Update {
                    app: key.into(),
                    recreate: Some(storage.into()),
                    secrets_only: false,
                },
                &format!("apps.{key} to stop on `{storage}`"),
                || async {
                    let revisions = self.api.list_revisions(&id).await?;
                    Ok(layout::running_mounts(&revisions, storage).is_empty())
                },
            )
            .await?;
        }
        self.may_write()?;
        let updated = match self.api.update_app(&id, &patch.body).await {
            Ok(app) => app,
            Err(e) => return Err(self.restore_stopped(&id, &stopped, e).await),
        };
        let mut done = format!("updated {}", spec.name);
        if !stopped.is_empty() {
            done = format!("stopped {}, then {done}", stopped.join(", "));
        }
        if patch.template_changed {
            let latest = updated.properties().and_then(|p| p.latest_revision_name.as_deref());
            match latest {
                Some(name) => done.push_str(&format!(" (new revision {name})")),
                None => done.push_str(" (new revision)"),
            }
        }
        if patch.secrets_changed && !patch.template_changed {
            for r in self
                .api
                .list_revisions(&id)
                .await?
                .iter()
                .filter(|r| r.is_active() && r.replicas() > 0)
            {
                if let Some(name) = &r.name {
                    self.may_write()?;
                    self.api.revision_action(&id, name, RevisionAction::Restart).await?;
                    done.push_str(&format!("; restarted {name} so replicas read the new secret values"));
                }
            }
        }
        Ok(StepOutcome::Done(done))
    }

    async fn stop(&self, step: &Step, key: &str, storage: &str) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        let revisions = self.api.list_revisions(&id).await?;
        let mut stopped = Vec::new();
        for r in revisions
            .iter()
            .filter(|r| r.is_active() && r.mounted_storages().iter().any(|s| s.eq_ignore_ascii_case(storage)))
        {
            if let Some(name) = &r.name {
                self.may_write()?;
                self.api.revision_action(&id, name, RevisionAction::Deactivate).await?;
                stopped.push(name.clone());
            }
        }
        self.wait_no_mount(step, key, storage).await?;
        Ok(StepOutcome::Done(format!(
            "deactivated {}; no replica runs on `{storage}`",
            if stopped.is_empty() {
                "nothing".into()
            } else {
                stopped.join(", ")
            }
        )))
    }

    async fn restore_sidecar(&self, host_key: &str, owner_key: &str, storage: &str) -> Result<StepOutcome, ExecError> {
        let host = self.spec(host_key)?;
        let owner = self.spec(owner_key)?;
        let Some(live_host) = self.fresh(host_key, host).await? else {
            return Err(ExecError::Other(format!("apps.{host_key} does not exist")));
        };
        let owner_id = app_id(self.stack, &owner.name);
        let live_owner = self
            .api
            .find_app(&owner_id)
            .await?
            .ok_or_else(|| ExecError::Other(format!("apps.{owner_key} does not exist")))?;
        // Nothing else may run on the share when the sidecar starts.
        for other in self.stack.apps.iter().filter(|a| a.key != host_key) {
            let id = app_id(self.stack, &other.name);
            if self.api.find_app(&id).await?.is_some() {
                let revisions = self.api.list_revisions(&id).await?;
                if !layout::running_mounts(&revisions, storage).is_empty() {
                    return Err(ExecError::Invariant(format!(
                        "apps.{} still runs on `{storage}`",
                        other.key
                    )));
                }
            }
        }
        let host_id = app_id(self.stack, &host.name);
        let secrets = self.api.list_secrets(&host_id).await?;
        let body =
            crate::patch::build_sidecar_restore(self.stack, host, owner, &live_host, &live_owner, &secrets, storage)
                .map_err(|e| ExecError::Other(e.to_string()))?;
        self.may_write()?;
        self.api.update_app(&host_id, &body).await?;
        Ok(StepOutcome::Done(format!(
            "{} runs {} again as a sidecar, at one replica",
            host.name, owner.name
        )))
    }

    async fn wait_no_mount(&self, step: &Step, key: &str, storage: &str) -> Result<(), ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        self.wait_for(
            step,
            &format!("apps.{key} to have no running revision on `{storage}`"),
            || async {
                let revisions = self.api.list_revisions(&id).await?;
                Ok(layout::running_mounts(&revisions, storage).is_empty())
            },
        )
        .await
    }

    async fn wait_running(&self, step: &Step, key: &str) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        self.wait_for(step, &format!("apps.{key} to run"), || async {
            let Some(app) = self.api.find_app(&id).await? else {
                return Ok(false);
            };
            if app.provisioning_state() == Some("Failed") {
                return Err(ExecError::Other(format!("apps.{key} failed to provision")));
            }
            let latest_ready = app.properties().and_then(|p| p.latest_ready_revision_name.clone());
            let revisions = self.api.list_revisions(&id).await?;
            Ok(latest_ready.is_some_and(|name| {
                revisions
                    .iter()
                    .any(|r| r.name.as_deref() == Some(&name) && r.replicas() > 0)
            }))
        })
        .await?;
        Ok(StepOutcome::Done(format!("{} is running", spec.name)))
    }

    async fn wait_for<F, Fut>(&self, step: &Step, what: &str, mut check: F) -> Result<(), ExecError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<bool, ExecError>>,
    {
        let start = Instant::now();
        loop {
            if check().await? {
                return Ok(());
            }
            if start.elapsed() >= self.settings.wait_timeout {
                return Err(ExecError::Timeout {
                    what: what.to_string(),
                    after: start.elapsed(),
                });
            }
            (self.on_event)(&StepEvent::Waiting {
                step,
                detail: format!("waiting for {what}"),
            });
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }
}
