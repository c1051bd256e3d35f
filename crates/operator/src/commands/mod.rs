//! One module per subcommand.

pub mod apply;
pub mod demo;
pub mod export;
pub mod plan;
pub mod rollback;
pub mod run;
pub mod sim;
pub mod status;
pub mod validate;

use std::io::IsTerminal;
use std::path::PathBuf;

use aca_arm::ArmClient;
use aca_model::desired::{DesiredState, LoadError, Loaded, load_paths_with};

use crate::cli::ArmArgs;
use crate::error::CliError;

/// Loads desired-state files with the playbooks' rules (what the loader alone does not know).
pub fn load_paths(files: &[PathBuf]) -> Result<Loaded, LoadError> {
    load_paths_with(files, &[&aca_reconcile::playbook::Rules])
}

/// Loads the desired state, printing warnings; on errors prints them all and returns `None`.
pub fn load(files: &[PathBuf]) -> Option<DesiredState> {
    match load_paths(files) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("{w}");
            }
            Some(loaded.state)
        }
        Err(e) => {
            eprintln!("{e}");
            eprintln!("nothing was sent to ARM: fix the desired state first");
            None
        }
    }
}

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// The desired state and the ARM client; an invalid desired state has printed its diagnostics.
pub fn prepare(files: &[PathBuf], arm: &ArmArgs) -> Result<(DesiredState, ArmClient), CliError> {
    let state = load(files).ok_or(CliError::DesiredState)?;
    Ok((state, crate::arm_setup::client(arm, Default::default())?))
}
