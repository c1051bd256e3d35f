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
//! resource named by an event. Entries are kept as their JSON text and parsed on read, and the
//! apps LIST arrives page by page (`packed.rs`, decision 0035): at 5,000 apps the parsed cache
//! was most of the operator's memory.

mod api;
mod cache;
mod packed;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aca_arm_api::{ArmError, ArmResult};
use aca_model::arm::{ContainerApp, EnvironmentStorage, ManagedEnvironment, ResourceId};
use aca_model::desired::Stack;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use tokio::time::Instant;

use crate::api::ArmApi;
use cache::{AppEntry, Cache, Scope};
use packed::Packed;

/// Storage lists one subscription's resync reads at once.
pub const RESYNC_STORAGE_CONCURRENCY: usize = 16;

/// What one subscription's LISTs gave.
struct Listing {
    pages: u32,
    /// Kept apps by canonical id, packed as their page arrived (their `seq` is set on install).
    apps: Vec<(String, AppEntry)>,
    environments: BTreeMap<String, Packed<ManagedEnvironment>>,
    storages: StorageLists,
}

/// Storage lists by canonical environment id.
type StorageLists = BTreeMap<String, Packed<Vec<EnvironmentStorage>>>;

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
            (Arc::new(cache.scope.clone()), cache.seq)
        };
        // Subscriptions at once (each has its own ARM budget, which the client paces); within
        // one, the storage lists a few at a time, as observation reads apps.
        let each: Vec<_> = scope
            .subscriptions
            .iter()
            .map(|sub| Self::list_subscription(self.inner.clone(), scope.clone(), sub.clone()))
            .collect();
        let listed = futures_util::future::try_join_all(each).await?;
        let (mut pages, mut apps) = (0, Vec::new());
        let (mut environments, mut storages) = (BTreeMap::new(), BTreeMap::new());
        for one in listed {
            pages += one.pages;
            apps.extend(one.apps);
            environments.extend(one.environments);
            storages.extend(one.storages);
        }
        let mut cache = self.lock();
        let mut kept: BTreeMap<String, AppEntry> = std::mem::take(&mut cache.apps)
            .into_iter()
            .filter(|(_, e)| e.seq > started)
            .collect();
        for (key, mut entry) in apps {
            if let std::collections::btree_map::Entry::Vacant(slot) = kept.entry(key) {
                entry.seq = cache.next_seq();
                slot.insert(entry);
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

    /// One subscription's share of a resync: its apps LIST (every page) beside its environments
    /// LIST followed by the storage lists of its declared environments,
    /// [`RESYNC_STORAGE_CONCURRENCY`] at a time.
    async fn list_subscription(inner: Arc<dyn ArmApi>, scope: Arc<Scope>, sub: String) -> ArmResult<Listing> {
        let apps = async {
            // Page by page: a subscription's apps are never all parsed at once.
            let mut apps = Vec::new();
            let pages = inner
                .list_apps_in_subscription_paged(&sub, &mut |page| {
                    for app in page.into_iter().filter(|a| scope.keeps(a)) {
                        let key = app.id.as_deref().unwrap_or_default().to_ascii_lowercase();
                        apps.push((key, AppEntry::new(&app, 0)));
                    }
                })
                .await?;
            Ok::<_, ArmError>((pages, apps))
        };
        let environments = Self::list_environments(inner.clone(), &scope, &sub);
        let ((app_pages, apps), (env_pages, environments, storages)) =
            futures_util::future::try_join(apps, environments).await?;
        let pages = app_pages + env_pages;
        Ok(Listing {
            pages,
            apps,
            environments,
            storages,
        })
    }

    /// A subscription's declared environments (its LIST, every page) and their storage lists;
    /// answers the pages read, storage lists included.
    async fn list_environments(
        inner: Arc<dyn ArmApi>,
        scope: &Scope,
        sub: &str,
    ) -> ArmResult<(u32, BTreeMap<String, Packed<ManagedEnvironment>>, StorageLists)> {
        let listed = inner.list_environments_in_subscription(sub).await?;
        let environments: BTreeMap<String, Packed<ManagedEnvironment>> = listed
            .items
            .iter()
            .filter_map(|env| {
                let key = env.id.as_deref().unwrap_or_default().to_ascii_lowercase();
                scope.environments.contains(&key).then(|| (key, Packed::shared(env)))
            })
            .collect();
        // The futures are built first (the stream holds futures, not a closure, so the resync
        // stays a `Send` future for a spawned task).
        let lists: Vec<_> = scope
            .storages
            .keys()
            .filter(|e| environments.contains_key(*e))
            .map(|env| {
                let (env, inner) = (env.clone(), inner.clone());
                async move {
                    let id = ResourceId::parse(&env).map_err(|e| ArmError::Config(e.to_string()))?;
                    let listed = inner.list_storages(&id).await?;
                    Ok::<_, ArmError>((env, listed))
                }
            })
            .collect();
        let storages: StorageLists = stream::iter(lists)
            .buffer_unordered(RESYNC_STORAGE_CONCURRENCY)
            .map_ok(|(env, listed)| (env, Packed::new(&listed)))
            .try_collect()
            .await?;
        let pages = listed.pages + storages.len() as u32;
        Ok((pages, environments, storages))
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
                cache.environments.insert(key.clone(), Packed::shared(&env));
            }
            _ => {
                cache.environments.remove(&key);
            }
        }
        match storages {
            Some(s) => cache.storages.insert(key, Packed::new(&s)),
            None => cache.storages.remove(&key),
        };
        Ok(exists)
    }

    /// The cached app, if the cache answers for it and holds it settled (for tests and status).
    pub fn cached_app(&self, id: &ResourceId) -> Option<ContainerApp> {
        self.lock().apps.get(&id.canonical()).map(|e| e.app.get())
    }
}
