//! `Microsoft.App/managedEnvironments`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Extra, SystemData};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedEnvironment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_data: Option<SystemData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<ManagedEnvironmentProperties>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagedEnvironmentProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// Apps' FQDNs derive from it: `<app>.internal.<defaultDomain>` for internal ingress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_domain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub static_ip: Option<String>,
    /// Present when the environment runs in a custom VNet (needed for NFS and external TCP).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vnet_configuration: Option<VnetConfiguration>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VnetConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infrastructure_subnet_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ManagedEnvironment {
    pub fn default_domain(&self) -> Option<&str> {
        self.properties.as_ref()?.default_domain.as_deref()
    }

    /// True when the environment is integrated into a custom virtual network.
    pub fn has_custom_vnet(&self) -> bool {
        self.properties
            .as_ref()
            .and_then(|p| p.vnet_configuration.as_ref())
            .is_some_and(|v| v.infrastructure_subnet_id.is_some())
    }
}
