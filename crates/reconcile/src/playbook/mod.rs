//! Playbooks: what the operator knows about particular software (which image is what, which
//! settings must agree across apps, which versions work together). The generic core (stacks, apps,
//! storages, invariants, diff, plan, execute) calls them through [`Playbook`] and knows no product.

mod langfuse;

pub use langfuse::{DEFAULT_REVISION_START, Estimate, ExpectedOutage, OutageClock, OutageWindow, expected_outage};

use aca_model::desired::{AppSpec, Diagnostic, EnvValue, SecretSpec, Stack, StackRules};

use crate::digest::Digest;
use crate::finding::Finding;
use crate::observe::Observed;
use crate::resolve::Resolver;

/// Knowledge about one piece of software, asked by the generic core.
pub trait Playbook: Sync {
    /// Errors decidable from the desired-state file alone, for the loader.
    fn validate(&self, stack: &Stack, index: usize) -> Vec<Diagnostic>;

    /// Preflight findings for a stack, from its desired and live state.
    fn preflight(&self, cx: &Context<'_>) -> Vec<Finding>;
}

/// The playbooks the operator applies to every stack.
pub fn all() -> &'static [&'static dyn Playbook] {
    &[&langfuse::Langfuse]
}

/// The playbooks' file rules, to give the loader (`load_paths_with(.., &[&Rules])`).
pub struct Rules;

impl StackRules for Rules {
    fn check(&self, stack: &Stack, index: usize) -> Vec<Diagnostic> {
        all().iter().flat_map(|p| p.validate(stack, index)).collect()
    }
}

/// What a playbook may look at.
pub struct Context<'a> {
    pub stack: &'a Stack,
    pub observed: &'a Observed,
    pub resolver: Resolver<'a>,
}

/// A container of a declared app as it will be after apply: declared fields first, else live.
#[derive(Debug, Clone, Copy)]
pub struct ContainerRef<'a> {
    pub app: &'a AppSpec,
    pub name: &'a str,
}

/// The value a variable will have: a literal, or a secret known by what identifies its value.
#[derive(Clone)]
pub enum VarValue {
    Literal(String),
    Secret { name: String, value: SecretValue },
}

/// What is known of a secret's value without keeping it around longer than needed.
#[derive(Clone)]
pub enum SecretValue {
    /// Declared in the YAML: its text (equal texts carry equal values) and, if it resolves, the value.
    Declared {
        raw: String,
        resolved: Option<String>,
    },
    KeyVault {
        url: String,
    },
    /// Read from the live app with `listSecrets`.
    Live(Digest),
    /// Not declared and its value not read.
    Unknown,
}

impl VarValue {
    /// The text for a message and for rules on URLs; a secret shows its resolved declared value
    /// only when one exists (callers must not use this for credentials).
    pub fn text(&self) -> String {
        match self {
            VarValue::Literal(v) => v.clone(),
            VarValue::Secret {
                value: SecretValue::Declared { resolved: Some(v), .. },
                ..
            } => v.clone(),
            VarValue::Secret { name, .. } => format!("(secret {name})"),
        }
    }

    fn digest(&self) -> Option<Digest> {
        match self {
            VarValue::Literal(v) => Some(Digest::of(v)),
            VarValue::Secret { value, .. } => match value {
                SecretValue::Declared { resolved: Some(v), .. } => Some(Digest::of(v)),
                SecretValue::Live(d) => Some(*d),
                _ => None,
            },
        }
    }

    /// Whether two variables carry the same value: by reference (the same declared text or Key
    /// Vault secret) or by digest; `None` when it cannot be told.
    pub fn same_value(&self, other: &VarValue) -> Option<bool> {
        use SecretValue::{Declared, KeyVault};
        if let (VarValue::Secret { value: a, .. }, VarValue::Secret { value: b, .. }) = (self, other) {
            match (a, b) {
                (Declared { raw: x, .. }, Declared { raw: y, .. }) if x == y => return Some(true),
                (KeyVault { url: x }, KeyVault { url: y }) if x == y => return Some(true),
                _ => {}
            }
        }
        Some(self.digest()? == other.digest()?)
    }
}

