//! `plan`: observe and diff every stack, print the drift and the steps; never writes.

use std::process::ExitCode;

use aca_reconcile::{ArmApi, PassOptions, PassReport, run_pass};

use crate::cli::{OutputFormat, PlanArgs};
use crate::render::{self, Palette};
use crate::saved_plan::SavedPlan;

pub async fn run(args: &PlanArgs) -> ExitCode {
    let (state, client) = match super::prepare(&args.files, &args.arm) {
        Ok(v) => v,
        Err(e) => return crate::error::exit(&e),
    };
    let reports = plan_all(&client, &state.stacks).await;
    match args.output {
        OutputFormat::Json => {
            let doc = render::plan_json(&reports);
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        OutputFormat::Text => {
            let palette = Palette {
                enabled: crate::color::stdout(),
            };
            for (stack, r) in state.stacks.iter().zip(&reports) {
                println!("{}", render::stack_text(stack, r, palette));
            }
            println!("{}", render::summary_text(&reports));
        }
    }
    if let Some(out) = &args.out {
        if reports.iter().any(|r| r.error.is_some()) {
            eprintln!(
                "aca-operator: the plan was not saved to {}: a stack failed",
                out.display()
            );
            return ExitCode::from(1);
        }
        let saved = SavedPlan::new(&args.files, &state, &reports).and_then(|p| p.write(out));
        if let Err(e) = saved {
            eprintln!("aca-operator: {e}");
            return ExitCode::from(1);
        }
        eprintln!(
            "Plan saved to {}: `aca-operator apply {}` carries out exactly this plan.",
            out.display(),
            out.display()
        );
    }
    exit_code(&reports)
}

/// Observes, diffs and plans every stack without writing.
pub async fn plan_all(api: &dyn ArmApi, stacks: &[aca_model::desired::Stack]) -> Vec<PassReport> {
    let mut reports = Vec::new();
    for stack in stacks {
        let what = format!(
            "observing stack `{}` (environment {} in {})",
            stack.name, stack.environment, stack.resource_group
        );
        let pass = run_pass(api, stack, PassOptions::default(), &|_| {});
        reports.push(crate::progress::while_waiting(&what, pass).await);
    }
    reports
}

/// 1 on any error, 2 when drift was found, 0 otherwise.
pub fn exit_code(reports: &[PassReport]) -> ExitCode {
    if reports.iter().any(|r| r.error.is_some()) {
        ExitCode::from(1)
    } else if reports.iter().any(|r| r.drift_count() > 0) {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
