//! Command-line interface: every subcommand and flag, with its help text.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use aca_arm::{AuthMethod, Cloud};

use crate::color::ColorChoice;
use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand, ValueEnum};

pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("ACA_GIT_COMMIT"),
    ", built ",
    env!("ACA_BUILD_DATE"),
    ")"
);

/// Keeps Azure Container Apps in a declared state and reports every drift.
///
/// aca-operator reads a desired-state YAML (stacks: a managed environment and its apps), reads the
/// live resources through Azure Resource Manager, and reports or corrects the differences. It also
/// carries out the one-time migration of a Langfuse ClickHouse sidecar to its own singleton app.
/// Start with `aca-operator demo`: the whole story on a local ARM simulator, no Azure needed.
///
/// Exit codes: 0 success (for `plan`: no drift), 2 drift found (`plan`) or something unhealthy
/// (`status`), 1 runtime error
/// (ARM unreachable, a refused plan, a failed step), 64 usage error (an unknown flag or value).
#[derive(Debug, Parser)]
#[command(name = "aca-operator", version = LONG_VERSION, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Log format: `auto` is human-readable on a terminal and JSON lines otherwise.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto, env = "ACA_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter (`info`, `debug`, `aca::arm=debug`, ...).
    #[arg(long, global = true, default_value = "info", env = "ACA_LOG")]
    pub log_level: String,
    /// Colour in plans and text logs: `auto` (on a terminal, unless NO_COLOR is set), `always`, `never`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, env = "ACA_COLOR")]
    pub color: ColorChoice,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Auto,
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check desired-state files without contacting Azure.
    ///
    /// Exits 0 and prints one summary line per valid file; exits 1 and prints every problem
    /// (file:line:column, field path, hint) otherwise. Directories are read for *.yaml and *.yml.
    Validate(ValidateArgs),
    /// Show what differs from the desired state and the steps that would fix it; change nothing.
    ///
    /// Exit code: 0 no drift, 2 drift found, 1 error.
    Plan(PlanArgs),
    /// Correct the drift once, then exit: the plan shown and approved is the plan that runs.
    ///
    /// `apply -f FILE` shows the plan, asks on a terminal (`--auto-approve` otherwise), then runs
    /// that plan, refusing if the live state moved meanwhile. `apply PLAN_FILE` runs a plan saved
    /// by `plan --out`. Exit code: 0 done (or nothing to do), 1 error or refused, 64 usage error
    /// (including no terminal and no `--auto-approve`).
    Apply(ApplyArgs),
    /// Run as a daemon: reconcile every stack each interval, log each drift, serve metrics.
    Run(RunArgs),
    /// Return from the dedicated ClickHouse app to the sidecar layout, with the same care (see
    /// docs/migration.md): snapshot, stop the dedicated app (kept, not deleted), then restore the
    /// sidecar in Langfuse at one replica with its secrets pointing at localhost.
    Rollback(RollbackArgs),
    /// Write a desired-state YAML for existing apps, to adopt a deployment without retyping it.
    Export(ExportArgs),
    /// The whole story on a local ARM simulator: plan, safe migration from the ClickHouse sidecar,
    /// drift injected as a person would, alerts and corrections. No Azure, no set-up.
    Demo(DemoArgs),
    /// Run the local ARM simulator (the same as the `aca-sim` binary).
    Sim(aca_sim::cli::SimArgs),
    /// Show what a running daemon thinks, per stack and app, from its `/status`.
    ///
    /// Exit code: 0 everything healthy, 2 something is not healthy (or not known yet), 1 error.
    Status(StatusArgs),
    /// Print the version, git commit and build date.
    Version,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Desired-state files or directories to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Where ARM is and how to authenticate.
#[derive(Debug, Clone, Args)]
pub struct ArmArgs {
    /// Azure cloud.
    #[arg(long, default_value = "public", env = "ACA_CLOUD", value_parser = parse_cloud)]
    pub cloud: Cloud,
    /// ARM endpoint override, e.g. a local simulator (`http://127.0.0.1:PORT`).
    #[arg(long, env = "ACA_ARM_ENDPOINT", value_name = "URL")]
    pub arm_endpoint: Option<String>,
    /// Allow plain HTTP to a loopback ARM endpoint (a local simulator). Never needed for Azure.
    /// The environment variable takes 1/0, true/false, yes/no, on/off.
    #[arg(long, env = "ACA_ALLOW_INSECURE_LOOPBACK", value_parser = BoolishValueParser::new())]
    pub allow_insecure_loopback: bool,
    /// Extra CA certificate (PEM) to trust, e.g. the simulator's in --tls mode.
    #[arg(long, env = "ACA_CA_CERT", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// Credential: auto, managed-identity, workload-identity, azure-cli, client-secret, or static
    /// (ACA_STATIC_TOKEN, loopback simulator only). See docs/security.md for what `auto` picks.
    #[arg(long, default_value = "auto", env = "ACA_AUTH", value_parser = parse_auth)]
    pub auth: AuthMethod,
    /// Tag every ARM request with this id (x-aca-replica), to tell replicas apart.
    #[arg(long, env = "ACA_REPLICA_ID")]
    pub replica_id: Option<String>,
}

