//! `aca-bench`: how aca-operator scales against an ARM-like simulator (80 ms per request, ARM's
//! per-subscription throttling budget). For N stacks of 2 apps each it measures a full pass, the
//! bound that latency and the budget allow, calls per app, 429s, memory, CPU and drift-detection
//! latency, then writes `docs/benchmarks.md` and `docs/benchmarks.svg`.
//!
//! `cargo build --release -p aca-operator && cargo run --release -p aca-bench` (or `just bench`).
//! For work on memory or the resync, `aca-bench --watch-sizes 2500 --watching-only` runs the
//! watching mode alone in about three minutes and prints its table without writing the report.

mod fleet;
mod process;
mod report;
mod watch;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aca_model::arm::ResourceId;
use aca_sim::apps::{self, OpKind};
use aca_sim::state::Principal;
use aca_sim::{SimConfig, Simulator, StartOptions};
use serde_json::{Value, json};

use aca_e2e::azurite::{QueueService, emulator_token};

use crate::process::Operator;
use crate::report::{Bound, Row};

/// Concurrency the operator runs with in the benchmark.
const CONCURRENT: usize = 64;
const PER_SUBSCRIPTION: usize = 16;

struct Args {
    sizes: Vec<usize>,
    latency: Duration,
    out: PathBuf,
    operator: PathBuf,
    idle_seconds: u64,
    /// Sizes of the polling-against-watching comparison (stacks of 2 apps).
    watch_sizes: Vec<usize>,
    /// Only the watching mode of the comparison, printed and not written (a quick look at its
    /// memory and resync: no polling table, no polling rows to compare reads with, no idle run).
    watching_only: bool,
    quiet: Duration,
    edits: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        sizes: vec![1, 10, 100, 500],
        latency: Duration::from_millis(80),
        out: PathBuf::from("docs"),
        operator: PathBuf::from("target/release/aca-operator"),
        idle_seconds: 60,
        watch_sizes: vec![500, 2500],
        watching_only: false,
        quiet: Duration::from_secs(30),
        edits: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--sizes" => {
                args.sizes = value()
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse().expect("a number"))
                    .collect()
            }
            "--watch-sizes" => {
                args.watch_sizes = value()
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.trim().parse().expect("a number"))
                    .collect()
            }
            "--watching-only" => args.watching_only = true,
            "--quiet-seconds" => args.quiet = Duration::from_secs(value().parse().expect("seconds")),
            "--edits" => args.edits = value().parse().expect("a number"),
            "--latency-ms" => args.latency = Duration::from_millis(value().parse().expect("milliseconds")),
            "--out" => args.out = PathBuf::from(value()),
            "--operator" => args.operator = PathBuf::from(value()),
            "--idle-seconds" => args.idle_seconds = value().parse().expect("seconds"),
            "--help" | "-h" => {
                println!(
                    "aca-bench [--sizes 1,10,100,500] [--watch-sizes 500,2500] [--watching-only] [--quiet-seconds 30] [--edits 10] [--latency-ms 80] [--idle-seconds 60] [--out docs] [--operator target/release/aca-operator]"
                );
                std::process::exit(0);
            }
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

fn sim_config(latency: Duration) -> SimConfig {
    SimConfig {
        latency,
        ..SimConfig::default()
    }
}

fn is_pass(e: &Value) -> bool {
    e["event"] == "pass"
}

/// `run` arguments for the polling table: every pass reads ARM (`--cache off`), as the bound
/// assumes.
fn polling_args(interval: &str) -> Vec<String> {
    let mut args = operator_args(interval);
    args.extend(["--cache".to_string(), "off".to_string()]);
    args
}

fn operator_args(interval: &str) -> Vec<String> {
    vec![
        "--interval".into(),
        interval.into(),
        "--initial-spread".into(),
        "0s".into(),
        "--max-concurrent-stacks".into(),
        CONCURRENT.to_string(),
        "--max-concurrent-per-subscription".into(),
        PER_SUBSCRIPTION.to_string(),
    ]
}

/// A small deterministic generator: the "random moment" of the drift injection.
fn pseudo_random(seed: u64) -> f64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A simulator seeded with `n` migrated stacks, and their desired state written to `desired`.
async fn fleet_on_simulator(args: &Args, template: &[Value], n: usize, desired: &Path) -> Simulator {
    let sim = Simulator::start(StartOptions {
        config: sim_config(args.latency),
        seed: fleet::resources(template, n),
        ..StartOptions::default()
    })
    .await
    .expect("simulator");
    fleet::write_desired(desired, n);
    sim
}

