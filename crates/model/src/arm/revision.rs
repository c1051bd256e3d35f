//! `Microsoft.App/containerApps/revisions` (swagger `ContainerAppsRevisions.json`).

use serde::{Deserialize, Serialize};

use super::{Extra, Template};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Revision {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<RevisionProperties>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionProperties {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Number of running replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_weight: Option<u32>,
    /// `Healthy`, `Unhealthy`, `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_state: Option<String>,
    /// `Provisioning`, `Provisioned`, `Failed`, `Deprovisioning`, `Deprovisioned`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// `Running`, `Processing`, `Stopped`, `Degraded`, `Failed`, `Unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_state: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Revision {
    pub fn replicas(&self) -> u32 {
        self.properties.as_ref().and_then(|p| p.replicas).unwrap_or(0)
    }

    /// Whether replicas may be running: a revision that does not say how many replicas it has is
    /// taken as running unless it is inactive (never conclude "stopped" from a missing field).
    pub fn may_be_running(&self) -> bool {
        match self.properties.as_ref() {
            None => true,
            Some(p) => match p.replicas {
                Some(n) => n > 0,
                None => p.active != Some(false),
            },
        }
    }

    pub fn is_active(&self) -> bool {
        self.properties.as_ref().and_then(|p| p.active).unwrap_or(false)
    }

    /// Storage names the revision's template mounts through volumes.
    pub fn mounted_storages(&self) -> Vec<&str> {
        self.properties
            .as_ref()
            .and_then(|p| p.template.as_ref())
            .and_then(|t| t.volumes.as_ref())
            .map(|v| v.iter().filter_map(|v| v.storage_name.as_deref()).collect())
            .unwrap_or_default()
    }
}
