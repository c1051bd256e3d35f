//! Resources created from ARM example payloads answer GET with the same top-level and `properties`
//! keys as the examples' responses (`systemData` aside: ARM returns it for tracked resources, the
//! examples leave it out). Run on the project's fixtures (`tests/fixtures/arm/`, always) and on the
//! official examples (`../shared/arm-examples/`, when beside the repository as in CI; otherwise the
//! tests say they were skipped).

mod common;
// The model's tests' lookup of the fixtures and the official examples (one copy of the rule and
// of its SKIPPED line).
#[path = "../../model/tests/examples/mod.rs"]
mod examples;

use std::collections::BTreeSet;
use std::path::PathBuf;

use aca_sim::{Simulator, StartOptions};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// One set of example files and where its resources go in the simulator.
struct Examples {
    dir: PathBuf,
    /// Where the environment of `ManagedEnvironments_Get.json` is seeded (its apps point there).
    environment_id: &'static str,
    /// Storage files (CreateOrUpdate) and the names the app's volumes give them.
    storages: [(&'static str, &'static str); 2],
    /// A GET example for the first storage, when the set has one.
    storage_get: Option<&'static str>,
    app_id: &'static str,
    share_id: &'static str,
    /// The example listing shares (its first item has a listed share's keys).
    share_list: &'static str,
}

fn fixtures() -> Examples {
    let rg = "/subscriptions/3f2c1a7e-8b4d-4e9a-9c21-5d6e7f8a9b0c/resourceGroups/rg-fixtures/providers";
    Examples {
        dir: examples::fixtures_dir(),
        environment_id: const_str(rg, "/Microsoft.App/managedEnvironments/fixture-env"),
        storages: [
            ("ManagedEnvironmentsStorages_CreateOrUpdate.json", "uploads-share"),
            (
                "ManagedEnvironmentsStorages_CreateOrUpdate_NfsAzureFile.json",
                "cache-nfs",
            ),
        ],
        storage_get: None,
        app_id: const_str(rg, "/Microsoft.App/containerApps/orders-api"),
        share_id: const_str(
            rg,
            "/Microsoft.Storage/storageAccounts/ordersfiles/fileServices/default/shares/cache",
        ),
        share_list: "FileSharesList.json",
    }
}

/// Joins two strings for the lifetime of the test process (a handful of ids).
fn const_str(a: &str, b: &str) -> &'static str {
    format!("{a}{b}").leak()
}

/// The official examples, or `None` after saying (past the harness's capture) that `test` was skipped.
fn official(test: &str) -> Option<Examples> {
    let dir = examples::official_dir(test, "the project's fixtures cover the same property")?;
    let rg = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/rg/providers";
    Some(Examples {
        dir,
        // The examples' apps point at `demokube` in `rg`: ManagedEnvironments_Get's environment moves there.
        environment_id: const_str(rg, "/Microsoft.App/managedEnvironments/demokube"),
        storages: [
            ("ManagedEnvironmentsStorages_CreateOrUpdate.json", "storage"),
            (
                "ManagedEnvironmentsStorages_CreateOrUpdate_NfsAzureFile.json",
                "nfsStorage",
            ),
        ],
        storage_get: Some("ManagedEnvironmentsStorages_Get.json"),
        app_id: const_str(rg, "/Microsoft.App/containerApps/testcontainerapp0"),
        share_id: const_str(
            rg,
            "/Microsoft.Storage/storageAccounts/sto328/fileServices/default/shares/share6185",
        ),
        share_list: "FileShareSnapshotsList.json",
    })
}

impl Examples {
    fn read(&self, file: &str) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.dir.join(file)).unwrap()).unwrap()
    }

    fn environment(&self) -> Value {
        let mut env = response(&self.read("ManagedEnvironments_Get.json"), "200");
        env["id"] = json!(self.environment_id);
        env
    }
}

fn keys(v: &Value) -> (BTreeSet<String>, BTreeSet<String>) {
    let top = v
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "systemData")
        .cloned()
        .collect();
    let props = v
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    (top, props)
}

fn response(example: &Value, status: &str) -> Value {
    example["responses"][status]["body"].clone()
}

/// The body of whichever success response the example gives one for.
fn any_response(example: &Value) -> Value {
    ["200", "201"]
        .iter()
        .map(|s| response(example, s))
        .find(|b| b.as_object().is_some_and(|o| !o.is_empty()))
        .expect("an example response body")
}

