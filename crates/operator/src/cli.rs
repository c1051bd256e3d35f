//! Command-line interface: every subcommand and flag, with its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keeps Azure Container Apps in a declared state and reports every drift.
///
/// aca-operator reads a desired-state YAML (stacks: a managed environment and its apps), reads the
/// live resources through Azure Resource Manager, and reports or corrects the differences. It also
/// carries out the one-time migration of a Langfuse ClickHouse sidecar to its own singleton app.
#[derive(Debug, Parser)]
#[command(name = "aca-operator", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check desired-state files without contacting Azure.
    ///
    /// Exits 0 and prints one summary line per valid file; exits 1 and prints every problem
    /// (file:line:column, field path, hint) otherwise. Directories are read for *.yaml and *.yml.
    Validate(ValidateArgs),
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Desired-state files or directories to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}
