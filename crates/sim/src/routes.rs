//! The ARM paths: authentication, api-version, faults, throttling, then the resource operations.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aca_model::arm::ResourceId;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::apps::{self, OpKind};
use crate::error::{ArmFailure, ArmResult};
use crate::faults::{self, Fault};
use crate::reply::Reply;
use crate::shares::ShareRecord;
use crate::state::{Principal, RequestRecord, State};
use crate::throttle::{Admission, RequestKind};
use crate::{api_version, environments};

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

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
        _ => route(state, req, fault.as_ref(), now).unwrap_or_else(Reply::from),
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

fn route(state: &mut State, req: &Request, fault: Option<&Fault>, now: Instant) -> ArmResult<Reply> {
    let s = &req.segments;
    // Operation status and result resources of Microsoft.App.
    if s.len() == 8 && req.seg_is(2, "providers") && req.seg_is(4, "locations") && req.method == "GET" {
        if req.seg_is(6, "containerappOperationStatuses") {
            return operation_status(state, s[7], now);
        }
        if req.seg_is(6, "containerappOperationResults") {
            return operation_result(state, req, s[7], now);
        }
    }
    if s.len() < 7 || !req.seg_is(2, "resourceGroups") || !req.seg_is(4, "providers") {
        return Err(ArmFailure::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            "No route for this path.",
        ));
    }
    let (sub, rg, ns) = (s[1], s[3], s[5]);
    let rest = &s[6..];
    let word = |i: usize, w: &str| rest.get(i).is_some_and(|x| x.eq_ignore_ascii_case(w));
    let id_of = |pairs: &[(&str, &str)]| ResourceId::new(sub, rg, ns, pairs);
    state.require_resource_group(sub, rg)?;
    let method = req.method;
    if ns.eq_ignore_ascii_case("Microsoft.App") {
        if word(0, "containerApps") {
            return match rest.len() {
                1 if method == "GET" => list_apps(state, req, sub, rg, now),
                2 => container_app(state, req, &id_of(&[("containerApps", rest[1])]), fault, now),
                3 if word(2, "listSecrets") && method == "POST" => {
                    let app = find_app(state, &id_of(&[("containerApps", rest[1])]))?;
                    Ok(Reply::json(StatusCode::OK, apps::list_secrets(app)))
                }
                3 if word(2, "revisions") && method == "GET" => {
                    let app = find_app(state, &id_of(&[("containerApps", rest[1])]))?;
                    let value: Vec<Value> = app
                        .revisions
                        .iter()
                        .map(|r| apps::revision_view(state, app, r, now))
                        .collect();
                    Ok(Reply::json(StatusCode::OK, json!({ "value": value })))
                }
                4 | 5 if word(2, "revisions") => revision(
                    state,
                    req,
                    &id_of(&[("containerApps", rest[1])]),
                    rest[3],
                    rest.get(4).copied(),
                    now,
                ),
                _ => Err(method_or_type(rest)),
            };
        }
        if word(0, "managedEnvironments") {
            let env_id = id_of(&[("managedEnvironments", rest.get(1).copied().unwrap_or_default())]);
            return match rest.len() {
                2 if method == "GET" => state
                    .environments
                    .get(&env_id.canonical())
                    .map(|e| Reply::json(StatusCode::OK, e.clone()))
                    .ok_or_else(|| ArmFailure::not_found("Microsoft.App/managedEnvironments/", &env_id.to_string())),
                3 if word(2, "storages") && method == "GET" => {
                    require(
                        state.environments.contains_key(&env_id.canonical()),
                        "Microsoft.App/managedEnvironments",
                        &env_id,
                    )?;
                    let prefix = format!("{}/storages/", env_id.canonical());
                    let value: Vec<Value> = state
                        .storages
                        .iter()
                        .filter(|(k, _)| k.starts_with(&prefix))
                        .map(|(_, v)| environments::storage_view(v))
                        .collect();
                    Ok(Reply::json(StatusCode::OK, json!({ "value": value })))
                }
                4 if word(2, "storages") => {
                    let id = id_of(&[("managedEnvironments", rest[1]), ("storages", rest[3])]);
                    storage(state, req, &env_id, &id)
                }
                _ => Err(method_or_type(rest)),
            };
        }
    }
    if ns.eq_ignore_ascii_case("Microsoft.Storage")
        && word(0, "storageAccounts")
        && word(2, "fileServices")
        && word(4, "shares")
    {
        return match rest.len() {
            5 if method == "GET" => {
                let prefix =
                    id_of(&[("storageAccounts", rest[1]), ("fileServices", rest[3]), ("shares", "")]).canonical();
                let with_snapshots = req.query("$expand").is_some_and(|e| e.contains("snapshots"));
                let mut value = Vec::new();
                for (k, share) in &state.shares {
                    if k.starts_with(&prefix) {
                        value.push(share.resource.clone());
                        if with_snapshots {
                            value.extend(share.snapshots.iter().cloned());
                        }
                    }
                }
                Ok(Reply::json(StatusCode::OK, json!({ "value": value })))
            }
            6 => file_share(
                state,
                req,
                &id_of(&[
                    ("storageAccounts", rest[1]),
                    ("fileServices", rest[3]),
                    ("shares", rest[5]),
                ]),
            ),
            _ => Err(method_or_type(rest)),
        };
    }
    Err(method_or_type(rest))
}

