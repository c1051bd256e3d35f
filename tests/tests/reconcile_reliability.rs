//! Faults survived, nothing lost: the reconcile core against a simulator that misbehaves. Each
//! scenario checks the invariants from the simulator's own history (never from the operator's word):
//! the operator never starts a revision on the exclusive share while another runs there, never
//! deletes anything, and reaches the target once the fault is gone.

use std::sync::Arc;
use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, ArmError, AuthMethod, AuthSettings, LroSettings, Secret};
use aca_model::desired::Stack;
use aca_reconcile::{
    ExecError, ExecSettings, Executor, PassError, PassOptions, PassReport, diff_stack, observe, plan, run_pass,
};
use aca_sim::scenario;
use aca_sim::{SimConfig, Simulator, StartOptions};
use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};
use serde_json::{Value, json};

fn stack() -> Stack {
    aca_e2e::example_stack()
}

fn fast() -> SimConfig {
    SimConfig {
        lro_duration: Duration::from_millis(80),
        revision_start: Duration::from_millis(120),
        overlap: Duration::from_millis(250),
        stop_delay: Duration::from_millis(80),
        ..SimConfig::default()
    }
}

async fn start() -> Simulator {
    aca_e2e::sidecar_sim(fast()).await
}

fn config(sim: &Simulator) -> ArmConfig {
    ArmConfig {
        endpoint: Some(sim.base_url.clone()),
        allow_insecure_loopback: true,
        auth: AuthSettings {
            method: AuthMethod::Static,
            static_token: Some(Secret::new("reliability-token")),
            ..AuthSettings::default()
        },
        retry_initial_delay: Duration::from_millis(20),
        retry_max_delay: Duration::from_millis(200),
        lro: LroSettings {
            poll_interval: Duration::from_millis(20),
            deadline: Duration::from_secs(5),
            ..LroSettings::default()
        },
        ..ArmConfig::default()
    }
}

fn options() -> PassOptions {
    PassOptions {
        apply: true,
        exec: ExecSettings {
            poll_interval: Duration::from_millis(30),
            wait_timeout: Duration::from_secs(20),
        },
        ..PassOptions::default()
    }
}

async fn fault(sim: &Simulator, f: Value) {
    let f: aca_sim::Fault = serde_json::from_value(f).unwrap();
    sim.state().lock().unwrap().faults.push(f);
}

/// Every injected fault answered at least one request: a scenario whose fault never fired proves
/// nothing about that fault.
fn assert_faults_fired(sim: &Simulator) {
    let unfired = sim.unfired_faults();
    assert!(unfired.is_empty(), "injected faults that never fired: {unfired:?}");
}

