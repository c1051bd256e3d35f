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
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
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

#[cfg(all(test, feature = "jemalloc", not(target_env = "msvc")))]
mod allocator_tests {
    use tikv_jemalloc_ctl::{config, opt};

    /// The options of .cargo/config.toml are built into the allocator this binary runs with,
    /// and in effect.
    #[test]
    fn jemalloc_runs_with_one_arena_no_thread_cache_and_no_decay() {
        assert_eq!(
            // Read back with its C string's NUL.
            config::malloc_conf::read().unwrap().trim_end_matches('\0'),
            "narenas:1,tcache:false,dirty_decay_ms:0,muzzy_decay_ms:0"
        );
        assert_eq!(opt::narenas::read().unwrap(), 1);
        assert!(!opt::tcache::read().unwrap());
    }
}
