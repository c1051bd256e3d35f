//! The admin API under `/_sim/`: seed and edit resources as a person would in the portal, inject
//! faults, read the request log and the revision history. Never under ARM paths.

use aca_model::arm::ResourceId;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxumState};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::apps::{self, OpKind};
use crate::faults::Fault;
use crate::reply::Reply;
use crate::routes::Ctx;
use crate::scenario;
use crate::state::{Principal, State};

pub fn router() -> Router<Ctx> {
    Router::new()
        .route("/_sim/state", get(list_state))
        .route(
            "/_sim/state/{*id}",
            get(get_state).put(put_state).patch(patch_state).delete(delete_state),
        )
        .route("/_sim/faults", get(list_faults).post(add_faults).delete(clear_faults))
        .route("/_sim/requests", get(list_requests).delete(clear_requests))
        .route("/_sim/revisions", get(revisions))
        .route("/_sim/reset", post(reset))
        .route("/_sim/scenario/{name}", post(load_scenario))
}

#[derive(Debug, Deserialize)]
struct By {
    /// Who makes the edit (`systemData.lastModifiedBy`); a person by default.
    by: Option<String>,
}

fn person(by: &By) -> Principal {
    Principal {
        name: by.by.clone().unwrap_or_else(|| "alice@contoso.com".into()),
        kind: "User".into(),
    }
}

fn bad(message: impl Into<String>) -> Response {
    Reply::json(
        StatusCode::BAD_REQUEST,
        json!({"error": {"code": "BadRequest", "message": message.into()}}),
    )
    .into_response()
}

fn parse_id(id: &str) -> Result<ResourceId, Box<Response>> {
    ResourceId::parse(&format!("/{id}")).map_err(|e| Box::new(bad(e.to_string())))
}

fn stored(state: &State, id: &ResourceId) -> Option<Value> {
    let key = id.canonical();
    state
        .environments
        .get(&key)
        .or_else(|| state.storages.get(&key))
        .cloned()
        .or_else(|| state.apps.get(&key).map(|a| a.resource.clone()))
        .or_else(|| state.shares.get(&key).map(|s| s.resource.clone()))
}

async fn list_state(AxumState(ctx): AxumState<Ctx>) -> Response {
    let state = ctx.state.lock().expect("state lock");
    Reply::json(StatusCode::OK, Value::Array(state.all_resources())).into_response()
}

async fn get_state(AxumState(ctx): AxumState<Ctx>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let mut state = ctx.state.lock().expect("state lock");
    state.settle(Instant::now());
    match stored(&state, &id) {
        Some(v) => Reply::json(StatusCode::OK, v).into_response(),
        None => Reply::json(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "NotFound", "message": "no such resource"}}),
        )
        .into_response(),
    }
}

/// Replaces (PUT) or merges into (PATCH) a resource at once, as a portal edit: no operation to
/// wait for, but a template change still makes a new revision with the usual overlap.
async fn edit(ctx: Ctx, id: String, by: By, body: Bytes, kind: OpKind) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let mut body: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(format!("body is not JSON: {e}")),
    };
    let mut state = ctx.state.lock().expect("state lock");
    state.settle(Instant::now());
    let who = person(&by);
    let is_app = id.resource_type().eq_ignore_ascii_case("Microsoft.App/containerApps");
    if is_app {
        if let Err(f) = apps::write(&mut state, &id, body, kind, &who, None, true) {
            return Reply::from(f).into_response();
        }
    } else {
        if kind == OpKind::Patch {
            let Some(mut current) = stored(&state, &id) else {
                return bad("PATCH needs an existing resource");
            };
            crate::state::merge_patch(&mut current, &body);
            body = current;
        }
        body["id"] = json!(id.to_string());
        crate::state::stamp_system_data(&mut body, &who, false);
        if let Err(e) = crate::seed::seed(&mut state, body, &who) {
            return bad(e);
        }
    }
    let method = if kind == OpKind::Patch { "PATCH" } else { "PUT" };
    ctx.events.after_write(method, &id.to_string(), 200);
    Reply::json(StatusCode::OK, stored(&state, &id).unwrap_or(Value::Null)).into_response()
}

async fn put_state(
    AxumState(ctx): AxumState<Ctx>,
    Path(id): Path<String>,
    Query(by): Query<By>,
    body: Bytes,
) -> Response {
    edit(ctx, id, by, body, OpKind::Put).await
}

