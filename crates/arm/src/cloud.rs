//! Azure clouds: where ARM is and which token scope it accepts.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use azure_core::cloud::CloudConfiguration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cloud {
    #[default]
    Public,
    China,
    UsGovernment,
}

impl Cloud {
    /// The ARM endpoint.
    pub fn arm_endpoint(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com",
            Cloud::China => "https://management.chinacloudapi.cn",
            Cloud::UsGovernment => "https://management.usgovcloudapi.net",
        }
    }

    /// The scope to ask tokens for.
    pub fn token_scope(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.azure.com/.default",
            Cloud::China => "https://management.chinacloudapi.cn/.default",
            Cloud::UsGovernment => "https://management.usgovcloudapi.net/.default",
        }
    }

    /// The cloud configuration `azure_identity` credentials use (authority host).
    pub fn configuration(self) -> Arc<CloudConfiguration> {
        Arc::new(match self {
            Cloud::Public => CloudConfiguration::AzurePublic,
            Cloud::China => CloudConfiguration::AzureChina,
            Cloud::UsGovernment => CloudConfiguration::AzureGovernment,
        })
    }
}

impl FromStr for Cloud {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "public" | "azurecloud" => Ok(Cloud::Public),
            "china" | "azurechinacloud" => Ok(Cloud::China),
            "usgovernment" | "us-government" | "azureusgovernment" => Ok(Cloud::UsGovernment),
            other => Err(format!("unknown cloud `{other}`: use public, china or usgovernment")),
        }
    }
}

impl fmt::Display for Cloud {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Cloud::Public => "public",
            Cloud::China => "china",
            Cloud::UsGovernment => "usgovernment",
        })
    }
}