fn method_or_type(rest: &[&str]) -> ArmFailure {
    ArmFailure::new(
        StatusCode::NOT_FOUND,
        "InvalidResourceType",
        format!(
            "The resource type '{}' could not be found, or the method is not supported on it.",
            rest.first().unwrap_or(&"")
        ),
    )
}

fn require(ok: bool, kind: &str, id: &ResourceId) -> ArmResult<()> {
    if ok {
        Ok(())
    } else {
        Err(ArmFailure::not_found(kind, &id.to_string()))
    }
}

fn find_app<'s>(state: &'s State, id: &ResourceId) -> ArmResult<&'s apps::AppRecord> {
    state
        .apps
        .get(&id.canonical())
        .ok_or_else(|| ArmFailure::not_found(&format!("Microsoft.App/containerApps/{}", id.name()), &id.to_string()))
}

/// Apps per page of a list, as ARM pages them; `nextLink` carries a `$skiptoken` offset.
pub const APP_PAGE_SIZE: usize = 20;

fn list_apps(state: &State, req: &Request, sub: &str, rg: &str, now: Instant) -> ArmResult<Reply> {
    let prefix = ResourceId::container_app(sub, rg, "").canonical();
    let skip: usize = match req.query("$skiptoken") {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| ArmFailure::bad_request("InvalidSkipToken", "The $skiptoken is not valid."))?,
    };
    let mut matching = state.apps.iter().filter(|(k, _)| k.starts_with(&prefix)).skip(skip);
    let value: Vec<Value> = matching
        .by_ref()
        .take(APP_PAGE_SIZE)
        .map(|(_, a)| apps::view(state, a, now))
        .collect();
    let mut page = json!({ "value": value });
    if matching.next().is_some() {
        page["nextLink"] = json!(format!(
            "{}/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/containerApps?api-version={}&$skiptoken={}",
            req.base,
            req.api_version(),
            skip + APP_PAGE_SIZE
        ));
    }
    Ok(Reply::json(StatusCode::OK, page))
}

fn lro_headers(reply: Reply, req: &Request, op: &apps::Operation, now: Instant) -> Reply {
    let base = format!(
        "{}/subscriptions/{}/providers/Microsoft.App/locations/{}",
        req.base, op.subscription, op.location
    );
    let v = req.api_version();
    let mut reply = reply
        .header(
            "Azure-AsyncOperation",
            format!("{base}/containerappOperationStatuses/{}?api-version={v}", op.id),
        )
        .header(
            "Location",
            format!("{base}/containerappOperationResults/{}?api-version={v}", op.id),
        );
    if let Some(done) = op.done_at {
        let secs = done.saturating_duration_since(now).as_secs();
        if secs >= 1 {
            reply = reply.header("Retry-After", secs.to_string());
        }
    }
    reply
}

