//! Problems found in a desired-state file, each with its place: `file:line:column`, field path, hint.

use std::fmt;

use super::yaml::Loc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file as the user named it.
    pub file: String,
    pub loc: Loc,
    /// Field path in the document, e.g. `stacks[0].apps.db.scale.max`.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}:{}: {sev}: ", self.file, self.loc)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        write!(f, "{}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Collects diagnostics for one file.
#[derive(Debug)]
pub(crate) struct Diagnostics {
    file: String,
    pub(crate) items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub(crate) fn new(file: &str) -> Self {
        Diagnostics {
            file: file.to_string(),
            items: Vec::new(),
        }
    }

    pub(crate) fn error(&mut self, loc: Loc, path: &str, message: impl Into<String>, hint: Option<String>) {
        self.push(Severity::Error, loc, path, message.into(), hint);
    }

    pub(crate) fn warning(&mut self, loc: Loc, path: &str, message: impl Into<String>, hint: Option<String>) {
        self.push(Severity::Warning, loc, path, message.into(), hint);
    }

    fn push(&mut self, severity: Severity, loc: Loc, path: &str, message: String, hint: Option<String>) {
        self.items.push(Diagnostic {
            severity,
            file: self.file.clone(),
            loc,
            path: path.to_string(),
            message,
            hint,
        });
    }

    pub(crate) fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.severity == Severity::Error).count()
    }
}

/// "Did you mean": the closest candidate within a small edit distance, if any.
pub(crate) fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            let cl = c.to_ascii_lowercase();
            // A word sharing a long prefix with a candidate (`enforcing` for `enforce`) is close too.
            let prefix = lower.chars().zip(cl.chars()).take_while(|(a, b)| a == b).count();
            let d = if prefix >= cl.len().min(5) {
                1
            } else {
                edit_distance(&lower, &cl)
            };
            (d, c)
        })
        .filter(|(d, c)| *d <= (c.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance; names here are short, so the quadratic table is fine.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let keys = ["scale", "singleton", "secrets", "containers"];
        assert_eq!(suggest("scael", keys), Some("scale"));
        assert_eq!(suggest("Secret", keys), Some("secrets"));
        assert_eq!(suggest("container", keys), Some("containers"));
        assert_eq!(suggest("zzzzzz", keys), None);
        assert_eq!(suggest("enforcing", ["enforce", "observe"]), Some("enforce"));
    }
}
