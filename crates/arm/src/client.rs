//! The ARM client: one method per operation the operator needs.

mod lists;

use std::sync::Arc;
use std::time::Duration;

use aca_model::arm::{
    APP_API_VERSION, ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision,
    STORAGE_API_VERSION, Secret, SecretsCollection,
};
use azure_core::http::headers::HeaderName;
use azure_core::http::policies::Policy;
use azure_core::http::policies::auth::BearerTokenAuthorizationPolicy;
use azure_core::http::{
    ClientOptions, Context, ExponentialRetryOptions, Method, Pipeline, PipelineSendOptions, RawResponse, Request,
    RetryOptions, Transport, Url,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::auth::{Credential, credential};
use crate::config::{ArmConfig, LroSettings};
use crate::endpoint;
use crate::operations::{self, ArmOperation};
use crate::policies::{
    ArmStats, FenceAttemptPolicy, FenceCallPolicy, ReplicaTagPolicy, StaticTokenPolicy, ThrottlePolicy, TracePolicy,
    WriteRequest, retry_after,
};
use crate::throttle::ClientThrottle;
use aca_arm_api::{ArmError, ArmResult, RevisionAction, Tagged};

/// Responses larger than this are refused rather than parsed (ARM's are far smaller).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct ArmClient {
    pipeline: Pipeline,
    endpoint: Url,
    lro: LroSettings,
    stats: Arc<ArmStats>,
    shutdown: Option<tokio_util::sync::CancellationToken>,
}

impl ArmClient {
    pub fn new(config: ArmConfig) -> ArmResult<Self> {
        let http = http_client(&config)?;
        Self::with_transport(config, Transport::new(Arc::new(http)))
    }

    /// The client over a given transport (tests: a scripted one).
    pub(crate) fn with_transport(config: ArmConfig, transport: Transport) -> ArmResult<Self> {
        let endpoint_text = config
            .endpoint
            .clone()
            .unwrap_or_else(|| config.cloud.arm_endpoint().to_string());
        let endpoint =
            Url::parse(&endpoint_text).map_err(|e| ArmError::Config(format!("ARM endpoint `{endpoint_text}`: {e}")))?;
        endpoint::check(&endpoint, config.allow_insecure_loopback)?;
        let credential = match &config.credential {
            Some(c) => Credential::Token(c.clone()),
            None => credential(&config.auth, config.cloud, &endpoint)?,
        };
        let stats = Arc::new(ArmStats::default());

        let mut per_try: Vec<Arc<dyn Policy>> = Vec::new();
        if let Some(t) = config.throttle {
            per_try.push(Arc::new(ThrottlePolicy {
                throttle: Arc::new(ClientThrottle::new(t)),
                stats: stats.clone(),
            }));
        }
        per_try.push(match credential {
            Credential::Token(c) => Arc::new(BearerTokenAuthorizationPolicy::new(c, [config.cloud.token_scope()])),
            Credential::Static(token) => Arc::new(StaticTokenPolicy { token }),
        });
        if let Some(replica) = &config.replica_id {
            per_try.push(Arc::new(ReplicaTagPolicy {
                replica: replica.clone(),
            }));
        }
        let mut per_call: Vec<Arc<dyn Policy>> = Vec::new();
        if let Some(fence) = &config.fence {
            per_call.push(Arc::new(FenceCallPolicy { fence: fence.clone() }));
            // After the throttle's wait and the token: as close to the wire as possible.
            per_try.push(Arc::new(FenceAttemptPolicy { fence: fence.clone() }));
        }
        per_try.push(Arc::new(TracePolicy { stats: stats.clone() }));

        let options = ClientOptions {
            retry: RetryOptions::exponential(ExponentialRetryOptions {
                initial_delay: azure_core::time::Duration::milliseconds(config.retry_initial_delay.as_millis() as i64),
                max_retries: config.max_retries,
                max_total_elapsed: azure_core::time::Duration::seconds(300),
                max_delay: azure_core::time::Duration::milliseconds(config.retry_max_delay.as_millis() as i64),
            }),
            transport: Some(transport),
            ..ClientOptions::default()
        };
        let pipeline = Pipeline::new(
            Some("aca-operator"),
            Some(env!("CARGO_PKG_VERSION")),
            options,
            per_call,
            per_try,
            None,
        );
        Ok(ArmClient {
            pipeline,
            endpoint,
            lro: config.lro,
            stats,
            shutdown: config.shutdown,
        })
    }

