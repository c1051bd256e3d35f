//! The simulator's Event Grid: after every successful write (ARM PUT/PATCH/DELETE, POST actions,
//! admin "portal" edits) it puts an Event Grid-schema event of the Azure subscription topic
//! (`Microsoft.Resources.Resource{Write,Delete,Action}Success`, subject = the resource id, no
//! resource payload) into a Storage queue, base64-encoded as Event Grid writes to queues.
//!
//! Faults (`/_sim/event-faults`), matched by a substring of the subject, each counting `fired`:
//!
//! | action | effect |
//! |---|---|
//! | `delay` | the event is put `delayMs` later (later events may overtake it) |
//! | `duplicate` | the event is put twice |
//! | `drop` | the event is never put |
//! | `reorder` | the event is held back and put right after the next event |
//! | `poison` | an undecodable message is put just before the event |
//!
//! Delivery retries every second while the queue fails (as Event Grid retries, up to 24 h; here
//! up to [`RETRY_FOR`]), in order: a later event waits for an earlier one.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRef, State as AxumState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::reply::Reply;

/// How long one message is retried before it is given up (and counted in `dropped`).
pub const RETRY_FOR: Duration = Duration::from_secs(300);

/// Where events go: a queue URL, a bearer token for it (Azurite's OAuth mode), a CA to trust.
#[derive(Debug, Clone)]
pub struct EventsTarget {
    pub queue_url: String,
    pub token: Option<String>,
    pub ca_cert: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EventFaultAction {
    Delay,
    Duplicate,
    Drop,
    Reorder,
    Poison,
}

/// One injected event fault; applies to the next `times` matching events (every one when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventFault {
    /// Case-insensitive substring of the event's subject (empty: every event).
    #[serde(default)]
    pub path: String,
    pub action: EventFaultAction,
    #[serde(default)]
    pub delay_ms: Option<u64>,
    #[serde(default)]
    pub times: Option<u32>,
    /// Events this fault acted on (kept by the simulator, refused in what is posted).
    #[serde(default, skip_deserializing)]
    pub fired: u32,
}

/// Counters of the publisher, served at `/_sim/events`.
#[derive(Debug, Default)]
struct Counters {
    /// Messages the queue accepted (events, duplicates and poison alike).
    put: AtomicU64,
    /// Failed attempts to put a message (each retried).
    failed_attempts: AtomicU64,
    /// Messages given up after [`RETRY_FOR`].
    given_up: AtomicU64,
}

#[derive(Debug)]
struct Outgoing {
    text: String,
    delay: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    tx: Option<mpsc::UnboundedSender<Outgoing>>,
    faults: Vec<EventFault>,
    /// A `reorder`ed event, put after the next one.
    held: Option<String>,
    /// Events built so far (their ids).
    seq: u64,
}

/// The publisher as the routes see it: disabled until [`EventSink::enable`]. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct EventSink {
    inner: Arc<Mutex<Inner>>,
    counters: Arc<Counters>,
}

impl EventSink {
    /// Starts putting events into `target`'s queue.
    pub fn enable(&self, target: EventsTarget) -> Result<(), String> {
        let client = queue_client(&target)?;
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(deliver(client, rx, tx.clone(), self.counters.clone()));
        self.inner.lock().expect("events lock").tx = Some(tx);
        Ok(())
    }

    /// The hook of the write paths: `status` is what the write was answered; only a success
    /// under `/subscriptions/` makes an event.
    pub fn after_write(&self, method: &str, path: &str, status: u16) {
        let mut inner = self.inner.lock().expect("events lock");
        if inner.tx.is_none() || !(200..300).contains(&status) || !path.starts_with("/subscriptions/") {
            return;
        }
        let Some(event) = event(method, path, inner.seq + 1) else {
            return;
        };
        inner.seq += 1;
        let fault = take(&mut inner.faults, path);
        let mut texts = Vec::new();
        let mut delay = Duration::ZERO;
        match fault.as_ref().map(|f| f.action) {
            None => texts.push(event),
            Some(EventFaultAction::Drop) => {}
            Some(EventFaultAction::Duplicate) => texts.extend([event.clone(), event]),
            Some(EventFaultAction::Poison) => texts.extend(["{\"not\": \"an event".to_string(), event]),
            Some(EventFaultAction::Delay) => {
                delay = Duration::from_millis(fault.as_ref().and_then(|f| f.delay_ms).unwrap_or(1000));
                texts.push(event);
            }
            Some(EventFaultAction::Reorder) => {
                // Held back; if another is held already, that one goes first (still late).
                texts.extend(inner.held.replace(event));
            }
        }
        if fault.is_none_or(|f| f.action != EventFaultAction::Reorder) {
            texts.extend(inner.held.take());
        }
        let tx = inner.tx.clone().expect("checked above");
        for text in texts {
            let _ = tx.send(Outgoing {
                text: encode(&text),
                delay,
            });
        }
    }
}

