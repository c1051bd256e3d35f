//! Lists of a whole subscription (every resource group, all pages): what a cache of many stacks
//! fills itself from in a few calls instead of one GET per resource.

use aca_model::arm::{APP_API_VERSION, ContainerApp, ManagedEnvironment};
use azure_core::http::Url;

use super::ArmClient;
use crate::error::{ArmError, ArmResult};
use crate::operations::{self, ArmOperation};

impl ArmClient {
    /// Every container app of a subscription, whatever its resource group or environment.
    pub async fn list_container_apps_in_subscription(&self, subscription: &str) -> ArmResult<Vec<ContainerApp>> {
        let op = &operations::CONTAINER_APPS_LIST_BY_SUBSCRIPTION;
        self.list(op, self.subscription_url(op, subscription)?).await
    }

    /// Every managed environment of a subscription.
    pub async fn list_managed_environments_in_subscription(
        &self,
        subscription: &str,
    ) -> ArmResult<Vec<ManagedEnvironment>> {
        let op = &operations::MANAGED_ENVIRONMENTS_LIST_BY_SUBSCRIPTION;
        self.list(op, self.subscription_url(op, subscription)?).await
    }

    /// `{endpoint}/subscriptions/{subscription}{op.path}?api-version=...` (the path has no
    /// placeholder).
    fn subscription_url(&self, op: &ArmOperation, subscription: &str) -> ArmResult<Url> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        let text = format!(
            "{base}/subscriptions/{subscription}{}?api-version={APP_API_VERSION}",
            op.path
        );
        Url::parse(&text).map_err(|e| ArmError::Config(format!("bad request URL {text}: {e}")))
    }
}
