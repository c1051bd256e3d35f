//! `sim`: the local ARM simulator, for users who have only this binary. Same flags as `aca-sim`.

use std::process::ExitCode;

pub async fn run(args: &aca_sim::cli::SimArgs) -> ExitCode {
    aca_sim::cli::serve(args, "aca-operator sim").await
}
