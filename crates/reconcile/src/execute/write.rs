//! Writes to apps: create, update (with recreate), each after a fresh read and the exclusive-storage check.

use aca_arm_api::{ArmError, RevisionAction};
use aca_model::arm::ContainerApp;
use aca_model::desired::AppSpec;

use super::{ExecError, Executor, StepOutcome};
use crate::layout;
use crate::observe::app_id;
use crate::patch::{PatchInput, build_create, build_patch};
use crate::plan::Step;

impl Executor<'_> {
    /// The fresh app, refusing to go on if it changed since the observation.
    pub(super) async fn fresh(&self, key: &str, spec: &AppSpec) -> Result<Option<ContainerApp>, ExecError> {
        let fresh = self.api.read_app_fresh(&app_id(self.stack, &spec.name)).await?;
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
    pub(super) async fn ensure_exclusive(&self, spec: &AppSpec) -> Result<(), ExecError> {
        for storage in spec
            .storages()
            .filter(|s| self.stack.storages.get(s).is_some_and(|st| st.exclusive))
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
                let revisions = match self.api.list_revisions_fresh(&id).await {
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

    pub(super) async fn create(&self, key: &str) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        if self.fresh(key, spec).await?.is_some() {
            return Ok(StepOutcome::Skipped(format!("apps.{key} exists already")));
        }
        self.ensure_exclusive(spec).await?;
        let env = self
            .observed
            .environment
            .as_ref()
            .ok_or(ExecError::EnvironmentMissing)?;
        let body = build_create(self.stack, spec, env, &self.observed.storages, &self.resolver())
            .map_err(ExecError::Resolve)?;
        self.may_write()?;
        self.api.create_app(&app_id(self.stack, &spec.name), &body).await?;
        Ok(StepOutcome::Done(format!("created {}", spec.name)))
    }

    pub(super) async fn update(&self, key: &str, recreate: Option<&str>) -> Result<StepOutcome, ExecError> {
        let spec = self.spec(key)?;
        let id = app_id(self.stack, &spec.name);
        let Some(fresh) = self.fresh(key, spec).await? else {
            return Err(ExecError::AppMissing(key.to_string()));
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
        let Some(patch) = build_patch(&input).map_err(ExecError::Resolve)? else {
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
            let revisions = self.api.list_revisions_fresh(&id).await?;
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
                    let revisions = self.api.list_revisions_fresh(&id).await?;
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
                .list_revisions_fresh(&id)
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
}
