//! Container apps, their revisions and the status and result of their long-running operations.

use aca_model::arm::ResourceId;
use axum::http::StatusCode;
use serde_json::json;
use tokio::time::Instant;

use super::Request;
use super::lookup::find_app;
use crate::apps::{self, OpKind, Principal};
use crate::error::{ArmFailure, ArmResult};
use crate::faults::Fault;
use crate::reply::Reply;
use crate::state::State;

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

pub(super) fn container_app(
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

pub(super) fn revision(
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

pub(super) fn operation_status(state: &State, op_id: &str, now: Instant) -> ArmResult<Reply> {
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

pub(super) fn operation_result(state: &State, req: &Request, op_id: &str, now: Instant) -> ArmResult<Reply> {
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
