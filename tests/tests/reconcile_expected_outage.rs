//! `plan`'s expected outage comes from the revision timings ARM shows (a revision's createdTime, its
//! predecessor's lastActiveTime), checked against the simulator's revision history; with none
//! observed it says it assumed the stated default.

mod simulated;

use std::time::Duration;

use aca_model::arm::ResourceId;
use aca_reconcile::playbook::{DEFAULT_REVISION_START, expected_outage};
use aca_reconcile::{ArmApi, observe, preflight};
use aca_sim::SimConfig;
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_expects_the_outage_from_observed_revision_start_times() {
    let sim = aca_e2e::sidecar_sim(SimConfig {
        lro_duration: Duration::from_millis(200),
        revision_start: Duration::from_millis(1200),
        overlap: Duration::from_millis(600),
        ..SimConfig::default()
    })
    .await;
    let api = simulated::client(&sim);
    let stack = aca_e2e::example_stack();
    let (host, clickhouse) = (stack.app("langfuse").unwrap(), stack.app("clickhouse").unwrap());

    // The seeded apps have one revision each: nothing observed, the default stated.
    let observed = observe(&api, &stack).await.unwrap();
    let e = expected_outage(&observed, host, clickhouse);
    assert_eq!(e.none_running(), DEFAULT_REVISION_START);
    assert_eq!(e.wired_to_stopped(), 2 * DEFAULT_REVISION_START);
    assert!(e.host_switch.basis.contains("assumed 60 s"), "{}", e.host_switch.basis);

    // A template change gives Langfuse a second revision; wait (bounded) until the first is inactive.
    let id = ResourceId::container_app(&stack.subscription, &stack.resource_group, &host.name);
    let live = api.find_app(&id).await.unwrap().unwrap();
    let mut template = serde_json::to_value(&live).unwrap()["properties"]["template"].clone();
    template["revisionSuffix"] = json!("timing");
    api.update_app(&id, &json!({ "properties": { "template": template } }))
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let revs = api.list_revisions(&id).await.unwrap();
        if revs.len() == 2 && revs.iter().filter(|r| r.is_active()).count() == 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the old revision never went inactive: {revs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let observed = observe(&api, &stack).await.unwrap();
    let e = expected_outage(&observed, host, clickhouse);
    // The simulator's truth: the new revision's creation to the old one's end of running.
    let history: Value = reqwest::get(format!("{}/_sim/revisions", sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let langfuse: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["app"] == "langfuse")
        .collect();
    assert_eq!(langfuse.len(), 2, "{history:#}");
    let ms = |v: &Value| v.as_u64().unwrap();
    let truth = Duration::from_millis(ms(&langfuse[0]["runningUntilMs"]) - ms(&langfuse[1]["createdMs"]));
    assert!(
        truth >= Duration::from_millis(1800),
        "the revision start and the overlap: {truth:?}"
    );
    assert!(
        e.host_switch.took.abs_diff(truth) <= Duration::from_millis(5),
        "expected {:?}, the simulator's history {truth:?}",
        e.host_switch.took
    );
    // No ClickHouse app yet: its start is taken as long as Langfuse's.
    assert_eq!(e.none_running(), e.host_switch.took);
    assert!(
        e.clickhouse_start
            .basis
            .starts_with("as long as apps.langfuse's revision"),
        "{}",
        e.clickhouse_start.basis
    );

    // `plan` states it (the preflight finding carries the figures and their basis).
    let finding = preflight(&stack, &observed)
        .into_iter()
        .find(|f| f.check == "cutover-outage")
        .expect("the cutover is pending");
    let wired = format!("about {:.1} s (T0→T2)", e.wired_to_stopped().as_secs_f64());
    assert!(finding.what.contains(&wired), "{}", finding.what);
    assert!(
        finding.what.contains("createdTime to the old one's lastActiveTime"),
        "{}",
        finding.what
    );
    sim.stop().await;
}
