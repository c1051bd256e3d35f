//! `apply`: carry out an approved plan once, report, exit. The plan shown (or saved by
//! `plan --out`) is the plan that runs: the pass refuses it if the live state moved since.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use aca_model::desired::Stack;
use aca_reconcile::{Approval, ArmApi, PassOptions, StepEvent, run_pass};

use crate::arm_setup;
use crate::cli::ApplyArgs;
use crate::render::{self, Palette};
use crate::saved_plan::SavedPlan;

pub async fn run(args: &ApplyArgs) -> ExitCode {
    match &args.plan {
        Some(path) => run_saved(args, path).await,
        None => run_interactive(args).await,
    }
}

/// Shows the plan, asks, then runs that plan.
async fn run_interactive(args: &ApplyArgs) -> ExitCode {
    let (state, client) = match super::prepare(&args.files, &args.arm) {
        Ok(v) => v,
        Err(e) => return crate::error::exit(&e),
    };
    let palette = Palette {
        enabled: crate::color::stdout(),
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
    if let Err(code) = approve(args.auto_approve) {
        return code;
    }
    let mut approved = Vec::new();
    for (stack, r) in state.stacks.iter().zip(&preview) {
        if let Some(observed) = &r.observed {
            approved.push((stack, Approval::of(observed, &r.diff, &r.plan)));
        }
    }
    execute(&client, &args.arm, approved, palette).await
}

/// Runs a plan saved by `plan --out`, after checking it was made from these files.
async fn run_saved(args: &ApplyArgs, path: &std::path::Path) -> ExitCode {
    let refuse = |e: &dyn std::fmt::Display| {
        eprintln!("aca-operator: {e}");
        ExitCode::from(1)
    };
    let saved = match SavedPlan::read(path) {
        Ok(p) => p,
        Err(e) => return refuse(&e),
    };
    let files = match saved.checked_files() {
        Ok(f) => f,
        Err(e) => return refuse(&e),
    };
    let (state, client) = match super::prepare(&files, &args.arm) {
        Ok(v) => v,
        Err(e) => return crate::error::exit(&e),
    };
    if let Err(e) = saved.check_env(&state) {
        return refuse(&e);
    }
    let mut approved = Vec::new();
    for stack in &state.stacks {
        match saved.approval(&stack.name) {
            Ok(a) => approved.push((stack, a)),
            Err(e) => return refuse(&e),
        }
    }
    if let Err(code) = approve(args.auto_approve) {
        return code;
    }
    let palette = Palette {
        enabled: crate::color::stdout(),
    };
    execute(&client, &args.arm, approved, palette).await
}

async fn execute(
    client: &dyn ArmApi,
    arm: &crate::cli::ArmArgs,
    approved: Vec<(&Stack, Approval)>,
    palette: Palette,
) -> ExitCode {
    let mut failed = false;
    for (stack, approval) in approved {
        // Measures the cutover's outage from the steps as they finish (reported below).
        let clock = aca_reconcile::playbook::OutageClock::default();
        let on_event = |e: &StepEvent| {
            clock.observe(e);
            print_event(&stack.name, e);
        };
        let options = PassOptions {
            apply: true,
            log_events: true,
            exec: arm_setup::exec_settings(arm),
            approved: Some(approval),
            ..PassOptions::default()
        };
        let report = run_pass(client, stack, options, &on_event).await;
        if let Some(w) = clock.window() {
            println!("[{}] {w}", stack.name);
            tracing::info!(
                event = "outage",
                stack = %stack.name,
                none_running_ms = w.none_running().as_millis() as u64,
                wired_to_stopped_ms = w.wired_to_stopped().as_millis() as u64,
                "{w}"
            );
        }
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

/// Whether to go on: `--auto-approve`, or `yes` typed on a terminal. Without a terminal and without
/// the flag nobody can approve, so nothing runs (64: the command line lacks what a script must say).
pub fn approve(auto_approve: bool) -> Result<(), ExitCode> {
    if auto_approve {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "aca-operator: stdin is not a terminal, so nobody can approve these steps here; run again with --auto-approve to carry them out as shown. Nothing was changed."
        );
        return Err(ExitCode::from(64));
    }
    if confirm() {
        Ok(())
    } else {
        println!("Cancelled: nothing was changed.");
        Err(ExitCode::from(1))
    }
}

fn confirm() -> bool {
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
