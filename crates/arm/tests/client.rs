//! The ARM client against the simulator over real HTTP on loopback: every operation, both LRO
//! styles, failures, retries, throttling, ETags, the HTTPS and static-token rules, and no secret in
//! any log line.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, ArmError, AuthMethod, AuthSettings, RevisionAction};
use aca_model::arm::{ContainerApp, ResourceId, Scale, Template};
use aca_sim::scenario::{self, SUBSCRIPTION};
use aca_sim::{Simulator, StartOptions};
use azure_core::credentials::Secret;
use serde_json::json;

use common::*;

#[tokio::test(start_paused = true)]
async fn reads_every_kind_of_resource() {
    let sim = sim(fast_sim()).await;
    let c = client(&sim);
    let app = c.get_container_app(&app_id("langfuse")).await.unwrap();
    assert_eq!(app.containers().len(), 3);
    assert!(c.find_container_app(&app_id("absent")).await.unwrap().is_none());

    let env_id = ResourceId::managed_environment(SUBSCRIPTION, scenario::RESOURCE_GROUP, scenario::ENVIRONMENT);
    let env = c.get_managed_environment(&env_id).await.unwrap();
    assert_eq!(env.default_domain(), Some(scenario::DEFAULT_DOMAIN));
    assert!(!env.has_custom_vnet());

    let storage = c
        .get_environment_storage(&ResourceId::environment_storage(
            SUBSCRIPTION,
            scenario::RESOURCE_GROUP,
            scenario::ENVIRONMENT,
            scenario::STORAGE,
        ))
        .await
        .unwrap();
    assert_eq!(storage.share(), Some((scenario::STORAGE_ACCOUNT, scenario::SHARE)));
    assert_eq!(c.list_environment_storages(&env_id).await.unwrap().len(), 1);

    let secrets = c.list_secrets(&app_id("langfuse")).await.unwrap();
    assert!(
        secrets
            .iter()
            .any(|s| s.name == "clickhouse-password"
                && s.value.as_deref() == Some(scenario::SIDECAR_CLICKHOUSE_PASSWORD))
    );

    let revisions = c.list_revisions(&app_id("langfuse")).await.unwrap();
    assert_eq!(revisions.len(), 1);
    assert_eq!(revisions[0].replicas(), 2);
    assert_eq!(revisions[0].mounted_storages(), vec![scenario::STORAGE]);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn put_waits_for_the_azure_async_operation() {
    let sim = sim(fast_sim()).await;
    let c = client(&sim);
    let app = c
        .create_or_update_container_app(&app_id("langfuse-clickhouse"), &new_clickhouse_app())
        .await
        .unwrap();
    assert_eq!(app.provisioning_state(), Some("Succeeded"));
    assert_eq!(
        app.ingress().unwrap().fqdn.as_deref(),
        Some(format!("langfuse-clickhouse.internal.{}", scenario::DEFAULT_DOMAIN).as_str())
    );
    let log = request_log(&sim).await;
    assert!(
        log.iter()
            .any(|r| r["path"].as_str().unwrap().contains("containerappOperationStatuses")),
        "polled the status resource"
    );
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn patch_follows_location_when_that_is_all_arm_gives() {
    let sim = sim(fast_sim()).await;
    admin(&sim, reqwest::Method::POST, "/_sim/faults", Some(json!({"method": "PATCH", "path": "containerApps/langfuse", "removeHeaders": ["Azure-AsyncOperation"], "times": 1}))).await;
    let c = client(&sim);
    let patch = ContainerApp {
        properties: Some(aca_model::arm::ContainerAppProperties {
            template: Some(Template {
                scale: Some(Scale {
                    min_replicas: Some(1),
                    max_replicas: Some(10),
                    ..Scale::default()
                }),
                ..Template::default()
            }),
            ..Default::default()
        }),
        ..ContainerApp::default()
    };
    let app = c.update_container_app(&app_id("langfuse"), &patch).await.unwrap();
    assert_eq!(app.effective_scale(), (1, 10));
    assert_eq!(app.containers().len(), 3, "a merge patch keeps the containers");
    let log = request_log(&sim).await;
    assert!(
        log.iter()
            .any(|r| r["path"].as_str().unwrap().contains("containerappOperationResults")),
        "polled Location"
    );
    assert!(
        !log.iter()
            .any(|r| r["path"].as_str().unwrap().contains("containerappOperationStatuses"))
    );
    assert_faults_fired(&sim);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_operation_is_a_typed_error_with_arms_code() {
    let sim = sim(fast_sim()).await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "PUT", "failLro": true, "times": 1})),
    )
    .await;
    let err = client(&sim)
        .create_or_update_container_app(&app_id("langfuse-clickhouse"), &new_clickhouse_app())
        .await
        .unwrap_err();
    match err {
        ArmError::OperationFailed { status, code, .. } => {
            assert_eq!(status, "Failed");
            assert_eq!(code, "ContainerAppProvisioningFailed");
        }
        other => panic!("expected OperationFailed, got {other:?}"),
    }
    assert_faults_fired(&sim);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn an_operation_that_never_ends_hits_the_deadline() {
    let sim = sim(fast_sim()).await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "PUT", "hangLro": true, "times": 1})),
    )
    .await;
    let mut config = config_for(&sim);
    config.lro.deadline = Duration::from_millis(400);
    let err = ArmClient::new(config)
        .unwrap()
        .create_or_update_container_app(&app_id("langfuse-clickhouse"), &new_clickhouse_app())
        .await
        .unwrap_err();
    assert!(matches!(err, ArmError::OperationTimedOut { .. }), "{err:?}");
    assert_faults_fired(&sim);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_ends_the_wait_for_a_hung_operation_at_once() {
    let sim = sim(fast_sim()).await;
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "PUT", "hangLro": true, "times": 1})),
    )
    .await;
    let shutdown = tokio_util::sync::CancellationToken::new();
    let mut config = config_for(&sim);
    config.shutdown = Some(shutdown.clone());
    let client = ArmClient::new(config).unwrap();
    let (id, app) = (app_id("langfuse-clickhouse"), new_clickhouse_app());
    let write = client.create_or_update_container_app(&id, &app);
    tokio::pin!(write);
    // The operation is polled (it never ends) until the shutdown; then the wait ends at once.
    let polls = async {
        loop {
            let log = request_log(&sim).await;
            if log
                .iter()
                .filter(|r| r["path"].as_str().unwrap_or("").contains("OperationStatuses"))
                .count()
                >= 2
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        r = &mut write => panic!("a hung operation ended: {r:?}"),
        () = polls => {}
    }
    shutdown.cancel();
    let err = tokio::time::timeout(Duration::from_secs(1), write)
        .await
        .expect("the wait ends within a second of the shutdown")
        .unwrap_err();
    assert!(matches!(err, ArmError::Cancelled { .. }), "{err:?}");
    assert!(err.to_string().contains("next pass resumes"), "{err}");
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn file_share_etags_snapshots_and_412() {
    let sim = sim(fast_sim()).await;
    let c = client(&sim);
    let share = ResourceId::file_share(
        SUBSCRIPTION,
        scenario::RESOURCE_GROUP,
        scenario::STORAGE_ACCOUNT,
        scenario::SHARE,
    );
    let tagged = c.get_file_share(&share).await.unwrap();
    let etag = tagged.etag.clone().expect("file shares have ETags");
    let snap = c.create_share_snapshot(&share, Some(&etag)).await.unwrap();
    assert!(snap.snapshot_time().is_some());
    assert_eq!(c.list_share_snapshots(&share).await.unwrap().len(), 1);

    // Someone changes the share: our ETag is stale.
    let url = format!("{}{share}?api-version=2025-06-01", sim.base_url);
    reqwest::Client::new()
        .put(url)
        .bearer_auth("x")
        .json(&json!({"properties": {"shareQuota": 60}}))
        .send()
        .await
        .unwrap();
    let err = c.create_share_snapshot(&share, Some(&etag)).await.unwrap_err();
    assert!(matches!(err, ArmError::PreconditionFailed { .. }), "{err:?}");
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn revision_actions() {
    let sim = sim(fast_sim()).await;
    let c = client(&sim);
    let rev = c.list_revisions(&app_id("langfuse")).await.unwrap()[0]
        .name
        .clone()
        .unwrap();
    c.revision_action(&app_id("langfuse"), &rev, RevisionAction::Deactivate)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(c.list_revisions(&app_id("langfuse")).await.unwrap()[0].replicas(), 0);
    c.revision_action(&app_id("langfuse"), &rev, RevisionAction::Activate)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(c.list_revisions(&app_id("langfuse")).await.unwrap()[0].replicas(), 2);
    c.revision_action(&app_id("langfuse"), &rev, RevisionAction::Restart)
        .await
        .unwrap();
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn works_over_the_simulators_tls_with_its_ca() {
    let dir = std::env::temp_dir().join(format!("aca-arm-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let sim = Simulator::start(StartOptions {
        scenario: Some("sidecar".into()),
        tls_ca_out: Some(ca.clone()),
        config: fast_sim(),
        ..StartOptions::default()
    })
    .await
    .unwrap();
    let mut cfg = config_for(&sim);
    cfg.allow_insecure_loopback = false;
    cfg.ca_cert = Some(ca);
    let c = ArmClient::new(cfg).unwrap();
    assert!(c.endpoint().as_str().starts_with("https://"));
    c.get_container_app(&app_id("langfuse")).await.unwrap();
    c.create_or_update_container_app(&app_id("langfuse-clickhouse"), &new_clickhouse_app())
        .await
        .unwrap();
    sim.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn refuses_http_to_non_loopback_and_static_tokens_off_loopback() {
    let static_auth = AuthSettings {
        method: AuthMethod::Static,
        static_token: Some(Secret::new(TOKEN)),
        ..AuthSettings::default()
    };
    let err = ArmClient::new(ArmConfig {
        endpoint: Some("http://management.azure.com".into()),
        allow_insecure_loopback: true,
        auth: static_auth.clone(),
        ..ArmConfig::default()
    })
    .unwrap_err();
    assert!(
        matches!(err, ArmError::InsecureEndpoint { loopback: false, .. }) && err.to_string().contains("HTTPS"),
        "{err}"
    );
    let err = ArmClient::new(ArmConfig {
        endpoint: Some("http://127.0.0.1:9".into()),
        auth: static_auth.clone(),
        ..ArmConfig::default()
    })
    .unwrap_err();
    assert!(
        matches!(err, ArmError::InsecureEndpoint { loopback: true, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("--"), "the library names no CLI flag: {err}");
    let err = ArmClient::new(ArmConfig {
        endpoint: Some("https://management.azure.com".into()),
        auth: static_auth,
        ..ArmConfig::default()
    })
    .unwrap_err();
    assert!(
        matches!(err, ArmError::Credential { ref message, .. } if message.contains("refused")),
        "{err}"
    );
    assert!(!err.to_string().contains(TOKEN));
}

/// A writer collecting everything the tracing subscriber prints.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn no_secret_value_or_token_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let sim = sim(fast_sim()).await;
    let c = client(&sim);
    let secrets = c.list_secrets(&app_id("langfuse")).await.unwrap();
    let mut app = new_clickhouse_app();
    app.properties.as_mut().unwrap().configuration.as_mut().unwrap().secrets = Some(vec![aca_model::arm::Secret {
        name: "pw".into(),
        value: Some("a-brand-new-secret-value".into()),
        ..Default::default()
    }]);
    c.create_or_update_container_app(&app_id("langfuse-clickhouse"), &app)
        .await
        .unwrap();
    admin(
        &sim,
        reqwest::Method::POST,
        "/_sim/faults",
        Some(json!({"method": "GET", "status": 503, "retryAfter": 0, "times": 1})),
    )
    .await;
    c.get_container_app(&app_id("langfuse")).await.unwrap();
    assert_faults_fired(&sim);
    sim.stop().await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("arm request"), "the trace is there: {logs}");
    assert!(!logs.contains(TOKEN), "token leaked");
    assert!(!logs.contains("a-brand-new-secret-value"), "secret leaked");
    for s in secrets {
        if let Some(v) = s.value {
            assert!(!logs.contains(&v), "secret {} leaked", s.name);
        }
    }
}
