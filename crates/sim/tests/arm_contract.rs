//! The ARM contract over real HTTP on loopback: auth, api-version, paths, LROs, errors, secrets.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(start_paused = true)]
async fn requires_a_bearer_token_and_an_api_version() {
    let s = start(Some("sidecar"), fast_config()).await;
    let path = app_path("langfuse");
    let resp = s.http.get(s.url(&format!("{path}?{API}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "AuthenticationFailed"
    );

    let resp = s.raw(Method::GET, &path, None).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "MissingApiVersionParameter"
    );

    let resp = s
        .raw(Method::GET, &format!("{path}?api-version=2021-01-01"), None)
        .await;
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "InvalidApiVersionParameter"
    );

    for v in ["2024-03-01", "2025-07-01", "2026-02-01", "2025-10-02-preview"] {
        let resp = s.raw(Method::GET, &format!("{path}?api-version={v}"), None).await;
        assert_eq!(resp.status(), StatusCode::OK, "api-version {v}");
    }
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn paths_are_case_insensitive_and_missing_things_are_arm_404s() {
    let s = start(Some("sidecar"), fast_config()).await;
    let upper =
        format!("/SUBSCRIPTIONS/{SUB}/RESOURCEGROUPS/RG-LANGFUSE/PROVIDERS/MICROSOFT.APP/CONTAINERAPPS/LANGFUSE");
    let app = s.get_json(&upper).await;
    assert_eq!(app["name"], "langfuse");

    let resp = s.arm(Method::GET, &app_path("nope"), None).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], "ResourceNotFound");

    let resp = s
        .arm(
            Method::GET,
            &format!("/subscriptions/{SUB}/resourceGroups/rg-other/providers/Microsoft.App/containerApps/x"),
            None,
        )
        .await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["error"]["code"],
        "ResourceGroupNotFound"
    );
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn put_is_an_sdk_style_lro_with_azure_async_operation() {
    let s = start(Some("sidecar"), fast_config()).await;
    let path = app_path("langfuse-clickhouse");
    let resp = s
        .arm(
            Method::PUT,
            &path,
            Some(&simple_app("clickhouse/clickhouse-server:24.8")),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let async_op = header(&resp, "azure-asyncoperation").expect("Azure-AsyncOperation header");
    assert!(
        async_op.contains("/providers/Microsoft.App/locations/japaneast/containerappOperationStatuses/"),
        "{async_op}"
    );
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["properties"]["provisioningState"], "InProgress");

    let status = s.wait_async_operation(&async_op).await;
    assert_eq!(status["status"], "Succeeded");
    let app = s.get_json(&path).await;
    assert_eq!(app["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        app["properties"]["template"]["containers"][0]["image"],
        "clickhouse/clickhouse-server:24.8"
    );
    // environmentId in, managedEnvironmentId out, as ARM answers.
    assert_eq!(
        app["properties"]["managedEnvironmentId"],
        aca_sim::scenario::environment_id()
    );
    assert!(app["properties"].get("environmentId").is_none());
    // Internal ingress FQDN from the environment's default domain.
    assert_eq!(
        app["properties"]["configuration"]["ingress"]["fqdn"],
        format!("langfuse-clickhouse.internal.{}", aca_sim::scenario::DEFAULT_DOMAIN)
    );
    // Who wrote it.
    assert_eq!(app["systemData"]["lastModifiedByType"], "Application");
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn patch_is_a_202_with_a_location_to_poll() {
    let s = start(Some("sidecar"), fast_config()).await;
    let path = app_path("langfuse");
    let resp = s
        .arm(
            Method::PATCH,
            &path,
            Some(&json!({"properties": {"template": {"scale": {"minReplicas": 1, "maxReplicas": 10}}}})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let location = header(&resp, "location").expect("Location header");
    assert!(location.contains("containerappOperationResults"));
    let mut saw_202 = false;
    let final_body = loop {
        let r = s.http.get(&location).bearer_auth("t").send().await.unwrap();
        match r.status() {
            StatusCode::ACCEPTED => saw_202 = true,
            StatusCode::OK => break r.json::<Value>().await.unwrap(),
            other => panic!("unexpected {other}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(saw_202, "the operation was in progress at first");
    assert_eq!(final_body["properties"]["template"]["scale"]["maxReplicas"], 10);
    // A merge patch: the other template parts are untouched.
    assert_eq!(
        final_body["properties"]["template"]["containers"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_injected_failed_lro_ends_failed_with_an_error() {
    let s = start(Some("sidecar"), fast_config()).await;
    s.admin(
        Method::POST,
        "/_sim/faults",
        Some(&json!({"method": "PATCH", "path": "containerApps/langfuse", "failLro": true, "times": 1})),
    )
    .await;
    let resp = s
        .arm(
            Method::PATCH,
            &app_path("langfuse"),
            Some(&json!({"properties": {"template": {"scale": {"maxReplicas": 6}}}})),
        )
        .await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let status = s
        .wait_async_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    assert_eq!(status["status"], "Failed");
    assert_eq!(status["error"]["code"], "ContainerAppProvisioningFailed");
    let r = s
        .http
        .get(header(&resp, "location").unwrap())
        .bearer_auth("t")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        s.get_json(&app_path("langfuse")).await["properties"]["provisioningState"],
        "Failed"
    );
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_write_during_an_operation_is_a_conflict() {
    let s = start(Some("sidecar"), fast_config()).await;
    let patch = json!({"properties": {"template": {"scale": {"maxReplicas": 6}}}});
    assert_eq!(
        s.arm(Method::PATCH, &app_path("langfuse"), Some(&patch)).await.status(),
        StatusCode::ACCEPTED
    );
    let resp = s.arm(Method::PATCH, &app_path("langfuse"), Some(&patch)).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn secrets_are_hidden_on_get_and_listed_by_list_secrets() {
    let s = start(Some("sidecar"), fast_config()).await;
    let app = s.get_json(&app_path("langfuse")).await;
    let secrets = app["properties"]["configuration"]["secrets"].as_array().unwrap();
    assert_eq!(secrets.len(), 4);
    assert!(secrets.iter().all(|s| s.get("value").is_none()), "{secrets:?}");
    assert!(!app.to_string().contains(aca_sim::scenario::SIDECAR_CLICKHOUSE_PASSWORD));

    let listed: Value = s
        .arm(Method::POST, &format!("{}/listSecrets", app_path("langfuse")), None)
        .await
        .json()
        .await
        .unwrap();
    let pw = listed["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "clickhouse-password")
        .unwrap();
    assert_eq!(pw["value"], aca_sim::scenario::SIDECAR_CLICKHOUSE_PASSWORD);
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn arm_refuses_what_container_apps_refuses() {
    let s = start(Some("sidecar"), fast_config()).await;
    let cases = [
        (
            json!({"properties": {"configuration": {"secrets": [{"name": "x"}]}}}),
            "ContainerAppSecretInvalid",
        ),
        (
            json!({"properties": {"template": {"scale": {"minReplicas": 3, "maxReplicas": 2}}}}),
            "ContainerAppInvalidScaleSettings",
        ),
        (
            json!({"properties": {"template": {"volumes": [{"name": "clickhouse-data", "storageType": "AzureFile", "storageName": "nope"}]}}}),
            "ManagedEnvironmentStorageNotFound",
        ),
        (
            json!({"properties": {"configuration": {"ingress": {"targetPort": 3000, "exposedPort": 9000}}}}),
            "ContainerAppInvalidIngress",
        ),
        (
            json!({"properties": {"configuration": {"ingress": {"targetPort": 9000, "transport": "tcp", "external": true}}}}),
            "ContainerAppInvalidIngress",
        ),
    ];
    for (patch, code) in cases {
        let resp = s.arm(Method::PATCH, &app_path("langfuse"), Some(&patch)).await;
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST, "{patch}");
        assert_eq!(resp.json::<Value>().await.unwrap()["error"]["code"], code, "{patch}");
    }
    let resp = s.raw(Method::PUT, &format!("{}?{API}", app_path("x1")), None).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn delete_is_a_long_running_operation_then_the_app_is_gone() {
    let s = start(Some("sidecar"), fast_config()).await;
    let resp = s.arm(Method::DELETE, &app_path("langfuse"), None).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    assert!(header(&resp, "location").is_some());
    let status = s
        .wait_async_operation(&header(&resp, "azure-asyncoperation").unwrap())
        .await;
    assert_eq!(status["status"], "Succeeded");
    assert_eq!(
        s.arm(Method::GET, &app_path("langfuse"), None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        s.arm(Method::DELETE, &app_path("langfuse"), None).await.status(),
        StatusCode::NO_CONTENT
    );
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn injected_status_faults_and_dropped_connections() {
    let s = start(Some("sidecar"), fast_config()).await;
    s.admin(
        Method::POST,
        "/_sim/faults",
        Some(&json!([
            {"method": "GET", "path": "containerApps/langfuse", "status": 503, "times": 2},
            {"method": "GET", "path": "managedEnvironments/cae-langfuse", "dropConnection": true, "times": 1}
        ])),
    )
    .await;
    for _ in 0..2 {
        let resp = s.arm(Method::GET, &app_path("langfuse"), None).await;
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(header(&resp, "retry-after").as_deref(), Some("1"));
    }
    assert_eq!(
        s.arm(Method::GET, &app_path("langfuse"), None).await.status(),
        StatusCode::OK,
        "only twice"
    );
    let env_path = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-langfuse/providers/Microsoft.App/managedEnvironments/cae-langfuse?{API}"
    );
    let cut = match s.http.get(s.url(&env_path)).bearer_auth("t").send().await {
        Err(e) => e.is_request() || e.is_body(),
        Ok(resp) => resp.bytes().await.is_err(),
    };
    assert!(cut, "the connection was cut mid-response");
    s.sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_request_log_counts_calls_and_tags_replicas() {
    let s = start(Some("sidecar"), fast_config()).await;
    s.get_json(&app_path("langfuse")).await;
    s.http
        .get(s.url(&format!("{}?{API}", app_path("langfuse"))))
        .bearer_auth("t")
        .header("x-aca-replica", "r2")
        .send()
        .await
        .unwrap();
    let log = s.requests().await;
    assert_eq!(log.len(), 2);
    assert_eq!(log[0]["method"], "GET");
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["kind"], "read");
    assert_eq!(log[1]["replica"], "r2");
    s.sim.stop().await;
}
