//! The simulator's command line, shared by the `aca-sim` binary and `aca-operator sim`, so that the
//! two accept exactly the same flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use crate::{SimConfig, Simulator, StartOptions};

/// Flags of the simulator process.
#[derive(Debug, Clone, Args)]
pub struct SimArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Serve HTTPS with a certificate generated at start (needs --ca-out).
    #[arg(long, requires = "ca_out")]
    pub tls: bool,
    /// Where to write the generated CA certificate (PEM) in --tls mode.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca_out: Option<PathBuf>,
    /// Initial resources: a JSON or YAML list of ARM resources, each with its `id`.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
    /// A built-in scenario to load: `sidecar` (the migration plan's current layout) or `empty`
    /// (the default).
    #[arg(long, value_name = "NAME")]
    pub scenario: Option<String>,
    /// Latency added to every ARM request, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Duration of long-running operations, in milliseconds.
    #[arg(long, default_value_t = 300, value_name = "MS")]
    pub lro_ms: u64,
    /// Time from a revision's creation until its replicas run, in milliseconds.
    #[arg(long, default_value_t = 400, value_name = "MS")]
    pub revision_start_ms: u64,
    /// How long an old revision keeps its replicas after the new one is ready (Single mode), in ms.
    #[arg(long, default_value_t = 600, value_name = "MS")]
    pub overlap_ms: u64,
    /// Items per page of every list (the rest follows through `nextLink`).
    #[arg(long, default_value_t = crate::config::DEFAULT_PAGE_SIZE as u64, value_parser = clap::value_parser!(u64).range(1..), value_name = "N")]
    pub page_size: u64,
    /// Turn ARM's per-subscription throttle off.
    #[arg(long)]
    pub no_throttle: bool,
    /// Put an Event Grid event into this Storage queue after every successful write (as Event
    /// Grid's subscription topic does), e.g. `https://127.0.0.1:10001/devstoreaccount1/events`.
    /// A bearer token for it comes from ACA_SIM_EVENTS_TOKEN (never a flag).
    #[arg(long, value_name = "URL")]
    pub events_queue: Option<String>,
    /// A CA certificate (PEM) to trust for --events-queue (Azurite's, for instance).
    #[arg(long, value_name = "FILE", requires = "events_queue")]
    pub events_ca_cert: Option<PathBuf>,
}

/// Why the simulator could not start from these flags.
#[derive(Debug, thiserror::Error)]
pub enum SimCliError {
    #[error("{path}: {why}")]
    Seed { path: PathBuf, why: String },
    #[error(transparent)]
    Start(#[from] crate::StartError),
}

impl SimArgs {
    /// The start options these flags describe (reads the seed file).
    pub fn start_options(&self) -> Result<StartOptions, SimCliError> {
        let seed = match &self.seed {
            None => Vec::new(),
            Some(path) => read_seed(path).map_err(|why| SimCliError::Seed {
                path: path.clone(),
                why,
            })?,
        };
        Ok(StartOptions {
            listen: self.listen,
            config: SimConfig {
                latency: Duration::from_millis(self.latency_ms),
                lro_duration: Duration::from_millis(self.lro_ms),
                revision_start: Duration::from_millis(self.revision_start_ms),
                overlap: Duration::from_millis(self.overlap_ms),
                throttle: !self.no_throttle,
                page_size: self.page_size as usize,
                ..SimConfig::default()
            },
            tls_ca_out: if self.tls { self.ca_out.clone() } else { None },
            seed,
            scenario: self.scenario.clone(),
            events: self.events_queue.as_ref().map(|queue_url| crate::events::EventsTarget {
                queue_url: queue_url.clone(),
                token: std::env::var("ACA_SIM_EVENTS_TOKEN").ok(),
                ca_cert: self.events_ca_cert.clone(),
            }),
        })
    }
}

/// Starts the simulator, prints `listening on URL` as the first line of stdout, and serves until
/// SIGINT or SIGTERM. `program` prefixes error messages.
pub async fn serve(args: &SimArgs, program: &str) -> ExitCode {
    let sim = match args.start_options() {
        Ok(options) => Simulator::start(options).await.map_err(SimCliError::from),
        Err(e) => Err(e),
    };
    let sim = match sim {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{program}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {}", sim.base_url);
    shutdown_signal().await;
    sim.stop().await;
    ExitCode::SUCCESS
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn read_seed(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the seed file: {e}"))?;
    let value: Value = if path.extension().is_some_and(|x| x == "json") {
        serde_json::from_str(&text).map_err(|e| format!("not valid JSON: {e}"))?
    } else {
        serde_saphyr::from_str(&text).map_err(|e| format!("not valid YAML: {e}"))?
    };
    match value {
        Value::Array(items) => Ok(items),
        _ => Err("expected a list of ARM resources".into()),
    }
}

/// Exit code of a command line clap refused: 64 (`EX_USAGE` of sysexits) for a usage error, 0 for
/// `--help` and `--version`, after printing clap's text.
pub fn usage_exit(e: &clap::Error) -> ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        ExitCode::from(64)
    } else {
        ExitCode::SUCCESS
    }
}
