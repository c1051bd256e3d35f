//! Located access to the YAML tree: mappings that refuse unknown keys, and the scalar readers
//! (strings, bounded integers, templates, modes, windows, durations) every object uses.

use std::time::Duration;

use super::super::diagnostic::{Diagnostics, suggest};
use super::super::keys::keys_of;
use super::super::reference::{TemplateString, parse_template};
use super::super::types::*;
use super::super::yaml::{Key, Loc, Node, Value};

pub(super) const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);

/// A mapping being read: reports unknown keys and gives located access to the known ones.
pub(super) struct Obj<'a> {
    pub(super) entries: &'a [(Key, Node)],
    pub(super) path: String,
    pub(super) loc: Loc,
}

impl<'a> Obj<'a> {
    /// Reads `node` as a mapping of `object`'s keys; reports unknown keys (with a suggestion).
    pub(super) fn open(d: &mut Diagnostics, node: &'a Node, path: &str, object: &str) -> Option<Self> {
        let entries = as_map(d, node, path)?;
        let known = keys_of(object);
        for (key, _) in entries {
            if !known.contains(&key.name.as_str()) {
                let hint = match suggest(&key.name, known.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("known keys here: {}", known.join(", ")),
                };
                d.error(key.loc, path, format!("unknown key `{}`", key.name), Some(hint));
            }
        }
        Some(Obj {
            entries,
            path: path.to_string(),
            loc: node.loc,
        })
    }

    pub(super) fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    pub(super) fn field(&self, key: &str) -> String {
        join(&self.path, key)
    }

    pub(super) fn required(&self, d: &mut Diagnostics, key: &str) -> Option<&'a Node> {
        let node = self.get(key);
        if node.is_none() {
            d.error(self.loc, &self.path, format!("missing required key `{key}`"), None);
        }
        node
    }

    pub(super) fn string(&self, d: &mut Diagnostics, key: &str) -> Option<String> {
        self.get(key).and_then(|n| string(d, n, &self.field(key)))
    }

    pub(super) fn required_string(&self, d: &mut Diagnostics, key: &str) -> Option<String> {
        self.required(d, key).and_then(|n| string(d, n, &self.field(key)))
    }

    pub(super) fn bool(&self, d: &mut Diagnostics, key: &str) -> Option<bool> {
        let node = self.get(key)?;
        match node.value {
            Value::Bool(b) => Some(b),
            ref v => {
                d.error(
                    node.loc,
                    &self.field(key),
                    format!("expected true or false, found {}", v.kind()),
                    None,
                );
                None
            }
        }
    }

    pub(super) fn int(
        &self,
        d: &mut Diagnostics,
        key: &str,
        range: std::ops::RangeInclusive<i64>,
        what: &str,
    ) -> Option<u32> {
        let node = self.get(key)?;
        int_in(d, node, &self.field(key), range, what)
    }

    pub(super) fn port(&self, d: &mut Diagnostics, key: &str) -> Option<u32> {
        self.int(d, key, 1..=65535, "a port")
    }

    pub(super) fn seq(&self, d: &mut Diagnostics, key: &str) -> Option<&'a [Node]> {
        let node = self.get(key)?;
        match &node.value {
            Value::Seq(items) => Some(items),
            Value::Null => Some(&[]),
            v => {
                d.error(
                    node.loc,
                    &self.field(key),
                    format!("expected a list, found {}", v.kind()),
                    None,
                );
                None
            }
        }
    }
}

pub(super) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Reads `node` as a mapping. A key given twice is an error at the second (YAML keys are unique;
/// which value would win is not something a reader of the file should have to know).
pub(super) fn as_map<'a>(d: &mut Diagnostics, node: &'a Node, path: &str) -> Option<&'a [(Key, Node)]> {
    match &node.value {
        Value::Map(entries) => {
            for (i, (key, _)) in entries.iter().enumerate() {
                if let Some((first, _)) = entries[..i].iter().find(|(k, _)| k.name == key.name) {
                    d.error(
                        key.loc,
                        &join(path, &key.name),
                        format!(
                            "key `{}` is given twice in this mapping (first at {})",
                            key.name, first.loc
                        ),
                        Some("keep one of them: YAML keys must be unique".into()),
                    );
                }
            }
            Some(entries)
        }
        v => {
            d.error(node.loc, path, format!("expected a mapping, found {}", v.kind()), None);
            None
        }
    }
}

