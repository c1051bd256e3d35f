//! `Microsoft.App/managedEnvironments/storages`: an Azure Files share registered in an environment.

use serde::{Deserialize, Serialize};

use super::{Extra, SystemData};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentStorage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_data: Option<SystemData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<EnvironmentStorageProperties>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentStorageProperties {
    /// SMB share (`storageType: AzureFile` in an app's volume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_file: Option<AzureFileProperties>,
    /// NFS share (`storageType: NfsAzureFile`); needs a custom-VNet environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nfs_azure_file: Option<NfsAzureFileProperties>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AzureFileProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_name: Option<String>,
    /// Write-only: never returned by GET.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_key: Option<String>,
    /// `ReadOnly` or `ReadWrite`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NfsAzureFileProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The protocol of an environment storage, as apps' volumes name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    /// SMB (`AzureFile`): no hard links, so a database that needs them is at risk there.
    AzureFile,
    /// NFS (`NfsAzureFile`).
    NfsAzureFile,
}

impl StorageKind {
    /// The `storageType` an app volume uses for this kind.
    pub fn volume_storage_type(self) -> &'static str {
        match self {
            StorageKind::AzureFile => "AzureFile",
            StorageKind::NfsAzureFile => "NfsAzureFile",
        }
    }
}

impl EnvironmentStorage {
    pub fn kind(&self) -> Option<StorageKind> {
        let p = self.properties.as_ref()?;
        if p.azure_file.is_some() {
            Some(StorageKind::AzureFile)
        } else if p.nfs_azure_file.is_some() {
            Some(StorageKind::NfsAzureFile)
        } else {
            None
        }
    }

    /// `(account name, share name)` for an SMB storage; `(server, share)` for NFS.
    pub fn share(&self) -> Option<(&str, &str)> {
        let p = self.properties.as_ref()?;
        if let Some(f) = &p.azure_file {
            return Some((f.account_name.as_deref()?, f.share_name.as_deref()?));
        }
        let n = p.nfs_azure_file.as_ref()?;
        Some((n.server.as_deref()?, n.share_name.as_deref()?))
    }
}