fn container_app(
    state: &mut State,
    req: &Request,
    id: &ResourceId,
    fault: Option<&Fault>,
    now: Instant,
) -> ArmResult<Reply> {
    let key = id.canonical();
    match req.method {
        "GET" => Ok(Reply::json(
            StatusCode::OK,
            apps::view(state, find_app(state, id)?, now),
        )),
        "PUT" | "PATCH" => {
            let kind = if req.method == "PUT" {
                OpKind::Put
            } else {
                OpKind::Patch
            };
            let outcome = apps::write(
                state,
                id,
                req.json_body()?,
                kind,
                &Principal::arm_caller(),
                fault,
                false,
            )?;
            let op = state
                .operations
                .get(outcome.operation.as_deref().unwrap_or_default())
                .cloned()
                .expect("writes start an operation");
            let reply = match kind {
                OpKind::Patch => Reply::empty(StatusCode::ACCEPTED),
                _ => {
                    let status = if outcome.created {
                        StatusCode::CREATED
                    } else {
                        StatusCode::OK
                    };
                    Reply::json(status, apps::view(state, &state.apps[&key], now))
                }
            };
            let reply = lro_headers(reply, req, &op, now);
            // The swagger gives PUT an Azure-AsyncOperation; PATCH and DELETE also a Location.
            Ok(if kind == OpKind::Put {
                Reply {
                    headers: reply.headers.into_iter().filter(|(k, _)| k != "Location").collect(),
                    ..reply
                }
            } else {
                reply
            })
        }
        "DELETE" => match apps::delete(state, id, fault)? {
            None => Ok(Reply::empty(StatusCode::NO_CONTENT)),
            Some(op) => {
                let op = state.operations[&op].clone();
                Ok(lro_headers(Reply::empty(StatusCode::ACCEPTED), req, &op, now))
            }
        },
        _ => Err(ArmFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The method is not allowed on this resource.",
        )),
    }
}

fn revision(
    state: &mut State,
    req: &Request,
    app_id: &ResourceId,
    rev: &str,
    action: Option<&str>,
    now: Instant,
) -> ArmResult<Reply> {
    let app = find_app(state, app_id)?;
    let record = app
        .revisions
        .iter()
        .find(|r| r.name.eq_ignore_ascii_case(rev))
        .ok_or_else(|| {
            ArmFailure::not_found(
                &format!("Microsoft.App/containerApps/{}/revisions/{rev}", app_id.name()),
                &app_id.to_string(),
            )
        })?;
    match (req.method, action.map(str::to_ascii_lowercase).as_deref()) {
        ("GET", None) => Ok(Reply::json(
            StatusCode::OK,
            apps::revision_view(state, app, record, now),
        )),
        ("GET", Some("replicas")) => Ok(Reply::json(
            StatusCode::OK,
            apps::replicas_view(state, app, record, now),
        )),
        ("POST", Some(a @ ("activate" | "deactivate" | "restart"))) => {
            apps::revision_action(state, &app_id.canonical(), rev, a)?;
            Ok(Reply::empty(StatusCode::OK))
        }
        _ => Err(ArmFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The method is not allowed on this resource.",
        )),
    }
}

fn operation_status(state: &State, op_id: &str, now: Instant) -> ArmResult<Reply> {
    let op = state
        .operations
        .get(op_id)
        .ok_or_else(|| ArmFailure::not_found("operation", op_id))?;
    let mut body = json!({
        "id": format!("/subscriptions/{}/providers/Microsoft.App/locations/{}/containerappOperationStatuses/{}", op.subscription, op.location, op.id),
        "name": op.id,
        "status": op.status(now),
        "startTime": op.started_wall,
    });
    if op.is_done(now) {
        body["endTime"] = json!(crate::clock::wall_now());
    }
    if let (true, Some((code, message))) = (op.is_done(now), &op.failure) {
        body["error"] = json!({ "code": code, "message": message });
    }
    Ok(Reply::json(StatusCode::OK, body))
}

