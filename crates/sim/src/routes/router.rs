//! Which handler answers an ARM path: Microsoft.App's operation status and results, lists,
//! container apps with their revisions, environments with their storages, and file shares.

use aca_model::arm::ResourceId;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Request;
use super::app_handlers::{container_app, operation_result, operation_status, revision};
use super::lists;
use super::lookup::{find_app, require};
use super::resource_handlers::{file_share, storage};
use crate::apps;
use crate::environments;
use crate::error::{ArmFailure, ArmResult};
use crate::faults::Fault;
use crate::reply::Reply;
use crate::state::State;

pub(super) fn route(state: &mut State, req: &Request, fault: Option<&Fault>, now: Instant) -> ArmResult<Reply> {
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
    // Lists of a whole subscription.
    if s.len() == 5 && req.seg_is(2, "providers") && req.seg_is(3, "Microsoft.App") && req.method == "GET" {
        if req.seg_is(4, "containerApps") {
            return lists::subscription_apps(state, req, s[1], now);
        }
        if req.seg_is(4, "managedEnvironments") {
            return lists::subscription_environments(state, req, s[1]);
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
                1 if method == "GET" => lists::resource_group_apps(state, req, sub, rg, now),
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
                    let value: Vec<Value> = lists::with_prefix(&state.storages, &prefix)
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
                for (_, share) in lists::with_prefix(&state.shares, &prefix) {
                    value.push(share.resource.clone());
                    if with_snapshots {
                        value.extend(share.snapshots.iter().cloned());
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