/// The Event Grid event of a successful write, or `None` for a method that writes nothing.
fn event(method: &str, path: &str, seq: u64) -> Option<String> {
    let (event_type, verb) = match method {
        "PUT" | "PATCH" => ("Microsoft.Resources.ResourceWriteSuccess", "write"),
        "DELETE" => ("Microsoft.Resources.ResourceDeleteSuccess", "delete"),
        "POST" => ("Microsoft.Resources.ResourceActionSuccess", "action"),
        _ => return None,
    };
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let subscription = parts.get(1).copied().unwrap_or_default();
    // `Microsoft.App/containerApps[/revisions]` from the path; an action adds its name.
    let provider = parts.iter().position(|p| p.eq_ignore_ascii_case("providers"));
    let (namespace, mut operation) = match provider.and_then(|i| parts.get(i + 1).map(|ns| (i, *ns))) {
        Some((i, ns)) => {
            let rest = &parts[i + 2..];
            let mut op = ns.to_string();
            for t in rest.iter().step_by(2) {
                op.push('/');
                op.push_str(t);
            }
            (ns, op)
        }
        None => ("Microsoft.Resources", "Microsoft.Resources/resourceGroups".to_string()),
    };
    operation.push('/');
    operation.push_str(verb);
    let id = format!("00000000-0000-4000-8000-{seq:012x}");
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let v = json!({
        "subject": path,
        "eventType": event_type,
        "eventTime": now,
        "id": id,
        "data": {
            "authorization": {"scope": path, "action": operation},
            "claims": {},
            "correlationId": id,
            "resourceProvider": namespace,
            "resourceUri": path,
            "operationName": operation,
            "status": "Succeeded",
            "subscriptionId": subscription,
            "tenantId": "00000000-0000-0000-0000-00000000aca0"
        },
        "dataVersion": "2",
        "metadataVersion": "1",
        "topic": format!("/subscriptions/{subscription}")
    });
    Some(v.to_string())
}

