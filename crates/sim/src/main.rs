//! `aca-sim`: the local ARM simulator as a process (for the demo, users' dry runs and benchmarks).
//! `aca-operator sim` takes exactly the same flags ([`aca_sim::cli::SimArgs`]).

use clap::Parser;

/// A local Azure Resource Manager for Container Apps, managed environments, their storages and file
/// shares. Prints `listening on URL` as its first line, then serves until interrupted.
///
/// Exit codes: 0 stopped by a signal, 1 could not start, 64 usage error.
#[derive(Debug, Parser)]
#[command(name = "aca-sim", version, max_term_width = 100)]
struct Cli {
    #[command(flatten)]
    args: aca_sim::cli::SimArgs,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return aca_sim::cli::usage_exit(&e),
    };
    aca_sim::cli::serve(&cli.args, "aca-sim").await
}