async fn start_with_environment(set: &Examples) -> Sim {
    let sim = Simulator::start(StartOptions {
        seed: vec![set.environment()],
        config: fast_config(),
        ..StartOptions::default()
    })
    .await
    .unwrap();
    Sim {
        sim,
        http: reqwest::Client::new(),
    }
}

async fn storages_and_apps_read_back_like_the_examples(set: &Examples) {
    let s = start_with_environment(set).await;
    let env = set.environment_id;

    // Storages, as the app example's volumes name them.
    for (file, name) in set.storages {
        let ex = set.read(file);
        let resp = s
            .arm(
                Method::PUT,
                &format!("{env}/storages/{name}"),
                Some(&ex["parameters"]["storageEnvelope"]),
            )
            .await;
        assert_eq!(resp.status(), StatusCode::CREATED, "{file}");
        let got = s.get_json(&format!("{env}/storages/{name}")).await;
        assert_eq!(keys(&got), keys(&any_response(&ex)), "{file}");
    }
    if let Some(file) = set.storage_get {
        let name = set.storages[0].1;
        assert_eq!(
            keys(&s.get_json(&format!("{env}/storages/{name}")).await),
            keys(&response(&set.read(file), "200"))
        );
    }

    // The environment itself.
    assert_eq!(
        keys(&s.get_json(env).await),
        keys(&response(&set.read("ManagedEnvironments_Get.json"), "200"))
    );

    // The container app of ContainerApps_CreateOrUpdate, then GET as ContainerApps_Get shows it.
    let ex = set.read("ContainerApps_CreateOrUpdate.json");
    let app = set.app_id;
    let resp = s
        .arm(Method::PUT, app, Some(&ex["parameters"]["containerAppEnvelope"]))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "{:?}", resp.text().await);
    let created_keys = keys(&resp_json(s.arm(Method::GET, app, None).await).await);
    assert_eq!(created_keys.0, keys(&response(&ex, "201")).0);
    let got = s
        .poll_json(app, |got| {
            got["properties"]["provisioningState"] == "Succeeded"
                && got["properties"].get("latestReadyRevisionName").is_some()
        })
        .await;
    assert_eq!(keys(&got), keys(&response(&ex, "200")));
    assert_eq!(keys(&got), keys(&response(&set.read("ContainerApps_Get.json"), "200")));
    // Config the example sent comes back (unknown to the model, kept by ARM).
    assert_eq!(
        got["properties"]["configuration"]["dapr"],
        ex["parameters"]["containerAppEnvelope"]["properties"]["configuration"]["dapr"]
    );
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn storages_and_apps_created_from_fixtures_read_back_like_the_fixtures() {
    storages_and_apps_read_back_like_the_examples(&fixtures()).await;
}

#[tokio::test(start_paused = true)]
async fn storages_and_apps_created_from_official_examples_read_back_like_the_examples() {
    if let Some(set) = official("storages_and_apps_created_from_official_examples_read_back_like_the_examples") {
        storages_and_apps_read_back_like_the_examples(&set).await;
    }
}

async fn resp_json(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

async fn file_shares_read_back_like_the_examples(set: &Examples) {
    let s = start_with_environment(set).await;
    // The storage account lives in the resource group of the environment, which the simulator knows.
    let ex = set.read("FileSharesPut.json");
    let path = set.share_id;
    let resp = s
        .http
        .put(s.url(&format!("{path}?api-version=2025-06-01")))
        .bearer_auth("t")
        .json(&ex["parameters"]["fileShare"])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let got: Value = s
        .http
        .get(s.url(&format!("{path}?api-version=2025-06-01")))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let expected = response(&ex, "200");
    let (top, _) = keys(&got);
    // ARM's share GET may add `etag` and `properties` to an example's minimal body.
    let (ex_top, _) = keys(&expected);
    assert!(ex_top.is_subset(&top), "{ex_top:?} within {top:?}");
    let listed = response(&set.read(set.share_list), "200");
    assert_eq!(top, keys(&listed["value"][0]).0, "the same keys as a listed share");
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn file_shares_created_from_the_fixture_read_back_like_it() {
    file_shares_read_back_like_the_examples(&fixtures()).await;
}

#[tokio::test(start_paused = true)]
async fn file_shares_created_from_the_official_example_read_back_like_it() {
    if let Some(set) = official("file_shares_created_from_the_official_example_read_back_like_it") {
        file_shares_read_back_like_the_examples(&set).await;
    }
}