    /// Checks another Azure endpoint (the lease account) against the same HTTPS rule as ARM's.
    pub fn lease_url_check(url: &str, allow_insecure_loopback: bool) -> ArmResult<Url> {
        let parsed = Url::parse(url).map_err(|e| ArmError::Config(format!("`{url}`: {e}")))?;
        endpoint::check(&parsed, allow_insecure_loopback)?;
        Ok(parsed)
    }

    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    pub(crate) fn lro_settings(&self) -> LroSettings {
        self.lro
    }

    /// Resolves when shutdown is asked; never without a shutdown token.
    pub(crate) async fn shutdown_asked(&self) {
        match &self.shutdown {
            Some(token) => token.cancelled().await,
            None => std::future::pending().await,
        }
    }

    /// Counters of every request attempt.
    pub fn stats(&self) -> Arc<ArmStats> {
        self.stats.clone()
    }

    fn url(&self, id: &ResourceId, suffix: &str, api_version: &str, query: &str) -> ArmResult<Url> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        let text = format!("{base}{id}{suffix}?api-version={api_version}{query}");
        Url::parse(&text).map_err(|e| ArmError::Config(format!("bad request URL {text}: {e}")))
    }

    /// Sends one request through the pipeline (auth, throttle, retries, trace) and returns ARM's
    /// answer whatever its status.
    pub(crate) async fn send(
        &self,
        op: &ArmOperation,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        headers: &[(&'static str, String)],
    ) -> ArmResult<RawResponse> {
        debug_assert_eq!(op.method, method.as_str(), "{} is a {} operation", op.name, op.method);
        let mut request = Request::new(url, method);
        request.insert_header("accept", "application/json");
        for (k, v) in headers {
            request.insert_header(HeaderName::from_static(k), v.clone());
        }
        if let Some(b) = body {
            request.insert_header("content-type", "application/json");
            request.set_body(b);
        }
        let ctx = if op.is_write() {
            Context::new().with_value(WriteRequest)
        } else {
            Context::new()
        };
        let options = PipelineSendOptions {
            skip_checks: true,
            ..PipelineSendOptions::default()
        };
        let raw = self
            .pipeline
            .send(&ctx, &mut request, Some(options))
            .await
            .map_err(crate::error::from_pipeline)?;
        if raw.body().len() > MAX_RESPONSE_BYTES {
            return Err(ArmError::Decode {
                what: op.name.into(),
                message: format!("response of {} bytes refused", raw.body().len()),
            });
        }
        Ok(raw)
    }

    /// A 2xx answer, or the typed error for its status.
    pub(crate) fn expect_success(raw: RawResponse) -> ArmResult<RawResponse> {
        let status = u16::from(raw.status());
        if (200..300).contains(&status) {
            Ok(raw)
        } else {
            Err(ArmError::from_status(status, raw.body(), retry_after(&raw)))
        }
    }

    pub(crate) fn decode<T: DeserializeOwned>(what: &str, raw: &RawResponse) -> ArmResult<T> {
        serde_json::from_slice(raw.body()).map_err(|e| ArmError::Decode {
            what: what.into(),
            message: e.to_string(),
        })
    }

    fn body<T: Serialize>(value: &T) -> ArmResult<Vec<u8>> {
        serde_json::to_vec(value).map_err(|e| ArmError::Config(format!("cannot serialize request: {e}")))
    }

    async fn get<T: DeserializeOwned>(&self, op: &ArmOperation, url: Url) -> ArmResult<T> {
        let raw = Self::expect_success(self.send(op, Method::Get, url, None, &[]).await?)?;
        Self::decode(op.name, &raw)
    }

    pub async fn get_container_app(&self, id: &ResourceId) -> ArmResult<ContainerApp> {
        let app: ContainerApp = self
            .get(&operations::CONTAINER_APP_GET, self.url(id, "", APP_API_VERSION, "")?)
            .await?;
        // An answer without its identity or template is not a container app: acting on it (e.g.
        // reading an absent scale as "0 to 10") would be a write based on a misread.
        if app.id.is_none() || app.template().is_none() {
            return Err(ArmError::Decode {
                what: operations::CONTAINER_APP_GET.name.into(),
                message: "the answer lacks `id` or `properties.template`".into(),
            });
        }
        Ok(app)
    }

    /// `None` when the app does not exist.
    pub async fn find_container_app(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        match self.get_container_app(id).await {
            Ok(app) => Ok(Some(app)),
            Err(ArmError::NotFound { code, .. }) if code != "ResourceGroupNotFound" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PUT (create or replace), waits for the operation, returns the app as ARM then shows it.
    pub async fn create_or_update_container_app(&self, id: &ResourceId, app: &ContainerApp) -> ArmResult<ContainerApp> {
        let url = self.url(id, "", APP_API_VERSION, "")?;
        let raw = self
            .send(
                &operations::CONTAINER_APP_CREATE_OR_UPDATE,
                Method::Put,
                url,
                Some(Self::body(app)?),
                &[],
            )
            .await?;
        let raw = Self::expect_success(raw)?;
        self.wait_for_operation(&raw).await?;
        self.get_container_app(id).await
    }

    /// PATCH with the parts given (JSON merge patch: objects merge, arrays replace), waits for the
    /// operation, returns the app as ARM then shows it.
    pub async fn update_container_app<T: Serialize>(&self, id: &ResourceId, patch: &T) -> ArmResult<ContainerApp> {
        let url = self.url(id, "", APP_API_VERSION, "")?;
        let raw = self
            .send(
                &operations::CONTAINER_APP_UPDATE,
                Method::Patch,
                url,
                Some(Self::body(patch)?),
                &[],
            )
            .await?;
        let raw = Self::expect_success(raw)?;
        self.wait_for_operation(&raw).await?;
        self.get_container_app(id).await
    }

    /// The app's secrets with their values. Callers must never log them.
    pub async fn list_secrets(&self, id: &ResourceId) -> ArmResult<Vec<Secret>> {
        let url = self.url(id, "/listSecrets", APP_API_VERSION, "")?;
        let raw = self
            .send(&operations::CONTAINER_APP_LIST_SECRETS, Method::Post, url, None, &[])
            .await?;
        let collection: SecretsCollection = Self::decode("listSecrets", &Self::expect_success(raw)?)?;
        Ok(collection.value)
    }

    /// Every container app of a resource group (all pages), whatever environment it is in.
    pub async fn list_container_apps(&self, subscription: &str, resource_group: &str) -> ArmResult<Vec<ContainerApp>> {
        let base = self.endpoint.as_str().trim_end_matches('/');
        let text = format!(
            "{base}/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.App/containerApps?api-version={APP_API_VERSION}"
        );
        let url = Url::parse(&text).map_err(|e| ArmError::Config(format!("bad request URL {text}: {e}")))?;
        self.list(&operations::CONTAINER_APPS_LIST_BY_RESOURCE_GROUP, url).await
    }

    pub async fn list_revisions(&self, app: &ResourceId) -> ArmResult<Vec<Revision>> {
        self.list(
            &operations::REVISIONS_LIST,
            self.url(app, "/revisions", APP_API_VERSION, "")?,
        )
        .await
    }

    pub async fn revision_action(&self, app: &ResourceId, revision: &str, action: RevisionAction) -> ArmResult<()> {
        let (op, verb) = match action {
            RevisionAction::Activate => (&operations::REVISION_ACTIVATE, "activate"),
            RevisionAction::Deactivate => (&operations::REVISION_DEACTIVATE, "deactivate"),
            RevisionAction::Restart => (&operations::REVISION_RESTART, "restart"),
        };
        let url = self.url(app, &format!("/revisions/{revision}/{verb}"), APP_API_VERSION, "")?;
        let raw = Self::expect_success(self.send(op, Method::Post, url, None, &[]).await?)?;
        self.wait_for_operation(&raw).await
    }

    pub async fn get_managed_environment(&self, id: &ResourceId) -> ArmResult<ManagedEnvironment> {
        self.get(
            &operations::MANAGED_ENVIRONMENT_GET,
            self.url(id, "", APP_API_VERSION, "")?,
        )
        .await
    }

    pub async fn get_environment_storage(&self, id: &ResourceId) -> ArmResult<EnvironmentStorage> {
        self.get(
            &operations::ENVIRONMENT_STORAGE_GET,
            self.url(id, "", APP_API_VERSION, "")?,
        )
        .await
    }

    pub async fn list_environment_storages(&self, environment: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>> {
        self.list(
            &operations::ENVIRONMENT_STORAGES_LIST,
            self.url(environment, "/storages", APP_API_VERSION, "")?,
        )
        .await
    }

    /// A file share with its ETag.
    pub async fn get_file_share(&self, id: &ResourceId) -> ArmResult<Tagged<FileShare>> {
        let url = self.url(id, "", STORAGE_API_VERSION, "")?;
        let raw = Self::expect_success(
            self.send(&operations::FILE_SHARE_GET, Method::Get, url, None, &[])
                .await?,
        )?;
        let header = raw
            .headers()
            .get_optional_str(&HeaderName::from_static("etag"))
            .map(str::to_string);
        let value: FileShare = Self::decode("file share", &raw)?;
        let etag = header.or_else(|| value.etag.clone());
        Ok(Tagged { value, etag })
    }

    /// Creates a share snapshot; with `if_match`, only if the share still has that ETag (412 else).
    pub async fn create_share_snapshot(&self, id: &ResourceId, if_match: Option<&str>) -> ArmResult<FileShare> {
        let url = self.url(id, "", STORAGE_API_VERSION, "&$expand=snapshots")?;
        let headers: Vec<(&'static str, String)> =
            if_match.map(|t| vec![("if-match", t.to_string())]).unwrap_or_default();
        let raw = self
            .send(
                &operations::FILE_SHARE_SNAPSHOT,
                Method::Put,
                url,
                Some(b"{}".to_vec()),
                &headers,
            )
            .await?;
        Self::decode("share snapshot", &Self::expect_success(raw)?)
    }

    /// The snapshots of one share, oldest first.
    pub async fn list_share_snapshots(&self, share: &ResourceId) -> ArmResult<Vec<FileShare>> {
        let parent = share
            .parent()
            .ok_or_else(|| ArmError::Config(format!("{share} is not a file share id")))?;
        let base = self.url(&parent, "/shares", STORAGE_API_VERSION, "&$expand=snapshots")?;
        let all: Vec<FileShare> = self.list(&operations::FILE_SHARES_LIST, base).await?;
        let mut snaps: Vec<FileShare> = all
            .into_iter()
            .filter(|s| {
                s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(share.name())) && s.snapshot_time().is_some()
            })
            .collect();
        snaps.sort_by(|a, b| a.snapshot_time().cmp(&b.snapshot_time()));
        Ok(snaps)
    }
}

fn http_client(config: &ArmConfig) -> ArmResult<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(config.request_timeout)
        .connect_timeout(Duration::from_secs(10));
    if let Some(path) = &config.ca_cert {
        let pem =
            std::fs::read(path).map_err(|e| ArmError::Config(format!("CA certificate {}: {e}", path.display())))?;
        let cert = reqwest::Certificate::from_pem(&pem)
            .map_err(|e| ArmError::Config(format!("CA certificate {}: not a PEM certificate: {e}", path.display())))?;
        builder = builder.tls_certs_merge([cert]);
    }
    builder
        .build()
        .map_err(|e| ArmError::Config(format!("HTTP client: {e}")))
}
