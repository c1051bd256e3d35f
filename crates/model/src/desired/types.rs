//! The validated desired-state types. Anything optional here is "not owned": the operator neither
//! compares nor writes it.

use std::time::Duration;

use super::name_map::NameMap;
use super::reference::TemplateString;
use super::yaml::Loc;
use crate::quantity::{Cpu, Memory};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DesiredState {
    pub stacks: Vec<Stack>,
}

impl DesiredState {
    /// Gives back, all the way down, the room left over from parsing (vectors grown by
    /// doubling): a daemon keeps every stack parsed for its whole life (decision 0036). The
    /// loader calls it.
    pub fn release_spare_capacity(&mut self) {
        self.stacks.shrink_to_fit();
        for stack in &mut self.stacks {
            stack.storages.shrink_to_fit();
            stack.apps.shrink_to_fit();
            for app in &mut stack.apps {
                app.release_spare_capacity();
            }
        }
    }

    /// The names of the operator's environment variables the state reads (`${env:NAME}`).
    pub fn env_references(&self) -> std::collections::BTreeSet<String> {
        let mut names = std::collections::BTreeSet::new();
        for app in self.stacks.iter().flat_map(|s| &s.apps) {
            for (_, template, _) in templates_of(app, "") {
                for r in template.references() {
                    if let super::Reference::EnvVar(name) = r {
                        names.insert(name.clone());
                    }
                }
            }
        }
        names
    }
}

