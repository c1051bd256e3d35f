//! Reading a stack's live state: the environment, its storages, every declared app (in parallel,
//! bounded), secret digests only for apps that declare secrets, and — for the invariants — every
//! app of the environment (one LIST of the resource group) with the revisions of each app that
//! mounts a declared storage, whoever created it.

use std::collections::BTreeMap;

use aca_arm_api::ArmResult;
use aca_model::arm::{ContainerApp, EnvironmentStorage, ManagedEnvironment, ResourceId, Revision};
use aca_model::desired::{AppSpec, Stack};
use futures_util::stream::{self, StreamExt};

use crate::api::ArmApi;
use crate::digest::Digest;

/// How many apps of one stack are read at once.
pub const OBSERVE_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// `None`: the environment does not exist.
    pub environment: Option<ManagedEnvironment>,
    /// Storages of the environment, by name.
    pub storages: BTreeMap<String, EnvironmentStorage>,
    /// Declared apps by key; `None`: the app does not exist.
    pub apps: BTreeMap<String, Option<ContainerApp>>,
    /// Digests of secret values, by app key then secret name (apps declaring secrets only).
    pub secrets: BTreeMap<String, BTreeMap<String, Digest>>,
    /// Every app of the environment, declared or not, by lowercased ARM name.
    pub environment_apps: BTreeMap<String, ContainerApp>,
    /// Revisions by lowercased ARM app name, for every app that mounts a declared storage (its
    /// live template or, for a declared app, its YAML).
    pub revisions: BTreeMap<String, Vec<Revision>>,
}

impl Observed {
    pub fn app(&self, key: &str) -> Option<&ContainerApp> {
        self.apps.get(key).and_then(Option::as_ref)
    }

    /// The revisions read for an app (by ARM name), if they were read.
    pub fn revisions_of(&self, name: &str) -> Option<&[Revision]> {
        self.revisions.get(&name.to_ascii_lowercase()).map(Vec::as_slice)
    }

    pub fn default_domain(&self) -> Option<String> {
        self.environment
            .as_ref()
            .and_then(|e| e.default_domain())
            .map(str::to_string)
    }
}

pub fn environment_id(stack: &Stack) -> ResourceId {
    ResourceId::managed_environment(&stack.subscription, &stack.resource_group, &stack.environment)
}

pub fn app_id(stack: &Stack, name: &str) -> ResourceId {
    ResourceId::container_app(&stack.subscription, &stack.resource_group, name)
}

async fn observe_app(api: &dyn ArmApi, stack: &Stack, spec: &AppSpec) -> ArmResult<ObservedApp> {
    let id = app_id(stack, &spec.name);
    let app = api.find_app(&id).await?;
    let secrets = if app.is_some() && !spec.secrets.is_empty() {
        let values = api.list_secrets(&id).await?;
        Some(
            values
                .into_iter()
                .filter_map(|s| Some((s.name, Digest::of(&s.value?))))
                .collect(),
        )
    } else {
        None
    };
    Ok((spec.key.clone(), app, secrets))
}

/// One app as read: its key, the app if it exists, and its secret digests if read.
type ObservedApp = (String, Option<ContainerApp>, Option<BTreeMap<String, Digest>>);

/// Reads everything the stack declares. A missing environment is not an error here (the diff
/// reports it); any other failure is.
pub async fn observe(api: &dyn ArmApi, stack: &Stack) -> ArmResult<Observed> {
    let env_id = environment_id(stack);
    let environment = match api.get_environment(&env_id).await {
        Ok(env) => Some(env),
        Err(aca_arm_api::ArmError::NotFound { .. }) => None,
        Err(e) => return Err(e),
    };
    let mut storages = BTreeMap::new();
    if environment.is_some() && !stack.storages.is_empty() {
        for s in api.list_storages(&env_id).await? {
            if let Some(name) = s.name.clone() {
                storages.insert(name, s);
            }
        }
    }
    // The futures are collected first: a lazily mapped iterator trips a compiler limitation
    // (higher-ranked lifetimes) once the pass runs inside a spawned task.
    let reads: Vec<_> = stack.apps.iter().map(|spec| observe_app(api, stack, spec)).collect();
    let results: Vec<ArmResult<ObservedApp>> = stream::iter(reads)
        .buffer_unordered(OBSERVE_CONCURRENCY)
        .collect()
        .await;
    let mut observed = Observed {
        environment,
        storages,
        ..Observed::default()
    };
    for r in results {
        let (key, app, secrets) = r?;
        observed.apps.insert(key.clone(), app);
        if let Some(s) = secrets {
            observed.secrets.insert(key, s);
        }
    }
    if observed.environment.is_some() && !stack.storages.is_empty() {
        observe_environment(api, stack, &env_id, &mut observed).await?;
    }
    Ok(observed)
}

/// Lists the environment's apps and reads the revisions of those that mount a declared storage.
async fn observe_environment(
    api: &dyn ArmApi,
    stack: &Stack,
    env_id: &ResourceId,
    observed: &mut Observed,
) -> ArmResult<()> {
    let env = env_id.canonical();
    for app in api.list_apps(&stack.subscription, &stack.resource_group).await? {
        let in_env = app.environment_id().is_some_and(|e| e.eq_ignore_ascii_case(&env));
        if let (true, Some(name)) = (in_env, app.name.clone()) {
            observed.environment_apps.insert(name.to_ascii_lowercase(), app);
        }
    }
    // A declared app is in the environment even if the list (read at another instant) missed it.
    for spec in &stack.apps {
        if let Some(app) = observed.app(&spec.key).cloned() {
            observed
                .environment_apps
                .entry(spec.name.to_ascii_lowercase())
                .or_insert(app);
        }
    }
    let declares = |name: &str| {
        stack
            .apps
            .iter()
            .any(|a| a.name.eq_ignore_ascii_case(name) && a.storages().next().is_some())
    };
    let mounting: Vec<(String, String)> = observed
        .environment_apps
        .iter()
        .filter(|(key, app)| declares(key) || stack.storages.keys().any(|s| crate::layout::mounts(app, s)))
        .map(|(key, app)| (key.clone(), app.name.clone().unwrap_or_else(|| key.clone())))
        .collect();
    let reads: Vec<_> = mounting
        .into_iter()
        .map(|(key, name)| async move {
            let id = app_id(stack, &name);
            (key, api.list_revisions(&id).await)
        })
        .collect();
    let results: Vec<_> = stream::iter(reads)
        .buffer_unordered(OBSERVE_CONCURRENCY)
        .collect()
        .await;
    for (name, revisions) in results {
        match revisions {
            Ok(r) => {
                observed.revisions.insert(name, r);
            }
            // Deleted between the list and this read: nothing of it runs.
            Err(aca_arm_api::ArmError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
