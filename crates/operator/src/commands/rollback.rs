//! `rollback`: back to the sidecar layout, with the same care as the migration.

use std::process::ExitCode;

use aca_reconcile::{Executor, StepEvent, observe, plan_rollback};

use crate::arm_setup;
use crate::cli::RollbackArgs;

pub async fn run(args: &RollbackArgs) -> ExitCode {
    let (state, client) = match super::prepare(&args.files, &args.arm) {
        Ok(v) => v,
        Err(e) => return crate::error::exit(&e),
    };
    for stack in &state.stacks {
        let observed = match observe(&client, stack).await {
            Ok(o) => o,
            Err(source) => {
                let what = stack.name.clone();
                return crate::error::exit(&crate::error::CliError::Arm { what, source });
            }
        };
        let steps = match plan_rollback(stack, &observed) {
            Ok(s) => s,
            Err(why) => {
                println!("{}: {why}", stack.name);
                continue;
            }
        };
        println!("Rollback of stack {}:", stack.name);
        for (i, s) in steps.iter().enumerate() {
            println!("  {}. {s}", i + 1);
        }
        println!(
            "A running `aca-operator run` with the migrated desired state would migrate again: stop it or give it a desired state without the dedicated app first."
        );
        if let Err(code) = super::apply::approve(args.auto_approve) {
            return code;
        }
        let on_event = |e: &StepEvent| super::apply::print_event(&stack.name, e);
        let executor = Executor {
            api: &client,
            stack,
            observed: &observed,
            settings: arm_setup::exec_settings(&args.arm),
            on_event: &on_event,
            cancel: None,
            gate: None,
        };
        let (_, error) = executor.run(&steps).await;
        if let Some(e) = error {
            println!("rollback of {} stopped: {e}", stack.name);
            return ExitCode::from(1);
        }
        println!(
            "Rolled back: {} (the dedicated app is kept, deactivated; nothing was deleted).",
            stack.name
        );
    }
    ExitCode::SUCCESS
}
