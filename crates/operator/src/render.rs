//! How plans read: a terraform-like text diff (coloured on a terminal) or JSON for machines.
//! Secret values never appear: the diff only ever holds `(sensitive)` for them.

use std::fmt::Write as _;

use aca_model::desired::Stack;
use aca_reconcile::drift::{ABSENT, Drift, DriftSeverity, Fix};
use aca_reconcile::{DriftOutcome, PassReport};
use serde_json::{Value, json};

/// ANSI colours, or none.
#[derive(Debug, Clone, Copy)]
pub struct Palette {
    pub enabled: bool,
}

impl Palette {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    pub fn green(&self, t: &str) -> String {
        self.paint("32", t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint("33", t)
    }
    pub fn red(&self, t: &str) -> String {
        self.paint("31", t)
    }
    pub fn bold(&self, t: &str) -> String {
        self.paint("1", t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint("2", t)
    }
}

fn symbol(d: &Drift, p: Palette) -> String {
    match (d.severity, d.fix) {
        (DriftSeverity::Critical, _) => p.red("!"),
        (_, Fix::Create) => p.green("+"),
        _ if d.desired == ABSENT => p.red("-"),
        _ => p.yellow("~"),
    }
}

/// The plan of one stack as text.
pub fn stack_text(stack: &Stack, r: &PassReport, p: Palette) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}/{}, mode {})",
        p.bold("Stack"),
        p.bold(&stack.name),
        stack.resource_group,
        stack.environment,
        stack.mode.as_str()
    );
    if let Some(e) = &r.error {
        let _ = writeln!(out, "  {} {e}", p.red("error:"));
    }
    if r.diff.drifts.is_empty() && r.error.is_none() {
        let _ = writeln!(out, "  {}", p.green("no drift: live state matches the desired state"));
    }
    let mut apps: Vec<Option<&str>> = r.diff.drifts.iter().map(|d| d.app.as_deref()).collect();
    apps.dedup();
    for app in apps {
        let drifts: Vec<&Drift> = r.diff.drifts.iter().filter(|d| d.app.as_deref() == app).collect();
        let title = match app.and_then(|k| stack.app(k)) {
            Some(spec) => format!("apps.{} ({})", spec.key, spec.name),
            None => "stack".to_string(),
        };
        let who = drifts.first().and_then(|d| {
            d.changed_by
                .as_ref()
                .map(|by| (by, d.changed_at.clone().unwrap_or_default()))
        });
        match who {
            Some((by, at)) => {
                let _ = writeln!(
                    out,
                    "\n  {}  {}",
                    p.bold(&title),
                    p.dim(&format!("last changed by {by} at {at}"))
                );
            }
            None => {
                let _ = writeln!(out, "\n  {}", p.bold(&title));
            }
        }
        for d in drifts {
            let field = app.map_or(d.path.clone(), |k| {
                d.path.trim_start_matches(&format!("apps.{k}.")).to_string()
            });
            let line = match d.fix {
                Fix::Create => "create (it does not exist)".to_string(),
                _ => format!("{field}: {} -> {}", d.live, d.desired),
            };
            let _ = writeln!(out, "    {} {line}", symbol(d, p));
            if let Some(note) = &d.note {
                let label = if d.severity == DriftSeverity::Critical {
                    p.red("critical:")
                } else {
                    p.dim("note:")
                };
                let _ = writeln!(out, "        {label} {note}");
            }
        }
    }
    if !r.preflight.is_empty() {
        let _ = writeln!(out, "\n  {}", p.bold("Preflight"));
        for f in &r.preflight {
            let label = match f.level {
                aca_reconcile::Level::Error => p.red("error"),
                aca_reconcile::Level::Warning => p.yellow("warning"),
                aca_reconcile::Level::Info => p.dim("info"),
            };
            let _ = writeln!(out, "    {label} [{}] {}", f.check, f.what);
            let _ = writeln!(out, "        remedy: {}", f.remedy);
            if !f.sources.is_empty() {
                let _ = writeln!(out, "        {}", p.dim(&format!("sources: {}", f.sources)));
            }
        }
    }
    for problem in &r.diff.problems {
        let _ = writeln!(out, "  {} {problem}", p.red("cannot evaluate:"));
    }
    if !r.plan.steps.is_empty() {
        let _ = writeln!(
            out,
            "\n  {}",
            p.bold(&format!(
                "Plan: {} step{}",
                r.plan.steps.len(),
                plural(r.plan.steps.len())
            ))
        );
        for (i, s) in r.plan.steps.iter().enumerate() {
            let _ = writeln!(out, "    {}. {s}", i + 1);
        }
    }
    for h in &r.plan.held {
        let _ = writeln!(out, "  {} {h}", p.yellow("held:"));
    }
    out
}

