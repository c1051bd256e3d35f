//! Credentials: which identity the operator uses toward ARM.
//!
//! `auto` picks one from the environment, in this order (first match wins, so the choice is
//! predictable and the error says what was looked for):
//! 1. `ACA_STATIC_TOKEN` set → the static token (loopback endpoints only: simulator and tests);
//! 2. `IDENTITY_ENDPOINT` set (Container Apps, App Service) → managed identity (user-assigned when
//!    `AZURE_CLIENT_ID` is set, system-assigned otherwise);
//! 3. `AZURE_FEDERATED_TOKEN_FILE` set → workload identity;
//! 4. `AZURE_CLIENT_SECRET` (with `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`) set → client secret;
//! 5. otherwise → the Azure CLI's login.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use azure_core::credentials::{Secret, TokenCredential};
use azure_core::http::{ClientOptions, Url};
use azure_identity::{
    AzureCliCredential, ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
    WorkloadIdentityCredentialOptions,
};

use crate::cloud::Cloud;
use crate::endpoint::is_loopback;
use aca_arm_api::{ArmError, Cause};

/// The environment variable holding a static bearer token (simulator and tests only).
pub const STATIC_TOKEN_ENV: &str = "ACA_STATIC_TOKEN";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthMethod {
    #[default]
    Auto,
    ManagedIdentity,
    WorkloadIdentity,
    AzureCli,
    ClientSecret,
    Static,
}

impl FromStr for AuthMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(AuthMethod::Auto),
            "managed-identity" => Ok(AuthMethod::ManagedIdentity),
            "workload-identity" => Ok(AuthMethod::WorkloadIdentity),
            "azure-cli" => Ok(AuthMethod::AzureCli),
            "client-secret" => Ok(AuthMethod::ClientSecret),
            "static" => Ok(AuthMethod::Static),
            other => Err(format!(
                "unknown auth method `{other}`: use auto, managed-identity, workload-identity, azure-cli, client-secret or static"
            )),
        }
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AuthMethod::Auto => "auto",
            AuthMethod::ManagedIdentity => "managed-identity",
            AuthMethod::WorkloadIdentity => "workload-identity",
            AuthMethod::AzureCli => "azure-cli",
            AuthMethod::ClientSecret => "client-secret",
            AuthMethod::Static => "static",
        })
    }
}

/// What the credential needs, read from flags and the environment by the caller.
#[derive(Clone, Default)]
pub struct AuthSettings {
    pub method: AuthMethod,
    /// `AZURE_CLIENT_ID`: a user-assigned managed identity, or the app of a client secret.
    pub client_id: Option<String>,
    /// `AZURE_TENANT_ID`.
    pub tenant_id: Option<String>,
    /// `AZURE_CLIENT_SECRET`.
    pub client_secret: Option<Secret>,
    /// `ACA_STATIC_TOKEN`.
    pub static_token: Option<Secret>,
    /// `IDENTITY_ENDPOINT` is set (a managed identity is available).
    pub identity_endpoint_present: bool,
    /// `AZURE_FEDERATED_TOKEN_FILE` is set.
    pub federated_token_file_present: bool,
}

impl fmt::Debug for AuthSettings {
    /// Never prints a secret or a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthSettings")
            .field("method", &self.method)
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "(sensitive)"))
            .field("static_token", &self.static_token.as_ref().map(|_| "(sensitive)"))
            .finish()
    }
}

impl AuthSettings {
    /// Reads the standard environment variables.
    pub fn from_env(method: AuthMethod) -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        AuthSettings {
            method,
            client_id: var("AZURE_CLIENT_ID"),
            tenant_id: var("AZURE_TENANT_ID"),
            client_secret: var("AZURE_CLIENT_SECRET").map(Secret::new),
            static_token: var(STATIC_TOKEN_ENV).map(Secret::new),
            identity_endpoint_present: var("IDENTITY_ENDPOINT").is_some(),
            federated_token_file_present: var("AZURE_FEDERATED_TOKEN_FILE").is_some(),
        }
    }

    /// The method `auto` resolves to.
    pub fn resolved_method(&self) -> AuthMethod {
        match self.method {
            AuthMethod::Auto if self.static_token.is_some() => AuthMethod::Static,
            AuthMethod::Auto if self.identity_endpoint_present => AuthMethod::ManagedIdentity,
            AuthMethod::Auto if self.federated_token_file_present => AuthMethod::WorkloadIdentity,
            AuthMethod::Auto if self.client_secret.is_some() => AuthMethod::ClientSecret,
            AuthMethod::Auto => AuthMethod::AzureCli,
            m => m,
        }
    }
}

/// A resolved credential.
#[derive(Clone)]
pub(crate) enum Credential {
    Token(Arc<dyn TokenCredential>),
    /// Only ever sent to a loopback endpoint.
    Static(Secret),
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Token(_) => f.write_str("Credential::Token"),
            Credential::Static(_) => f.write_str("Credential::Static((sensitive))"),
        }
    }
}

