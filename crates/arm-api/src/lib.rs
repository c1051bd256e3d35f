//! The small surface of ARM the reconcile core uses: the [`ArmApi`] trait, the typed
//! [`ArmError`] its calls fail with, and the plain values they take and give.
//!
//! It exists so the reconcile core does not compile the client's HTTP stack (azure_core,
//! azure_identity, reqwest): `aca_arm::ArmClient` implements the trait, and tests implement it
//! in memory. Nothing here does I/O.

mod error;
mod types;

pub use error::{ArmError, ArmResult, Cause, Fenced};
pub use types::{RevisionAction, Tagged};

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
}
