//! Field-owned diff: only what the YAML declares is compared; quantities are normalised; lists are
//! matched by name; invariants are checked on live state.

use std::collections::BTreeMap;

use aca_model::arm::{ContainerApp, Ingress};
use aca_model::desired::ProbeSpec;
use aca_model::desired::{AppSpec, EnvValue, Reference, SecretSpec, Stack, Transport};
use aca_model::quantity::{Cpu, Memory};

use crate::digest::Digest;
use crate::drift::{ABSENT, Drift, Fix, SENSITIVE, Severity};
use crate::invariants::{self, Bindings, Breach};
use crate::layout;
use crate::observe::Observed;
use crate::resolve::Resolver;

/// The drifts of a stack, and what could not be evaluated (with why).
#[derive(Debug, Clone, Default)]
pub struct Diff {
    /// Declared fields that differ, then the invariant breaches (also in `breaches`).
    pub drifts: Vec<Drift>,
    pub problems: Vec<String>,
    /// Invariants broken in the live environment.
    pub breaches: Vec<Breach>,
}

/// [`diff_stack_with`] with no storage binding observed before.
pub fn diff_stack(stack: &Stack, observed: &Observed) -> Diff {
    diff_stack_with(stack, observed, &Bindings::new())
}

/// The declared-field drifts and the invariant breaches of the live environment.
pub fn diff_stack_with(stack: &Stack, observed: &Observed, baseline: &Bindings) -> Diff {
    let mut out = declared(stack, observed);
    out.breaches = invariants::evaluate(stack, observed, baseline);
    out.drifts.extend(out.breaches.iter().map(Breach::to_drift));
    out
}

fn declared(stack: &Stack, observed: &Observed) -> Diff {
    let mut out = Diff::default();
    if observed.environment.is_none() {
        out.drifts.push(stack_drift(
            "environment",
            &stack.environment,
            ABSENT,
            "the managed environment does not exist; nothing can be reconciled",
        ));
        return out;
    }
    for s in stack.storages.values() {
        if !observed.storages.contains_key(&s.name) {
            out.drifts.push(stack_drift(
                &format!("storages.{}", s.name),
                "present",
                ABSENT,
                "the environment storage does not exist",
            ));
        }
    }
    let resolver = Resolver {
        stack,
        default_domain: observed.default_domain(),
    };
    for spec in &stack.apps {
        let mut d = AppDiff {
            spec,
            live: observed.app(&spec.key),
            out: &mut out,
        };
        d.run(stack, observed, &resolver);
    }
    out
}

fn stack_drift(path: &str, desired: &str, live: &str, note: &str) -> Drift {
    Drift {
        app: None,
        path: path.to_string(),
        desired: desired.to_string(),
        live: live.to_string(),
        severity: Severity::Critical,
        fix: Fix::None,
        note: Some(note.to_string()),
        changed_by: None,
        changed_at: None,
        invariant: None,
    }
}

struct AppDiff<'a> {
    spec: &'a AppSpec,
    live: Option<&'a ContainerApp>,
    out: &'a mut Diff,
}

