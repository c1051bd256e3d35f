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

use std::process::ExitCode;

use aca_arm::ArmClient;
use aca_model::desired::{DesiredState, LoadError, Loaded, load_paths_with};

use crate::cli::ArmArgs;

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

/// The ARM client for the command line's options; prints why not and gives the exit code.
pub fn arm_client(arm: &ArmArgs) -> Result<ArmClient, ExitCode> {
    crate::arm_setup::client(arm).map_err(|e| {
        eprintln!("aca-operator: {e}");
        ExitCode::from(1)
    })
}

/// The desired state and the ARM client, or the exit code after saying what is wrong.
pub fn prepare(files: &[PathBuf], arm: &ArmArgs) -> Result<(DesiredState, ArmClient), ExitCode> {
    let state = load(files).ok_or(ExitCode::from(1))?;
    Ok((state, arm_client(arm)?))
}
