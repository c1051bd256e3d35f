//! Environment storages and file shares (with their snapshots and ETags).

use aca_model::arm::ResourceId;
use axum::http::StatusCode;
use serde_json::json;

use super::Request;
use super::lookup::require;
use crate::environments;
use crate::error::{ArmFailure, ArmResult};
use crate::reply::Reply;
use crate::shares::ShareRecord;
use crate::state::{Principal, State};

pub(super) fn storage(state: &mut State, req: &Request, env_id: &ResourceId, id: &ResourceId) -> ArmResult<Reply> {
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

pub(super) fn file_share(state: &mut State, req: &Request, id: &ResourceId) -> ArmResult<Reply> {
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
