//! The configuration's owned fields: ingress (with additional ports) and secrets.

use std::collections::BTreeMap;

use aca_model::arm::{ContainerApp, Ingress};
use aca_model::desired::{Reference, SecretSpec, Transport};

use super::{AppDiff, list, sorted};
use crate::digest::Digest;
use crate::drift::{ABSENT, DriftSeverity, Fix, SENSITIVE};
use crate::resolve::Resolver;

impl AppDiff<'_> {
    pub(super) fn ingress(&mut self, live: &ContainerApp) {
        if let Some(want) = &self.spec.ingress {
            let Some(have) = live.ingress() else {
                self.push(
                    self.path("configuration.ingress"),
                    describe_ingress_spec(want),
                    ABSENT,
                    DriftSeverity::Warning,
                    Fix::Configuration,
                    None,
                );
                return;
            };
            let live_transport = have
                .transport
                .as_deref()
                .and_then(Transport::parse)
                .unwrap_or(Transport::Auto);
            let fields: [(&str, String, String); 3] = [
                (
                    "external",
                    want.external.to_string(),
                    have.external.unwrap_or(false).to_string(),
                ),
                (
                    "transport",
                    want.transport.as_str().into(),
                    live_transport.as_str().into(),
                ),
                (
                    "targetPort",
                    want.target_port.to_string(),
                    have.target_port.map_or(ABSENT.into(), |p| p.to_string()),
                ),
            ];
            for (field, w, h) in fields {
                if w != h {
                    self.push(
                        self.path(&format!("configuration.ingress.{field}")),
                        w,
                        h,
                        DriftSeverity::Warning,
                        Fix::Configuration,
                        None,
                    );
                }
            }
            if want.transport == Transport::Tcp {
                let w = want.exposed_port.unwrap_or(want.target_port);
                let h = have.exposed_port.or(have.target_port);
                if Some(w) != h {
                    self.push(
                        self.path("configuration.ingress.exposedPort"),
                        w,
                        h.map_or(ABSENT.into(), |p| p.to_string()),
                        DriftSeverity::Warning,
                        Fix::Configuration,
                        None,
                    );
                }
            }
            if let Some(w) = want.allow_insecure
                && have.allow_insecure.unwrap_or(false) != w
            {
                self.push(
                    self.path("configuration.ingress.allowInsecure"),
                    w,
                    have.allow_insecure.unwrap_or(false),
                    DriftSeverity::Warning,
                    Fix::Configuration,
                    None,
                );
            }
        }
        if let Some(ports) = &self.spec.additional_ports {
            let want: Vec<String> = sorted(
                ports
                    .iter()
                    .map(|p| port_text(p.target_port, p.effective_exposed_port(), p.external))
                    .collect(),
            );
            let have: Vec<String> = sorted(live_ports(live.ingress()));
            if want != have {
                self.push(
                    self.path("configuration.ingress.additionalPortMappings"),
                    list(&want),
                    list(&have),
                    DriftSeverity::Warning,
                    Fix::Configuration,
                    None,
                );
            }
        }
    }

    pub(super) fn secrets(
        &mut self,
        live: &ContainerApp,
        digests: Option<&BTreeMap<String, Digest>>,
        resolver: &Resolver,
    ) {
        for (name, spec) in &self.spec.secrets {
            let path = self.path(&format!("configuration.secrets.{name}"));
            let live_secret = live.secrets().iter().find(|s| &s.name == name);
            match spec {
                SecretSpec::Value(t) => {
                    let want = match resolver.resolve(t) {
                        Ok(v) => Digest::of(&v),
                        Err(e) => {
                            self.out
                                .problems
                                .push(format!("apps.{}.secrets.{name}: {e}", self.spec.key));
                            continue;
                        }
                    };
                    match digests.and_then(|d| d.get(name)) {
                        None if live_secret.is_none() => self.push(
                            path,
                            SENSITIVE,
                            ABSENT,
                            DriftSeverity::Warning,
                            Fix::Configuration,
                            None,
                        ),
                        None => self.push(
                            path,
                            SENSITIVE,
                            "(a Key Vault reference)",
                            DriftSeverity::Warning,
                            Fix::Configuration,
                            None,
                        ),
                        Some(have) if *have != want => {
                            // A secret that wires this app to another (`${apps.X...}`, e.g. a
                            // database URL) pointing elsewhere breaks the layout.
                            let wiring = t.references().find_map(|r| match r {
                                Reference::AppName(k) | Reference::AppFqdn(k) => Some(k.clone()),
                                _ => None,
                            });
                            let (severity, note) = match wiring {
                                Some(k) => (
                                    DriftSeverity::Critical,
                                    Some(format!("this secret should point at apps.{k}; it points elsewhere")),
                                ),
                                None => (DriftSeverity::Warning, None),
                            };
                            self.push(
                                path,
                                SENSITIVE,
                                "(sensitive, differs)",
                                severity,
                                Fix::Configuration,
                                note,
                            )
                        }
                        Some(_) => {}
                    }
                }
                SecretSpec::KeyVault { url, identity } => {
                    let have = live_secret.map(|s| {
                        (
                            s.key_vault_url.clone().unwrap_or_default(),
                            s.identity.clone().unwrap_or_default(),
                        )
                    });
                    if have.as_ref() != Some(&(url.clone(), identity.clone())) {
                        let live_text = have.map_or(ABSENT.to_string(), |(u, i)| {
                            if u.is_empty() {
                                "(a value)".into()
                            } else {
                                format!("{u} as {i}")
                            }
                        });
                        self.push(
                            path,
                            format!("{url} as {identity}"),
                            live_text,
                            DriftSeverity::Warning,
                            Fix::Configuration,
                            None,
                        );
                    }
                }
            }
        }
    }
}

fn describe_ingress_spec(i: &aca_model::desired::IngressSpec) -> String {
    format!(
        "{} {} ingress on {}",
        if i.external { "external" } else { "internal" },
        i.transport.as_str(),
        i.target_port
    )
}

fn port_text(target: u32, exposed: u32, external: bool) -> String {
    format!("{target}->{exposed}{}", if external { " external" } else { "" })
}

fn live_ports(ingress: Option<&Ingress>) -> Vec<String> {
    ingress
        .and_then(|i| i.additional_port_mappings.as_ref())
        .map(|ms| {
            ms.iter()
                .map(|m| port_text(m.target_port, m.exposed_port.unwrap_or(m.target_port), m.external))
                .collect()
        })
        .unwrap_or_default()
}
