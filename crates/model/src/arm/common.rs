use serde::{Deserialize, Serialize};

/// Fields a type does not model, kept verbatim for the round trip.
pub type Extra = serde_json::Map<String, serde_json::Value>;

/// ARM's `systemData`: who last created and modified a resource, and when.
///
/// The operator uses `lastModifiedAt` to detect a concurrent edit between observe and write
/// (container apps have no ETag), and `lastModifiedBy` to say who caused a drift.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_by_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified_at: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
