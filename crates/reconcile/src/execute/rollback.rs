//! The rollback's steps: stop the owner of an exclusive storage, put it back into its host as a sidecar.

use aca_arm_api::RevisionAction;

use super::{ExecError, Executor, StepOutcome};
use crate::layout;
use crate::observe::app_id;
use crate::plan::Step;

impl Executor<'_> {
    pub(super) async fn stop(&self, step: &Step, key: &str, storage: &str) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        let revisions = self.api.list_revisions_fresh(&id).await?;
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

    pub(super) async fn restore_sidecar(
        &self,
        host_key: &str,
        owner_key: &str,
        storage: &str,
    ) -> Result<StepOutcome, ExecError> {
        let host = self.spec(host_key)?;
        let owner = self.spec(owner_key)?;
        let Some(live_host) = self.fresh(host_key, host).await? else {
            return Err(ExecError::AppMissing(host_key.to_string()));
        };
        let owner_id = app_id(self.stack, &owner.name);
        let live_owner = self
            .api
            .read_app_fresh(&owner_id)
            .await?
            .ok_or_else(|| ExecError::AppMissing(owner_key.to_string()))?;
        // Nothing else may run on the share when the sidecar starts.
        for other in self.stack.apps.iter().filter(|a| a.key != host_key) {
            let id = app_id(self.stack, &other.name);
            if self.api.read_app_fresh(&id).await?.is_some() {
                let revisions = self.api.list_revisions_fresh(&id).await?;
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
                .map_err(ExecError::Resolve)?;
        self.may_write()?;
        self.api.update_app(&host_id, &body).await?;
        Ok(StepOutcome::Done(format!(
            "{} runs {} again as a sidecar, at one replica",
            host.name, owner.name
        )))
    }
}