impl AppDiff<'_> {
    fn push(
        &mut self,
        path: String,
        desired: impl ToString,
        live: impl ToString,
        severity: Severity,
        fix: Fix,
        note: Option<String>,
    ) {
        let sd = self.live.and_then(|a| a.system_data.as_ref());
        let changed_by = sd.and_then(|s| {
            s.last_modified_by.clone().map(|by| match &s.last_modified_by_type {
                Some(t) => format!("{by} ({t})"),
                None => by,
            })
        });
        self.out.drifts.push(Drift {
            app: Some(self.spec.key.clone()),
            path,
            desired: desired.to_string(),
            live: live.to_string(),
            severity,
            fix,
            note,
            changed_by,
            changed_at: sd.and_then(|s| s.last_modified_at.clone()),
            invariant: None,
        });
    }

    /// Marks the drift just pushed as a breach of `invariant`.
    fn breaks(&mut self, invariant: &'static str) {
        if let Some(d) = self.out.drifts.last_mut() {
            d.invariant = Some(invariant);
        }
    }

    fn path(&self, rest: &str) -> String {
        format!("apps.{}.{rest}", self.spec.key)
    }

    fn run(&mut self, stack: &Stack, observed: &Observed, resolver: &Resolver) {
        let Some(live) = self.live else {
            let fix = if self.spec.containers.iter().any(|c| c.image.is_some()) {
                Fix::Create
            } else {
                Fix::None
            };
            let note = (fix == Fix::None).then(|| {
                "the app does not exist and the YAML declares no container image to create it with".to_string()
            });
            let path = format!("apps.{}", self.spec.key);
            self.push(path, "exists", ABSENT, Severity::Warning, fix, note);
            return;
        };
        self.scale(live);
        self.containers(live, resolver);
        self.forbidden(live);
        self.volumes(live, stack);
        self.ingress(live);
        self.secrets(live, observed.secrets.get(&self.spec.key), resolver);
    }

    fn scale(&mut self, live: &ContainerApp) {
        let (live_min, live_max) = live.effective_scale();
        let want = self.spec.desired_scale();
        let severity = if self.spec.singleton {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let note = self
            .spec
            .singleton
            .then(|| "a singleton must run exactly one replica".to_string());
        if let Some(min) = want.min
            && min != live_min
        {
            self.push(
                self.path("template.scale.minReplicas"),
                min,
                live_min,
                severity,
                Fix::Template,
                note.clone(),
            );
            if self.spec.singleton {
                self.breaks(invariants::SINGLETON);
            }
        }
        if let Some(max) = want.max
            && max != live_max
        {
            self.push(
                self.path("template.scale.maxReplicas"),
                max,
                live_max,
                severity,
                Fix::Template,
                note,
            );
            if self.spec.singleton {
                self.breaks(invariants::SINGLETON);
            }
        }
        // Owned for a singleton even though the YAML does not spell it out (absent = Single).
        let mode = live
            .configuration()
            .and_then(|c| c.active_revisions_mode.as_deref())
            .unwrap_or("Single");
        if self.spec.singleton && !mode.eq_ignore_ascii_case("single") {
            self.push(
                self.path("configuration.activeRevisionsMode"),
                "Single",
                mode,
                Severity::Critical,
                Fix::Configuration,
                Some("in Multiple mode a template change runs two revisions of the singleton at once".into()),
            );
            self.breaks(invariants::SINGLETON);
        }
    }

    fn containers(&mut self, live: &ContainerApp, resolver: &Resolver) {
        for c in &self.spec.containers {
            let base = format!("template.containers.{}", c.name);
            let Some(lc) = live.containers().iter().find(|l| l.name == c.name) else {
                self.push(
                    self.path(&base),
                    "present",
                    ABSENT,
                    Severity::Warning,
                    Fix::Template,
                    None,
                );
                continue;
            };
            if let Some(image) = &c.image
                && lc.image.as_deref() != Some(image)
            {
                self.push(
                    self.path(&format!("{base}.image")),
                    image,
                    lc.image.as_deref().unwrap_or(ABSENT),
                    Severity::Warning,
                    Fix::Template,
                    None,
                );
            }
            let resources = lc.resources.as_ref();
            if let Some(cpu) = c.cpu {
                let live_cpu = resources.and_then(|r| r.cpu).and_then(|v| Cpu::from_vcpu(v).ok());
                if live_cpu != Some(cpu) {
                    self.push(
                        self.path(&format!("{base}.resources.cpu")),
                        cpu,
                        live_cpu.map_or(ABSENT.into(), |v| v.to_string()),
                        Severity::Warning,
                        Fix::Template,
                        None,
                    );
                }
            }
            if let Some(mem) = c.memory {
                let live_mem = resources
                    .and_then(|r| r.memory.as_deref())
                    .and_then(|m| Memory::parse(m).ok());
                if live_mem != Some(mem) {
                    self.push(
                        self.path(&format!("{base}.resources.memory")),
                        mem,
                        live_mem.map_or(ABSENT.into(), |v| v.to_string()),
                        Severity::Warning,
                        Fix::Template,
                        None,
                    );
                }
            }
            if let Some(mounts) = &c.volume_mounts {
                let want: Vec<String> = mounts
                    .iter()
                    .map(|m| {
                        format!(
                            "{}:{}{}",
                            m.volume,
                            m.path,
                            m.sub_path.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
                        )
                    })
                    .collect();
                let have: Vec<String> = lc
                    .volume_mounts()
                    .iter()
                    .map(|m| {
                        format!(
                            "{}:{}{}",
                            m.volume_name,
                            m.mount_path,
                            m.sub_path.as_deref().map(|s| format!(" ({s})")).unwrap_or_default()
                        )
                    })
                    .collect();
                if sorted(want.clone()) != sorted(have.clone()) {
                    self.push(
                        self.path(&format!("{base}.volumeMounts")),
                        list(&want),
                        list(&have),
                        Severity::Warning,
                        Fix::Template,
                        None,
                    );
                }
            }
            if let Some(probes) = &c.probes {
                self.probes(&base, probes, lc);
            }
        }
        for (container, vars) in &self.spec.env {
            let base = format!("template.containers.{container}.env");
            let Some(lc) = live.containers().iter().find(|l| &l.name == container) else {
                if !self.spec.containers.iter().any(|c| &c.name == container) {
                    let note = Some(format!(
                        "container `{container}` is named in `env` but does not exist, and the YAML does not own it"
                    ));
                    self.push(
                        self.path(&format!("template.containers.{container}")),
                        "present",
                        ABSENT,
                        Severity::Warning,
                        Fix::None,
                        note,
                    );
                }
                continue;
            };
            for var in vars {
                let live_var = lc.env().iter().find(|e| e.name == var.name);
                let sensitive = matches!(&var.value, EnvValue::Literal(t) if from_environment(t));
                let (want, have) = match &var.value {
                    EnvValue::SecretRef(s) => (format!("secretRef:{s}"), live_var.map(describe_env)),
                    EnvValue::Literal(t) => match resolver.resolve(t) {
                        Ok(v) => (v, live_var.map(describe_env)),
                        Err(e) => {
                            self.out
                                .problems
                                .push(format!("apps.{}.env.{container}.{}: {e}", self.spec.key, var.name));
                            continue;
                        }
                    },
                };
                if have.as_deref() != Some(want.as_str()) {
                    // A value from `${env:...}` is as secret as a secret: neither side is shown.
                    let (want, have) = if sensitive {
                        let have = match live_var {
                            None => ABSENT.to_string(),
                            Some(l) if l.secret_ref.is_some() => describe_env(l),
                            Some(_) => "(sensitive, differs)".to_string(),
                        };
                        (SENSITIVE.to_string(), Some(have))
                    } else {
                        (want, have)
                    };
                    self.push(
                        self.path(&format!("{base}.{}", var.name)),
                        want,
                        have.unwrap_or_else(|| ABSENT.into()),
                        Severity::Warning,
                        Fix::Template,
                        None,
                    );
                }
            }
        }
    }

    /// Owned probes: the same kinds, each with the declared action and numbers (undeclared numbers
    /// are Container Apps' defaults and not compared).
    fn probes(&mut self, base: &str, want: &[ProbeSpec], lc: &aca_model::arm::Container) {
        let live = crate::patch::live_probes(lc);
        let have: Vec<String> = sorted(live.iter().map(describe_probe_json).collect());
        let matches = |p: &ProbeSpec| {
            live.iter().any(|l| {
                let mut l = l.clone();
                crate::patch::keep_declared(&mut l, p);
                l == crate::patch::probe_json(p)
            })
        };
        if want.len() != live.len() || !want.iter().all(matches) {
            let want: Vec<String> = sorted(
                want.iter()
                    .map(|p| describe_probe_json(&crate::patch::probe_json(p)))
                    .collect(),
            );
            self.push(
                self.path(&format!("{base}.probes")),
                list(&want),
                list(&have),
                Severity::Warning,
                Fix::Template,
                None,
            );
        }
    }

    fn forbidden(&mut self, live: &ContainerApp) {
        for name in &self.spec.forbid_containers {
            if live.containers().iter().any(|c| &c.name == name) {
                let note = Some(format!(
                    "container `{name}` is forbidden in this app (forbidContainers)"
                ));
                self.push(
                    self.path(&format!("template.containers.{name}")),
                    ABSENT,
                    "present",
                    Severity::Critical,
                    Fix::Template,
                    note,
                );
            }
        }
    }

    fn volumes(&mut self, live: &ContainerApp, stack: &Stack) {
        for v in &self.spec.volumes {
            let base = format!("template.volumes.{}", v.name);
            match live.volumes().iter().find(|l| l.name == v.name) {
                None => self.push(
                    self.path(&base),
                    format!("storage {}", v.storage),
                    ABSENT,
                    Severity::Warning,
                    Fix::Template,
                    None,
                ),
                Some(l) if l.storage_name.as_deref() != Some(v.storage.as_str()) => self.push(
                    self.path(&format!("{base}.storageName")),
                    &v.storage,
                    l.storage_name.as_deref().unwrap_or(ABSENT),
                    Severity::Warning,
                    Fix::Template,
                    None,
                ),
                Some(_) => {}
            }
        }
        // An exclusive storage mounted by an app that does not own it.
        for storage in layout::exclusive_storages(stack) {
            let owned_here = self.spec.storages().any(|s| s == storage);
            if !owned_here && layout::mounts(live, storage) {
                let owner = layout::owner(stack, storage)
                    .map(|o| format!("apps.{}", o.key))
                    .unwrap_or_else(|| "no app".into());
                let note = Some(format!(
                    "exclusive storage `{storage}` belongs to {owner}; two processes writing one share risk corruption"
                ));
                self.push(
                    self.path(&format!("template.volumes[storage={storage}]")),
                    ABSENT,
                    format!("mounts {storage}"),
                    Severity::Critical,
                    Fix::Template,
                    note,
                );
            }
        }
    }

    fn ingress(&mut self, live: &ContainerApp) {
        if let Some(want) = &self.spec.ingress {
            let Some(have) = live.ingress() else {
                self.push(
                    self.path("configuration.ingress"),
                    describe_ingress_spec(want),
                    ABSENT,
                    Severity::Warning,
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
                        Severity::Warning,
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
                        Severity::Warning,
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
                    Severity::Warning,
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
                    Severity::Warning,
                    Fix::Configuration,
                    None,
                );
            }
        }
    }

    fn secrets(&mut self, live: &ContainerApp, digests: Option<&BTreeMap<String, Digest>>, resolver: &Resolver) {
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
                        None if live_secret.is_none() => {
                            self.push(path, SENSITIVE, ABSENT, Severity::Warning, Fix::Configuration, None)
                        }
                        None => self.push(
                            path,
                            SENSITIVE,
                            "(a Key Vault reference)",
                            Severity::Warning,
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
                                    Severity::Critical,
                                    Some(format!("this secret should point at apps.{k}; it points elsewhere")),
                                ),
                                None => (Severity::Warning, None),
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
                            Severity::Warning,
                            Fix::Configuration,
                            None,
                        );
                    }
                }
            }
        }
    }
}

