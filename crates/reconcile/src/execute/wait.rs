//! Waits on replicas: until no revision mounts a storage, until an app runs; each polls, bounded by the timeout.

use tokio::time::Instant;

use super::{ExecError, Executor, StepEvent, StepOutcome};
use crate::layout;
use crate::observe::app_id;
use crate::plan::Step;

impl Executor<'_> {
    pub(super) async fn wait_no_mount(&self, step: &Step, key: &str, storage: &str) -> Result<(), ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        self.wait_for(
            step,
            &format!("apps.{key} to have no running revision on `{storage}`"),
            || async {
                let revisions = self.api.list_revisions_fresh(&id).await?;
                Ok(layout::running_mounts(&revisions, storage).is_empty())
            },
        )
        .await
    }

    pub(super) async fn wait_running(&self, step: &Step, key: &str) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        self.wait_for(step, &format!("apps.{key} to run"), || async {
            let Some(app) = self.api.read_app_fresh(&id).await? else {
                return Ok(false);
            };
            if app.provisioning_state() == Some("Failed") {
                return Err(ExecError::ProvisioningFailed(key.to_string()));
            }
            let latest_ready = app.properties().and_then(|p| p.latest_ready_revision_name.clone());
            let revisions = self.api.list_revisions_fresh(&id).await?;
            Ok(latest_ready.is_some_and(|name| {
                revisions
                    .iter()
                    .any(|r| r.name.as_deref() == Some(&name) && r.replicas() > 0)
            }))
        })
        .await?;
        Ok(StepOutcome::Done(format!("{} is running", spec.name)))
    }

    pub(super) async fn wait_for<F, Fut>(&self, step: &Step, what: &str, mut check: F) -> Result<(), ExecError>
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
