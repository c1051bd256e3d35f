//! Lists of a subscription (container apps, managed environments) and of a resource group, paged
//! with `nextLink` by the one `page_size` knob; the query is decoded as forms encode it.

mod common;

use aca_sim::scenario::{bare_app, bare_environment, bare_environment_id};
use aca_sim::{SimConfig, Simulator, StartOptions};
use reqwest::StatusCode;
use serde_json::Value;

const SUB: &str = "11111111-1111-1111-1111-111111111111";
const OTHER_SUB: &str = "22222222-2222-2222-2222-222222222222";

/// Environments in rg-a, rg-b and another subscription; 5 apps in rg-a, 2 in rg-b, 1 elsewhere.
async fn start(page_size: usize) -> common::Sim {
    let mut seed = Vec::new();
    for (sub, rg) in [(SUB, "rg-a"), (SUB, "rg-b"), (OTHER_SUB, "rg-c")] {
        seed.push(bare_environment(sub, rg));
    }
    seed.extend((0..5).map(|i| bare_app(SUB, "rg-a", &format!("a{i}"))));
    seed.extend((0..2).map(|i| bare_app(SUB, "rg-b", &format!("b{i}"))));
    seed.push(bare_app(OTHER_SUB, "rg-c", "c0"));
    let sim = Simulator::start(StartOptions {
        config: SimConfig {
            page_size,
            ..common::fast_config()
        },
        seed,
        ..StartOptions::default()
    })
    .await
    .expect("simulator starts");
    common::Sim {
        sim,
        http: reqwest::Client::new(),
    }
}

/// Follows `nextLink` from `path`; returns the names in order and the number of pages.
async fn all_pages(sim: &common::Sim, path: &str) -> (Vec<String>, usize) {
    let mut names = Vec::new();
    let mut pages = 0;
    let mut next = Some(sim.url(&format!("{path}?{}", common::API)));
    while let Some(url) = next.take() {
        let resp = sim.http.get(&url).bearer_auth("t").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "GET {url}");
        let page: Value = resp.json().await.unwrap();
        pages += 1;
        for v in page["value"].as_array().expect("a value array") {
            names.push(v["name"].as_str().expect("a name").to_string());
        }
        next = page["nextLink"].as_str().map(str::to_string);
        assert!(pages < 20, "nextLink never ends");
    }
    (names, pages)
}

#[tokio::test]
async fn the_subscription_app_list_pages_every_resource_group_and_no_other_subscription() {
    let sim = start(2).await;
    let (names, pages) = all_pages(
        &sim,
        &format!("/subscriptions/{SUB}/providers/Microsoft.App/containerApps"),
    )
    .await;
    assert_eq!(names, ["a0", "a1", "a2", "a3", "a4", "b0", "b1"]);
    assert_eq!(pages, 4, "7 apps by 2 a page");
}

#[tokio::test]
async fn the_subscription_environment_list_pages_and_shows_environments_as_get_does() {
    let sim = start(1).await;
    let path = format!("/subscriptions/{SUB}/providers/Microsoft.App/managedEnvironments");
    let (names, pages) = all_pages(&sim, &path).await;
    assert_eq!(names, ["cae-rg-a", "cae-rg-b"]);
    assert_eq!(pages, 2);
    let first = sim.get_json(&path).await;
    let got = sim.get_json(&bare_environment_id(SUB, "rg-a")).await;
    assert_eq!(first["value"][0], got, "a listed environment is the GET answer");
}

#[tokio::test]
async fn a_listed_app_is_the_get_answer_without_secret_values() {
    let sim = start(10).await;
    let list = sim
        .get_json(&format!("/subscriptions/{SUB}/providers/Microsoft.App/containerApps"))
        .await;
    assert!(list.get("nextLink").is_none(), "one page holds 7 apps at 10 a page");
    let got = sim
        .get_json(&format!(
            "/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.App/containerApps/a0"
        ))
        .await;
    assert_eq!(list["value"][0], got);
}

#[tokio::test]
async fn the_page_size_knob_also_pages_the_resource_group_list() {
    let sim = start(3).await;
    let path = format!("/subscriptions/{SUB}/resourceGroups/rg-a/providers/Microsoft.App/containerApps");
    let (names, pages) = all_pages(&sim, &path).await;
    assert_eq!(names, ["a0", "a1", "a2", "a3", "a4"]);
    assert_eq!(pages, 2);
}

#[tokio::test]
async fn a_bad_skiptoken_is_400_and_an_encoded_query_is_decoded() {
    let sim = start(2).await;
    let base = format!("/subscriptions/{SUB}/providers/Microsoft.App/containerApps");
    let bad = sim
        .arm(reqwest::Method::GET, &format!("{base}?$skiptoken=x"), None)
        .await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    // `%24skiptoken=%36` is `$skiptoken=6`: the last page, one app.
    let page = sim.get_json(&format!("{base}?%24skiptoken=%36")).await;
    assert_eq!(page["value"].as_array().map(Vec::len), Some(1));
    assert_eq!(page["value"][0]["name"], "b1");
}
