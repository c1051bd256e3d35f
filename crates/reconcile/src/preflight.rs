//! Preflight: the migration plan's Phase 1 as checks answered from facts (`shared/FACTS.md`), on the
//! desired state and the live environment. `plan` shows them; `apply` and `run` do not correct a
//! stack while an error stands. Each finding says what breaks and the remedy.

use aca_model::arm::StorageKind;
use aca_model::desired::{AppSpec, Stack, Transport};

pub use crate::finding::{Finding, Level};
use crate::image::ImageRef;
use crate::observe::Observed;
use crate::playbook::{self, Context};
use crate::resolve::Resolver;

const SRC_STORAGE: &str = "learn.microsoft.com container-apps storage-mounts";
const SRC_TCP: &str = "learn.microsoft.com container-apps ingress-overview, ingress-how-to; ARM error ContainerAppTcpRequiresVnet; Azure/azure-dev#3428; microsoft/azure-container-apps#540";

pub fn preflight(stack: &Stack, observed: &Observed) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(env) = &observed.environment else {
        out.push(Finding {
            level: Level::Error,
            check: "environment-exists",
            what: format!(
                "the managed environment `{}` does not exist in {}",
                stack.environment, stack.resource_group
            ),
            remedy: "create it (Terraform azurerm_container_app_environment) or fix `environment`".into(),
            sources: "",
        });
        return out;
    };
    let vnet = env.has_custom_vnet();
    for s in stack.storages.values() {
        match observed.storages.get(&s.name) {
            None => out.push(Finding {
                level: Level::Error,
                check: "storage-exists",
                what: format!("the environment has no storage `{}`", s.name),
                remedy: "register the Azure Files share in the environment (azurerm_container_app_environment_storage)"
                    .into(),
                sources: "",
            }),
            Some(live) if live.kind() == Some(StorageKind::NfsAzureFile) && !vnet => out.push(Finding {
                level: Level::Error,
                check: "nfs-needs-vnet",
                what: format!("storage `{}` is NFS but the environment has no custom VNet", s.name),
                remedy: "use a custom-VNet environment for NFS Azure Files".into(),
                sources: SRC_STORAGE,
            }),
            Some(_) => {}
        }
    }
    for app in &stack.apps {
        tcp_checks(app, vnet, observed, &mut out);
        floating_tag(app, &mut out);
    }
    let cx = Context {
        stack,
        observed,
        resolver: Resolver {
            stack,
            default_domain: observed.default_domain(),
        },
    };
    for p in playbook::all() {
        out.extend(p.preflight(&cx));
    }
    out
}

/// A singleton keeps state; a floating tag lets any restart start another release on that state.
fn floating_tag(app: &AppSpec, out: &mut Vec<Finding>) {
    if !app.singleton {
        return;
    }
    for c in &app.containers {
        let Some(image) = c.image.as_deref() else { continue };
        if ImageRef::parse(image).is_floating() {
            out.push(Finding {
                level: Level::Warning,
                check: "floating-tag",
                what: format!(
                    "apps.{}: container `{}` runs {image}, a floating tag: a new revision or a replica restart can start another release (even a new major) on the same data",
                    app.key, c.name
                ),
                remedy: "pin a version tag (or a digest)".into(),
                sources: "docs.docker.com: tags are mutable; shared/FACTS.md (Versions)",
            });
        }
    }
}

fn tcp_checks(app: &AppSpec, vnet: bool, observed: &Observed, out: &mut Vec<Finding>) {
    let external_tcp = app
        .ingress
        .as_ref()
        .is_some_and(|i| i.transport == Transport::Tcp && i.external)
        || app.additional_ports.iter().flatten().any(|p| p.external);
    if external_tcp && !vnet {
        out.push(Finding {
            level: Level::Error,
            check: "external-tcp-needs-vnet",
            what: format!(
                "apps.{} asks for external TCP, which needs a custom-VNet environment",
                app.key
            ),
            remedy: "keep the port internal (`external: false`) or use a custom-VNet environment".into(),
            sources: SRC_TCP,
        });
    }
    if !app.tcp_ports().is_empty() {
        if !vnet {
            out.push(Finding {
                level: Level::Info,
                check: "internal-tcp-without-vnet",
                what: format!(
                    "apps.{} exposes internal TCP port(s) {:?} in an environment without a custom VNet; only external TCP needs a custom VNet, so this is expected to work, but it is not verified here",
                    app.key,
                    app.tcp_ports()
                ),
                remedy: "after the change, check from a client app that the TCP port connects (e.g. its logs of the first connection)".into(),
                sources: SRC_TCP,
            });
        }
        let live_min = observed.app(&app.key).map(|a| a.effective_scale().0);
        if app.desired_scale().min.is_none() && live_min == Some(0) {
            out.push(Finding {
                level: Level::Warning,
                check: "tcp-scaled-to-zero",
                what: format!(
                    "apps.{} has TCP ports and may scale to zero; TCP traffic does not wake it",
                    app.key
                ),
                remedy: "declare scale.min: 1".into(),
                sources: SRC_TCP,
            });
        }
    }
}
