//! One reconcile pass of one stack: observe → diff → plan → apply (in enforce mode) → report.
//! Every drift is logged as one structured event; the pass ends with one summary event.

use std::collections::BTreeMap;
use std::time::Duration;

use aca_model::desired::Stack;
use tokio::time::Instant;

use crate::api::ArmApi;
use crate::diff::{Diff, diff_stack_with};
use crate::drift::{Drift, DriftSeverity};
use crate::execute::{ExecError, ExecSettings, Executor, StepEvent, StepOutcome};
use crate::invariants::{Bindings, bindings_of, remember_bindings};
use crate::observe::{Observed, observe};
use crate::plan::{Plan, plan_with_holds};
use crate::preflight::{Finding, Level, preflight};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DriftOutcome {
    /// The pass corrected it.
    Corrected,
    /// Reported only (observe mode, a plan that is only shown, or nothing can fix it).
    Alerted,
    /// A correction was attempted and failed.
    Failed,
}

impl DriftOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            DriftOutcome::Corrected => "corrected",
            DriftOutcome::Alerted => "alerted",
            DriftOutcome::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct PassOptions {
    /// Carry out the plan (apps in observe mode are never written either way).
    pub apply: bool,
    pub exec: ExecSettings,
    /// Log each drift and the summary (off for `plan`, which prints instead).
    pub log_events: bool,
    /// A shutdown request: the executor stops between ARM operations.
    pub cancel: Option<tokio_util::sync::CancellationToken>,
    /// Apps whose corrections are held (key → why); their drift is still reported.
    pub holds: std::collections::BTreeMap<String, String>,
    /// Checked before every write (leader election).
    pub gate: Option<crate::execute::WriteGate>,
    /// The time correction windows are evaluated at (now when `None`).
    pub now_utc: Option<time::OffsetDateTime>,
    /// Execute only this approved plan: refused when the live state or the plan moved.
    pub approved: Option<crate::approval::Approval>,
    /// Storage bindings first observed by earlier passes (the daemon keeps one for its lifetime);
    /// `None`: only declared bindings and the access mode are checked.
    pub bindings: Option<SharedBindings>,
    /// Told of every drift and breach the moment the pass finds it, before any correction (the
    /// daemon counts them in its metrics there, not when the pass ends).
    pub on_found: Option<OnFound>,
    /// Why this pass runs (`watch`, `requeue+watch`...), for the `drift_found` and `pass` events:
    /// a drift seen by an event-triggered pass says so.
    pub cause: Option<String>,
}

/// A callback for each drift found: the stack's name and the drift.
#[derive(Clone)]
pub struct OnFound(pub std::sync::Arc<FoundFn>);

/// What [`OnFound`] calls.
pub type FoundFn = dyn Fn(&str, &Drift) + Send + Sync;

impl std::fmt::Debug for OnFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnFound")
    }
}

/// [`Bindings`] shared by the passes of one process.
pub type SharedBindings = std::sync::Arc<std::sync::Mutex<Bindings>>;

/// Numbers the drifts a process finds, so an outcome event can refer to its `drift_found` event.
static NEXT_DRIFT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

#[derive(Debug, Clone)]
pub struct PassReport {
    pub stack: String,
    pub observed: Option<Observed>,
    pub diff: Diff,
    pub preflight: Vec<Finding>,
    pub plan: Plan,
    pub outcomes: Vec<StepOutcome>,
    /// Why the pass stopped early, if it did.
    pub error: Option<PassError>,
    pub drift_outcomes: Vec<(Drift, DriftOutcome)>,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PassError {
    #[error("observe: {0}")]
    Observe(aca_arm_api::ArmError),
    #[error("apply: {0}")]
    Apply(ExecError),
    /// Preflight errors: nothing is corrected until they are fixed.
    #[error("preflight: {0}")]
    Preflight(String),
    /// The approved plan is no longer the plan: nothing ran.
    #[error("{0}")]
    NotApproved(crate::approval::NotApproved),
}

impl PassError {
    pub fn is_transient(&self) -> bool {
        match self {
            PassError::Observe(e) => e.is_transient(),
            PassError::Apply(e) => e.is_transient(),
            // Rechecked every pass: the environment may be fixed meanwhile.
            PassError::Preflight(_) => true,
            PassError::NotApproved(_) => false,
        }
    }
}

impl PassReport {
    pub fn drift_count(&self) -> usize {
        self.diff.drifts.len()
    }