async fn measure(args: &Args, template: &[Value], n: usize, desired: &Path) -> Row {
    let sim = fleet_on_simulator(args, template, n, desired).await;
    let subscriptions = n.div_ceil(fleet::STACKS_PER_SUBSCRIPTION);

    // A: one full pass of every stack, started together.
    let op = Operator::spawn(&args.operator, &sim.base_url, desired, &polling_args("1h"));
    let done = op.wait_for(n, Duration::from_secs(900), is_pass).expect("a full pass");
    let pass_s = done.duration_since(op.started).as_secs_f64();
    let rss = op.peak_rss_mib();
    let cpu = op.cpu_seconds();
    let failed = op.count(|e| is_pass(e) && e.get("error").is_some_and(|x| !x.is_null() && x != ""));
    op.stop();
    let log: Vec<Value> = sim
        .state()
        .lock()
        .expect("state")
        .requests
        .iter()
        .map(|r| serde_json::to_value(r).expect("json"))
        .collect();
    let count = |pred: &dyn Fn(&Value) -> bool| log.iter().filter(|r| pred(r)).count();
    let path = |r: &Value| r["path"].as_str().unwrap_or_default().to_string();
    let app_get =
        |r: &Value| r["method"] == "GET" && path(r).contains("/containerApps/") && !path(r).contains("/revisions");
    let app_gets = count(&app_get);
    let secrets = count(&|r| path(r).ends_with("/listSecrets"));
    let other_gets = count(&|r| r["method"] == "GET" && !app_get(r));
    let writes = count(&|r| matches!(r["method"].as_str(), Some("PUT" | "PATCH" | "DELETE")));
    let throttled = count(&|r| r["status"] == 429);
    let apps = (2 * n) as f64;

    // B: drift at a random moment of steady state; time to the alert and to the correction.
    sim.state().lock().expect("state").requests.clear();
    let interval = Duration::from_secs_f64((pass_s * 1.5).max(3.0)).as_secs().max(3);
    let op = Operator::spawn(
        &args.operator,
        &sim.base_url,
        desired,
        &polling_args(&format!("{interval}s")),
    );
    op.wait_for(n, Duration::from_secs(900), is_pass).expect("a first pass");
    let victim = (pseudo_random(n as u64) * n as f64) as usize % n;
    tokio::time::sleep(Duration::from_secs_f64(pseudo_random(n as u64 + 7) * interval as f64)).await;
    let id = ResourceId::container_app(
        &fleet::subscription(victim),
        &format!("rg-team-{victim}"),
        aca_sim::scenario::CLICKHOUSE_APP,
    );
    let (injected, injected_ms) = {
        let state = sim.state();
        let mut state = state.lock().expect("state");
        let who = Principal {
            name: "alice@contoso.com".into(),
            kind: "User".into(),
        };
        apps::write(
            &mut state,
            &id,
            json!({"properties": {"template": {"scale": {"minReplicas": 2, "maxReplicas": 2}}}}),
            OpKind::Patch,
            &who,
            None,
            true,
        )
        .expect("drift injected");
        (Instant::now(), state.ms_since_start(tokio::time::Instant::now()))
    };
    let stack = format!("team-{victim}");
    let field = "apps.clickhouse.template.scale.maxReplicas";
    let corrected = op.wait_for(1, Duration::from_secs(600), |e| {
        e["event"] == "drift" && e["stack"] == stack.as_str() && e["field"] == field && e["action"] == "corrected"
    });
    op.stop();
    // Detected when the operator first reads the changed app (its answer carries the drift).
    let app_path = id.to_string().to_ascii_lowercase();
    let detected_ms = sim
        .state()
        .lock()
        .expect("state")
        .requests
        .iter()
        .find(|r| r.at_ms >= injected_ms && r.method == "GET" && r.path.to_ascii_lowercase() == app_path)
        .map(|r| r.at_ms);
    sim.stop().await;

    Row {
        n,
        apps: 2 * n,
        subscriptions,
        pass_s,
        bound: Bound::compute(n, subscriptions, args.latency, CONCURRENT, PER_SUBSCRIPTION),
        get_per_app: app_gets as f64 / apps,
        list_secrets_per_app: secrets as f64 / apps,
        other_gets_per_stack: other_gets as f64 / n as f64,
        writes,
        throttled,
        failed_passes: failed,
        rss_mib: rss,
        cpu_s: cpu,
        interval_s: interval,
        detect_s: detected_ms.map(|ms| (ms - injected_ms) as f64 / 1000.0),
        correct_s: corrected.map(|t| t.duration_since(injected).as_secs_f64()),
    }
}