/// Runs passes until one is clean (no drift) or `max` passes; returns every report.
async fn converge(api: &ArmClient, stack: &Stack, max: usize) -> Vec<PassReport> {
    let mut reports = Vec::new();
    for _ in 0..max {
        let r = run_pass(api, stack, options(), &|_| {}).await;
        let clean = r.error.is_none() && r.diff.drifts.is_empty();
        reports.push(r);
        if clean {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reports
}

/// The invariants, from the simulator's history and request log.
fn invariants(sim: &Simulator) -> Vec<String> {
    let state = sim.state();
    let state = state.lock().unwrap();
    let mut broken: Vec<String> = aca_sim::apps::operator_overlaps(&state, scenario::STORAGE)
        .into_iter()
        .map(|(started, running)| format!("the operator started {started} on the share while {running} ran"))
        .collect();
    for app in state.apps.values().filter(|a| a.id.name() == scenario::CLICKHOUSE_APP) {
        for r in app.revisions.iter().filter(|r| r.created_by.kind == "Application") {
            let replicas = r
                .template
                .pointer("/scale/maxReplicas")
                .and_then(Value::as_u64)
                .unwrap_or(10);
            if replicas > 1 {
                broken.push(format!(
                    "the operator made ClickHouse revision {} with up to {replicas} replicas",
                    r.name
                ));
            }
        }
    }
    if state.requests.iter().any(|r| r.method == "DELETE") {
        broken.push("a DELETE was sent".into());
    }
    broken
}

fn assert_target(sim: &Simulator) {
    let state = sim.state();
    let state = state.lock().unwrap();
    let ch = state
        .apps
        .values()
        .find(|a| a.id.name() == scenario::CLICKHOUSE_APP)
        .expect("the ClickHouse app exists");
    assert_eq!(ch.resource["properties"]["template"]["scale"]["maxReplicas"], 1);
    let lf = state
        .apps
        .values()
        .find(|a| a.id.name() == scenario::LANGFUSE_APP)
        .unwrap();
    assert!(
        !lf.resource.to_string().contains("\"name\":\"clickhouse\""),
        "the sidecar is gone"
    );
}

async fn scenario_ends_in_target(faults: Value) -> Vec<PassReport> {
    let sim = start().await;
    for f in faults.as_array().unwrap() {
        fault(&sim, f.clone()).await;
    }
    let api = ArmClient::new(config(&sim)).unwrap();
    let reports = converge(&api, &stack(), 8).await;
    assert!(
        reports.last().unwrap().diff.drifts.is_empty(),
        "not converged: {:#?}",
        reports.last().unwrap().diff.drifts
    );
    assert_target(&sim);
    assert_eq!(invariants(&sim), Vec::<String>::new());
    assert_faults_fired(&sim);
    sim.stop().await;
    reports
}

/// The scenario helper itself: a fault on a path that matches nothing fails the scenario, even
/// though the stack converges.
#[tokio::test(start_paused = true)]
#[should_panic(expected = "injected faults that never fired")]
async fn a_fault_on_a_path_that_matches_nothing_fails_the_scenario() {
    scenario_ends_in_target(json!([{"method": "PATCH", "path": "containerAppz", "status": 503, "times": 2}])).await;
}

#[tokio::test(start_paused = true)]
async fn a_429_storm_is_waited_out() {
    let reports = scenario_ends_in_target(json!([{"status": 429, "retryAfter": 1, "times": 6}])).await;
    assert!(
        reports[0].error.is_none(),
        "the retries absorbed it: {:?}",
        reports[0].error
    );
}

#[tokio::test(start_paused = true)]
async fn bursts_of_500_and_503_are_retried() {
    scenario_ends_in_target(json!([
        {"method": "GET", "status": 500, "times": 3},
        {"method": "PATCH", "status": 503, "retryAfter": 0, "times": 2},
        {"method": "PUT", "status": 502, "times": 2}
    ]))
    .await;
}

#[tokio::test(start_paused = true)]
async fn connections_cut_mid_response_and_slow_answers() {
    // A PATCH that is applied and then cut: the retry meets the running operation (409); the next
    // pass re-plans from live state.
    scenario_ends_in_target(json!([
        {"method": "GET", "path": "managedEnvironments", "dropConnection": true, "times": 2},
        {"method": "PATCH", "dropConnection": true, "times": 1},
        {"method": "GET", "path": "revisions", "delayMs": 300, "times": 3}
    ]))
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_failed_operation_stops_the_plan_and_the_next_pass_recovers() {
    let reports =
        scenario_ends_in_target(json!([{"method": "PUT", "path": "containerApps", "failLro": true, "times": 1}])).await;
    assert!(
        matches!(
            &reports[0].error,
            Some(PassError::Apply(ExecError::Arm(ArmError::OperationFailed { .. })))
        ),
        "{:?}",
        reports[0].error
    );
}

#[tokio::test(start_paused = true)]
async fn an_operation_that_never_ends_hits_the_deadline_and_nothing_else_is_done() {
    let sim = start().await;
    fault(&sim, json!({"method": "PATCH", "hangLro": true, "times": 1})).await;
    let api = ArmClient::new(config(&sim)).unwrap();
    let r = run_pass(&api, &stack(), options(), &|_| {}).await;
    assert!(
        matches!(
            &r.error,
            Some(PassError::Apply(ExecError::Arm(ArmError::OperationTimedOut { .. })))
        ),
        "{:?}",
        r.error
    );
    // The Langfuse update never finished: ClickHouse must not have been created.
    assert!(
        sim.state()
            .lock()
            .unwrap()
            .apps
            .values()
            .all(|a| a.id.name() != scenario::CLICKHOUSE_APP)
    );
    // Later passes keep reporting, never write around the stuck operation.
    let r2 = run_pass(&api, &stack(), options(), &|_| {}).await;
    assert!(r2.error.is_some());
    assert_eq!(invariants(&sim), Vec::<String>::new());
    assert_faults_fired(&sim);
    sim.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_concurrent_edit_between_observe_and_apply_gives_the_write_up() {
    let sim = start().await;
    let api = ArmClient::new(config(&sim)).unwrap();
    let stack = stack();
    let observed = observe(&api, &stack).await.unwrap();
    let diff = diff_stack(&stack, &observed);
    let steps = plan(&stack, &observed, &diff).steps;
    // A person edits Langfuse after the observation.
    {
        let state = sim.state();
        let mut state = state.lock().unwrap();
        let id = aca_model::arm::ResourceId::parse(&scenario::app_id(scenario::LANGFUSE_APP)).unwrap();
        let who = aca_sim::state::Principal {
            name: "bob@contoso.com".into(),
            kind: "User".into(),
        };
        aca_sim::apps::write(
            &mut state,
            &id,
            json!({"tags": {"edited": "now"}}),
            aca_sim::apps::OpKind::Patch,
            &who,
            None,
            true,
        )
        .unwrap();
    }
    let executor = Executor {
        api: &api,
        stack: &stack,
        observed: &observed,
        settings: options().exec,
        on_event: &|_| {},
        cancel: None,
        gate: None,
    };
    let (_, error) = executor.run(&steps).await;
    assert!(
        matches!(&error, Some(ExecError::ChangedSinceObserved { by, .. }) if by == "bob@contoso.com"),
        "{error:?}"
    );
    let writes = sim
        .state()
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.method == "PATCH" || r.method == "PUT" && !r.path.contains("/shares/"))
        .count();
    assert_eq!(writes, 0, "nothing written over the person's edit");
    // The next pass re-plans and keeps the person's tag.
    converge(&api, &stack, 6).await;
    assert_target(&sim);
    let tags = sim
        .state()
        .lock()
        .unwrap()
        .apps
        .values()
        .find(|a| a.id.name() == scenario::LANGFUSE_APP)
        .unwrap()
        .resource["tags"]
        .clone();
    assert_eq!(tags["edited"], "now");
    sim.stop().await;
}

#[derive(Debug)]
struct FailingCredential;

#[async_trait::async_trait]
impl TokenCredential for FailingCredential {
    async fn get_token(&self, _: &[&str], _: Option<TokenRequestOptions<'_>>) -> azure_core::Result<AccessToken> {
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            "IMDS unreachable (injected)",
        ))
    }
}

#[tokio::test(start_paused = true)]
async fn a_token_that_cannot_be_acquired_stops_the_pass_before_any_request() {
    let dir = std::env::temp_dir().join(format!("aca-rel-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let sim = Simulator::start(StartOptions {
        scenario: Some("sidecar".into()),
        config: fast(),
        tls_ca_out: Some(ca.clone()),
        ..StartOptions::default()
    })
    .await
    .unwrap();
    let mut cfg = config(&sim);
    cfg.allow_insecure_loopback = false;
    cfg.ca_cert = Some(ca);
    cfg.credential = Some(Arc::new(FailingCredential));
    let api = ArmClient::new(cfg).unwrap();
    let r = run_pass(&api, &stack(), options(), &|_| {}).await;
    assert!(
        matches!(&r.error, Some(PassError::Observe(ArmError::Credential { message, .. })) if message.contains("IMDS")),
        "{:?}",
        r.error
    );
    assert!(
        sim.state().lock().unwrap().requests.is_empty(),
        "nothing reached ARM without a token"
    );
    sim.stop().await;
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_deleted_environment_or_storage_blocks_every_write() {
    for deleted in [
        scenario::environment_id(),
        format!("{}/storages/{}", scenario::environment_id(), scenario::STORAGE),
    ] {
        let sim = start().await;
        let key = aca_model::arm::ResourceId::parse(&deleted).unwrap().canonical();
        {
            let state = sim.state();
            let mut state = state.lock().unwrap();
            state.environments.remove(&key);
            state.storages.remove(&key);
        }
        let api = ArmClient::new(config(&sim)).unwrap();
        let r = run_pass(&api, &stack(), options(), &|_| {}).await;
        assert!(
            matches!(&r.error, Some(PassError::Preflight(_))),
            "{deleted}: {:?}",
            r.error
        );
        assert!(
            r.diff
                .drifts
                .iter()
                .any(|d| d.severity == aca_reconcile::DriftSeverity::Critical)
        );
        let writes = sim
            .state()
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.method != "GET" && !r.path.ends_with("/listSecrets"))
            .count();
        assert_eq!(writes, 0, "{deleted}: nothing written");
        sim.stop().await;
    }
}

#[tokio::test(start_paused = true)]
async fn malformed_answers_are_typed_errors_and_never_written_upon() {
    let bodies = [
        (
            "truncated JSON",
            json!({"method": "GET", "path": "containerApps/langfuse", "body": "{\"id\": \"/subscriptions/x\", \"properties\": {\"templ", "times": 10}),
        ),
        (
            "wrong types",
            json!({"method": "GET", "path": "containerApps/langfuse", "body": "{\"id\":\"x\",\"properties\":{\"template\":{\"scale\":{\"maxReplicas\":\"two\"}}}}", "times": 10}),
        ),
        (
            "missing fields",
            json!({"method": "GET", "path": "containerApps/langfuse", "body": "{}", "times": 10}),
        ),
        (
            "a huge body",
            json!({"method": "GET", "path": "containerApps/langfuse", "bodyBytes": 17_000_000, "times": 10}),
        ),
        (
            "revisions without replica counts",
            json!({"method": "GET", "path": "revisions", "body": "{\"value\":[{\"name\":\"r1\",\"properties\":{\"active\":true}}]}", "times": 1000}),
        ),
    ];
    for (what, f) in bodies {
        let sim = start().await;
        fault(&sim, f).await;
        let api = ArmClient::new(config(&sim)).unwrap();
        let mut opts = options();
        opts.exec.wait_timeout = Duration::from_secs(2);
        let r = run_pass(&api, &stack(), opts, &|_| {}).await;
        let requests = sim.state().lock().unwrap().requests.clone();
        let creates = requests
            .iter()
            .filter(|r| r.method == "PUT" && r.path.contains("/containerApps/"))
            .count();
        if what.starts_with("revisions") {
            // Replica counts unknown: taken as running, so ClickHouse is never started on the share.
            assert!(
                matches!(&r.error, Some(PassError::Apply(ExecError::Timeout { .. }))),
                "{what}: {:?}",
                r.error
            );
            assert_eq!(creates, 0, "{what}: ClickHouse created on a misread");
        } else {
            assert!(
                matches!(&r.error, Some(PassError::Observe(ArmError::Decode { .. }))),
                "{what}: {:?}",
                r.error
            );
            let writes = requests
                .iter()
                .filter(|r| r.method != "GET" && !r.path.ends_with("/listSecrets"))
                .count();
            assert_eq!(writes, 0, "{what}: a write based on a misread");
        }
        assert_faults_fired(&sim);
        sim.stop().await;
    }
}
