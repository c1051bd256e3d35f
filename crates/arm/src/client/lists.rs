//! Lists: every page through `nextLink` (never leaving the ARM endpoint), and the lists of a whole
//! subscription that a cache of many stacks fills itself from in a few calls instead of one GET
//! per resource.

use aca_arm_api::{ArmError, ArmResult, Listed};
use aca_model::arm::{APP_API_VERSION, ContainerApp, List, ManagedEnvironment};
use azure_core::http::Url;
use serde::de::DeserializeOwned;

use super::ArmClient;
use crate::endpoint;
use crate::operations::{self, ArmOperation};

impl ArmClient {
    /// Follows `nextLink` through every page.
    pub(super) async fn list<T: DeserializeOwned + Send>(&self, op: &ArmOperation, first: Url) -> ArmResult<Vec<T>> {
        Ok(self.list_pages(op, first).await?.items)
    }

    /// Every page's items, and how many pages that was.
    async fn list_pages<T: DeserializeOwned + Send>(&self, op: &ArmOperation, first: Url) -> ArmResult<Listed<T>> {
        let mut items = Vec::new();
        let pages = self.each_page(op, first, &mut |page| items.extend(page)).await?;
        Ok(Listed { items, pages })
    }

    /// Hands each page's items to `each` as it arrives; answers how many pages there were.
    async fn each_page<T: DeserializeOwned + Send>(
        &self,
        op: &ArmOperation,
        first: Url,
        each: &mut (dyn FnMut(Vec<T>) + Send),
    ) -> ArmResult<u32> {
        let mut pages = 0;
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let page: List<T> = self.get(op, url).await?;
            pages += 1;
            each(page.value);
            if let Some(link) = page.next_link {
                let url = Url::parse(&link).map_err(|e| ArmError::Decode {
                    what: op.name.into(),
                    message: e.to_string(),
                })?;
                if !endpoint::same_origin(&url, &self.endpoint) {
                    return Err(ArmError::Decode {
                        what: op.name.into(),
                        message: format!("nextLink {url} leaves the ARM endpoint"),
                    });
                }
                next = Some(url);
            }
        }
        Ok(pages)
    }

    /// Every container app of a subscription, whatever its resource group or environment.
    pub async fn list_container_apps_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ContainerApp>> {
        let op = &operations::CONTAINER_APPS_LIST_BY_SUBSCRIPTION;
        self.list_pages(op, self.subscription_url(op, subscription)?).await
    }

    /// Every container app of a subscription, handed over page by page.
    pub async fn each_container_app_page_in_subscription(
        &self,
        subscription: &str,
        each: &mut (dyn FnMut(Vec<ContainerApp>) + Send),
    ) -> ArmResult<u32> {
        let op = &operations::CONTAINER_APPS_LIST_BY_SUBSCRIPTION;
        self.each_page(op, self.subscription_url(op, subscription)?, each).await
    }

    /// Every managed environment of a subscription.
    pub async fn list_managed_environments_in_subscription(
        &self,
        subscription: &str,
    ) -> ArmResult<Listed<ManagedEnvironment>> {
        let op = &operations::MANAGED_ENVIRONMENTS_LIST_BY_SUBSCRIPTION;
        self.list_pages(op, self.subscription_url(op, subscription)?).await
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
