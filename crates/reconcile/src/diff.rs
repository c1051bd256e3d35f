//! Field-owned diff: only what the YAML declares is compared; quantities are normalised; lists are
//! matched by name; invariants are checked on live state.

use aca_model::arm::ContainerApp;
use aca_model::desired::{AppSpec, Reference, Stack};

use crate::drift::{ABSENT, Drift, DriftSeverity, Fix};
use crate::invariants::{self, Bindings, Breach};
use crate::observe::Observed;
use crate::resolve::Resolver;

mod configuration;
mod template;

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
        severity: DriftSeverity::Critical,
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
        severity: DriftSeverity,
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
            self.push(path, "exists", ABSENT, DriftSeverity::Warning, fix, note);
            return;
        };
        self.scale(live);
        self.containers(live, resolver);
        self.forbidden(live);
        self.volumes(live, stack);
        self.ingress(live);
        self.secrets(live, observed.secrets.get(&self.spec.key), resolver);
    }
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

/// Whether a desired value takes anything from the operator's environment (`${env:NAME}`).
fn from_environment(t: &aca_model::desired::TemplateString) -> bool {
    t.references().any(|r| matches!(r, Reference::EnvVar(_)))
}
