//! `aca-sim`: the local ARM simulator as a process (for the demo, users' dry runs and benchmarks).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use aca_sim::{SimConfig, Simulator, StartOptions};
use clap::Parser;
use serde_json::Value;

/// A local Azure Resource Manager for Container Apps, managed environments, their storages and file
/// shares. Prints `listening on URL` as its first line, then serves until interrupted.
#[derive(Debug, Parser)]
#[command(name = "aca-sim", version, max_term_width = 100)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serve HTTPS with a certificate generated at start (needs --ca-out).
    #[arg(long, requires = "ca_out")]
    tls: bool,
    /// Where to write the generated CA certificate (PEM) in --tls mode.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<PathBuf>,
    /// Initial resources: a JSON or YAML list of ARM resources, each with its `id`.
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,
    /// A built-in scenario to load: `sidecar` (the migration plan's current layout) or `empty`.
    #[arg(long, value_name = "NAME")]
    scenario: Option<String>,
    /// Latency added to every ARM request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Duration of long-running operations, in milliseconds.
    #[arg(long, default_value_t = 300)]
    lro_ms: u64,
    /// Time from a revision's creation until its replicas run, in milliseconds.
    #[arg(long, default_value_t = 400)]
    revision_start_ms: u64,
    /// How long an old revision keeps its replicas after the new one is ready (Single mode), in ms.
    #[arg(long, default_value_t = 600)]
    overlap_ms: u64,
    /// Turn ARM's per-subscription throttle off.
    #[arg(long)]
    no_throttle: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let seed = match &args.seed {
        None => Vec::new(),
        Some(path) => match read_seed(path) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("aca-sim: {}: {e}", path.display());
                return std::process::ExitCode::FAILURE;
            }
        },
    };
    let config = SimConfig {
        latency: Duration::from_millis(args.latency_ms),
        lro_duration: Duration::from_millis(args.lro_ms),
        revision_start: Duration::from_millis(args.revision_start_ms),
        overlap: Duration::from_millis(args.overlap_ms),
        throttle: !args.no_throttle,
        ..SimConfig::default()
    };
    let options = StartOptions {
        listen: args.listen,
        config,
        tls_ca_out: if args.tls { args.ca_out.clone() } else { None },
        seed,
        scenario: args.scenario.clone(),
    };
    let sim = match Simulator::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aca-sim: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!("listening on {}", sim.base_url);
    let _ = tokio::signal::ctrl_c().await;
    sim.stop().await;
    std::process::ExitCode::SUCCESS
}

fn read_seed(path: &PathBuf) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let value: Value = if path.extension().is_some_and(|x| x == "json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())?
    } else {
        serde_saphyr::from_str(&text).map_err(|e| e.to_string())?
    };
    match value {
        Value::Array(items) => Ok(items),
        _ => Err("expected a list of ARM resources".into()),
    }
}
