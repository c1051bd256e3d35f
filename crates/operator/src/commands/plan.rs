//! `plan`: observe and diff every stack, print the drift and the steps; never writes.

use std::process::ExitCode;

use aca_reconcile::{ArmApi, PassOptions, PassReport, run_pass};
use serde_json::json;

use crate::cli::{OutputFormat, PlanArgs};
use crate::render::{self, Palette};

pub async fn run(args: &PlanArgs) -> ExitCode {
    let (state, client) = match super::prepare(&args.files, &args.arm) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let reports = plan_all(&client, &state.stacks).await;
    match args.output {
        OutputFormat::Json => {
            let doc = json!({ "stacks": reports.iter().map(render::stack_json).collect::<Vec<_>>() });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        OutputFormat::Text => {
            let palette = Palette {
                enabled: super::stdout_is_terminal(),
            };
            for (stack, r) in state.stacks.iter().zip(&reports) {
                println!("{}", render::stack_text(stack, r, palette));
            }
            println!("{}", render::summary_text(&reports));
        }
    }
    exit_code(&reports)
}

/// Observes, diffs and plans every stack without writing.
pub async fn plan_all(api: &dyn ArmApi, stacks: &[aca_model::desired::Stack]) -> Vec<PassReport> {
    let mut reports = Vec::new();
    for stack in stacks {
        reports.push(run_pass(api, stack, PassOptions::default(), &|_| {}).await);
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
