//! SIGTERM while `run` waits on a long-running operation that never ends: the wait is cancelled, the
//! process exits well inside the shutdown bound, and the logs say which step it left and how it resumes.

use std::time::{Duration, Instant};

use aca_e2e::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_hung_operation_ends_run_within_the_bound_and_names_the_step() {
    let sim = sim().await;
    // Every write starts an operation that never ends.
    for method in ["PUT", "PATCH", "POST"] {
        admin(
            &sim,
            Method::POST,
            "/_sim/faults",
            Some(json!({"method": method, "hangLro": true})),
        )
        .await;
    }
    let dir = scratch("cli-shutdown");
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let mut op = Running::spawn(operator(
        &sim,
        &["run", "-f", file.to_str().unwrap(), "--shutdown-timeout", "30s"],
    ));

    // The fault fired: the operator is polling an operation that stays in progress.
    let hung = Instant::now();
    loop {
        let polls = requests(&sim)
            .await
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").contains("OperationStatuses"))
            .count();
        if polls >= 2 {
            break;
        }
        assert!(hung.elapsed() < Duration::from_secs(30), "no hung operation was polled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let sent = Instant::now();
    op.signal("TERM");
    let status = op.wait_exit(Duration::from_secs(10));
    let took = sent.elapsed();
    assert!(status.success(), "{status:?}");
    // Far inside the 30 s bound: the wait was cancelled, not abandoned at the timeout.
    assert!(took < Duration::from_secs(5), "exit took {took:?}");

    let events = op.events();
    assert!(
        !events.iter().any(|e| e["event"] == "shutdown_timeout"),
        "nothing was left running"
    );
    assert!(
        events.iter().any(|e| e["event"] == "lro_abandoned"),
        "the abandoned wait is logged: {events:#?}"
    );
    let pass = events
        .iter()
        .find(|e| e["event"] == "pass" && e["stopped_at"].as_str().is_some_and(|s| !s.is_empty()))
        .unwrap_or_else(|| panic!("no pass names the step it stopped at: {events:#?}"));
    assert!(
        pass["error"].as_str().unwrap().contains("next pass resumes"),
        "how it resumes: {pass}"
    );
    sim.stop().await;
}