fn parse_cloud(s: &str) -> Result<Cloud, String> {
    s.parse()
}

fn parse_auth(s: &str) -> Result<AuthMethod, String> {
    s.parse()
}

/// A flag value clap refuses (it prints the message as a usage error, exit 64).
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("`{0}` is not a duration (e.g. 2s, 30s, 5m)")]
    NotADuration(String),
    #[error("`{0}` must be longer than zero (e.g. 2s, 30s, 10m)")]
    Zero(String),
    #[error("must be 15-60 s (Azure Blob leases), got {}s", .0.as_secs())]
    LeaseOutOfRange(Duration),
}

/// A duration flag: `500ms`, `30s`, `5m`, `1h`, `1m30s` (the desired state's own syntax).
fn duration(s: &str) -> Result<Duration, FlagError> {
    aca_model::desired::parse_duration(s).ok_or_else(|| FlagError::NotADuration(s.to_string()))
}

/// A duration, or a bare `0`.
fn duration_or_zero(s: &str) -> Result<Duration, FlagError> {
    if s.trim() == "0" {
        Ok(Duration::ZERO)
    } else {
        duration(s)
    }
}

/// Azure Blob leases last 15 to 60 s.
fn lease_duration(s: &str) -> Result<Duration, FlagError> {
    let d = duration(s)?;
    if (15..=60).contains(&d.as_secs()) {
        Ok(d)
    } else {
        Err(FlagError::LeaseOutOfRange(d))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LeaderElection {
    None,
    Blob,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Desired-state files or directories.
    #[arg(short = 'f', long = "file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// `text` (coloured on a terminal) or `json`.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Also save the plan to this file, for `apply FILE` to carry out exactly (it refuses if the
    /// live state or the desired state moved meanwhile).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub arm: ArmArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved by `plan --out FILE`: carry out exactly that plan (no new one is shown).
    #[arg(value_name = "PLAN_FILE", conflicts_with = "files")]
    pub plan: Option<PathBuf>,
    /// Apply once and exit (always so; the daemon is `run`). Accepted for older scripts.
    #[arg(long)]
    pub once: bool,
    /// Desired-state files or directories (not with PLAN_FILE, which names its own).
    #[arg(short = 'f', long = "file", required_unless_present = "plan", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Run without asking. Required when stdin is not a terminal (a script, CI): without it,
    /// nothing is changed there and the exit code is 64.
    #[arg(long, short = 'y', visible_alias = "yes")]
    pub auto_approve: bool,
    #[command(flatten)]
    pub arm: ArmArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The desired-state file of the migrated layout (it names the apps and the storage).
    #[arg(short = 'f', long = "file", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Run without asking. Required when stdin is not a terminal (a script, CI): without it,
    /// nothing is changed there and the exit code is 64.
    #[arg(long, short = 'y', visible_alias = "yes")]
    pub auto_approve: bool,
    #[command(flatten)]
    pub arm: ArmArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Desired-state files or directories (watched; a bad new version is refused and the last good
    /// one stays in force).
    #[arg(
        short = 'f',
        long = "file",
        required = true,
        value_name = "FILE",
        env = "ACA_DESIRED_STATE"
    )]
    pub files: Vec<PathBuf>,
    /// Overrides every stack's `interval` (e.g. `2s`).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub interval: Option<Duration>,
    /// Serve /metrics, /healthz and /readyz here (loopback unless you choose otherwise).
    #[arg(long, value_name = "ADDR", env = "ACA_LISTEN_METRICS")]
    pub listen_metrics: Option<SocketAddr>,
    /// How often the desired-state files are checked for changes.
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = duration)]
    pub reload_interval: Duration,
    /// How long a shutdown (SIGTERM/SIGINT) waits for the current ARM operation.
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = duration)]
    pub shutdown_timeout: Duration,
    /// At most this many stacks are reconciled at once.
    #[arg(long, default_value_t = 16)]
    pub max_concurrent_stacks: usize,
    /// At most this many stacks of one subscription are reconciled at once (ARM budgets are per
    /// subscription, so the others go ahead meanwhile).
    #[arg(long, default_value_t = 8)]
    pub max_concurrent_per_subscription: usize,
    /// `none` (one replica) or `blob`: replicas compete for a lease on a blob; only the holder writes.
    #[arg(long, value_enum, default_value_t = LeaderElection::None, env = "ACA_LEADER_ELECTION")]
    pub leader_election: LeaderElection,
    /// Storage account blob endpoint for the lease, e.g. `https://ACCOUNT.blob.core.windows.net`.
    #[arg(
        long,
        env = "ACA_LEASE_ACCOUNT",
        value_name = "URL",
        required_if_eq("leader_election", "blob")
    )]
    pub lease_account: Option<String>,
    /// Container of the lease blob (created if missing).
    #[arg(long, env = "ACA_LEASE_CONTAINER", default_value = "aca-operator")]
    pub lease_container: String,
    /// Lease duration (15-60 s); the leader renews every third of it.
    #[arg(long, env = "ACA_LEASE_DURATION", default_value = "15s", value_name = "DURATION", value_parser = lease_duration)]
    pub lease_duration: Duration,
    /// File holding the token required for `/status` and `/` (or ACA_STATUS_TOKEN). Without
    /// one, a non-loopback listener does not serve them.
    #[arg(long, env = "ACA_STATUS_TOKEN_FILE", value_name = "FILE")]
    pub status_token_file: Option<PathBuf>,
    /// Azure Storage queue that Event Grid delivers resource events to, e.g.
    /// `https://ACCOUNT.queue.core.windows.net/QUEUE`: an event about a stack's resources runs
    /// that stack at once (the interval stays the backstop). Same credentials as ARM.
    #[arg(long, env = "ACA_EVENTS_QUEUE", value_name = "URL")]
    pub events_queue: Option<String>,
    /// First passes are spread over this span (default: the shortest stack interval), so stacks do not
    /// all start together. `0s` starts them all at once.
    #[arg(long, value_name = "DURATION", value_parser = duration_or_zero)]
    pub initial_spread: Option<Duration>,
    /// `on`: passes read a cache filled by subscription LISTs (the reflector); `off`: every pass
    /// reads ARM directly (the polling mode, for comparison).
    #[arg(long, value_enum, default_value_t = CacheMode::On, env = "ACA_CACHE")]
    pub cache: CacheMode,
    /// How often the cache is refilled from the subscription LISTs, whatever else refreshed it.
    #[arg(long, default_value = "10m", value_name = "DURATION", value_parser = positive_duration)]
    pub resync: Duration,
    #[command(flatten)]
    pub arm: ArmArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CacheMode {
    On,
    Off,
}

