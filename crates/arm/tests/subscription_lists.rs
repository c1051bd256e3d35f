//! The subscription-wide lists against the simulator: every resource group, every page (the
//! simulator pages by 2 here), nothing of another subscription.

use aca_arm::{ArmClient, ArmConfig, AuthMethod, AuthSettings};
use aca_sim::scenario::{self, SUBSCRIPTION, bare_app, bare_environment, bare_environment_id};
use aca_sim::{SimConfig, Simulator, StartOptions};
use azure_core::credentials::Secret;
use serde_json::Value;

const OTHER_SUB: &str = "22222222-2222-2222-2222-222222222222";

/// The `sidecar` scenario (one app in rg-langfuse) plus environments in rg-extra and another
/// subscription, 4 apps in rg-extra and one in the other subscription.
async fn sim() -> Simulator {
    let mut seed = Vec::new();
    for (sub, rg) in [(SUBSCRIPTION, "rg-extra"), (OTHER_SUB, "rg-other")] {
        seed.push(bare_environment(sub, rg));
    }
    seed.extend((0..4).map(|i| bare_app(SUBSCRIPTION, "rg-extra", &format!("x{i}"))));
    seed.push(bare_app(OTHER_SUB, "rg-other", "elsewhere"));
    Simulator::start(StartOptions {
        scenario: Some("sidecar".into()),
        seed,
        config: SimConfig {
            page_size: 2,
            ..SimConfig::default()
        },
        ..StartOptions::default()
    })
    .await
    .unwrap()
}

fn client(sim: &Simulator) -> ArmClient {
    ArmClient::new(ArmConfig {
        endpoint: Some(sim.base_url.clone()),
        allow_insecure_loopback: true,
        auth: AuthSettings {
            method: AuthMethod::Static,
            static_token: Some(Secret::new("sim-token")),
            ..AuthSettings::default()
        },
        ..ArmConfig::default()
    })
    .unwrap()
}

/// How many GETs reached a path ending with `suffix`.
async fn gets_of(sim: &Simulator, suffix: &str) -> usize {
    let log: Vec<Value> = reqwest::get(format!("{}/_sim/requests", sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    log.iter()
        .filter(|r| r["method"] == "GET" && r["path"].as_str().is_some_and(|p| p.ends_with(suffix)))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_every_app_of_the_subscription_through_every_page() {
    let sim = sim().await;
    let listed = client(&sim)
        .list_container_apps_in_subscription(SUBSCRIPTION)
        .await
        .unwrap();
    assert_eq!(listed.pages, 3, "5 apps by 2 a page");
    let mut names: Vec<String> = listed.items.iter().filter_map(|a| a.name.clone()).collect();
    names.sort();
    assert_eq!(names, [scenario::LANGFUSE_APP, "x0", "x1", "x2", "x3"]);
    assert_eq!(
        gets_of(&sim, "/providers/Microsoft.App/containerApps").await,
        3,
        "5 apps by 2 a page"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_every_environment_of_the_subscription() {
    let sim = sim().await;
    let listed = client(&sim)
        .list_managed_environments_in_subscription(SUBSCRIPTION)
        .await
        .unwrap();
    let envs = listed.items;
    let ids: Vec<String> = envs
        .iter()
        .filter_map(|e| e.id.clone())
        .map(|i| i.to_ascii_lowercase())
        .collect();
    assert_eq!(
        ids,
        [
            bare_environment_id(SUBSCRIPTION, "rg-extra").to_ascii_lowercase(),
            scenario::environment_id().to_ascii_lowercase()
        ]
    );
    assert!(
        envs.iter()
            .any(|e| e.default_domain() == Some(scenario::DEFAULT_DOMAIN))
    );
}
