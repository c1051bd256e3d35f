//! The reflector: a cache of what the desired state names, per subscription, filled by the
//! subscription LISTs (every page) so that a steady-state pass reads no ARM resource one by one.
//!
//! It is an [`ArmApi`] around an inner one (the client):
//!
//! | call | answered from |
//! |---|---|
//! | `find_app`, `list_apps`, `get_environment`, `list_storages` | the cache, once a LIST filled the subscription; an app whose revisions are in motion (ours or anyone's write) is read from ARM until it settles |
//! | `list_secrets` | ARM, again only when the app's `systemData.lastModifiedAt` moved or at resync |
//! | `list_revisions` | ARM, kept per app's `lastModifiedAt` while at rest; dropped at resync and on `refresh` |
//! | `read_app_fresh`, `list_revisions_fresh` (the executor) | always ARM; the answer updates the cache |
//! | writes | ARM; the answer updates the cache and unsettles the app |
//!
//! Absence in a filled subscription is NotFound; nothing is ever answered that ARM did not say.
//! `resync` refills everything (the daemon runs it every `--resync`); `refresh` re-reads one
//! resource named by an event.

mod api;
mod cache;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aca_arm_api::{ArmError, ArmResult};
use aca_model::arm::{ContainerApp, ResourceId};
use aca_model::desired::Stack;
use tokio::time::Instant;

use crate::api::ArmApi;
use cache::{AppEntry, Cache, Scope};

pub struct Reflector {
    inner: Arc<dyn ArmApi>,
    cache: Mutex<Cache>,
}

/// What a resync read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resynced {
    pub subscriptions: usize,
    /// LIST pages read (every `nextLink`), environments' storage lists included.
    pub pages: u32,
    /// Apps kept (declared, or mounting a declared storage).
    pub apps: usize,
    pub duration: Duration,
}

/// The resource a `refresh` re-read: an app or an environment (a revision's or storage's event
/// refreshes its parent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refreshed {
    /// Lower-cased.
    pub subscription: String,
    pub resource: ResourceId,
    /// False when ARM said NotFound (it was removed from the cache).
    pub exists: bool,
}

