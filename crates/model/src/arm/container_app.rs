//! `Microsoft.App/containerApps` (swagger `ContainerApps.json` + `CommonDefinitions.json`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Extra, SystemData};

/// A container app as ARM returns it, and as the operator sends it (PUT or partial PATCH).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerApp {
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
    pub properties: Option<ContainerAppProperties>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerAppProperties {
    /// `InProgress`, `Succeeded`, `Failed`, `Canceled`, `Deleting` (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_state: Option<String>,
    /// `Progressing`, `Running`, `Stopped`, `Suspended`, `Ready` (read-only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed_environment_id: Option<String>,
    /// Legacy alias of `managedEnvironmentId`; ARM accepts it on input and answers with the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload_profile_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ready_revision_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_revision_fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets: Option<Vec<Secret>>,
    /// `Single`, `Multiple` or `Labels`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_revisions_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<Ingress>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A secret of the app. `value` is never returned by GET; only `listSecrets` returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_vault_url: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The answer of `POST .../listSecrets`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SecretsCollection {
    #[serde(default)]
    pub value: Vec<Secret>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ingress {
    /// Read-only: `<app>.<defaultDomain>` (external) or `<app>.internal.<defaultDomain>` (internal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_port: Option<u32>,
    /// TCP ingress only: the port other apps connect to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_port: Option<u32>,
    /// `auto` (default), `http`, `http2` or `tcp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_insecure: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub additional_port_mappings: Option<Vec<IngressPortMapping>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An additional (TCP) port of the app's ingress.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressPortMapping {
    #[serde(default)]
    pub external: bool,
    #[serde(default)]
    pub target_port: u32,
    /// Defaults to `targetPort` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_port: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Template {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_suffix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub containers: Option<Vec<Container>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Scale>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes: Option<Vec<Volume>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Vec<EnvVar>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ContainerResources>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// An environment variable: a literal `value` or a `secretRef` to one of the app's secrets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerResources {
    /// vCPU, e.g. `0.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<f64>,
    /// e.g. `"1Gi"` or `"1.5Gi"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Scale {
    /// Server default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas: Option<u32>,
    /// Server default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_replicas: Option<u32>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(default)]
    pub name: String,
    /// `AzureFile`, `EmptyDir`, `Secret`, `NfsAzureFile`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_type: Option<String>,
    /// Name of a `managedEnvironments/storages` resource of the app's environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_name: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    #[serde(default)]
    pub volume_name: String,
    #[serde(default)]
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ContainerApp {
    pub fn properties(&self) -> Option<&ContainerAppProperties> {
        self.properties.as_ref()
    }

    pub fn template(&self) -> Option<&Template> {
        self.properties.as_ref()?.template.as_ref()
    }

    pub fn configuration(&self) -> Option<&Configuration> {
        self.properties.as_ref()?.configuration.as_ref()
    }

    pub fn ingress(&self) -> Option<&Ingress> {
        self.configuration()?.ingress.as_ref()
    }

    pub fn containers(&self) -> &[Container] {
        self.template().and_then(|t| t.containers.as_deref()).unwrap_or(&[])
    }

    pub fn volumes(&self) -> &[Volume] {
        self.template().and_then(|t| t.volumes.as_deref()).unwrap_or(&[])
    }

    pub fn secrets(&self) -> &[Secret] {
        self.configuration().and_then(|c| c.secrets.as_deref()).unwrap_or(&[])
    }

    /// The environment id, whichever of the two property names carries it.
    pub fn environment_id(&self) -> Option<&str> {
        let p = self.properties.as_ref()?;
        p.managed_environment_id.as_deref().or(p.environment_id.as_deref())
    }

    pub fn provisioning_state(&self) -> Option<&str> {
        self.properties.as_ref()?.provisioning_state.as_deref()
    }

    /// `(min, max)` replicas with the server defaults (0 and 10) filled in.
    pub fn effective_scale(&self) -> (u32, u32) {
        let scale = self.template().and_then(|t| t.scale.as_ref());
        (
            scale.and_then(|s| s.min_replicas).unwrap_or(0),
            scale.and_then(|s| s.max_replicas).unwrap_or(10),
        )
    }
}

impl Container {
    pub fn env(&self) -> &[EnvVar] {
        self.env.as_deref().unwrap_or(&[])
    }

    pub fn volume_mounts(&self) -> &[VolumeMount] {
        self.volume_mounts.as_deref().unwrap_or(&[])
    }
}
