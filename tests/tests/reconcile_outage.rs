//! The cutover's outage as `apply` reports it equals the one in the simulator's revision history
//! (within one poll of the executor).

mod simulated;

use std::time::{Duration, Instant};

use aca_reconcile::playbook::OutageClock;
use aca_reconcile::{ExecSettings, PassOptions, StepEvent, run_pass};
use aca_sim::SimConfig;
use serde_json::Value;

const POLL: Duration = Duration::from_millis(150);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reported_outage_is_the_simulators() {
    let sim = aca_e2e::sidecar_sim(SimConfig {
        lro_duration: Duration::from_millis(200),
        revision_start: Duration::from_millis(1200),
        overlap: Duration::from_millis(600),
        stop_delay: Duration::from_millis(100),
        ..SimConfig::default()
    })
    .await;
    let api = simulated::client(&sim);
    let stack = aca_e2e::example_stack();
    let clock = OutageClock::default();
    let on_event = |e: &StepEvent| clock.observe(e);
    let options = PassOptions {
        apply: true,
        exec: ExecSettings {
            poll_interval: POLL,
            wait_timeout: Duration::from_secs(30),
        },
        log_events: false,
        ..PassOptions::default()
    };
    let started = Instant::now();
    let report = run_pass(&api, &stack, options, &on_event).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let w = clock.window().expect("the cutover ran");
    assert!(w.t0 >= started && w.t0 <= w.t1 && w.t1 <= w.t2);

    let history: Value = reqwest::get(format!("{}/_sim/revisions", sim.base_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revs = history.as_array().unwrap();
    let ms = |v: &Value| v.as_u64().unwrap();
    let sidecar = revs
        .iter()
        .find(|r| r["app"] == "langfuse" && r["storages"].as_array().unwrap().iter().any(|s| s == "clickhouse-data"))
        .unwrap();
    let clickhouse = revs.iter().find(|r| r["app"] == "langfuse-clickhouse").unwrap();
    let t1 = ms(&sidecar["runningUntilMs"]);
    let t2 = ms(&clickhouse["runningFromMs"]);
    let sim_none = Duration::from_millis(t2 - t1);
    let measured = w.none_running();
    let diff = measured.abs_diff(sim_none);
    assert!(
        diff <= POLL,
        "measured {measured:?}, the simulator's history {sim_none:?} (T1 {t1} ms, T2 {t2} ms)"
    );
    assert!(
        sim_none >= Duration::from_millis(1000),
        "a window worth measuring: {sim_none:?}"
    );
    // T0 is when Langfuse's new template was accepted: no later than its revision starting.
    let new_langfuse = revs
        .iter()
        .rev()
        .find(|r| r["app"] == "langfuse" && r["storages"].as_array().unwrap().is_empty())
        .unwrap();
    let sim_wired = Duration::from_millis(t2 - ms(&new_langfuse["runningFromMs"]));
    assert!(
        w.wired_to_stopped() + POLL >= sim_wired,
        "{:?} vs {sim_wired:?}",
        w.wired_to_stopped()
    );
    sim.stop().await;
}