pub(super) fn string(d: &mut Diagnostics, node: &Node, path: &str) -> Option<String> {
    match &node.value {
        Value::Str(s) => Some(s.clone()),
        v => {
            d.error(node.loc, path, format!("expected a string, found {}", v.kind()), None);
            None
        }
    }
}

pub(super) fn int_in(
    d: &mut Diagnostics,
    node: &Node,
    path: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Option<u32> {
    match node.value {
        Value::Int(i) if range.contains(&i) => Some(i as u32),
        Value::Int(i) => {
            d.error(
                node.loc,
                path,
                format!("{i} is out of range for {what} ({}-{})", range.start(), range.end()),
                None,
            );
            None
        }
        ref v => {
            d.error(
                node.loc,
                path,
                format!("expected an integer ({what}), found {}", v.kind()),
                None,
            );
            None
        }
    }
}

pub(super) fn template(d: &mut Diagnostics, node: &Node, path: &str) -> Option<TemplateString> {
    // Env values and secrets are strings in ARM; unquoted scalars (`false`, `8123`) are taken as text.
    let text = match &node.value {
        Value::Seq(_) | Value::Map(_) | Value::Null => {
            d.error(
                node.loc,
                path,
                format!("expected a string, found {}", node.value.kind()),
                None,
            );
            return None;
        }
        v => v.scalar_text().unwrap_or_default(),
    };
    match parse_template(&text, node.loc) {
        Ok(t) => Some(t),
        Err(msg) => {
            d.error(node.loc, path, msg, None);
            None
        }
    }
}

pub(super) fn mode(d: &mut Diagnostics, obj: &Obj, key: &str) -> Option<Mode> {
    let node = obj.get(key)?;
    match string(d, node, &obj.field(key))?.as_str() {
        "enforce" => Some(Mode::Enforce),
        "observe" => Some(Mode::Observe),
        other => {
            let hint = suggest(other, ["enforce", "observe"]).map(|s| format!("did you mean `{s}`?"));
            d.error(
                node.loc,
                &obj.field(key),
                format!("`{other}` is not a mode: use enforce or observe"),
                hint,
            );
            None
        }
    }
}

pub(super) fn window(d: &mut Diagnostics, obj: &Obj) -> Option<super::super::window::CorrectionWindow> {
    let node = obj.get("correctionWindow")?;
    let text = string(d, node, &obj.field("correctionWindow"))?;
    super::super::window::CorrectionWindow::parse(&text)
        .map_err(|e| {
            d.error(
                node.loc,
                &obj.field("correctionWindow"),
                e,
                Some("e.g. `Mon-Fri 09:00-17:00 UTC`".into()),
            )
        })
        .ok()
}

/// Parses `500ms`, `30s`, `5m`, `1h`, `1m30s`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = s.trim();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit()).unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.checked_mul(60)?),
            "h" => Duration::from_secs(n.checked_mul(3600)?),
            _ => return None,
        };
        total = total.checked_add(unit)?;
        rest = &rest[unit_len..];
    }
    Some(total)
}

pub(super) fn read_env_map(d: &mut Diagnostics, node: &Node, path: &str) -> Vec<EnvSpec> {
    let Some(entries) = as_map(d, node, path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (key, value) in entries {
        let vpath = join(path, &key.name);
        let mut loc = value.loc;
        let parsed = match &value.value {
            Value::Map(_) => {
                let Some(obj) = Obj::open(d, value, &vpath, "env") else {
                    continue;
                };
                match (obj.get("secretRef"), obj.get("value")) {
                    (Some(s), None) => {
                        loc = s.loc;
                        string(d, s, &obj.field("secretRef")).map(EnvValue::SecretRef)
                    }
                    (None, Some(v)) => {
                        loc = v.loc;
                        template(d, v, &obj.field("value")).map(EnvValue::Literal)
                    }
                    _ => {
                        d.error(value.loc, &vpath, "give exactly one of `secretRef` and `value`", None);
                        None
                    }
                }
            }
            _ => template(d, value, &vpath).map(EnvValue::Literal),
        };
        if let Some(value) = parsed {
            out.push(EnvSpec {
                name: key.name.clone(),
                value,
                loc,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        for bad in ["", "s", "30", "30x", "-1s", "1.5s"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
    }
}