impl Context<'_> {
    /// Names of the containers an app will have (live and declared), without forbidden ones.
    pub fn containers<'a>(&'a self, app: &'a AppSpec) -> Vec<ContainerRef<'a>> {
        let mut names: Vec<&'a str> = self
            .observed
            .app(&app.key)
            .map(|a| a.containers().iter().map(|c| c.name.as_str()).collect())
            .unwrap_or_default();
        for c in app.env.keys().chain(app.containers.iter().map(|c| &c.name)) {
            if !names.contains(&c.as_str()) {
                names.push(c);
            }
        }
        names.retain(|n| !app.forbid_containers.iter().any(|f| f == n));
        names.into_iter().map(|name| ContainerRef { app, name }).collect()
    }

    /// The image a container will run: declared, else live.
    pub fn image(&self, c: ContainerRef<'_>) -> Option<String> {
        if let Some(i) = c
            .app
            .containers
            .iter()
            .find(|s| s.name == c.name)
            .and_then(|s| s.image.clone())
        {
            return Some(i);
        }
        self.live_container(c)?.image.clone()
    }

    /// The image the container runs today, if the app exists.
    pub fn live_image(&self, c: ContainerRef<'_>) -> Option<String> {
        self.live_container(c)?.image.clone()
    }

    pub fn live_container(&self, c: ContainerRef<'_>) -> Option<&aca_model::arm::Container> {
        self.observed
            .app(&c.app.key)?
            .containers()
            .iter()
            .find(|l| l.name == c.name)
    }

    /// The value a container's variable will have after apply: declared first, else live.
    pub fn var(&self, c: ContainerRef<'_>, name: &str) -> Option<VarValue> {
        if let Some(v) = c.app.env.get(c.name).and_then(|vs| vs.iter().find(|v| v.name == name)) {
            return Some(match &v.value {
                EnvValue::Literal(t) => VarValue::Literal(self.resolver.resolve(t).unwrap_or_else(|_| t.raw.clone())),
                EnvValue::SecretRef(s) => self.secret(c.app, s),
            });
        }
        let e = self.live_container(c)?.env().iter().find(|e| e.name == name)?;
        match (&e.value, &e.secret_ref) {
            (Some(v), _) => Some(VarValue::Literal(v.clone())),
            (None, Some(s)) => Some(self.secret(c.app, s)),
            _ => None,
        }
    }

    /// A literal variable's value (a secret's text for URL rules), as [`VarValue::text`].
    pub fn var_text(&self, c: ContainerRef<'_>, name: &str) -> Option<String> {
        self.var(c, name).map(|v| v.text())
    }

    /// Mount paths of a container after apply: declared if the YAML owns them, else live.
    pub fn mount_paths(&self, c: ContainerRef<'_>) -> Vec<String> {
        if let Some(mounts) = c
            .app
            .containers
            .iter()
            .find(|s| s.name == c.name)
            .and_then(|s| s.volume_mounts.as_ref())
        {
            return mounts.iter().map(|m| m.path.clone()).collect();
        }
        self.live_container(c)
            .map(|l| l.volume_mounts().iter().map(|m| m.mount_path.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether a container will have a probe of `kind` (`Liveness`, `Readiness`, `Startup`):
    /// declared if the YAML owns its probes, else live.
    pub fn has_probe(&self, c: ContainerRef<'_>, kind: &str) -> bool {
        if let Some(probes) = c
            .app
            .containers
            .iter()
            .find(|s| s.name == c.name)
            .and_then(|s| s.probes.as_ref())
        {
            return probes.iter().any(|p| p.kind.as_arm().eq_ignore_ascii_case(kind));
        }
        self.live_container(c)
            .and_then(|l| l.extra.get("probes"))
            .and_then(|p| p.as_array())
            .is_some_and(|ps| {
                ps.iter().any(|p| {
                    p.get("type")
                        .and_then(|t| t.as_str())
                        .is_some_and(|t| t.eq_ignore_ascii_case(kind))
                })
            })
    }

    fn secret(&self, app: &AppSpec, name: &str) -> VarValue {
        let value = match app.secrets.get(name) {
            Some(SecretSpec::Value(t)) => SecretValue::Declared {
                raw: t.raw.clone(),
                resolved: self.resolver.resolve(t).ok(),
            },
            Some(SecretSpec::KeyVault { url, .. }) => SecretValue::KeyVault { url: url.clone() },
            None => match self.observed.secrets.get(&app.key).and_then(|s| s.get(name)) {
                Some(d) => SecretValue::Live(*d),
                None => SecretValue::Unknown,
            },
        };
        VarValue::Secret {
            name: name.to_string(),
            value,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(raw: &str, resolved: Option<&str>) -> VarValue {
        VarValue::Secret {
            name: "s".into(),
            value: SecretValue::Declared {
                raw: raw.into(),
                resolved: resolved.map(str::to_string),
            },
        }
    }

    #[test]
    fn values_compare_by_reference_or_digest() {
        let env_ref = declared("${env:PW}", None);
        assert_eq!(
            env_ref.same_value(&declared("${env:PW}", None)),
            Some(true),
            "same text"
        );
        assert_eq!(env_ref.same_value(&declared("${env:OTHER}", None)), None, "unresolved");
        let live = VarValue::Secret {
            name: "x".into(),
            value: SecretValue::Live(Digest::of("pw")),
        };
        assert_eq!(live.same_value(&declared("${env:PW}", Some("pw"))), Some(true));
        assert_eq!(live.same_value(&declared("${env:PW}", Some("other"))), Some(false));
        assert_eq!(live.same_value(&VarValue::Literal("pw".into())), Some(true));
        let kv = |u: &str| VarValue::Secret {
            name: "k".into(),
            value: SecretValue::KeyVault { url: u.into() },
        };
        assert_eq!(
            kv("https://v/secrets/a").same_value(&kv("https://v/secrets/a")),
            Some(true)
        );
        assert_eq!(kv("https://v/secrets/a").same_value(&kv("https://v/secrets/b")), None);
        let unknown = VarValue::Secret {
            name: "u".into(),
            value: SecretValue::Unknown,
        };
        assert_eq!(unknown.same_value(&live), None);
        assert_eq!(
            unknown.text(),
            "(secret u)",
            "a secret's value is never its text unless declared"
        );
    }
}