pub(crate) fn credential(settings: &AuthSettings, cloud: Cloud, endpoint: &Url) -> Result<Credential, ArmError> {
    let client_options = || ClientOptions {
        cloud: Some(cloud.configuration()),
        ..ClientOptions::default()
    };
    let fail = |what: &str, e: azure_core::Error| ArmError::Credential {
        message: format!("{what}: {e}"),
        cause: Some(Cause::new(e)),
    };
    let refuse = |message: String| ArmError::Credential { message, cause: None };
    match settings.resolved_method() {
        AuthMethod::Static => {
            let token = settings.static_token.clone().ok_or_else(|| {
                refuse(format!(
                    "the static token credential needs the token in {STATIC_TOKEN_ENV}"
                ))
            })?;
            if !is_loopback(endpoint) {
                return Err(refuse(format!(
                    "{STATIC_TOKEN_ENV} is for a local simulator only and is refused for {endpoint}: use a real credential"
                )));
            }
            Ok(Credential::Static(token))
        }
        AuthMethod::ManagedIdentity => {
            let options = ManagedIdentityCredentialOptions {
                user_assigned_id: settings.client_id.clone().map(UserAssignedId::ClientId),
                client_options: client_options(),
            };
            let c = ManagedIdentityCredential::new(Some(options)).map_err(|e| fail("managed identity", e))?;
            Ok(Credential::Token(c))
        }
        AuthMethod::WorkloadIdentity => {
            let options = WorkloadIdentityCredentialOptions {
                credential_options: ClientAssertionCredentialOptions {
                    client_options: client_options(),
                },
                client_id: settings.client_id.clone(),
                tenant_id: settings.tenant_id.clone(),
                ..WorkloadIdentityCredentialOptions::default()
            };
            let c = WorkloadIdentityCredential::new(Some(options)).map_err(|e| fail("workload identity", e))?;
            Ok(Credential::Token(c))
        }
        AuthMethod::ClientSecret => {
            let (Some(tenant), Some(client), Some(secret)) =
                (&settings.tenant_id, &settings.client_id, &settings.client_secret)
            else {
                return Err(refuse(
                    "client-secret needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET".into(),
                ));
            };
            let options = ClientSecretCredentialOptions {
                client_options: client_options(),
            };
            let c = ClientSecretCredential::new(tenant, client.clone(), secret.clone(), Some(options))
                .map_err(|e| fail("client secret", e))?;
            Ok(Credential::Token(c))
        }
        AuthMethod::AzureCli => Ok(Credential::Token(
            AzureCliCredential::new(None).map_err(|e| fail("azure cli", e))?,
        )),
        AuthMethod::Auto => unreachable!("resolved_method never returns Auto"),
    }
}

/// A fixed token as a `TokenCredential` (simulator and emulators on loopback only; the caller checks
/// the endpoint).
#[derive(Debug)]
pub struct StaticTokenCredential {
    token: Secret,
}

#[async_trait::async_trait]
impl TokenCredential for StaticTokenCredential {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let expires = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(azure_core::credentials::AccessToken::new(self.token.clone(), expires))
    }
}

/// The credential of `settings` as a `TokenCredential`, for other Azure clients (the blob lease).
/// A static token is refused unless `endpoint` is loopback.
pub fn token_credential(
    settings: &AuthSettings,
    cloud: Cloud,
    endpoint: &Url,
) -> Result<Arc<dyn TokenCredential>, ArmError> {
    match credential(settings, cloud, endpoint)? {
        Credential::Token(c) => Ok(c),
        Credential::Static(token) => Ok(Arc::new(StaticTokenCredential { token })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_picks_from_the_environment_in_a_fixed_order() {
        let mut s = AuthSettings::default();
        assert_eq!(s.resolved_method(), AuthMethod::AzureCli);
        s.client_secret = Some(Secret::new("x"));
        assert_eq!(s.resolved_method(), AuthMethod::ClientSecret);
        s.federated_token_file_present = true;
        assert_eq!(s.resolved_method(), AuthMethod::WorkloadIdentity);
        s.identity_endpoint_present = true;
        assert_eq!(s.resolved_method(), AuthMethod::ManagedIdentity);
        s.static_token = Some(Secret::new("t"));
        assert_eq!(s.resolved_method(), AuthMethod::Static);
        s.method = AuthMethod::AzureCli;
        assert_eq!(s.resolved_method(), AuthMethod::AzureCli, "an explicit method wins");
    }

    #[test]
    fn the_static_token_is_refused_for_non_loopback_endpoints() {
        let s = AuthSettings {
            method: AuthMethod::Static,
            static_token: Some(Secret::new("tok")),
            ..AuthSettings::default()
        };
        let err = credential(&s, Cloud::Public, &Url::parse("https://management.azure.com").unwrap()).unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        assert!(!err.to_string().contains("tok"));
        assert!(credential(&s, Cloud::Public, &Url::parse("http://127.0.0.1:1").unwrap()).is_ok());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = AuthSettings {
            client_secret: Some(Secret::new("hunter2")),
            static_token: Some(Secret::new("tok-123")),
            ..AuthSettings::default()
        };
        let text = format!("{s:?}");
        assert!(!text.contains("hunter2") && !text.contains("tok-123"), "{text}");
    }
}