/// A duration such as `2s`, `30s`, `10m`, longer than zero.
fn positive_duration(text: &str) -> Result<Duration, FlagError> {
    duration(text).and_then(|d| {
        if d.is_zero() {
            Err(FlagError::Zero(text.to_string()))
        } else {
            Ok(d)
        }
    })
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The daemon's listener (`run --listen-metrics`).
    #[arg(
        long,
        env = "ACA_STATUS_ENDPOINT",
        default_value = "http://127.0.0.1:9464",
        value_name = "URL"
    )]
    pub endpoint: String,
    /// `text` (a table) or `json` (the `/status` document as served).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// File holding the listener's token (or ACA_STATUS_TOKEN).
    #[arg(long, env = "ACA_STATUS_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long)]
    pub subscription: String,
    #[arg(long)]
    pub resource_group: String,
    #[arg(long)]
    pub environment: String,
    /// Container apps to export (repeat the flag).
    #[arg(long = "app", required = true, value_name = "NAME")]
    pub apps: Vec<String>,
    /// Name of the exported stack.
    #[arg(long, default_value = "exported")]
    pub stack_name: String,
    #[command(flatten)]
    pub arm: ArmArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print the plan and stop (no migration, no drift).
    #[arg(long)]
    pub plan_only: bool,
}

/// Exit code of a command line clap refused: 64 (`EX_USAGE` of sysexits), so that a script never
/// reads a usage error as `plan`'s "drift found" (2); 0 for `--help` and `--version`.
pub fn usage_exit(e: &clap::Error) -> std::process::ExitCode {
    let _ = e.print();
    if e.use_stderr() {
        std::process::ExitCode::from(64)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    fn run_args(extra: &[&str]) -> Result<RunArgs, clap::Error> {
        let mut argv = vec!["aca-operator", "run", "-f", "stacks.yaml"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv)?.command {
            Command::Run(args) => Ok(args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn duration_flags_are_typed_by_clap_and_a_bad_one_is_a_usage_error() {
        let args = run_args(&[
            "--interval",
            "1m30s",
            "--initial-spread",
            "0",
            "--lease-duration",
            "20s",
        ])
        .unwrap();
        assert_eq!(args.interval, Some(Duration::from_secs(90)));
        assert_eq!(args.initial_spread, Some(Duration::ZERO));
        assert_eq!(args.lease_duration, Duration::from_secs(20));
        assert_eq!(
            args.reload_interval,
            Duration::from_secs(2),
            "the default goes through the parser too"
        );

        let e = run_args(&["--shutdown-timeout", "soon"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
        assert!(e.to_string().contains("`soon` is not a duration"), "{e}");
        let e = run_args(&["--lease-duration", "90s"]).unwrap_err();
        assert!(
            e.to_string().contains("must be 15-60 s (Azure Blob leases), got 90s"),
            "{e}"
        );
    }
}