/// CPU the operator uses while idle between passes.
async fn idle_cpu(args: &Args, template: &[Value], desired: &Path) -> (f64, u64) {
    let n = 10;
    let sim = fleet_on_simulator(args, template, n, desired).await;
    let op = Operator::spawn(&args.operator, &sim.base_url, desired, &operator_args("1h"));
    op.wait_for(n, Duration::from_secs(120), is_pass).expect("a first pass");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = op.cpu_seconds();
    tokio::time::sleep(Duration::from_secs(args.idle_seconds)).await;
    let idle = op.cpu_seconds() - before;
    op.stop();
    sim.stop().await;
    (idle, args.idle_seconds)
}

/// Today's polling (every pass reads ARM, every 30 s) against the watch (LIST cache, Event Grid
/// events through an Azurite queue, resync every 10 minutes), on the same fleets.
async fn compare_watching(args: &Args, template: &[Value], desired: &Path) -> Vec<watch::WatchRow> {
    let polling = watch::Mode {
        name: "polling every 30 s",
        args: polling_args("30s"),
        resync: None,
    };
    let resync = Duration::from_secs(600);
    let mut watching_args = operator_args("10m");
    watching_args.extend(["--resync".to_string(), "10m".to_string()]);
    let watching = watch::Mode {
        name: "events + cache, resync 10 min",
        args: watching_args,
        resync: Some(resync),
    };
    let dir = std::env::temp_dir().join(format!("aca-bench-azurite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("Azurite's folder");
    eprintln!("aca-bench: starting Azurite's queue service");
    let queue = QueueService::start(&dir);
    queue.create_queue().await;
    let token = emulator_token();
    let setup = watch::Setup {
        operator: &args.operator,
        template,
        desired,
        config: sim_config(args.latency),
        env: vec![
            ("ACA_STATIC_TOKEN".into(), token.clone()),
            ("ACA_CA_CERT".into(), queue.ca.display().to_string()),
            ("ACA_EVENTS_QUEUE".into(), queue.url()),
        ],
        events: Some(aca_sim::events::EventsTarget {
            queue_url: queue.url(),
            token: Some(token),
            ca_cert: Some(queue.ca.clone()),
        }),
        quiet: args.quiet,
        edits: args.edits,
    };
    let mut rows = Vec::new();
    for &n in &args.watch_sizes {
        let modes = if args.watching_only {
            vec![&watching]
        } else {
            vec![&polling, &watching]
        };
        for mode in modes {
            eprintln!("aca-bench: {}, N = {n} stacks ({} apps)", mode.name, 2 * n);
            let row = watch::measure(&setup, mode, n).await;
            eprintln!("  {}", row.summary());
            rows.push(row);
        }
    }
    drop(queue);
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    assert!(
        args.operator.exists(),
        "{} not found: run `cargo build --release -p aca-operator` first",
        args.operator.display()
    );
    let desired = std::env::temp_dir().join(format!("aca-bench-{}", std::process::id()));
    eprintln!("aca-bench: preparing the fleet template (one real migration on the simulator)");
    let template = fleet::migrated_template().await;
    let mut rows = Vec::new();
    // `--watching-only` skips the polling-pass sizes too.
    let sizes: &[usize] = if args.watching_only { &[] } else { &args.sizes };
    for &n in sizes {
        eprintln!("aca-bench: N = {n} stacks ({} apps)", 2 * n);
        let row = measure(&args, &template, n, &desired).await;
        eprintln!("  {}", row.summary());
        rows.push(row);
    }
    let watching = compare_watching(&args, &template, &desired).await;
    if args.watching_only {
        // A quick look: printed, never written over the published report.
        let _ = std::fs::remove_dir_all(&desired);
        println!("{}", watch::markdown(&watching, args.edits, args.quiet));
        return;
    }
    eprintln!("aca-bench: idle CPU over {} s", args.idle_seconds);
    let idle = idle_cpu(&args, &template, &desired).await;
    let size = std::fs::metadata(&args.operator).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_dir_all(&desired);
    let mut md = report::markdown(&rows, idle, size, args.latency);
    md.push_str(&watch::markdown(&watching, args.edits, args.quiet));
    std::fs::create_dir_all(&args.out).expect("output dir");
    std::fs::write(args.out.join("benchmarks.md"), &md).expect("write benchmarks.md");
    report::plot(&rows, &args.out.join("benchmarks.svg"));
    println!("{md}");
}
