//! The status document served at `GET /status` (schema [`SCHEMA`]): its types, versioned with
//! the schema. The rules that move conditions are in [`super::conditions`].

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The version of the document's shape; a client refuses another major version.
pub const SCHEMA: &str = "aca-operator.status/v1";
/// Drift events kept per stack, newest first.
pub const RECENT_DRIFTS: usize = 20;
/// Executed steps kept per stack, newest first.
pub const RECENT_STEPS: usize = 20;

pub const SYNCED: &str = "Synced";
pub const HEALTHY: &str = "Healthy";
pub const PROGRESSING: &str = "Progressing";
pub const HELD: &str = "Held";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatusDoc {
    pub schema: String,
    pub generated_at: String,
    pub stacks: Vec<StackStatus>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    // These four are borrowed when constant (every type, status and reason; most messages at
    // rest), not allocated: the board keeps four conditions per stack and four per app
    // (decision 0036).
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    /// `True`, `False` or `Unknown`.
    pub status: Cow<'static, str>,
    pub reason: Cow<'static, str>,
    pub message: Cow<'static, str>,
    pub last_transition_time: Timestamp,
    /// When a hold ends by itself, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// A time to the second, written as RFC 3339 (`2026-11-25T10:00:00Z`). Kept as a number: the
/// board holds two per condition, twelve conditions per stack (decision 0037).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn new(t: OffsetDateTime) -> Self {
        Timestamp(t.unix_timestamp())
    }

    fn time(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp(self.0).ok()
    }
}

impl std::fmt::Display for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.time() {
            Some(t) => f.write_str(&rfc3339(t)),
            None => write!(f, "{}", self.0),
        }
    }
}

impl std::fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl PartialEq<&str> for Timestamp {
    fn eq(&self, other: &&str) -> bool {
        // As served: the text itself.
        let mut served = String::new();
        let _ = std::fmt::Write::write_fmt(&mut served, format_args!("{self}"));
        served == *other
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        // A number is what `Display` writes for a time RFC 3339 cannot (never seen in practice).
        if let Ok(secs) = text.parse::<i64>() {
            return Ok(Timestamp(secs));
        }
        OffsetDateTime::parse(&text, &Rfc3339)
            .map(Timestamp::new)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not an RFC 3339 time: {e}")))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PassRecord {
    pub finished_at: String,
    pub duration_ms: u64,
    /// `in-sync`, `corrected`, `drift` (left uncorrected) or `failed`.
    pub result: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub drifts: usize,
    pub critical: usize,
    pub corrected: usize,
    pub steps: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DriftRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub field: String,
    pub desired: String,
    pub live: String,
    pub severity: String,
    /// `corrected`, `alerted` or `failed`.
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// When the operator first saw this drift with this outcome.
    pub seen_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    pub kind: String,
    pub step: String,
    /// `running`, `done`, `skipped` or `failed`.
    pub state: String,
    /// What it did (snapshot time, revision), or why it failed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// A cutover of an exclusive storage (the sidecar migration) seen in the last plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MigrationState {
    pub since: String,
    /// The plan's steps, in order.
    pub steps: Vec<String>,
    /// How many of them ran in the last pass.
    pub done: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AppStatus {
    pub key: String,
    pub name: String,
    pub mode: String,
    pub conditions: Vec<Condition>,
    /// The last drift of each field, by field path.
    pub drifts: BTreeMap<String, DriftRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StackStatus {
    pub name: String,
    pub mode: String,
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pass: Option<PassRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_reconcile: Option<String>,
    pub apps: Vec<AppStatus>,
    /// Drift events, newest first (stack-level ones too).
    pub recent_drifts: Vec<DriftRecord>,
    /// Executed steps, newest first.
    pub recent_steps: Vec<StepRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migration: Option<MigrationState>,
}

/// Why corrections of one app (or the stack) are held, and until when if it ends by itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub reason: &'static str,
    pub message: String,
    pub until: Option<OffsetDateTime>,
}

/// What the daemon knows besides the report: its own holds and the next pass.
#[derive(Debug, Clone, Default)]
pub struct PassContext {
    /// A hold of the whole stack after a non-transient failure.
    pub stack_hold: Option<String>,
    /// Contested apps (key → hold).
    pub app_holds: BTreeMap<String, Hold>,
    pub next_reconcile: Option<OffsetDateTime>,
    /// Each app's correction window (its own or the stack's), to say when a window hold ends.
    pub windows: BTreeMap<String, aca_model::desired::CorrectionWindow>,
}

/// RFC 3339 to the second, as Kubernetes shows condition times.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

impl DriftRecord {
    /// The same drift with the same outcome, whenever it was seen.
    pub fn same_event(&self, other: &DriftRecord) -> bool {
        (
            &self.desired,
            &self.live,
            &self.changed_by,
            &self.changed_at,
            &self.action,
        ) == (
            &other.desired,
            &other.live,
            &other.changed_by,
            &other.changed_at,
            &other.action,
        )
    }
}

impl AppStatus {
    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }

    pub fn last_drift(&self) -> Option<&DriftRecord> {
        self.drifts.values().max_by(|a, b| a.seen_at.cmp(&b.seen_at))
    }
}

impl StatusDoc {
    /// True when every stack and app reports `Healthy=True`.
    pub fn healthy(&self) -> bool {
        self.stacks.iter().all(|s| {
            s.condition(HEALTHY).is_some_and(|c| c.is("True"))
                && s.apps
                    .iter()
                    .all(|a| a.condition(HEALTHY).is_some_and(|c| c.is("True")))
        })
    }
}
