//! Collection GETs of Microsoft.App, paged as ARM pages them: `value`, and a `nextLink` carrying a
//! `$skiptoken` offset while items remain. `SimConfig::page_size` items a page, for every list.

use std::collections::BTreeMap;
use std::ops::Bound;

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
    let items = with_prefix(&state.apps, &prefix);
    let path = format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.App/containerApps");
    page(state, req, items, |(_, a)| apps::view(state, a, now), &path)
}

/// `GET /subscriptions/{s}/providers/Microsoft.App/containerApps`: every resource group's apps.
pub(super) fn subscription_apps(state: &State, req: &Request, sub: &str, now: Instant) -> ArmResult<Reply> {
    let prefix = subscription_prefix(sub);
    let items = with_prefix(&state.apps, &prefix);
    let path = format!("/subscriptions/{sub}/providers/Microsoft.App/containerApps");
    page(state, req, items, |(_, a)| apps::view(state, a, now), &path)
}

/// `GET /subscriptions/{s}/providers/Microsoft.App/managedEnvironments`.
pub(super) fn subscription_environments(state: &State, req: &Request, sub: &str) -> ArmResult<Reply> {
    let prefix = subscription_prefix(sub);
    let items = with_prefix(&state.environments, &prefix);
    let path = format!("/subscriptions/{sub}/providers/Microsoft.App/managedEnvironments");
    page(state, req, items, |(_, e)| e.clone(), &path)
}

/// The entries whose (canonical, sorted) key starts with `prefix`: one range of the map.
pub(super) fn with_prefix<'a, T>(
    map: &'a BTreeMap<String, T>,
    prefix: &'a str,
) -> impl Iterator<Item = (&'a String, &'a T)> {
    map.range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
        .take_while(move |(k, _)| k.starts_with(prefix))
}

/// Keys are canonical (lower-cased) ids.
fn subscription_prefix(sub: &str) -> String {
    format!("/subscriptions/{}/", sub.to_ascii_lowercase())
}

/// One page of `items` from the request's `$skiptoken`, each shown by `view`. Only the page's
/// items are viewed: a view is the costly part (an app's is a deep copy), and a page viewed
/// everything before it, which made a subscription LIST quadratic in its pages.
fn page<T>(
    state: &State,
    req: &Request,
    items: impl Iterator<Item = T>,
    view: impl FnMut(T) -> Value,
    path: &str,
) -> ArmResult<Reply> {
    let skip: usize = match req.query("$skiptoken") {
        None => 0,
        Some(t) => t
            .parse()
            .map_err(|_| ArmFailure::bad_request("InvalidSkipToken", "The $skiptoken is not valid."))?,
    };
    let size = state.config.page_size.max(1);
    let (value, more) = take_page(items, skip, size, view);
    let mut body = json!({ "value": value });
    if more {
        body["nextLink"] = json!(format!(
            "{}{path}?api-version={}&$skiptoken={}",
            req.base,
            req.api_version(),
            skip + size
        ));
    }
    Ok(Reply::json(StatusCode::OK, body))
}

/// Items `skip..skip + size` of `items`, viewed, and whether any follow.
fn take_page<T, V>(
    items: impl Iterator<Item = T>,
    skip: usize,
    size: usize,
    view: impl FnMut(T) -> V,
) -> (Vec<V>, bool) {
    let mut rest = items.skip(skip);
    let value = rest.by_ref().take(size).map(view).collect();
    (value, rest.next().is_some())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::{take_page, with_prefix};

    #[test]
    fn a_prefix_takes_its_own_keys_only() {
        let map: BTreeMap<String, u8> = ["/s/a", "/s/a/", "/s/a/x", "/s/a/y", "/s/ab/x", "/s/b/x"]
            .into_iter()
            .map(|k| (k.to_string(), 0))
            .collect();
        let keys = |prefix| with_prefix(&map, prefix).map(|(k, _)| k.as_str()).collect::<Vec<_>>();
        assert_eq!(keys("/s/a/"), ["/s/a/", "/s/a/x", "/s/a/y"]);
        assert_eq!(keys("/s/b/"), ["/s/b/x"]);
        assert_eq!(keys("/s/c/"), Vec::<&str>::new());
        assert_eq!(keys("").len(), map.len());
    }

    #[test]
    fn a_page_views_its_own_items_only() {
        let mut viewed = Vec::new();
        let (page, more) = take_page(0..100, 60, 20, |i| {
            viewed.push(i);
            i * 10
        });
        assert_eq!(page, (60..80).map(|i| i * 10).collect::<Vec<_>>());
        assert!(more);
        assert_eq!(
            viewed,
            (60..80).collect::<Vec<_>>(),
            "items before or after the page were viewed"
        );
        let (last, more) = take_page(0..100, 80, 20, |i| i);
        assert_eq!((last.len(), more), (20, false));
    }
}
