//! SIGTERM while `run` waits on a long-running operation that never ends: the wait is cancelled, the
//! process exits well inside the shutdown bound, and the logs say which step it left and how it resumes.
//! A `plan` against an endpoint that does not answer says what it is trying while it waits. ARM
//! counters reach `/metrics` while the pass that made the requests is still running.

use std::time::{Duration, Instant};

use aca_e2e::*;
use reqwest::Method;
use serde_json::json;

/// Makes every write start an operation that never ends.
async fn hang_every_write(sim: &aca_sim::Simulator) {
    for method in ["PUT", "PATCH", "POST"] {
        admin(
            sim,
            Method::POST,
            "/_sim/faults",
            Some(json!({"method": method, "hangLro": true})),
        )
        .await;
    }
}

/// Waits until the operator has polled a hung operation twice (the fault fired).
async fn wait_for_hung_polls(sim: &aca_sim::Simulator) {
    let hung = Instant::now();
    loop {
        let polls = requests(sim)
            .await
            .iter()
            .filter(|r| r["path"].as_str().unwrap_or("").contains("OperationStatuses"))
            .count();
        if polls >= 2 {
            return;
        }
        assert!(hung.elapsed() < Duration::from_secs(30), "no hung operation was polled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arm_counters_show_at_the_scrape_while_the_pass_still_runs() {
    let sim = sim().await;
    admin(
        &sim,
        Method::POST,
        "/_sim/faults",
        Some(json!({"method": "GET", "path": "containerApps", "status": 429, "retryAfter": 1, "times": 2})),
    )
    .await;
    hang_every_write(&sim).await;
    let dir = scratch("cli-metrics-live");
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let mut op = Running::spawn(operator(
        &sim,
        &["run", "-f", file.to_str().unwrap(), "--listen-metrics", "127.0.0.1:0"],
    ));
    let listening = op
        .wait_event("the metrics address", Duration::from_secs(30), |e| {
            e["event"] == "listening"
        })
        .await;
    wait_for_hung_polls(&sim).await;
    let metrics = reqwest::get(format!("http://{}/metrics", listening["addr"].as_str().unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !op.events().iter().any(|e| e["event"] == "pass"),
        "the first pass is still running (its write hangs)"
    );
    assert!(metrics.contains("aca_arm_throttled_total 2"), "{metrics}");
    // The drifts of that same unfinished pass are counted already: counted when found, not when done.
    assert!(
        metrics.lines().any(|l| l.starts_with("aca_drifts_found_total{")
            && l.contains(r#"stack="langfuse""#)
            && l.contains(r#"severity="critical""#)),
        "{metrics}"
    );
    assert!(
        metrics.contains(r#"aca_arm_requests_total{method="GET",status="429"} 2"#),
        "{metrics}"
    );
    op.signal("TERM");
    op.wait_exit(Duration::from_secs(10));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_hung_operation_ends_run_within_the_bound_and_names_the_step() {
    let sim = sim().await;
    hang_every_write(&sim).await;
    let dir = scratch("cli-shutdown");
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, example("enforce", "1s")).unwrap();
    let mut op = Running::spawn(operator(
        &sim,
        &["run", "-f", file.to_str().unwrap(), "--shutdown-timeout", "30s"],
    ));
    wait_for_hung_polls(&sim).await;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_against_an_unreachable_endpoint_says_what_it_is_trying() {
    // A loopback port nobody listens on: every connection is refused, the client retries.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let file = repo().join("deploy/examples/langfuse.yaml");
    let mut cmd = std::process::Command::new(operator_binary());
    cmd.args(["plan", "-f", file.to_str().unwrap()])
        .env("ACA_STATIC_TOKEN", "t")
        .env("ACA_ARM_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("ACA_ALLOW_INSECURE_LOOPBACK", "true")
        .env("ACA_LOG_FORMAT", "json")
        .env_remove("ACA_LOG");
    let mut op = Running::spawn(cmd);
    let line = op
        .wait_event("a progress line", Duration::from_secs(20), |e| e["event"] == "waiting")
        .await;
    assert!(
        line["what"].as_str().unwrap().contains("observing stack `langfuse`"),
        "{line}"
    );
    op.child.kill().unwrap();
    op.wait_exit(Duration::from_secs(5));
}