pub fn summary_text(reports: &[PassReport]) -> String {
    let drifts: usize = reports.iter().map(PassReport::drift_count).sum();
    let critical: usize = reports.iter().map(PassReport::critical_count).sum();
    let steps: usize = reports.iter().map(|r| r.plan.steps.len()).sum();
    let errors = reports.iter().filter(|r| r.error.is_some()).count();
    format!(
        "Summary: {drifts} drift{} ({critical} critical) in {} stack{}; {steps} step{} planned{}.",
        plural(drifts),
        reports.len(),
        plural(reports.len()),
        plural(steps),
        if errors > 0 {
            format!("; {errors} stack{} failed", plural(errors))
        } else {
            String::new()
        }
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

pub fn drift_json(d: &Drift, action: Option<DriftOutcome>) -> Value {
    json!({
        "app": d.app,
        "field": d.path,
        "desired": d.desired,
        "live": d.live,
        "severity": d.severity.as_str(),
        "invariant": d.invariant,
        "fix": format!("{:?}", d.fix).to_lowercase(),
        "action": action.map(DriftOutcome::as_str),
        "note": d.note,
        "changedBy": d.changed_by,
        "changedAt": d.changed_at,
    })
}

pub fn stack_json(r: &PassReport) -> Value {
    json!({
        "stack": r.stack,
        "drifts": r.diff.drifts.iter().map(|d| drift_json(d, None)).collect::<Vec<_>>(),
        "steps": r.plan.steps.iter().map(|s| step_json(r, s)).collect::<Vec<_>>(),
        "held": r.plan.held,
        "preflight": r.preflight.iter().map(|f| json!({"level": f.level.as_str(), "check": f.check, "what": f.what, "remedy": f.remedy, "sources": f.sources})).collect::<Vec<_>>(),
        "problems": r.diff.problems,
        "error": r.error.as_ref().map(ToString::to_string),
    })
}

/// A step, with the fields it changes (the fixable drifts of its app, for writes).
fn step_json(r: &PassReport, s: &aca_reconcile::Step) -> Value {
    let writes = matches!(s.kind(), "create" | "update" | "recreate" | "restore-sidecar");
    let changes: Vec<Value> = if writes {
        r.diff
            .drifts
            .iter()
            .filter(|d| d.fix != Fix::None && d.app.as_deref() == s.app())
            .map(|d| json!({"field": d.path, "desired": d.desired, "live": d.live}))
            .collect()
    } else {
        Vec::new()
    };
    json!({"kind": s.kind(), "app": s.app(), "description": s.to_string(), "changes": changes})
}

/// Version of the JSON plan document (`plan --output json`, `plan --out FILE`); bumped on any
/// change a reader could trip over.
pub const PLAN_SCHEMA_VERSION: u32 = 1;

/// The JSON plan of every stack, with a summary.
pub fn plan_json(reports: &[PassReport]) -> Value {
    json!({
        "schemaVersion": PLAN_SCHEMA_VERSION,
        "summary": {
            "stacks": reports.len(),
            "drifts": reports.iter().map(PassReport::drift_count).sum::<usize>(),
            "critical": reports.iter().map(PassReport::critical_count).sum::<usize>(),
            "steps": reports.iter().map(|r| r.plan.steps.len()).sum::<usize>(),
            "failed": reports.iter().filter(|r| r.error.is_some()).count(),
        },
        "stacks": reports.iter().map(stack_json).collect::<Vec<_>>(),
    })
}
