//! Invariant repairs on revisions: deactivate our own extra revisions, start a stopped singleton
//! again. Each refuses to start anything while another app runs on the exclusive storage.

use aca_arm_api::{ArmError, RevisionAction};
use serde_json::json;

use super::{ExecError, Executor, StepOutcome};
use crate::observe::app_id;
use crate::plan::Step;

impl Executor<'_> {
    pub(super) async fn deactivate(
        &self,
        step: &Step,
        key: &str,
        storage: &str,
        revisions: &[String],
    ) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        self.deactivate_named(step, &spec.name, storage, revisions).await
    }

    /// An undeclared app's revisions (`stopIntruders: true`): deactivated, the app kept.
    pub(super) async fn stop_intruder(
        &self,
        step: &Step,
        name: &str,
        storage: &str,
        revisions: &[String],
    ) -> Result<StepOutcome, ExecError> {
        self.deactivate_named(step, name, storage, revisions).await
    }

    async fn deactivate_named(
        &self,
        step: &Step,
        name: &str,
        storage: &str,
        revisions: &[String],
    ) -> Result<StepOutcome, ExecError> {
        let id = app_id(self.stack, name);
        for name in revisions {
            self.may_write()?;
            self.api.revision_action(&id, name, RevisionAction::Deactivate).await?;
        }
        self.wait_for(
            step,
            &format!("{} of {name} to stop on `{storage}`", revisions.join(", ")),
            || async {
                let live = self.api.list_revisions_fresh(&id).await?;
                Ok(!live
                    .iter()
                    .any(|r| r.name.as_ref().is_some_and(|n| revisions.contains(n)) && r.may_be_running()))
            },
        )
        .await?;
        Ok(StepOutcome::Done(format!(
            "deactivated {} of {name}; 0 replicas left on `{storage}`",
            revisions.join(", ")
        )))
    }

    pub(super) async fn reactivate(&self, key: &str, revision: &str, restart: bool) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        self.ensure_exclusive(spec).await?;
        let action = if restart {
            RevisionAction::Restart
        } else {
            RevisionAction::Activate
        };
        self.may_write()?;
        self.api
            .revision_action(&app_id(self.stack, &spec.name), revision, action)
            .await?;
        Ok(StepOutcome::Done(format!(
            "{} revision {revision} of {}",
            if restart { "restarted" } else { "activated" },
            spec.name
        )))
    }

    pub(super) async fn reprovision(&self, key: &str) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        if self.fresh(key, spec).await?.is_none() {
            return Err(ExecError::AppMissing(key.to_string()));
        }
        self.ensure_exclusive(spec).await?;
        // A new suffix is the smallest template change: ARM provisions a new revision from the
        // template it has, everything else unchanged.
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let suffix = format!("r{:x}", secs & 0xff_ffff);
        let body = json!({ "properties": { "template": { "revisionSuffix": suffix } } });
        self.may_write()?;
        let app = self.api.update_app(&app_id(self.stack, &spec.name), &body).await?;
        let name = app
            .properties()
            .and_then(|p| p.latest_revision_name.clone())
            .unwrap_or_default();
        Ok(StepOutcome::Done(format!(
            "provisioned revision {name} of {}",
            spec.name
        )))
    }

    /// A recreate update that failed leaves nothing stopped: the revisions it deactivated are
    /// activated again before the failure is reported (not while the operation may still run).
    pub(super) async fn restore_stopped(
        &self,
        id: &aca_model::arm::ResourceId,
        stopped: &[String],
        e: ArmError,
    ) -> ExecError {
        if stopped.is_empty() || matches!(e, ArmError::OperationTimedOut { .. }) {
            return e.into();
        }
        let mut restored = Vec::new();
        for name in stopped {
            if self.may_write().is_ok()
                && self
                    .api
                    .revision_action(id, name, RevisionAction::Activate)
                    .await
                    .is_ok()
            {
                restored.push(name.clone());
            }
        }
        tracing::warn!(event = "recreate_rejected", app = %id.name(), reactivated = %restored.join(","), error = %e,
            "the update was refused after its revisions were stopped; they were activated again");
        e.into()
    }
}
