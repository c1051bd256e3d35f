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

use aca_arm_api::ArmError;
use aca_model::desired::{AppSpec, Stack};
use tokio_util::sync::CancellationToken;

use crate::api::ArmApi;
use crate::observe::Observed;
use crate::plan::Step;
use crate::resolve::{ResolveError, Resolver};

mod repair;
mod rollback;
mod wait;
mod write;

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
    /// A step names an app the stack does not declare (a plan from another version of the file).
    #[error("no app `{0}` in the stack")]
    NotDeclared(String),
    /// The app (by key) a step needs does not exist.
    #[error("apps.{0} does not exist")]
    AppMissing(String),
    #[error("the environment does not exist")]
    EnvironmentMissing,
    #[error("apps.{0} failed to provision")]
    ProvisioningFailed(String),
    /// A `${...}` in the request body could not be resolved.
    #[error("{0}")]
    Resolve(#[from] ResolveError),
}

impl ExecError {
    /// Worth retrying on the next pass without any change.
    pub fn is_transient(&self) -> bool {
        match self {
            ExecError::Arm(e) => e.is_transient(),
            ExecError::ChangedSinceObserved { .. } | ExecError::Timeout { .. } | ExecError::Invariant(_) => true,
            ExecError::NotDeclared(_)
            | ExecError::AppMissing(_)
            | ExecError::EnvironmentMissing
            | ExecError::ProvisioningFailed(_)
            | ExecError::Resolve(_)
            | ExecError::Stopped => false,
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
            .ok_or_else(|| ExecError::NotDeclared(key.to_string()))
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resolve_error_stays_typed_as_the_source() {
        let e: ExecError = ResolveError {
            reference: "${env:X}".into(),
            why: "not set".into(),
        }
        .into();
        let source = std::error::Error::source(&e).expect("the resolve error is the source");
        assert!(source.downcast_ref::<ResolveError>().is_some(), "{source}");
        assert_eq!(e.to_string(), "cannot resolve ${env:X}: not set");
        assert!(!e.is_transient());
    }
}
