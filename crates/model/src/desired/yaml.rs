//! A YAML document as a tree of nodes that remember where they came from.
//!
//! The loader reads the file into this tree first, then walks it by hand: that is what lets it report
//! *every* problem (unknown keys, wrong types, bad values) with a line and column, instead of stopping
//! at the first error as a derived `Deserialize` would.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// 1-based line and column in the source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Loc {
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub loc: Loc,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

/// A mapping key (always read as a string) and its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub loc: Loc,
}

impl Value {
    /// What the value is, for "expected X, found Y" messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The scalar as text, as YAML would print it (`None` for lists and mappings).
    pub fn scalar_text(&self) -> Option<String> {
        match self {
            Value::Null => Some(String::new()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Float(f) => Some(f.to_string()),
            Value::Str(s) => Some(s.clone()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }
}

/// Parse one YAML document into a located tree. The error carries the parser's message and location.
pub fn parse(text: &str) -> Result<Node, (String, Loc)> {
    if text.trim().is_empty() {
        return Ok(Node {
            value: Value::Null,
            loc: Loc { line: 1, column: 1 },
        });
    }
    // Duplicate keys reach our tree and are reported by the schema walk with their field path;
    // the parser's own duplicate error knows neither the path nor our words.
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::PassThrough;
    match serde_saphyr::from_str_with_options::<SpannedValue>(text, options) {
        Ok(v) => Ok(v.into_node()),
        Err(e) => {
            let loc = e
                .location()
                .map(|l| Loc {
                    line: l.line().max(1),
                    column: l.column().max(1),
                })
                .unwrap_or(Loc { line: 1, column: 1 });
            Err((in_our_words(e.without_snippet()), loc))
        }
    }
}

/// The parser's error as one sentence of ours: size limits named in the file's terms, and the
/// parser's own `error: line L column C:` prefix dropped (we print the location ourselves).
fn in_our_words(e: &serde_saphyr::Error) -> String {
    use serde_saphyr::budget::BudgetBreach;
    if let serde_saphyr::Error::Budget { breach, .. } = e {
        return match breach {
            BudgetBreach::Depth { .. } => {
                format!("the document nests lists and mappings more than {MAX_DEPTH} levels deep")
            }
            BudgetBreach::Nodes { .. } => {
                format!("the document holds more than {MAX_NODES} values (lists, mappings and scalars)")
            }
            BudgetBreach::InputBytes { .. } | BudgetBreach::ScalarBytes { .. } => {
                "the document is larger than a desired-state file may be".into()
            }
            _ => "the document uses more aliases, anchors or documents than a desired-state file may".into(),
        };
    }
    let text = first_line(&e.to_string());
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    let text = match text.strip_prefix("line ").and_then(|rest| rest.split_once(": ")) {
        Some((_, message)) => message,
        None => text,
    };
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_string(),
        None => text.to_string(),
    }
}

/// serde-saphyr's default budget, which this loader keeps (it bounds the recursion below).
pub const MAX_DEPTH: usize = 64;
pub const MAX_NODES: usize = 250_000;

/// serde-saphyr's messages may carry a rendered snippet after the first line; we print our own location.
fn first_line(msg: &str) -> String {
    msg.lines().next().unwrap_or(msg).trim().to_string()
}

struct SpannedValue(Spanned<RawValue>);

enum RawValue {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<SpannedValue>),
    Map(Vec<(SpannedValue, SpannedValue)>),
}

impl SpannedValue {
    fn loc(&self) -> Loc {
        let r = &self.0.referenced;
        Loc {
            line: r.line(),
            column: r.column(),
        }
    }

    fn into_node(self) -> Node {
        let loc = self.loc();
        let value = match self.0.value {
            RawValue::Null => Value::Null,
            RawValue::Bool(b) => Value::Bool(b),
            RawValue::Int(i) => Value::Int(i),
            RawValue::Float(f) => Value::Float(f),
            RawValue::Str(s) => Value::Str(s),
            RawValue::Seq(items) => Value::Seq(items.into_iter().map(SpannedValue::into_node).collect()),
            RawValue::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let key = k.into_node();
                        let name = key.value.scalar_text().unwrap_or_else(|| "<complex key>".into());
                        (Key { name, loc: key.loc }, v.into_node())
                    })
                    .collect(),
            ),
        };
        Node { value, loc }
    }
}

impl<'de> Deserialize<'de> for SpannedValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Spanned::<RawValue>::deserialize(d).map(SpannedValue)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

/// Nesting depth is bounded by serde-saphyr's default budget (64 levels), so recursion here is bounded.
struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_none<E>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        RawValue::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawValue, E> {
        Ok(RawValue::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map(RawValue::Int).unwrap_or(RawValue::Float(v as f64)))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map(RawValue::Int).unwrap_or(RawValue::Float(v as f64)))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawValue, E> {
        Ok(i64::try_from(v).map(RawValue::Int).unwrap_or(RawValue::Float(v as f64)))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawValue, E> {
        Ok(RawValue::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawValue, E> {
        Ok(RawValue::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<RawValue, E> {
        Ok(RawValue::Str(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawValue, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<SpannedValue>()? {
            items.push(item);
        }
        Ok(RawValue::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<SpannedValue>()? {
            let v = map.next_value::<SpannedValue>()?;
            entries.push((k, v));
        }
        Ok(RawValue::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_locations_of_keys_and_values() {
        let n = parse("a: 1\nb:\n  - x\n  - y: true\n").unwrap();
        let Value::Map(entries) = &n.value else {
            panic!("map expected")
        };
        assert_eq!(entries[0].0.name, "a");
        assert_eq!(entries[0].0.loc, Loc { line: 1, column: 1 });
        assert_eq!(entries[0].1.value, Value::Int(1));
        let Value::Seq(items) = &entries[1].1.value else {
            panic!("seq expected")
        };
        assert_eq!(items[0].loc.line, 3);
        let Value::Map(inner) = &items[1].value else {
            panic!("map expected")
        };
        assert_eq!(inner[0].0.loc, Loc { line: 4, column: 5 });
        assert_eq!(inner[0].1.value, Value::Bool(true));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let n = parse("a: \"false\"\nb: false\nc: '1'\n").unwrap();
        let Value::Map(e) = n.value else { panic!() };
        assert_eq!(e[0].1.value, Value::Str("false".into()));
        assert_eq!(e[1].1.value, Value::Bool(false));
        assert_eq!(e[2].1.value, Value::Str("1".into()));
    }

    #[test]
    fn budget_breaches_are_named_in_our_words() {
        let deep = format!("a: {}{}", "[".repeat(70), "]".repeat(70));
        // 64 levels of serde recursion need more than a test thread's stack in a debug build.
        let (msg, _) = std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || parse(&deep))
            .unwrap()
            .join()
            .unwrap()
            .unwrap_err();
        assert_eq!(msg, "the document nests lists and mappings more than 64 levels deep");
        let wide = format!("a: [{}]", vec!["1"; MAX_NODES + 1].join(","));
        let (msg, loc) = parse(&wide).unwrap_err();
        assert_eq!(
            msg,
            "the document holds more than 250000 values (lists, mappings and scalars)"
        );
        assert_eq!(loc.line, 1);
    }

    #[test]
    fn duplicate_keys_reach_the_tree() {
        let n = parse("a: 1\na: 2\n").unwrap();
        let Value::Map(e) = n.value else { panic!() };
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].0.loc, Loc { line: 2, column: 1 });
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let (msg, loc) = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(!msg.is_empty());
        assert!(!msg.starts_with("error:") && !msg.contains("line "), "{msg}");
        assert!(loc.line >= 1);
    }
}
