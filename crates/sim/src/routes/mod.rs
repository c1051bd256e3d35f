//! The ARM pipeline for one request: authentication, api-version, faults, throttling, the request
//! log, then the router (`router.rs`) and its handlers (`app_handlers.rs`, `resource_handlers.rs`,
//! `lists.rs`).

mod app_handlers;
mod lists;
mod lookup;
mod resource_handlers;
mod router;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::Value;
use tokio::time::Instant;

use crate::api_version;
use crate::error::{ArmFailure, ArmResult};
use crate::faults::{self, Fault};
use crate::reply::Reply;
use crate::state::{RequestRecord, State};
use crate::throttle::{Admission, RequestKind};

#[derive(Clone)]
pub struct Ctx {
    pub state: Arc<Mutex<State>>,
    pub scheme: &'static str,
    /// Event Grid events after successful writes (crates/sim/src/events.rs).
    pub events: crate::events::EventSink,
}

impl axum::extract::FromRef<Ctx> for crate::events::EventSink {
    fn from_ref(ctx: &Ctx) -> Self {
        ctx.events.clone()
    }
}

/// What one request is, once parsed.
struct Request<'a> {
    method: &'a str,
    segments: Vec<&'a str>,
    query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    body: &'a [u8],
    base: String,
}

impl Request<'_> {
    fn query(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    fn seg_is(&self, i: usize, word: &str) -> bool {
        self.segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(word))
    }

    fn json_body(&self) -> ArmResult<Value> {
        serde_json::from_slice(self.body).map_err(|e| {
            ArmFailure::bad_request(
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: {e}"),
            )
        })
    }

    fn api_version(&self) -> &str {
        self.query("api-version").unwrap_or_default()
    }
}

pub async fn handle(
    AxumState(ctx): AxumState<Ctx>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let latency = ctx.state.lock().expect("state lock").config.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_string();
    let req = Request {
        method: method.as_str(),
        segments: uri.path().split('/').filter(|s| !s.is_empty()).collect(),
        query: parse_query(uri.query().unwrap_or_default()),
        headers: &headers,
        body: &body,
        base: format!("{}://{host}", ctx.scheme),
    };
    let (reply, fault) = {
        let mut state = ctx.state.lock().expect("state lock");
        let now = Instant::now();
        state.settle(now);
        let (reply, fault) = answer(&mut state, &req, now);
        let seq = state.next_id();
        let at_ms = state.ms_since_start(now);
        state.requests.push(RequestRecord {
            seq,
            method: req.method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or_default().to_string(),
            status: reply.status.as_u16(),
            at_ms,
            kind: RequestKind::of(req.method),
            replica: headers
                .get("x-aca-replica")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            fault: fault.is_some(),
        });
        ctx.events.after_write(req.method, uri.path(), reply.status.as_u16());
        (reply, fault)
    };
    if let Some(ms) = fault.as_ref().and_then(|f| f.delay_ms) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if fault.as_ref().is_some_and(|f| f.drop_connection) {
        return broken_response(reply.status);
    }
    reply.into_response()
}

/// Headers, then a body that fails: the client sees the connection cut mid-response.
fn broken_response(status: StatusCode) -> Response {
    let stream = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected connection drop",
        ))
    });
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("content-length", "1024")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

/// The query string's pairs, percent- and `+`-decoded as forms encode them.
fn parse_query(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// The whole ARM pipeline for one request, under the state lock.
fn answer(state: &mut State, req: &Request, now: Instant) -> (Reply, Option<Fault>) {
    let auth = req
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !auth.starts_with("Bearer ") || auth.len() <= "Bearer ".len() {
        let f = ArmFailure::new(
            StatusCode::UNAUTHORIZED,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing or is not a bearer token.",
        );
        return (
            Reply::from(f).header("WWW-Authenticate", "Bearer error=\"invalid_token\""),
            None,
        );
    }
    let subscription = if req.seg_is(0, "subscriptions") {
        req.segments.get(1).copied()
    } else {
        None
    };
    let Some(subscription) = subscription else {
        return (
            Reply::from(ArmFailure::new(
                StatusCode::NOT_FOUND,
                "InvalidResourceType",
                "No route for this path.",
            )),
            None,
        );
    };
    let namespace = req
        .segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("providers"))
        .and_then(|i| req.segments.get(i + 1))
        .copied()
        .unwrap_or("Microsoft.App");
    if let Err(f) = api_version::check(req.query("api-version"), namespace) {
        return (Reply::from(f), None);
    }
    let fault = faults::take(&mut state.faults, req.method, &req.segments.join("/"));
    let kind = RequestKind::of(req.method);
    let config = state.config.clone();
    let remaining = match state.throttle.admit(&config, subscription, kind, now) {
        Admission::Allowed { remaining } => remaining,
        Admission::Throttled { retry_after } => {
            let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
            let f = ArmFailure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "SubscriptionRequestsThrottled",
                format!(
                    "Number of '{}' requests for subscription '{subscription}' exceeded. Please try again after '{secs}' seconds.",
                    kind.header_suffix()
                ),
            );
            let reply = Reply::from(f).header("Retry-After", secs.to_string()).header(
                &format!("x-ms-ratelimit-remaining-subscription-{}", kind.header_suffix()),
                "0",
            );
            return (reply, None);
        }
    };
    let mut reply = match &fault {
        Some(f) if f.body.is_some() || f.body_bytes.is_some() => raw_body_reply(f),
        Some(f) if f.status.is_some() => fault_reply(f),
        _ => router::route(state, req, fault.as_ref(), now).unwrap_or_else(Reply::from),
    };
    if let Some(f) = &fault {
        reply
            .headers
            .retain(|(k, _)| !f.remove_headers.iter().any(|r| r.eq_ignore_ascii_case(k)));
    }
    let id = state.next_id();
    let reply = reply
        .header(
            &format!("x-ms-ratelimit-remaining-subscription-{}", kind.header_suffix()),
            remaining.to_string(),
        )
        .header("x-ms-request-id", format!("00000000-0000-4000-8000-{id:012x}"));
    (reply, fault)
}

/// A body that is not what ARM would send (the client must give a typed error, never act on it).
fn raw_body_reply(f: &Fault) -> Reply {
    let status = StatusCode::from_u16(f.status.unwrap_or(200)).unwrap_or(StatusCode::OK);
    let text = match (&f.body, f.body_bytes) {
        (Some(b), _) => b.clone(),
        (None, Some(n)) => format!("{{\"value\":\"{}\"}}", "x".repeat(n.saturating_sub(12))),
        (None, None) => String::new(),
    };
    Reply::empty(status)
        .header("content-type", "application/json")
        .with_raw(text)
}

fn fault_reply(f: &Fault) -> Reply {
    let status = StatusCode::from_u16(f.status.unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let code = f.code.clone().unwrap_or_else(|| {
        match status.as_u16() {
            429 => "TooManyRequests",
            500 => "InternalServerError",
            502 => "BadGateway",
            503 => "ServiceUnavailable",
            504 => "GatewayTimeout",
            409 => "Conflict",
            412 => "PreconditionFailed",
            _ => "InjectedFault",
        }
        .to_string()
    });
    let reply = Reply::from(ArmFailure::new(
        status,
        &code,
        "Injected fault from the simulator's fault table.",
    ));
    if matches!(status.as_u16(), 429 | 503) {
        reply.header("Retry-After", f.retry_after.unwrap_or(1).to_string())
    } else {
        reply
    }
}