    pub fn critical_count(&self) -> usize {
        self.diff
            .drifts
            .iter()
            .filter(|d| d.severity == DriftSeverity::Critical)
            .count()
    }
}

pub async fn run_pass(
    api: &dyn ArmApi,
    stack: &Stack,
    options: PassOptions,
    on_event: &(dyn Fn(&StepEvent) + Send + Sync),
) -> PassReport {
    let start = Instant::now();
    let mut report = PassReport {
        stack: stack.name.clone(),
        observed: None,
        diff: Diff::default(),
        preflight: Vec::new(),
        plan: Plan::default(),
        outcomes: Vec::new(),
        error: None,
        drift_outcomes: Vec::new(),
        duration: Duration::ZERO,
    };
    let observed = match observe(api, stack).await {
        Ok(o) => o,
        Err(e) => {
            report.error = Some(PassError::Observe(e));
            report.duration = start.elapsed();
            if options.log_events {
                log_summary(&report, options.cause.as_deref());
            }
            return report;
        }
    };
    let baseline = options
        .bindings
        .as_ref()
        .map(|b| b.lock().map(|g| bindings_of(stack, &g)).unwrap_or_default())
        .unwrap_or_default();
    report.diff = diff_stack_with(stack, &observed, &baseline);
    if let Some(b) = &options.bindings
        && let Ok(mut g) = b.lock()
    {
        remember_bindings(stack, &observed, &mut g);
    }
    // Alert first: every drift and breach is logged before anything is corrected, so a hanging
    // correction or a shutdown cannot hide it.
    let found_ids: Vec<u64> = report
        .diff
        .drifts
        .iter()
        .map(|_| NEXT_DRIFT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
        .collect();
    if options.log_events {
        for (d, id) in report.diff.drifts.iter().zip(&found_ids) {
            log_found(stack, d, *id, options.cause.as_deref());
        }
    }
    if let Some(found) = &options.on_found {
        for d in &report.diff.drifts {
            (found.0)(&stack.name, d);
        }
    }
    report.preflight = preflight(stack, &observed);
    let holds = window_holds(
        stack,
        &report.diff,
        options.now_utc.unwrap_or_else(time::OffsetDateTime::now_utc),
        &options.holds,
    );
    report.plan = plan_with_holds(stack, &observed, &report.diff, &holds);
    let blocking: Vec<String> = report
        .preflight
        .iter()
        .filter(|f| f.level == Level::Error)
        .map(|f| f.check.to_string())
        .collect();
    if !blocking.is_empty() {
        report.error = Some(PassError::Preflight(format!(
            "{} blocking finding(s): {}",
            blocking.len(),
            blocking.join(", ")
        )));
    } else if let Some(Err(e)) = options
        .approved
        .as_ref()
        .map(|a| a.check(&observed, &report.diff, &report.plan))
    {
        report.error = Some(PassError::NotApproved(e));
    } else if options.apply && !report.plan.steps.is_empty() {
        let logging = crate::steplog::StepLog::new(stack, on_event, options.log_events);
        let on_step = |e: &StepEvent| logging.event(e);
        let executor = Executor {
            api,
            stack,
            observed: &observed,
            settings: options.exec,
            on_event: &on_step,
            cancel: options.cancel.as_ref(),
            gate: options.gate.as_ref(),
        };
        let (outcomes, error) = executor.run(&report.plan.steps).await;
        report.outcomes = outcomes;
        report.error = error.map(PassError::Apply);
    }
    report.drift_outcomes = report
        .diff
        .drifts
        .iter()
        .map(|d| (d.clone(), action_for(d, &report, options.apply)))
        .collect();
    report.observed = Some(observed);
    report.duration = start.elapsed();
    if options.log_events {
        for f in &report.preflight {
            log_finding(stack, f);
        }
        for ((d, a), id) in report.drift_outcomes.iter().zip(&found_ids) {
            log_drift(stack, d, *a, *id);
        }
        log_summary(&report, options.cause.as_deref());
    }
    report
}

fn log_finding(stack: &Stack, f: &Finding) {
    let (check, what, remedy, sources) = (f.check, f.what.as_str(), f.remedy.as_str(), f.sources);
    match f.level {
        Level::Error => {
            tracing::error!(event = "preflight", level_name = "error", stack = %stack.name, check, what, remedy, sources, "{f}")
        }
        Level::Warning => {
            tracing::warn!(event = "preflight", level_name = "warning", stack = %stack.name, check, what, remedy, sources, "{f}")
        }
        Level::Info => {
            tracing::info!(event = "preflight", level_name = "info", stack = %stack.name, check, what, remedy, sources, "{f}")
        }
    }
}

/// Apps outside their correction window are held, unless they have an invariant breach (always
/// corrected in enforce mode).
fn window_holds(
    stack: &Stack,
    diff: &Diff,
    now: time::OffsetDateTime,
    base: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let weekday = now.weekday().number_days_from_monday() as usize;
    let minute = u32::from(now.hour()) * 60 + u32::from(now.minute());
    let mut holds = base.clone();
    for app in &stack.apps {
        let Some(window) = app.correction_window.or(stack.correction_window) else {
            continue;
        };
        let critical = diff
            .drifts
            .iter()
            .any(|d| d.app.as_deref() == Some(&app.key) && d.severity == DriftSeverity::Critical);
        if !window.contains(weekday, minute) && !critical {
            holds
                .entry(app.key.clone())
                .or_insert_with(|| format!("outside its correction window {window}"));
        }
    }
    holds
}

/// A drift is corrected when every step for its app ran.
fn action_for(d: &Drift, report: &PassReport, applied: bool) -> DriftOutcome {
    // A breach with no repair of its own (three replicas of the singleton) is corrected by the
    // steps that correct its app's fields (the scale), so it is judged by them like any drift.
    if !applied || (d.fix == crate::drift::Fix::None && d.invariant.is_none()) {
        return DriftOutcome::Alerted;
    }
    let Some(app) = d.app.as_deref() else {
        // An undeclared intruder stopped by a `stop-intruder` step (`stopIntruders: true`).
        let stopped = d.fix == crate::drift::Fix::Revision
            && report.error.is_none()
            && report
                .plan
                .steps
                .iter()
                .any(|s| matches!(s, crate::plan::Step::StopIntruder { .. }));
        return if stopped {
            DriftOutcome::Corrected
        } else {
            DriftOutcome::Alerted
        };
    };
    let steps: Vec<usize> = report
        .plan
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.app() == Some(app))
        .map(|(i, _)| i)
        .collect();
    match steps.last() {
        None => DriftOutcome::Alerted,
        Some(last) if *last < report.outcomes.len() => DriftOutcome::Corrected,
        Some(_) => DriftOutcome::Failed,
    }
}

/// The drift as found, before any correction (`drift_id` is referred to by its outcome event).
fn log_found(stack: &Stack, d: &Drift, id: u64, cause: Option<&str>) {
    let cause = cause.unwrap_or("-");
    let app = d.app.as_deref().unwrap_or("-");
    let changed_by = d.changed_by.as_deref().unwrap_or("");
    let changed_at = d.changed_at.as_deref().unwrap_or("");
    let note = d.note.as_deref().unwrap_or("");
    let invariant = d.invariant.unwrap_or("");
    match d.severity {
        DriftSeverity::Critical => tracing::error!(
            event = "drift_found", drift_id = id, severity = "critical", invariant, stack = %stack.name, app,
            field = %d.path, desired = %d.desired, live = %d.live, changed_by, changed_at, note, cause,
            "{}", d
        ),
        DriftSeverity::Warning => tracing::warn!(
            event = "drift_found", drift_id = id, severity = "warning", stack = %stack.name, app,
            field = %d.path, desired = %d.desired, live = %d.live, changed_by, changed_at, note, cause,
            "{}", d
        ),
    }
}

/// The outcome for a drift found earlier in the pass (`drift_id` names its `drift_found` event).
fn log_drift(stack: &Stack, d: &Drift, action: DriftOutcome, id: u64) {
    let app = d.app.as_deref().unwrap_or("-");
    let changed_by = d.changed_by.as_deref().unwrap_or("");
    let changed_at = d.changed_at.as_deref().unwrap_or("");
    let note = d.note.as_deref().unwrap_or("");
    let invariant = d.invariant.unwrap_or("");
    match d.severity {
        DriftSeverity::Critical => tracing::error!(
            event = "drift", drift_id = id, severity = "critical", invariant, stack = %stack.name, app, field = %d.path, desired = %d.desired,
            live = %d.live, action = action.as_str(), changed_by, changed_at, note,
            "{}", d
        ),
        DriftSeverity::Warning => tracing::warn!(
            event = "drift", drift_id = id, severity = "warning", stack = %stack.name, app, field = %d.path, desired = %d.desired,
            live = %d.live, action = action.as_str(), changed_by, changed_at, note,
            "{}", d
        ),
    }
}

fn log_summary(r: &PassReport, cause: Option<&str>) {
    let cause = cause.unwrap_or("-");
    let corrected = r
        .drift_outcomes
        .iter()
        .filter(|(_, a)| *a == DriftOutcome::Corrected)
        .count();
    let error = r.error.as_ref().map(ToString::to_string).unwrap_or_default();
    if r.error.is_some() {
        // The step it stopped at (the first not done), so a stop by shutdown says where it left off.
        let stopped_at = r
            .plan
            .steps
            .get(r.outcomes.len())
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::warn!(event = "pass", stack = %r.stack, drifts = r.drift_count(), critical = r.critical_count(),
            corrected, steps = r.outcomes.len(), duration_ms = r.duration.as_millis() as u64, error = %error, stopped_at = %stopped_at, cause, "reconcile pass failed");
    } else {
        tracing::info!(event = "pass", stack = %r.stack, drifts = r.drift_count(), critical = r.critical_count(),
            corrected, steps = r.outcomes.len(), duration_ms = r.duration.as_millis() as u64, cause, "reconcile pass");
    }
}
