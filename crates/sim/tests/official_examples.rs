//! Resources created from the official examples answer GET with the same top-level and `properties`
//! keys as the examples' responses (`systemData` aside: ARM returns it for tracked resources, the
//! examples leave it out).

mod common;

use std::collections::BTreeSet;

use aca_sim::{Simulator, StartOptions};
use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

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

/// The environment of the examples (`demokube` in `rg`), from ManagedEnvironments_Get with its id moved.
fn example_environment() -> Value {
    let mut env = response(&example("ManagedEnvironments_Get.json"), "200");
    env["id"] = json!(
        "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/demokube"
    );
    env
}

async fn start_with_example_environment() -> Sim {
    let sim = Simulator::start(StartOptions {
        seed: vec![example_environment()],
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

#[tokio::test]
async fn storages_and_apps_created_from_examples_read_back_like_the_examples() {
    let s = start_with_example_environment().await;
    let env = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/demokube";

    // Storages: the two CreateOrUpdate examples, as the app example's volumes name them.
    for (file, name) in [
        ("ManagedEnvironmentsStorages_CreateOrUpdate.json", "storage"),
        (
            "ManagedEnvironmentsStorages_CreateOrUpdate_NfsAzureFile.json",
            "nfsStorage",
        ),
    ] {
        let ex = example(file);
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
    let get_example = response(&example("ManagedEnvironmentsStorages_Get.json"), "200");
    assert_eq!(
        keys(&s.get_json(&format!("{env}/storages/storage")).await),
        keys(&get_example)
    );

    // The environment itself.
    assert_eq!(
        keys(&s.get_json(env).await),
        keys(&response(&example("ManagedEnvironments_Get.json"), "200"))
    );

    // The container app of ContainerApps_CreateOrUpdate, then GET as ContainerApps_Get shows it.
    let ex = example("ContainerApps_CreateOrUpdate.json");
    let app = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/rg/providers/Microsoft.App/containerApps/testcontainerapp0";
    let resp = s
        .arm(Method::PUT, app, Some(&ex["parameters"]["containerAppEnvelope"]))
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED, "{:?}", resp.text().await);
    let created_keys = keys(&resp_json(s.arm(Method::GET, app, None).await).await);
    assert_eq!(created_keys.0, keys(&response(&ex, "201")).0);
    let got = loop {
        let got = s.get_json(app).await;
        if got["properties"]["provisioningState"] == "Succeeded"
            && got["properties"].get("latestReadyRevisionName").is_some()
        {
            break got;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(keys(&got), keys(&response(&ex, "200")));
    assert_eq!(keys(&got), keys(&response(&example("ContainerApps_Get.json"), "200")));
    // Config the example sent comes back (unknown to the model, kept by ARM).
    assert_eq!(
        got["properties"]["configuration"]["dapr"],
        ex["parameters"]["containerAppEnvelope"]["properties"]["configuration"]["dapr"]
    );
    s.sim.stop().await;
}

async fn resp_json(r: reqwest::Response) -> Value {
    r.json().await.unwrap()
}

#[tokio::test]
async fn file_shares_created_from_the_example_read_back_like_it() {
    let env = example_environment();
    let sim = Simulator::start(StartOptions {
        seed: vec![env],
        config: fast_config(),
        ..StartOptions::default()
    })
    .await
    .unwrap();
    let s = Sim {
        sim,
        http: reqwest::Client::new(),
    };
    // The storage account lives in a resource group the simulator knows.
    let ex = example("FileSharesPut.json");
    let path = "/subscriptions/34adfa4f-cedf-4dc0-ba29-b6d1a69ab345/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sto328/fileServices/default/shares/share6185";
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
    // ARM's share GET adds `etag` and `properties` to the example's minimal body.
    let (ex_top, _) = keys(&expected);
    assert!(ex_top.is_subset(&top), "{ex_top:?} within {top:?}");
    let listed = response(&example("FileShareSnapshotsList.json"), "200");
    assert_eq!(top, keys(&listed["value"][0]).0, "the same keys as a listed share");
    s.sim.stop().await;
}