/// Base64 (standard alphabet), as Event Grid writes to a Storage queue.
fn encode(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn take(faults: &mut [EventFault], subject: &str) -> Option<EventFault> {
    let subject = subject.to_ascii_lowercase();
    let fault = faults
        .iter_mut()
        .find(|f| f.times != Some(0) && subject.contains(&f.path.to_ascii_lowercase()))?;
    fault.fired += 1;
    if let Some(n) = fault.times.as_mut() {
        *n -= 1;
    }
    Some(fault.clone())
}

/// Puts messages in order; a delayed one goes back into the channel when its time comes.
async fn deliver(
    client: azure_storage_queue::QueueClient,
    mut rx: mpsc::UnboundedReceiver<Outgoing>,
    tx: mpsc::UnboundedSender<Outgoing>,
    counters: Arc<Counters>,
) {
    while let Some(m) = rx.recv().await {
        if !m.delay.is_zero() {
            let tx = tx.clone();
            tokio::spawn(async move {
                tokio::time::sleep(m.delay).await;
                let _ = tx.send(Outgoing {
                    text: m.text,
                    delay: Duration::ZERO,
                });
            });
            continue;
        }
        let start = tokio::time::Instant::now();
        loop {
            let message = azure_storage_queue::models::QueueMessage {
                message_text: Some(m.text.clone()),
            };
            let sent = match message.try_into() {
                Ok(body) => client.send_message(body, None).await.is_ok(),
                Err(_) => false,
            };
            if sent {
                counters.put.fetch_add(1, Ordering::Relaxed);
                break;
            }
            counters.failed_attempts.fetch_add(1, Ordering::Relaxed);
            if start.elapsed() > RETRY_FOR {
                counters.given_up.fetch_add(1, Ordering::Relaxed);
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

struct StaticToken(String);

impl std::fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticToken(****)")
    }
}

#[async_trait::async_trait]
impl azure_core::credentials::TokenCredential for StaticToken {
    async fn get_token(
        &self,
        _scopes: &[&str],
        _options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        let expires = azure_core::time::OffsetDateTime::now_utc() + azure_core::time::Duration::hours(1);
        Ok(azure_core::credentials::AccessToken::new(self.0.clone(), expires))
    }
}

fn queue_client(target: &EventsTarget) -> Result<azure_storage_queue::QueueClient, String> {
    use azure_core::http::{ClientOptions, RetryOptions, Transport, Url};
    let url = Url::parse(&target.queue_url).map_err(|e| format!("--events-queue {}: {e}", target.queue_url))?;
    let mut http = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(path) = &target.ca_cert {
        let pem = std::fs::read(path).map_err(|e| format!("--events-ca-cert {}: {e}", path.display()))?;
        let cert =
            reqwest::Certificate::from_pem(&pem).map_err(|e| format!("--events-ca-cert {}: {e}", path.display()))?;
        http = http.tls_certs_merge([cert]);
    }
    let http = http.build().map_err(|e| e.to_string())?;
    let options = azure_storage_queue::QueueClientOptions {
        client_options: ClientOptions {
            transport: Some(Transport::new(Arc::new(http))),
            retry: RetryOptions::none(),
            ..ClientOptions::default()
        },
        ..Default::default()
    };
    let credential = target
        .token
        .clone()
        .map(|t| Arc::new(StaticToken(t)) as Arc<dyn azure_core::credentials::TokenCredential>);
    azure_storage_queue::QueueClient::new(url, credential, Some(options)).map_err(|e| format!("--events-queue: {e}"))
}

/// `/_sim/event-faults` (GET, POST a list, DELETE) and `/_sim/events` (the counters), on any
/// router state that holds the sink.
pub fn router<S>() -> Router<S>
where
    EventSink: FromRef<S>,
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(
            "/_sim/event-faults",
            get(list_faults).post(add_faults).delete(clear_faults),
        )
        .route("/_sim/events", get(counters))
}

async fn list_faults(AxumState(sink): AxumState<EventSink>) -> Response {
    let faults = sink.inner.lock().expect("events lock").faults.clone();
    Reply::json(StatusCode::OK, serde_json::to_value(faults).unwrap_or_default()).into_response()
}

async fn add_faults(AxumState(sink): AxumState<EventSink>, body: Bytes) -> Response {
    let faults: Vec<EventFault> = match serde_json::from_slice::<Value>(&body).and_then(|v| match v {
        Value::Array(_) => serde_json::from_value(v),
        one => serde_json::from_value(one).map(|f| vec![f]),
    }) {
        Ok(f) => f,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad event fault: {e}")).into_response(),
    };
    sink.inner.lock().expect("events lock").faults.extend(faults);
    Reply::empty(StatusCode::NO_CONTENT).into_response()
}

async fn clear_faults(AxumState(sink): AxumState<EventSink>) -> Response {
    sink.inner.lock().expect("events lock").faults.clear();
    Reply::empty(StatusCode::NO_CONTENT).into_response()
}

async fn counters(AxumState(sink): AxumState<EventSink>) -> Response {
    let c = &sink.counters;
    let inner = sink.inner.lock().expect("events lock");
    let body = json!({
        "enabled": inner.tx.is_some(),
        "events": inner.seq,
        "put": c.put.load(Ordering::Relaxed),
        "failedAttempts": c.failed_attempts.load(Ordering::Relaxed),
        "givenUp": c.given_up.load(Ordering::Relaxed),
    });
    Reply::json(StatusCode::OK, body).into_response()
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
