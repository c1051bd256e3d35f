//! A drift: one way live state differs from the desired state, with who changed it.

use std::fmt;

/// Shown instead of any secret value.
pub const SENSITIVE: &str = "(sensitive)";
/// Shown for something that does not exist.
pub const ABSENT: &str = "(absent)";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DriftSeverity {
    Warning,
    /// An invariant is broken (two replicas of a singleton, a sidecar back, a storage mounted twice).
    Critical,
}

impl DriftSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftSeverity::Warning => "warning",
            DriftSeverity::Critical => "critical",
        }
    }
}

/// What the operator can do about a drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// A PATCH of the app's template (a new revision).
    Template,
    /// A PATCH of the app's configuration (no revision).
    Configuration,
    /// Creating the app.
    Create,
    /// An action on a revision (deactivate an extra one, reactivate a stopped one): an invariant repair.
    Revision,
    /// Nothing: alert only (e.g. a container named in `env` that the YAML does not own is missing).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    /// The app's key in the YAML (`None` for stack-level drift such as a missing storage).
    pub app: Option<String>,
    /// Field path, e.g. `apps.db.template.scale.maxReplicas`.
    pub path: String,
    pub desired: String,
    pub live: String,
    pub severity: DriftSeverity,
    pub fix: Fix,
    /// Why it matters, for invariant breaches.
    pub note: Option<String>,
    /// `systemData.lastModifiedBy` (and type) of the live resource.
    pub changed_by: Option<String>,
    /// `systemData.lastModifiedAt`.
    pub changed_at: Option<String>,
    /// The safety invariant this drift breaks, by its stable name (`crate::invariants`).
    pub invariant: Option<&'static str>,
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} (desired {})", self.path, self.live, self.desired)?;
        if let Some(by) = &self.changed_by {
            write!(f, ", changed by {by}")?;
            if let Some(at) = &self.changed_at {
                write!(f, " at {at}")?;
            }
        }
        Ok(())
    }
}
