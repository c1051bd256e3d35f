//! `Microsoft.Storage/storageAccounts/fileServices/shares` (file shares and their snapshots).

use serde::{Deserialize, Serialize};

use super::Extra;

/// A file share, or one of its snapshots (same id and name, `properties.snapshotTime` set).
///
/// File shares, unlike container apps, carry an `etag`: writes may send `If-Match`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileShare {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<FileShareProperties>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileShareProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub share_quota: Option<u64>,
    /// `SMB` or `NFS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled_protocols: Option<String>,
    /// Set on a snapshot only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_time: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl FileShare {
    pub fn snapshot_time(&self) -> Option<&str> {
        self.properties.as_ref()?.snapshot_time.as_deref()
    }
}