/// A managed environment and the apps in it that the operator keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct Stack {
    pub name: String,
    pub subscription: String,
    pub resource_group: String,
    pub environment: String,
    /// Reconcile period (each pass is jittered around it).
    pub interval: Duration,
    pub mode: Mode,
    /// When drift may be corrected (invariant breaches always are); `None`: always.
    pub correction_window: Option<super::window::CorrectionWindow>,
    /// Keyed by the environment storage's name.
    pub storages: NameMap<StorageSpec>,
    /// In file order; dependencies are ordered by the planner, not by this list.
    pub apps: Vec<AppSpec>,
    /// The file the stack came from, for messages.
    pub source: String,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Correct drift and alert.
    #[default]
    Enforce,
    /// Alert only; never write.
    Observe,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Observe => "observe",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StorageSpec {
    pub name: String,
    /// Mounted by at most one running revision of one app (a database's files).
    pub exclusive: bool,
    /// Take a share snapshot before the first cutover that touches this storage.
    pub snapshot_before_migration: bool,
    /// Resource group of the storage account behind the share (for snapshots); defaults to the stack's.
    pub account_resource_group: Option<String>,
    /// Deactivate running revisions of undeclared apps that mount it (exclusive only; opt-in).
    pub stop_intruders: bool,
    /// The storage account the environment storage must point at; `None`: as first observed.
    pub account: Option<String>,
    /// The file share the environment storage must point at; `None`: as first observed.
    pub share: Option<String>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateStrategy {
    /// Container Apps' own behaviour: the old revision runs until the new one is ready.
    Rolling,
    /// Deactivate the running revision and wait for zero replicas before changing the template.
    Recreate,
}

/// One container app the stack owns (parts of it, see the field docs).
#[derive(Debug, Clone, PartialEq)]
pub struct AppSpec {
    /// The key under `apps:`; references use it (`${apps.<key>.name}`).
    pub key: String,
    /// The ARM resource name.
    pub name: String,
    /// Overrides the stack's mode.
    pub mode: Option<Mode>,
    /// Overrides the stack's correction window.
    pub correction_window: Option<super::window::CorrectionWindow>,
    /// min = max = 1, always.
    pub singleton: bool,
    pub update_strategy: UpdateStrategy,
    pub workload_profile: Option<String>,
    pub scale: Option<ScaleSpec>,
    /// Containers the YAML owns, matched by name. Others are left alone.
    pub containers: Vec<ContainerSpec>,
    /// Environment variables per container name, for containers whose other fields are not owned.
    pub env: NameMap<Vec<EnvSpec>>,
    pub volumes: Vec<VolumeSpec>,
    pub ingress: Option<IngressSpec>,
    /// `None`: not owned. `Some(vec![])`: there must be none.
    pub additional_ports: Option<Vec<PortSpec>>,
    /// Containers that must not exist in this app (e.g. a database sidecar moved to its own app).
    pub forbid_containers: Vec<String>,
    pub secrets: NameMap<SecretSpec>,
    pub loc: Loc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleSpec {
    pub min: Option<u32>,
    pub max: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerSpec {
    pub name: String,
    pub image: Option<String>,
    pub cpu: Option<Cpu>,
    pub memory: Option<Memory>,
    /// `None`: mounts not owned.
    pub volume_mounts: Option<Vec<MountSpec>>,
    /// `None`: probes not owned. `Some`: exactly these kinds, with the declared fields.
    pub probes: Option<Vec<ProbeSpec>>,
    pub loc: Loc,
}

/// A health probe of a container (Container Apps' `probes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeSpec {
    pub kind: ProbeKind,
    pub action: ProbeAction,
    /// Each `None`: not owned (Container Apps' default applies).
    pub initial_delay_seconds: Option<u32>,
    pub period_seconds: Option<u32>,
    pub timeout_seconds: Option<u32>,
    pub failure_threshold: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ProbeKind {
    Liveness,
    Readiness,
    Startup,
}

impl ProbeKind {
    /// The spelling ARM uses in `probes[].type`.
    pub fn as_arm(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "Liveness",
            ProbeKind::Readiness => "Readiness",
            ProbeKind::Startup => "Startup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "liveness" => Some(ProbeKind::Liveness),
            "readiness" => Some(ProbeKind::Readiness),
            "startup" => Some(ProbeKind::Startup),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeAction {
    Http { path: String, port: u32 },
    Tcp { port: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct MountSpec {
    pub volume: String,
    pub path: String,
    pub sub_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeSpec {
    pub name: String,
    /// The environment storage (a key of the stack's `storages`).
    pub storage: String,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvSpec {
    pub name: String,
    pub value: EnvValue,
    /// Where the value (or its `secretRef`) is written.
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EnvValue {
    Literal(TemplateString),
    SecretRef(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SecretSpec {
    /// A value (may contain `${...}` references). Never logged.
    Value(TemplateString),
    /// A Key Vault reference (Container Apps fetches the value with the given identity).
    KeyVault { url: String, identity: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Auto,
    Http,
    Http2,
    Tcp,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Auto => "auto",
            Transport::Http => "http",
            Transport::Http2 => "http2",
            Transport::Tcp => "tcp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(Transport::Auto),
            "http" => Some(Transport::Http),
            "http2" => Some(Transport::Http2),
            "tcp" => Some(Transport::Tcp),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IngressSpec {
    pub external: bool,
    pub transport: Transport,
    pub target_port: u32,
    /// TCP only.
    pub exposed_port: Option<u32>,
    pub allow_insecure: Option<bool>,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub target_port: u32,
    /// Defaults to `target_port`.
    pub exposed_port: Option<u32>,
    pub external: bool,
}

impl PortSpec {
    pub fn effective_exposed_port(&self) -> u32 {
        self.exposed_port.unwrap_or(self.target_port)
    }
}

impl AppSpec {
    /// Every field named, so that a new list is not forgotten here.
    fn release_spare_capacity(&mut self) {
        let AppSpec {
            key: _,
            name: _,
            mode: _,
            correction_window: _,
            singleton: _,
            update_strategy: _,
            workload_profile: _,
            scale: _,
            containers,
            env,
            volumes,
            ingress: _,
            additional_ports,
            forbid_containers,
            secrets,
            loc: _,
        } = self;
        containers.shrink_to_fit();
        for c in containers.iter_mut() {
            c.volume_mounts.iter_mut().for_each(Vec::shrink_to_fit);
            c.probes.iter_mut().for_each(Vec::shrink_to_fit);
        }
        env.shrink_to_fit();
        for vars in env.values_mut() {
            vars.shrink_to_fit();
        }
        volumes.shrink_to_fit();
        additional_ports.iter_mut().for_each(Vec::shrink_to_fit);
        forbid_containers.shrink_to_fit();
        secrets.shrink_to_fit();
    }

    /// `(min, max)` the YAML wants, with a singleton's implied 1/1.
    pub fn desired_scale(&self) -> ScaleSpec {
        if self.singleton {
            ScaleSpec {
                min: Some(1),
                max: Some(1),
            }
        } else {
            self.scale.unwrap_or(ScaleSpec { min: None, max: None })
        }
    }

    /// Environment storages this app's declared volumes mount.
    pub fn storages(&self) -> impl Iterator<Item = &str> {
        self.volumes.iter().map(|v| v.storage.as_str())
    }

    /// Ports on which the app accepts TCP from other apps (main TCP ingress and additional ports).
    pub fn tcp_ports(&self) -> Vec<u32> {
        let mut ports = Vec::new();
        if let Some(i) = &self.ingress
            && i.transport == Transport::Tcp
        {
            ports.push(i.exposed_port.unwrap_or(i.target_port));
        }
        if let Some(extra) = &self.additional_ports {
            ports.extend(extra.iter().map(PortSpec::effective_exposed_port));
        }
        ports
    }
}

impl Stack {
    pub fn app(&self, key: &str) -> Option<&AppSpec> {
        self.apps.iter().find(|a| a.key == key)
    }

    /// The effective mode of an app (its own, else the stack's).
    pub fn mode_of(&self, app: &AppSpec) -> Mode {
        app.mode.unwrap_or(self.mode)
    }
}

/// Every string of the app that may hold references: `(variable or secret name, template, path)`.
pub fn templates_of<'a>(app: &'a AppSpec, path: &str) -> Vec<(&'a str, &'a TemplateString, String)> {
    let mut out = Vec::new();
    for (name, spec) in &app.secrets {
        if let SecretSpec::Value(t) = spec {
            out.push((name.as_str(), t, format!("{path}.secrets.{name}")));
        }
    }
    for (container, vars) in &app.env {
        for var in vars {
            if let EnvValue::Literal(t) = &var.value {
                out.push((var.name.as_str(), t, format!("{path}.env.{container}.{}", var.name)));
            }
        }
    }
    out
}
