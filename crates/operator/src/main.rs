//! `aca-operator`: keeps Azure Container Apps stacks in their declared state.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Validate(args) => commands::validate::run(&args),
    }
}