/// Whether a desired value takes anything from the operator's environment (`${env:NAME}`).
fn from_environment(t: &aca_model::desired::TemplateString) -> bool {
    t.references().any(|r| matches!(r, Reference::EnvVar(_)))
}

/// `readiness httpGet :8123/ping period 5s` and the like.
fn describe_probe_json(p: &serde_json::Value) -> String {
    let kind = p
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("?")
        .to_ascii_lowercase();
    let mut text = match (p.get("httpGet"), p.get("tcpSocket")) {
        (Some(h), _) => format!(
            "{kind} httpGet :{}{}",
            h.get("port").unwrap_or(&serde_json::Value::Null),
            h.get("path").and_then(|v| v.as_str()).unwrap_or("")
        ),
        (None, Some(t)) => format!(
            "{kind} tcpSocket :{}",
            t.get("port").unwrap_or(&serde_json::Value::Null)
        ),
        _ => kind,
    };
    for (key, label) in [
        ("initialDelaySeconds", "delay"),
        ("periodSeconds", "period"),
        ("timeoutSeconds", "timeout"),
        ("failureThreshold", "failures"),
    ] {
        if let Some(v) = p.get(key) {
            text.push_str(&format!(" {label} {v}"));
        }
    }
    text
}

fn describe_env(e: &aca_model::arm::EnvVar) -> String {
    match (&e.secret_ref, &e.value) {
        (Some(s), _) => format!("secretRef:{s}"),
        (None, Some(v)) => v.clone(),
        (None, None) => String::new(),
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

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "[]".into()
    } else {
        format!("[{}]", items.join(", "))
    }
}
