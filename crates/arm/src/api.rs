//! The client implements the reconcile core's view of ARM ([`aca_arm_api::ArmApi`]).

use aca_arm_api::{ArmApi, ArmResult, Listed, RevisionAction, Tagged};
use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision, Secret};
use async_trait::async_trait;
use serde_json::Value;

use crate::ArmClient;

#[async_trait]
impl ArmApi for ArmClient {
    async fn get_environment(&self, id: &ResourceId) -> ArmResult<ManagedEnvironment> {
        self.get_managed_environment(id).await
    }
    async fn list_storages(&self, environment: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>> {
        self.list_environment_storages(environment).await
    }
    async fn find_app(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        self.find_container_app(id).await
    }
    async fn list_secrets(&self, id: &ResourceId) -> ArmResult<Vec<Secret>> {
        ArmClient::list_secrets(self, id).await
    }
    async fn list_apps(&self, subscription: &str, resource_group: &str) -> ArmResult<Vec<ContainerApp>> {
        self.list_container_apps(subscription, resource_group).await
    }
    async fn list_revisions(&self, id: &ResourceId) -> ArmResult<Vec<Revision>> {
        ArmClient::list_revisions(self, id).await
    }
    async fn create_app(&self, id: &ResourceId, app: &ContainerApp) -> ArmResult<ContainerApp> {
        self.create_or_update_container_app(id, app).await
    }
    async fn update_app(&self, id: &ResourceId, patch: &Value) -> ArmResult<ContainerApp> {
        self.update_container_app(id, patch).await
    }
    async fn revision_action(&self, app: &ResourceId, revision: &str, action: RevisionAction) -> ArmResult<()> {
        ArmClient::revision_action(self, app, revision, action).await
    }
    async fn get_share(&self, id: &ResourceId) -> ArmResult<Tagged<FileShare>> {
        self.get_file_share(id).await
    }
    async fn snapshot_share(&self, id: &ResourceId, if_match: Option<&str>) -> ArmResult<FileShare> {
        self.create_share_snapshot(id, if_match).await
    }
    async fn list_apps_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ContainerApp>> {
        self.list_container_apps_in_subscription(subscription).await
    }
    async fn list_apps_in_subscription_paged(
        &self,
        subscription: &str,
        page: &mut (dyn FnMut(Vec<ContainerApp>) + Send),
    ) -> ArmResult<u32> {
        self.each_container_app_page_in_subscription(subscription, page).await
    }
    async fn list_environments_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ManagedEnvironment>> {
        self.list_managed_environments_in_subscription(subscription).await
    }
}
