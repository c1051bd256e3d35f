//! The reflector as the reconcile core's `ArmApi`: reads from the cache where it answers, every
//! other call to the inner API, and every answer of ARM to a write or a fresh read back into it.

use aca_arm_api::{ArmError, ArmResult, Listed, RevisionAction, Tagged};
use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision, Secret};
use async_trait::async_trait;
use serde_json::Value;

use super::Reflector;
use super::cache::revisions_settled;
use super::packed::Packed;
use crate::api::ArmApi;

/// What the cache says about an app.
enum Held {
    /// Not the cache's to answer: ask ARM.
    Unserved,
    /// ARM did not list it: it does not exist.
    Absent,
    /// In motion: read it from ARM.
    Moving,
    Settled(Box<ContainerApp>),
}

impl Reflector {
    fn held(&self, id: &ResourceId) -> Held {
        let packed = {
            let cache = self.lock();
            if !cache.serves_app(id) {
                return Held::Unserved;
            }
            match cache.apps.get(&id.canonical()) {
                None => return Held::Absent,
                Some(e) if !e.settled => return Held::Moving,
                Some(e) => e.app.clone(),
            }
        };
        // Unpacked without the lock: the other passes read the cache meanwhile.
        Held::Settled(Box::new(packed.get()))
    }

    /// GETs the app and installs the answer (unless something newer was installed meanwhile).
    async fn read_through(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        let started = self.lock().seq;
        let app = self.inner.find_app(id).await?;
        let mut cache = self.lock();
        if cache.filled.contains(&id.subscription.to_ascii_lowercase()) {
            cache.install_app(id, app.clone(), started);
        }
        Ok(app)
    }
}

#[async_trait]
impl ArmApi for Reflector {
    async fn get_environment(&self, id: &ResourceId) -> ArmResult<ManagedEnvironment> {
        {
            let cache = self.lock();
            if cache.serves_environment(id) {
                return cache
                    .environments
                    .get(&id.canonical())
                    .map(Packed::get)
                    .ok_or_else(|| ArmError::NotFound {
                        code: "ResourceNotFound".into(),
                        message: format!("{id} was not in the last list of its subscription"),
                    });
            }
        }
        self.inner.get_environment(id).await
    }

