//! Reading a stack's live state: the environment, its storages, every declared app (in parallel,
//! bounded), and secret digests only for apps that declare secrets.

use std::collections::BTreeMap;

use aca_arm::ArmResult;
use aca_model::arm::{ContainerApp, EnvironmentStorage, ManagedEnvironment, ResourceId};
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
}

impl Observed {
    pub fn app(&self, key: &str) -> Option<&ContainerApp> {
        self.apps.get(key).and_then(Option::as_ref)
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
        Err(aca_arm::ArmError::NotFound { .. }) => None,
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
    Ok(observed)
}
