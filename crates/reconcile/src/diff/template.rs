//! The template's owned fields: scale, containers (image, resources, env, mounts, probes),
//! forbidden containers, volumes on exclusive storages.

use aca_model::arm::ContainerApp;
use aca_model::desired::{EnvValue, ProbeSpec, Stack};
use aca_model::quantity::{Cpu, Memory};

use super::{AppDiff, from_environment, list, sorted};
use crate::drift::{ABSENT, DriftSeverity, Fix, SENSITIVE};
use crate::invariants;
use crate::layout;
use crate::resolve::Resolver;

impl AppDiff<'_> {
    pub(super) fn scale(&mut self, live: &ContainerApp) {
        let (live_min, live_max) = live.effective_scale();
        let want = self.spec.desired_scale();
        let severity = if self.spec.singleton {
            DriftSeverity::Critical
        } else {
            DriftSeverity::Warning
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
                DriftSeverity::Critical,
                Fix::Configuration,
                Some("in Multiple mode a template change runs two revisions of the singleton at once".into()),
            );
            self.breaks(invariants::SINGLETON);
        }
    }

    pub(super) fn containers(&mut self, live: &ContainerApp, resolver: &Resolver) {
        for c in &self.spec.containers {
            let base = format!("template.containers.{}", c.name);
            let Some(lc) = live.containers().iter().find(|l| l.name == c.name) else {
                self.push(
                    self.path(&base),
                    "present",
                    ABSENT,
                    DriftSeverity::Warning,
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
                    DriftSeverity::Warning,
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
                        DriftSeverity::Warning,
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
                        DriftSeverity::Warning,
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
                        DriftSeverity::Warning,
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
                        DriftSeverity::Warning,
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
                        DriftSeverity::Warning,
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
                DriftSeverity::Warning,
                Fix::Template,
                None,
            );
        }
    }

    pub(super) fn forbidden(&mut self, live: &ContainerApp) {
        for name in &self.spec.forbid_containers {
            if live.containers().iter().any(|c| &c.name == name) {
                let note = Some(format!(
                    "container `{name}` is forbidden in this app (forbidContainers)"
                ));
                self.push(
                    self.path(&format!("template.containers.{name}")),
                    ABSENT,
                    "present",
                    DriftSeverity::Critical,
                    Fix::Template,
                    note,
                );
            }
        }
    }

    pub(super) fn volumes(&mut self, live: &ContainerApp, stack: &Stack) {
        for v in &self.spec.volumes {
            let base = format!("template.volumes.{}", v.name);
            match live.volumes().iter().find(|l| l.name == v.name) {
                None => self.push(
                    self.path(&base),
                    format!("storage {}", v.storage),
                    ABSENT,
                    DriftSeverity::Warning,
                    Fix::Template,
                    None,
                ),
                Some(l) if l.storage_name.as_deref() != Some(v.storage.as_str()) => self.push(
                    self.path(&format!("{base}.storageName")),
                    &v.storage,
                    l.storage_name.as_deref().unwrap_or(ABSENT),
                    DriftSeverity::Warning,
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
                    DriftSeverity::Critical,
                    Fix::Template,
                    note,
                );
            }
        }
    }
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
