//! A preflight finding: what a check found, how bad, the remedy and its sources. Its own module so
//! the generic preflight and the playbooks both use it without importing each other.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Info,
    Warning,
    /// Blocks corrections of the stack.
    Error,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    /// A stable id, e.g. `migration-needs-native-protocol`.
    pub check: &'static str,
    pub what: String,
    pub remedy: String,
    pub sources: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}. Remedy: {}", self.check, self.what, self.remedy)?;
        if !self.sources.is_empty() {
            write!(f, " (sources: {})", self.sources)?;
        }
        Ok(())
    }
}
