//! `aca-operator`: keeps Azure Container Apps stacks in their declared state.

mod arm_setup;
mod cli;
mod color;
mod commands;
mod contest;
mod daemon;
mod error;
mod http;
mod leader;
mod logging;
mod metrics;
mod progress;
mod render;
mod saved_plan;
mod status;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

// jemalloc, with the options in .cargo/config.toml: the daemon's peak memory is set in its first
// seconds, and glibc's malloc never gives that back (decision 0037).
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_exit(&e),
    };
    color::init(cli.color);
    if let Command::Validate(args) = &cli.command {
        // No ARM, no runtime, no logs: just the file checks.
        return commands::validate::run(args);
    }
    if let Command::Version = cli.command {
        println!("aca-operator {}", cli::LONG_VERSION);
        return ExitCode::SUCCESS;
    }
    logging::init(cli.log_format, &cli.log_level);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aca-operator: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    runtime.block_on(async {
        match &cli.command {
            Command::Plan(args) => commands::plan::run(args).await,
            Command::Apply(args) => commands::apply::run(args).await,
            Command::Run(args) => commands::run::run(args).await,
            Command::Export(args) => commands::export::run(args).await,
            Command::Rollback(args) => commands::rollback::run(args).await,
            Command::Demo(args) => commands::demo::run(args).await,
            Command::Sim(args) => commands::sim::run(args).await,
            Command::Status(args) => commands::status::run(args).await,
            Command::Validate(_) | Command::Version => unreachable!("handled above"),
        }
    })
}