    async fn list_storages(&self, environment: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>> {
        {
            let cache = self.lock();
            if cache.serves_environment(environment)
                && let Some(s) = cache.storages.get(&environment.canonical())
            {
                return Ok(s.get());
            }
        }
        self.inner.list_storages(environment).await
    }

    async fn find_app(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        match self.held(id) {
            Held::Unserved => self.inner.find_app(id).await,
            Held::Absent => Ok(None),
            Held::Moving => self.read_through(id).await,
            Held::Settled(app) => Ok(Some(*app)),
        }
    }

    async fn list_secrets(&self, id: &ResourceId) -> ArmResult<Vec<Secret>> {
        let seen = {
            let cache = self.lock();
            match cache.apps.get(&id.canonical()) {
                Some(e) if cache.serves_app(id) => {
                    let now = e.stamp.clone();
                    match &e.secrets {
                        Some((at, secrets)) if *at == now => return Ok(secrets.get()),
                        _ => Some(now),
                    }
                }
                _ => None,
            }
        };
        let secrets = self.inner.list_secrets(id).await?;
        if let Some(at) = seen {
            let mut cache = self.lock();
            // Kept only if the app did not move while they were read.
            if let Some(e) = cache.apps.get_mut(&id.canonical())
                && e.stamp == at
            {
                e.secrets = Some((at, Packed::new(&secrets)));
            }
        }
        Ok(secrets)
    }

    async fn list_apps(&self, subscription: &str, resource_group: &str) -> ArmResult<Vec<ContainerApp>> {
        let (served, settled, moving) = {
            let cache = self.lock();
            if !cache.filled.contains(&subscription.to_ascii_lowercase()) {
                (false, Vec::new(), Vec::new())
            } else {
                let prefix = ResourceId::container_app(subscription, resource_group, "").canonical();
                let mut settled = Vec::new();
                let mut moving = Vec::new();
                for (key, e) in cache
                    .apps
                    .range(prefix.clone()..)
                    .take_while(|(k, _)| k.starts_with(&prefix))
                {
                    if e.settled {
                        settled.push(e.app.clone());
                    } else if let Ok(id) = ResourceId::parse(key) {
                        moving.push(id);
                    }
                }
                (true, settled, moving)
            }
        };
        if !served {
            return self.inner.list_apps(subscription, resource_group).await;
        }
        // Unpacked without the lock, as in `held`.
        let mut apps: Vec<ContainerApp> = settled.iter().map(|p| p.get()).collect();
        for id in moving {
            apps.extend(self.read_through(&id).await?);
        }
        Ok(apps)
    }

    async fn list_revisions(&self, id: &ResourceId) -> ArmResult<Vec<Revision>> {
        let seen = {
            let cache = self.lock();
            let filled = cache.filled.contains(&id.subscription.to_ascii_lowercase());
            match cache.apps.get(&id.canonical()) {
                Some(e) if filled && e.settled => {
                    let now = e.stamp.clone();
                    match &e.revisions {
                        Some((at, revisions)) if *at == now => return Ok(revisions.get()),
                        _ => Some(now),
                    }
                }
                _ => None,
            }
        };
        let revisions = self.inner.list_revisions(id).await?;
        if let Some(at) = seen
            && revisions_settled(&revisions)
        {
            let mut cache = self.lock();
            if let Some(e) = cache.apps.get_mut(&id.canonical())
                && e.settled
                && e.stamp == at
            {
                e.revisions = Some((at, Packed::shared(&revisions)));
            }
        }
        Ok(revisions)
    }

    async fn create_app(&self, id: &ResourceId, app: &ContainerApp) -> ArmResult<ContainerApp> {
        let written = self.inner.create_app(id, app).await?;
        self.lock().install_written(id, written.clone());
        Ok(written)
    }

    async fn update_app(&self, id: &ResourceId, patch: &Value) -> ArmResult<ContainerApp> {
        let written = self.inner.update_app(id, patch).await;
        match written {
            Ok(app) => {
                self.lock().install_written(id, app.clone());
                Ok(app)
            }
            Err(e) => {
                // It may have been applied before it failed: trust nothing read before it.
                self.lock().unsettle(id);
                Err(e)
            }
        }
    }

    async fn revision_action(&self, app: &ResourceId, revision: &str, action: RevisionAction) -> ArmResult<()> {
        let done = self.inner.revision_action(app, revision, action).await;
        self.lock().unsettle(app);
        done
    }

    async fn get_share(&self, id: &ResourceId) -> ArmResult<Tagged<FileShare>> {
        self.inner.get_share(id).await
    }

    async fn snapshot_share(&self, id: &ResourceId, if_match: Option<&str>) -> ArmResult<FileShare> {
        self.inner.snapshot_share(id, if_match).await
    }

    async fn list_apps_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ContainerApp>> {
        self.inner.list_apps_in_subscription(subscription).await
    }

    async fn list_apps_in_subscription_paged(
        &self,
        subscription: &str,
        page: &mut (dyn FnMut(Vec<ContainerApp>) + Send),
    ) -> ArmResult<u32> {
        self.inner.list_apps_in_subscription_paged(subscription, page).await
    }

    async fn list_environments_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ManagedEnvironment>> {
        self.inner.list_environments_in_subscription(subscription).await
    }

    async fn read_app_fresh(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        self.read_through(id).await
    }

    async fn list_revisions_fresh(&self, id: &ResourceId) -> ArmResult<Vec<Revision>> {
        self.inner.list_revisions(id).await
    }
}
