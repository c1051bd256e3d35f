//! `${...}` references inside desired-state strings.
//!
//! Supported forms:
//! - `${apps.<key>.name}`: the ARM name of the app declared under `apps.<key>`;
//! - `${apps.<key>.fqdn}`: its ingress FQDN, `<name>.internal.<defaultDomain>` for internal ingress
//!   (`<name>.<defaultDomain>` for external), known from the environment before the app exists;
//! - `${environment.defaultDomain}`: the environment's default domain;
//! - `${env:NAME}`: the operator process's environment variable `NAME` (keeps secrets out of the YAML).
//!
//! `$$` writes a literal `$`.

use std::fmt;

use super::yaml::Loc;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    AppName(String),
    AppFqdn(String),
    EnvironmentDefaultDomain,
    EnvVar(String),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::AppName(k) => write!(f, "${{apps.{k}.name}}"),
            Reference::AppFqdn(k) => write!(f, "${{apps.{k}.fqdn}}"),
            Reference::EnvironmentDefaultDomain => f.write_str("${environment.defaultDomain}"),
            Reference::EnvVar(n) => write!(f, "${{env:{n}}}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Text(String),
    Ref(Reference),
}

/// A string from the YAML with its references parsed, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateString {
    pub raw: String,
    /// Text and references in order; empty when `raw` is all plain text (most values: the daemon
    /// keeps one copy of them, not two).
    pub segments: Vec<Segment>,
    pub loc: Loc,
}

impl TemplateString {
    /// A string with no references.
    pub fn literal(text: &str) -> Self {
        TemplateString {
            raw: text.to_string(),
            segments: Vec::new(),
            loc: Loc::default(),
        }
    }

    pub fn references(&self) -> impl Iterator<Item = &Reference> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Ref(r) => Some(r),
            Segment::Text(_) => None,
        })
    }

    /// Substitutes every reference with `lookup`'s answer; the first unresolved one is the error.
    pub fn resolve(&self, mut lookup: impl FnMut(&Reference) -> Option<String>) -> Result<String, Reference> {
        if self.segments.is_empty() {
            return Ok(self.raw.clone());
        }
        let mut out = String::new();
        for s in &self.segments {
            match s {
                Segment::Text(t) => out.push_str(t),
                Segment::Ref(r) => out.push_str(&lookup(r).ok_or_else(|| r.clone())?),
            }
        }
        Ok(out)
    }
}

/// Parses `${...}` references; the error says what is wrong, for a diagnostic at the string.
pub fn parse_template(raw: &str, loc: Loc) -> Result<TemplateString, String> {
    let mut segments = Vec::new();
    let mut text = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('$') {
        text.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(r) = after.strip_prefix('$') {
            text.push('$');
            rest = r;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed reference `${{{body}`: add the closing `}}`"))?;
            if !text.is_empty() {
                segments.push(Segment::Text(std::mem::take(&mut text)));
            }
            segments.push(Segment::Ref(parse_reference(&body[..end])?));
            rest = &body[end + 1..];
        } else {
            text.push('$');
            rest = after;
        }
    }
    text.push_str(rest);
    if segments.is_empty() && text == raw {
        return Ok(TemplateString {
            raw: text,
            segments,
            loc,
        });
    }
    if !text.is_empty() || segments.is_empty() {
        segments.push(Segment::Text(text));
    }
    // Kept for the daemon's life: no room left over from growing.
    segments.shrink_to_fit();
    Ok(TemplateString {
        raw: raw.to_string(),
        segments,
        loc,
    })
}

fn parse_reference(body: &str) -> Result<Reference, String> {
    let body = body.trim();
    if let Some(name) = body.strip_prefix("env:") {
        let valid = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        return if valid {
            Ok(Reference::EnvVar(name.to_string()))
        } else {
            Err(format!(
                "`${{{body}}}`: an environment variable name has only letters, digits and `_`"
            ))
        };
    }
    let parts: Vec<&str> = body.split('.').collect();
    match parts.as_slice() {
        ["apps", key, "name"] => Ok(Reference::AppName(key.to_string())),
        ["apps", key, "fqdn"] => Ok(Reference::AppFqdn(key.to_string())),
        ["apps", _, attr] => Err(format!("`${{{body}}}`: an app has `name` and `fqdn`, not `{attr}`")),
        ["environment", "defaultDomain"] => Ok(Reference::EnvironmentDefaultDomain),
        _ => Err(format!(
            "`${{{body}}}` is not a known reference; use ${{apps.<key>.name}}, ${{apps.<key>.fqdn}}, \
             ${{environment.defaultDomain}} or ${{env:NAME}}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves() {
        let t = parse_template("tcp://${apps.db.name}:9000/$${x}", Loc::default()).unwrap();
        assert_eq!(
            t.references().collect::<Vec<_>>(),
            vec![&Reference::AppName("db".into())]
        );
        let v = t.resolve(|_| Some("ch".into())).unwrap();
        assert_eq!(v, "tcp://ch:9000/${x}");
    }

    #[test]
    fn rejects_bad_references() {
        assert!(
            parse_template("${apps.x.port}", Loc::default())
                .unwrap_err()
                .contains("not `port`")
        );
        assert!(parse_template("${nope}", Loc::default()).is_err());
        assert!(
            parse_template("${apps.x.name", Loc::default())
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(parse_template("${env:A-B}", Loc::default()).is_err());
    }

    #[test]
    fn plain_strings_are_kept_once() {
        let t = parse_template("false", Loc::default()).unwrap();
        assert_eq!(t.segments, vec![]);
        assert_eq!(t.references().count(), 0);
        assert_eq!(t.resolve(|_| None).unwrap(), "false");
        assert_eq!(t, TemplateString::literal("false"));
        // `$$` is written as `$`: the text differs from `raw`, so it is a segment of its own.
        let t = parse_template("a$$b", Loc::default()).unwrap();
        assert_eq!(
            (t.raw.as_str(), t.segments.as_slice()),
            ("a$$b", &[Segment::Text("a$b".into())][..])
        );
        assert_eq!(t.resolve(|_| None).unwrap(), "a$b");
        assert_eq!(
            parse_template("", Loc::default()).unwrap().resolve(|_| None).unwrap(),
            ""
        );
    }
}
