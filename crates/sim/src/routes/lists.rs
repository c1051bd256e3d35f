//! Collection GETs of Microsoft.App, paged as ARM pages them: `value`, and a `nextLink` carrying a
//! `$skiptoken` offset while items remain. `SimConfig::page_size` items a page, for every list.

use aca_model::arm::ResourceId;
use axum::http::StatusCode;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::Request;
use crate::apps;
use crate::error::{ArmFailure, ArmResult};
use crate::reply::Reply;
use crate::state::State;

/// `GET /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.App/containerApps`.
pub(super) fn resource_group_apps(state: &State, req: &Request, sub: &str, rg: &str, now: Instant) -> ArmResult<Reply> {
    let prefix = ResourceId::container_app(sub, rg, "").canonical();
    let items = state
        .apps
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, a)| apps::view(state, a, now));
    let path = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/containerApps");
    page(state, req, items, &path)
}

/// `GET /subscriptions/{s}/providers/Microsoft.App/containerApps`: every resource group's apps.
pub(super) fn subscription_apps(state: &State, req: &Request, sub: &str, now: Instant) -> ArmResult<Reply> {
    let prefix = subscription_prefix(sub);
    let items = state
        .apps
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, a)| apps::view(state, a, now));
    let path = format!("/subscriptions/{sub}/providers/Microsoft.App/containerApps");
    page(state, req, items, &path)
}

/// `GET /subscriptions/{s}/providers/Microsoft.App/managedEnvironments`.
pub(super) fn subscription_environments(state: &State, req: &Request, sub: &str) -> ArmResult<Reply> {
    let prefix = subscription_prefix(sub);
    let items = state
        .environments
        .iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .map(|(_, e)| e.clone());
    let path = format!("/subscriptions/{sub}/providers/Microsoft.App/managedEnvironments");
    page(state, req, items, &path)
}

/// Keys are canonical (lower-cased) ids.
fn subscription_prefix(sub: &str) -> String {
    format!("/subscriptions/{}/", sub.to_ascii_lowercase())
}

/// One page of `items` from the request's `$skiptoken`; views past the page are never built.
fn page(state: &State, req: &Request, items: impl Iterator<Item = Value>, path: &str) -> ArmResult<Reply> {
    let skip: usize = match req.query("$skiptoken") {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| ArmFailure::bad_request("InvalidSkipToken", "The $skiptoken is not valid."))?,
    };
    let size = state.config.page_size.max(1);
    let mut rest = items.skip(skip);
    let value: Vec<Value> = rest.by_ref().take(size).collect();
    let mut body = json!({ "value": value });
    if rest.next().is_some() {
        body["nextLink"] = json!(format!(
            "{}{path}?api-version={}&$skiptoken={}",
            req.base,
            req.api_version(),
            skip + size
        ));
    }
    Ok(Reply::json(StatusCode::OK, body))
}
