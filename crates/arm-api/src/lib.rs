//! The small surface of ARM the reconcile core uses: the [`ArmApi`] trait, the typed
//! [`ArmError`] its calls fail with, and the plain values they take and give.
//!
//! It exists so the reconcile core does not compile the client's HTTP stack (azure_core,
//! azure_identity, reqwest): `aca_arm::ArmClient` implements the trait, and tests implement it
//! in memory. Nothing here does I/O.

mod error;
mod types;

pub use error::{ArmError, ArmResult, Cause, Fenced};
pub use types::{Listed, RevisionAction, Tagged};

use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision, Secret};
use async_trait::async_trait;
use serde_json::Value;

/// What the reconcile core asks of ARM. Each call is one ARM operation (lists follow every
/// `nextLink` page); writes wait for their long-running operation.
#[async_trait]
pub trait ArmApi: Send + Sync {
    async fn get_environment(&self, id: &ResourceId) -> ArmResult<ManagedEnvironment>;
    async fn list_storages(&self, environment: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>>;
    /// `None` when the app does not exist.
    async fn find_app(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>>;
    async fn list_secrets(&self, id: &ResourceId) -> ArmResult<Vec<Secret>>;
    /// Every container app of a resource group, all pages (the environment's apps are filtered
    /// from it by `managedEnvironmentId`).
    async fn list_apps(&self, subscription: &str, resource_group: &str) -> ArmResult<Vec<ContainerApp>>;
    async fn list_revisions(&self, id: &ResourceId) -> ArmResult<Vec<Revision>>;
    async fn create_app(&self, id: &ResourceId, app: &ContainerApp) -> ArmResult<ContainerApp>;
    async fn update_app(&self, id: &ResourceId, patch: &Value) -> ArmResult<ContainerApp>;
    async fn revision_action(&self, app: &ResourceId, revision: &str, action: RevisionAction) -> ArmResult<()>;
    async fn get_share(&self, id: &ResourceId) -> ArmResult<Tagged<FileShare>>;
    async fn snapshot_share(&self, id: &ResourceId, if_match: Option<&str>) -> ArmResult<FileShare>;

    /// Every container app of a subscription, all pages: what a cache fills itself from. An
    /// implementation that backs no cache may leave it unsupported (the default).
    async fn list_apps_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ContainerApp>> {
        Err(unsupported("listing the container apps of subscription", subscription))
    }
    /// The same apps, handed to `page` as each page arrives, so that a caller keeping a little
    /// of each never holds a subscription's apps all parsed at once; answers how many pages.
    /// The default hands over `list_apps_in_subscription`'s answer as one page.
    async fn list_apps_in_subscription_paged(
        &self,
        subscription: &str,
        page: &mut (dyn FnMut(Vec<ContainerApp>) + Send),
    ) -> ArmResult<u32> {
        let listed = self.list_apps_in_subscription(subscription).await?;
        page(listed.items);
        Ok(listed.pages)
    }
    /// Every managed environment of a subscription, all pages (see `list_apps_in_subscription`).
    async fn list_environments_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ManagedEnvironment>> {
        Err(unsupported(
            "listing the managed environments of subscription",
            subscription,
        ))
    }
    /// The app as ARM has it now, never from a cache: the executor's read right before a write
    /// and while it waits. Without a cache it is `find_app`.
    async fn read_app_fresh(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        self.find_app(id).await
    }
    /// The app's revisions as ARM has them now, never from a cache (the executor's checks and
    /// waits on replicas). Without a cache it is `list_revisions`.
    async fn list_revisions_fresh(&self, id: &ResourceId) -> ArmResult<Vec<Revision>> {
        self.list_revisions(id).await
    }
}

fn unsupported(what: &str, subscription: &str) -> ArmError {
    ArmError::Config(format!("{what} {subscription} is not supported by this ARM surface"))
}
