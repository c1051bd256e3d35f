//! Turns `${...}` references into values: from the desired state (app names) and live state (the
//! environment's default domain gives an app's FQDN even before the app exists).

use aca_model::desired::{Reference, Stack, TemplateString};

/// Resolves references for one stack.
#[derive(Debug, Clone)]
pub struct Resolver<'a> {
    pub stack: &'a Stack,
    /// The environment's `defaultDomain`, once observed.
    pub default_domain: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot resolve {reference}: {why}")]
pub struct ResolveError {
    pub reference: String,
    pub why: String,
}

impl Resolver<'_> {
    pub fn resolve(&self, t: &TemplateString) -> Result<String, ResolveError> {
        let mut why = String::new();
        t.resolve(|r| {
            let v = self.lookup(r);
            if let Err(w) = &v {
                why = w.clone();
            }
            v.ok()
        })
        .map_err(|r| ResolveError {
            reference: r.to_string(),
            why,
        })
    }

    fn lookup(&self, r: &Reference) -> Result<String, String> {
        match r {
            Reference::AppName(key) => self
                .stack
                .app(key)
                .map(|a| a.name.clone())
                .ok_or_else(|| format!("no app `{key}`")),
            Reference::AppFqdn(key) => {
                let app = self.stack.app(key).ok_or_else(|| format!("no app `{key}`"))?;
                let domain = self
                    .default_domain
                    .as_deref()
                    .ok_or("the environment's default domain is not known yet")?;
                let external = app.ingress.as_ref().is_some_and(|i| i.external);
                Ok(if external {
                    format!("{}.{domain}", app.name)
                } else {
                    format!("{}.internal.{domain}", app.name)
                })
            }
            Reference::EnvironmentDefaultDomain => self
                .default_domain
                .clone()
                .ok_or_else(|| "the environment's default domain is not known yet".to_string()),
            Reference::EnvVar(name) => {
                std::env::var(name).map_err(|_| format!("the environment variable {name} is not set"))
            }
        }
    }
}