impl Reflector {
    /// An empty cache: every read goes to `inner` until `set_scope` and a `resync`.
    pub fn new(inner: Arc<dyn ArmApi>) -> Self {
        Reflector {
            inner,
            cache: Mutex::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What to keep: the stacks of the desired state. True when that changed; the cache then
    /// serves nothing until the next `resync` (the caller runs one).
    pub fn set_scope(&self, stacks: &[Stack]) -> bool {
        let scope = Scope::of(stacks);
        let mut cache = self.lock();
        if cache.scope == scope {
            return false;
        }
        cache.scope = scope;
        cache.filled.clear();
        true
    }

    /// Refills the cache from the subscription LISTs (all pages) and the storage lists of the
    /// declared environments. Secrets and revisions are read again on their next use. An app one
    /// of our writes (or a refresh) installed while the LISTs ran keeps that newer answer.
    pub async fn resync(&self) -> ArmResult<Resynced> {
        let start = Instant::now();
        let (scope, started) = {
            let cache = self.lock();
            (cache.scope.clone(), cache.seq)
        };
        let mut pages = 0;
        let mut apps = Vec::new();
        let mut environments = std::collections::BTreeMap::new();
        for sub in &scope.subscriptions {
            let listed = self.inner.list_apps_in_subscription(sub).await?;
            pages += listed.pages;
            apps.extend(listed.items.into_iter().filter(|a| scope.keeps(a)));
            let listed = self.inner.list_environments_in_subscription(sub).await?;
            pages += listed.pages;
            for env in listed.items {
                let key = env.id.as_deref().unwrap_or_default().to_ascii_lowercase();
                if scope.environments.contains(&key) {
                    environments.insert(key, env);
                }
            }
        }
        let mut storages = std::collections::BTreeMap::new();
        for env in scope.storages.keys().filter(|e| environments.contains_key(*e)) {
            let id = ResourceId::parse(env).map_err(|e| ArmError::Config(e.to_string()))?;
            storages.insert(env.clone(), self.inner.list_storages(&id).await?);
            pages += 1;
        }
        let mut cache = self.lock();
        let mut kept: std::collections::BTreeMap<String, AppEntry> = std::mem::take(&mut cache.apps)
            .into_iter()
            .filter(|(_, e)| e.seq > started)
            .collect();
        for app in apps {
            let key = app.id.as_deref().unwrap_or_default().to_ascii_lowercase();
            if let std::collections::btree_map::Entry::Vacant(slot) = kept.entry(key) {
                slot.insert(AppEntry::new(app, cache.next_seq()));
            }
        }
        let count = kept.len();
        cache.apps = kept;
        cache.environments = environments;
        cache.storages = storages;
        cache.filled = scope.subscriptions.clone();
        Ok(Resynced {
            subscriptions: scope.subscriptions.len(),
            pages,
            apps: count,
            duration: start.elapsed(),
        })
    }

    /// Re-reads the resource an event names: an app (or its revision, or a replica) with GET, an
    /// environment with GET, a storage through its environment's storage list. `None` when the
    /// cache does not hold such resources of that subscription.
    pub async fn refresh(&self, id: &ResourceId) -> ArmResult<Option<Refreshed>> {
        let subscription = id.subscription.to_ascii_lowercase();
        let (filled, started) = {
            let cache = self.lock();
            (cache.filled.contains(&subscription), cache.seq)
        };
        let top = id.segments.first().map(|(t, n)| (t.to_ascii_lowercase(), n.clone()));
        if !filled || !id.namespace.eq_ignore_ascii_case("Microsoft.App") {
            return Ok(None);
        }
        match top {
            Some((t, name)) if t == "containerapps" => {
                let app_id = ResourceId::container_app(&id.subscription, &id.resource_group, &name);
                let app = self.inner.find_app(&app_id).await?;
                let exists = app.is_some();
                let mut cache = self.lock();
                cache.install_app(&app_id, app, started);
                // An event may be a revision starting or draining: read them again.
                cache.unsettle(&app_id);
                Ok(Some(Refreshed {
                    subscription,
                    resource: app_id,
                    exists,
                }))
            }
            Some((t, name)) if t == "managedenvironments" => {
                let env_id = ResourceId::managed_environment(&id.subscription, &id.resource_group, &name);
                let exists = self.refresh_environment(&env_id).await?;
                Ok(Some(Refreshed {
                    subscription,
                    resource: env_id,
                    exists,
                }))
            }
            _ => Ok(None),
        }
    }

    /// The environment and, when its stacks declare storages, its storage list.
    async fn refresh_environment(&self, env_id: &ResourceId) -> ArmResult<bool> {
        let key = env_id.canonical();
        let env = match self.inner.get_environment(env_id).await {
            Ok(env) => Some(env),
            Err(ArmError::NotFound { .. }) => None,
            Err(e) => return Err(e),
        };
        let wants_storages = self.lock().scope.storages.contains_key(&key);
        let storages = match (&env, wants_storages) {
            (Some(_), true) => Some(self.inner.list_storages(env_id).await?),
            _ => None,
        };
        let mut cache = self.lock();
        let exists = env.is_some();
        match env {
            Some(env) if cache.scope.environments.contains(&key) => {
                cache.environments.insert(key.clone(), env);
            }
            _ => {
                cache.environments.remove(&key);
            }
        }
        match storages {
            Some(s) => cache.storages.insert(key, s),
            None => cache.storages.remove(&key),
        };
        Ok(exists)
    }

    /// The cached app, if the cache answers for it and holds it settled (for tests and status).
    pub fn cached_app(&self, id: &ResourceId) -> Option<ContainerApp> {
        self.lock().apps.get(&id.canonical()).map(|e| e.app.clone())
    }
}