fn operation_result(state: &State, req: &Request, op_id: &str, now: Instant) -> ArmResult<Reply> {
    let op = state
        .operations
        .get(op_id)
        .ok_or_else(|| ArmFailure::not_found("operation", op_id))?;
    if !op.is_done(now) {
        let reply = Reply::empty(StatusCode::ACCEPTED);
        return Ok(lro_headers(reply, req, op, now));
    }
    if let Some((code, message)) = &op.failure {
        return Err(ArmFailure::bad_request(code, message.clone()));
    }
    match op.kind {
        OpKind::Delete => Ok(Reply::empty(StatusCode::NO_CONTENT)),
        _ => {
            let app = state
                .apps
                .get(&op.app)
                .ok_or_else(|| ArmFailure::not_found("Microsoft.App/containerApps", &op.app_id))?;
            Ok(Reply::json(StatusCode::OK, apps::view(state, app, now)))
        }
    }
}

fn storage(state: &mut State, req: &Request, env_id: &ResourceId, id: &ResourceId) -> ArmResult<Reply> {
    require(
        state.environments.contains_key(&env_id.canonical()),
        "Microsoft.App/managedEnvironments",
        env_id,
    )?;
    match req.method {
        "GET" => state
            .storages
            .get(&id.canonical())
            .map(|s| Reply::json(StatusCode::OK, environments::storage_view(s)))
            .ok_or_else(|| ArmFailure::not_found("Microsoft.App/managedEnvironments/storages", &id.to_string())),
        "PUT" => {
            let mut body = req.json_body()?;
            let created = !state.storages.contains_key(&id.canonical());
            crate::state::stamp_system_data(&mut body, &Principal::arm_caller(), created);
            let stored = environments::normalise_storage(id, body);
            state.storages.insert(id.canonical(), stored.clone());
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            Ok(Reply::json(status, environments::storage_view(&stored)))
        }
        _ => Err(ArmFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The method is not allowed on this resource.",
        )),
    }
}

fn file_share(state: &mut State, req: &Request, id: &ResourceId) -> ArmResult<Reply> {
    let key = id.canonical();
    let if_match = req.headers.get("if-match").and_then(|v| v.to_str().ok());
    match req.method {
        "GET" => {
            let share = state.shares.get(&key).ok_or_else(|| {
                ArmFailure::not_found("Microsoft.Storage/storageAccounts/fileServices/shares", &id.to_string())
            })?;
            Ok(Reply::json(StatusCode::OK, share.resource.clone()).header("ETag", share.etag()))
        }
        "PUT" => {
            let expand_snapshots = req.query("$expand").is_some_and(|e| e.contains("snapshots"));
            let body = if req.body.is_empty() {
                json!({})
            } else {
                req.json_body()?
            };
            let etag = state.next_id();
            match state.shares.get_mut(&key) {
                Some(share) => {
                    share.check_if_match(if_match)?;
                    if expand_snapshots {
                        let snap = share.snapshot();
                        return Ok(Reply::json(StatusCode::CREATED, snap));
                    }
                    share.update(&body, etag);
                    Ok(Reply::json(StatusCode::OK, share.resource.clone()).header("ETag", share.etag()))
                }
                None if expand_snapshots => Err(ArmFailure::not_found(
                    "Microsoft.Storage/storageAccounts/fileServices/shares",
                    &id.to_string(),
                )),
                None => {
                    let share = ShareRecord::new(id, body, etag);
                    let reply = Reply::json(StatusCode::CREATED, share.resource.clone()).header("ETag", share.etag());
                    state.shares.insert(key, share);
                    Ok(reply)
                }
            }
        }
        _ => Err(ArmFailure::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The method is not allowed on this resource.",
        )),
    }
}