async fn patch_state(
    AxumState(ctx): AxumState<Ctx>,
    Path(id): Path<String>,
    Query(by): Query<By>,
    body: Bytes,
) -> Response {
    edit(ctx, id, by, body, OpKind::Patch).await
}

/// A person deleting a resource in the portal: gone at once.
async fn delete_state(AxumState(ctx): AxumState<Ctx>, Path(id): Path<String>) -> Response {
    let id = match parse_id(&id) {
        Ok(id) => id,
        Err(r) => return *r,
    };
    let key = id.canonical();
    let mut state = ctx.state.lock().expect("state lock");
    let removed = state.environments.remove(&key).is_some()
        || state.storages.remove(&key).is_some()
        || state.apps.remove(&key).is_some()
        || state.shares.remove(&key).is_some();
    if removed {
        ctx.events.after_write("DELETE", &id.to_string(), 200);
    }
    Reply::empty(if removed {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::NOT_FOUND
    })
    .into_response()
}

async fn list_faults(AxumState(ctx): AxumState<Ctx>) -> Response {
    let state = ctx.state.lock().expect("state lock");
    Reply::json(StatusCode::OK, serde_json::to_value(&state.faults).unwrap_or_default()).into_response()
}

/// Accepts one fault or a list.
async fn add_faults(AxumState(ctx): AxumState<Ctx>, body: Bytes) -> Response {
    let faults: Vec<Fault> = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => match items.into_iter().map(serde_json::from_value).collect() {
            Ok(f) => f,
            Err(e) => return bad(format!("not a fault: {e}")),
        },
        Ok(v) => match serde_json::from_value(v) {
            Ok(f) => vec![f],
            Err(e) => return bad(format!("not a fault: {e}")),
        },
        Err(e) => return bad(format!("body is not JSON: {e}")),
    };
    let mut state = ctx.state.lock().expect("state lock");
    state.faults.extend(faults);
    Reply::json(
        StatusCode::CREATED,
        serde_json::to_value(&state.faults).unwrap_or_default(),
    )
    .into_response()
}

async fn clear_faults(AxumState(ctx): AxumState<Ctx>) -> Response {
    ctx.state.lock().expect("state lock").faults.clear();
    Reply::empty(StatusCode::NO_CONTENT).into_response()
}

async fn list_requests(AxumState(ctx): AxumState<Ctx>) -> Response {
    let state = ctx.state.lock().expect("state lock");
    Reply::json(
        StatusCode::OK,
        serde_json::to_value(&state.requests).unwrap_or_default(),
    )
    .into_response()
}

async fn clear_requests(AxumState(ctx): AxumState<Ctx>) -> Response {
    ctx.state.lock().expect("state lock").requests.clear();
    Reply::empty(StatusCode::NO_CONTENT).into_response()
}

async fn revisions(AxumState(ctx): AxumState<Ctx>) -> Response {
    let state = ctx.state.lock().expect("state lock");
    Reply::json(StatusCode::OK, apps::history(&state)).into_response()
}

#[derive(Debug, Deserialize)]
struct ResetQuery {
    scenario: Option<String>,
}

/// Forgets everything (resources, log, faults, throttle), optionally loading a scenario.
async fn reset(AxumState(ctx): AxumState<Ctx>, Query(q): Query<ResetQuery>) -> Response {
    let mut state = ctx.state.lock().expect("state lock");
    let config = state.config.clone();
    *state = State::new(config);
    match q.scenario {
        Some(name) => seed_scenario(&mut state, &name),
        None => Reply::empty(StatusCode::NO_CONTENT).into_response(),
    }
}

async fn load_scenario(AxumState(ctx): AxumState<Ctx>, Path(name): Path<String>) -> Response {
    let mut state = ctx.state.lock().expect("state lock");
    seed_scenario(&mut state, &name)
}

fn seed_scenario(state: &mut State, name: &str) -> Response {
    let Some(resources) = scenario::resources(name) else {
        return bad(format!(
            "unknown scenario `{name}`; known: {}",
            scenario::names().join(", ")
        ));
    };
    for r in resources {
        if let Err(e) = crate::seed::seed(
            state,
            r,
            &Principal {
                name: "terraform@contoso.com".into(),
                kind: "User".into(),
            },
        ) {
            return bad(e);
        }
    }
    Reply::empty(StatusCode::NO_CONTENT).into_response()
}
