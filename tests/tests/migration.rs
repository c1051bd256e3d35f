//! The sidecar migration end to end with the real binary: the exact target, a snapshot, no
//! revision started on the share while another ran there — also when the operator is killed
//! after each step in turn and started again.

use std::time::{Duration, Instant};

use aca_e2e::*;
use serde_json::Value;

/// The live state is exactly the target layout of the migration plan.
async fn assert_target(sim: &aca_sim::Simulator) {
    let ch = app(sim, "langfuse-clickhouse").await;
    let p = &ch["properties"];
    assert_eq!(p["template"]["scale"]["minReplicas"], 1);
    assert_eq!(p["template"]["scale"]["maxReplicas"], 1);
    assert_eq!(p["configuration"]["ingress"]["external"], false);
    assert_eq!(p["configuration"]["ingress"]["targetPort"], 8123);
    assert_eq!(
        p["configuration"]["ingress"]["additionalPortMappings"][0]["exposedPort"],
        9000
    );
    assert_eq!(p["template"]["volumes"][0]["storageName"], "clickhouse-data");

    let lf = app(sim, "langfuse").await;
    let containers: Vec<&str> = lf["properties"]["template"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(containers, ["langfuse-web", "langfuse-worker"], "no sidecar");
    assert!(
        lf["properties"]["template"]
            .get("volumes")
            .is_none_or(|v| v.as_array().unwrap().is_empty()),
        "the share is mounted only by ClickHouse"
    );
    let value = |n: &str| secret_value(&lf, n);
    assert_eq!(value("clickhouse-url"), "http://langfuse-clickhouse");
    assert_eq!(
        value("clickhouse-migration-url"),
        "clickhouse://langfuse-clickhouse:9000"
    );
    assert!(
        value("database-url").starts_with("postgresql://"),
        "unowned secrets kept"
    );
    // The ClickHouse password: one Key Vault secret on both sides (credentials match after the cutover).
    let kv = |app: &Value| {
        app["properties"]["configuration"]["secrets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "clickhouse-password")
            .map(|s| s["keyVaultUrl"].clone())
    };
    assert!(kv(&lf).is_some_and(|u| u.as_str().is_some_and(|u| u.contains("vault.azure.net"))));
    assert_eq!(kv(&lf), kv(&ch));
    // The running Langfuse revision reads the new values (a template change made a new revision).
    let history = admin(sim, reqwest::Method::GET, "/_sim/revisions", None).await;
    let latest_langfuse = history
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r["app"] == "langfuse")
        .unwrap();
    assert_eq!(
        latest_langfuse["secrets"]["clickhouse-url"],
        "http://langfuse-clickhouse"
    );

    // A snapshot of the share exists.
    let shares = reqwest::Client::new()
        .get(format!(
            "{}{}/fileServices/default/shares?api-version=2025-06-01&$expand=snapshots",
            sim.base_url,
            aca_sim::scenario::share_id().split("/fileServices").next().unwrap()
        ))
        .bearer_auth("t")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(
        shares["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["properties"]["snapshotTime"].is_string()),
        "a snapshot exists"
    );

    let bad = overlap_started_by_operator(sim, "clickhouse-data").await;
    assert!(
        bad.is_empty(),
        "revisions started on the share while another ran: {bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_once_migrates_the_sidecar_layout_to_the_target() {
    let sim = sim().await;
    let dir = scratch("migrate");
    migrate(&sim, &dir);
    assert_target(&sim).await;
    // A second run finds nothing to do.
    let file = dir.join("target.yaml");
    let out = operator(&sim, &["apply", "--once", "--yes", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing to apply."));
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_each_step_then_restarted_it_still_ends_in_the_target() {
    for kill_after in 1..=5 {
        let sim = sim().await;
        let dir = scratch(&format!("kill{kill_after}"));
        let file = dir.join("langfuse.yaml");
        std::fs::write(&file, example("enforce", "30s")).unwrap();
        let args = ["apply", "--once", "--yes", "-f", file.to_str().unwrap()];

        let mut first = Running::spawn(operator(&sim, &args));
        // "step k/5" starts after step k-1 finished: kill right after step `kill_after` is done.
        let marker = format!("step {}/5", kill_after + 1);
        let start = Instant::now();
        loop {
            let out = first.stdout.lock().unwrap().clone();
            if out.iter().any(|l| l.contains(&marker)) || first.child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "no progress: {out:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        first.signal("KILL");
        first.wait_exit(Duration::from_secs(5));

        let out = operator(&sim, &args).output().unwrap();
        assert!(
            out.status.success(),
            "restart after step {kill_after}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Wait out anything still draining, then check.
        let again = operator(&sim, &args).output().unwrap();
        assert!(again.status.success());
        assert_target(&sim).await;
        sim.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_returns_to_the_sidecar_layout_without_overlap() {
    let sim = sim().await;
    let dir = scratch("rollback");
    migrate(&sim, &dir);
    let file = dir.join("target.yaml");
    let out = operator(&sim, &["rollback", "--yes", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Rolled back"), "{stdout}");

    let lf = app(&sim, "langfuse").await;
    let t = &lf["properties"]["template"];
    let containers: Vec<&str> = t["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(containers.contains(&"clickhouse"), "{containers:?}");
    assert_eq!(t["volumes"][0]["storageName"], "clickhouse-data");
    assert_eq!(
        (t["scale"]["minReplicas"].as_u64(), t["scale"]["maxReplicas"].as_u64()),
        (Some(1), Some(1)),
        "one ClickHouse only"
    );
    let value = |n: &str| secret_value(&lf, n);
    assert_eq!(value("clickhouse-url"), "http://localhost:8123");
    assert_eq!(value("clickhouse-migration-url"), "clickhouse://localhost:9000");
    // The dedicated app is kept, not deleted, and runs nothing.
    let revisions = admin(&sim, reqwest::Method::GET, "/_sim/revisions", None).await;
    assert!(
        revisions
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["app"] == "langfuse-clickhouse")
    );
    assert!(app(&sim, "langfuse-clickhouse").await["id"].is_string());
    let bad = overlap_started_by_operator(&sim, "clickhouse-data").await;
    assert!(bad.is_empty(), "{bad:?}");
    sim.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_writes_a_desired_state_that_loads_and_matches_live() {
    let sim = sim().await;
    let dir = scratch("export");
    migrate(&sim, &dir);
    let out = operator(
        &sim,
        &[
            "export",
            "--subscription",
            aca_sim::scenario::SUBSCRIPTION,
            "--resource-group",
            "rg-langfuse",
            "--environment",
            "cae-langfuse",
            "--app",
            "langfuse",
            "--app",
            "langfuse-clickhouse",
            "--stack-name",
            "adopted",
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        !yaml.contains(aca_sim::scenario::SIDECAR_CLICKHOUSE_PASSWORD),
        "no secret value is exported"
    );
    assert!(yaml.contains("# secrets not exported"), "{yaml}");
    // ClickHouse alone on its share, one replica: exported as what it is, so enforcing the file
    // recreates (never rolls two revisions over the share).
    assert!(yaml.contains("\"clickhouse-data\": { exclusive: true }"), "{yaml}");
    assert!(yaml.contains("singleton: true"), "{yaml}");
    let file = dir.join("adopted.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let validate = operator(&sim, &["validate", file.to_str().unwrap()]).output().unwrap();
    assert!(
        validate.status.success(),
        "{}\n{yaml}",
        String::from_utf8_lossy(&validate.stderr)
    );
    // The exported state is the live state: plan finds no drift.
    let plan = operator(&sim, &["plan", "-f", file.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stdout));
    sim.stop().await;
}
