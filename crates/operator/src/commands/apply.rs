//! `apply --once`: show the plan, ask on a terminal, carry it out, report, exit.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use aca_reconcile::{PassOptions, StepEvent, run_pass};

use crate::arm_setup;
use crate::cli::ApplyArgs;
use crate::render::{self, Palette};

pub async fn run(args: &ApplyArgs) -> ExitCode {
    let (state, client) = match super::prepare(&args.files, &args.arm) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let palette = Palette {
        enabled: super::stdout_is_terminal(),
    };
    let preview = super::plan::plan_all(&client, &state.stacks).await;
    for (stack, r) in state.stacks.iter().zip(&preview) {
        println!("{}", render::stack_text(stack, r, palette));
    }
    println!("{}", render::summary_text(&preview));
    if preview.iter().any(|r| r.error.is_some()) {
        return ExitCode::from(1);
    }
    if preview.iter().all(|r| r.plan.steps.is_empty()) {
        println!("Nothing to apply.");
        return ExitCode::SUCCESS;
    }
    if !args.yes && std::io::stdin().is_terminal() && !confirm() {
        println!("Cancelled: nothing was changed.");
        return ExitCode::from(1);
    }
    let mut failed = false;
    for stack in &state.stacks {
        let on_event = |e: &StepEvent| print_event(&stack.name, e);
        let options = PassOptions {
            apply: true,
            log_events: true,
            exec: arm_setup::exec_settings(&args.arm),
            ..PassOptions::default()
        };
        let report = run_pass(&client, stack, options, &on_event).await;
        if let Some(e) = &report.error {
            failed = true;
            println!("{} {}: {e}", palette.red("failed:"), stack.name);
        } else {
            println!(
                "{} {}: {} step(s) done",
                palette.green("applied:"),
                stack.name,
                report.outcomes.len()
            );
        }
    }
    if failed { ExitCode::from(1) } else { ExitCode::SUCCESS }
}

pub fn confirm() -> bool {
    print!("Apply these steps? Only 'yes' is accepted: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).is_ok() && line.trim() == "yes"
}

pub fn print_event(stack: &str, e: &StepEvent) {
    match e {
        StepEvent::Started { index, total, step } => println!("[{stack}] step {}/{total}: {step}", index + 1),
        StepEvent::Waiting { .. } => {}
        StepEvent::Finished { outcome, .. } => println!("[{stack}]   {}", outcome_text(outcome)),
        StepEvent::Failed { error, .. } => println!("[{stack}]   failed: {error}"),
    }
}

pub fn outcome_text(o: &aca_reconcile::StepOutcome) -> String {
    match o {
        aca_reconcile::StepOutcome::Done(s) => format!("done: {s}"),
        aca_reconcile::StepOutcome::Skipped(s) => format!("skipped: {s}"),
    }
}
