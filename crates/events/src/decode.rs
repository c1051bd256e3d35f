//! Pure decoding of one queue message into the resource events it carries.
//!
//! | schema | recognised by | resource id from | event types |
//! |---|---|---|---|
//! | Event Grid | `eventType` + `subject` | `data.resourceUri`, else `subject` | `Microsoft.Resources.Resource{Write,Delete,Action}Success` |
//! | Event Grid | `eventType` + `subject` | `data.resourceInfo.id`, else `subject` | `Microsoft.ResourceNotifications.Resources.{CreatedOrUpdated,Deleted}` |
//! | CloudEvents 1.0 | `specversion` + `type` | as above (`subject`) | the same |
//!
//! The message text is the JSON itself or its base64 (how Event Grid writes to a Storage queue);
//! one message may hold one event or an array of them.

use aca_model::arm::ResourceId;
use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What happened to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// Created or updated (`ResourceWriteSuccess`, `CreatedOrUpdated`).
    Write,
    /// Deleted (`ResourceDeleteSuccess`, `Deleted`).
    Delete,
    /// A POST action succeeded (`ResourceActionSuccess`: a revision restart, `listSecrets`...).
    Action,
}

/// The resource an event names: an ARM id when it parses as one, else the text as sent (an
/// action's subject ends with the action's name, e.g. `.../revisions/r1/restart`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Arm(ResourceId),
    Other(String),
}

impl Subject {
    fn of(text: &str) -> Subject {
        ResourceId::parse(text).map_or_else(|_| Subject::Other(text.to_string()), Subject::Arm)
    }

    /// The ARM resource the event concerns: the id itself, or for an action's subject the
    /// longest leading part that is a resource id. `None` for a subscription or resource group.
    pub fn resource(&self) -> Option<ResourceId> {
        match self {
            Subject::Arm(id) => Some(id.clone()),
            Subject::Other(text) => {
                let parts: Vec<&str> = text.trim_matches('/').split('/').collect();
                (7..parts.len())
                    .rev()
                    .find_map(|n| ResourceId::parse(&parts[..n].join("/")).ok())
            }
        }
    }

    /// The text of the subject as sent (or as the parsed id prints).
    pub fn text(&self) -> String {
        match self {
            Subject::Arm(id) => id.to_string(),
            Subject::Other(text) => text.clone(),
        }
    }

    /// The subscription id, when the subject starts with `/subscriptions/{id}`.
    pub fn subscription(&self) -> Option<String> {
        match self {
            Subject::Arm(id) => Some(id.subscription.clone()),
            Subject::Other(text) => {
                let mut parts = text.trim_matches('/').split('/');
                match (parts.next(), parts.next()) {
                    (Some(s), Some(id)) if s.eq_ignore_ascii_case("subscriptions") && !id.is_empty() => {
                        Some(id.to_string())
                    }
                    _ => None,
                }
            }
        }
    }
}

/// One decoded event: only what triggers work. State always comes from ARM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceEvent {
    pub subject: Subject,
    pub kind: EventKind,
    /// `data.operationName` (e.g. `Microsoft.App/containerApps/write`); `None` for Resource
    /// Notifications, which carry none.
    pub operation_name: Option<String>,
    /// `eventTime` (Event Grid) or `time` (CloudEvents), when present and RFC 3339.
    pub event_time: Option<OffsetDateTime>,
}

/// Why a message is not a resource event. Never carries the message body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the message is neither JSON nor base64 of JSON")]
    NotJson,
    #[error("the message is JSON but no Event Grid or CloudEvents 1.0 event")]
    UnknownSchema,
    #[error("event type `{0}` is not a resource write, delete or action event")]
    UnsupportedType(String),
    #[error("the event names no resource (no subject)")]
    NoSubject,
    #[error("an empty array of events")]
    Empty,
}

const WRITE: &str = "Microsoft.Resources.ResourceWriteSuccess";
const DELETE: &str = "Microsoft.Resources.ResourceDeleteSuccess";
const ACTION: &str = "Microsoft.Resources.ResourceActionSuccess";
const NOTIFY_WRITE: &str = "Microsoft.ResourceNotifications.Resources.CreatedOrUpdated";
const NOTIFY_DELETE: &str = "Microsoft.ResourceNotifications.Resources.Deleted";

/// Decodes a queue message's text: every event it holds, or why none.
pub fn decode(text: &str) -> Result<Vec<ResourceEvent>, DecodeError> {
    let value = json_of(text)?;
    match value {
        Value::Array(items) if items.is_empty() => Err(DecodeError::Empty),
        Value::Array(items) => items.iter().map(event).collect(),
        one => Ok(vec![event(&one)?]),
    }
}

/// The JSON of plain or base64 text (standard alphabet, as queue clients write it).
fn json_of(text: &str) -> Result<Value, DecodeError> {
    let trimmed = text.trim();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return serde_json::from_str(trimmed).map_err(|_| DecodeError::NotJson);
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(trimmed)
        .map_err(|_| DecodeError::NotJson)?;
    serde_json::from_slice(&bytes).map_err(|_| DecodeError::NotJson)
}

fn event(v: &Value) -> Result<ResourceEvent, DecodeError> {
    let text = |key: &str| v.get(key).and_then(Value::as_str);
    // CloudEvents carries `specversion` and `type`; Event Grid's own schema `eventType`.
    let (event_type, time) = match (text("specversion"), text("eventType"), text("type")) {
        (Some("1.0"), _, Some(t)) => (t, text("time")),
        (None, Some(t), _) => (t, text("eventTime")),
        _ => return Err(DecodeError::UnknownSchema),
    };
    let kind = match event_type {
        t if t.eq_ignore_ascii_case(WRITE) || t.eq_ignore_ascii_case(NOTIFY_WRITE) => EventKind::Write,
        t if t.eq_ignore_ascii_case(DELETE) || t.eq_ignore_ascii_case(NOTIFY_DELETE) => EventKind::Delete,
        t if t.eq_ignore_ascii_case(ACTION) => EventKind::Action,
        other => return Err(DecodeError::UnsupportedType(other.to_string())),
    };
    let data = v.get("data");
    let at = |path: &[&str]| {
        path.iter()
            .try_fold(data?, |v, k| v.get(k))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let subject = at(&["resourceUri"])
        .or_else(|| at(&["resourceInfo", "id"]))
        .or_else(|| text("subject").filter(|s| !s.is_empty()))
        .ok_or(DecodeError::NoSubject)?;
    Ok(ResourceEvent {
        subject: Subject::of(subject),
        kind,
        operation_name: at(&["operationName"]).map(str::to_string),
        event_time: time.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok()),
    })
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
