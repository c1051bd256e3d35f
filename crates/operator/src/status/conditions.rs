//! The rules that move a stack's and an app's conditions from one pass report (or step event)
//! to the next; pure: the time is given.
//!
//! Conditions follow the Kubernetes shape; `lastTransitionTime` moves only when `status` changes.
//!
//! | condition     | `True`                                   | `False`                                  | `Unknown`        |
//! |---------------|------------------------------------------|------------------------------------------|------------------|
//! | `Synced`      | no drift (`InSync`) or all corrected (`Corrected`) | drift left (`Drifted`, `CorrectionFailed`) | observe failed, or no pass yet |
//! | `Healthy`     | no critical drift left (`InvariantsHold`, `Repaired`) | a critical drift left (`InvariantBreached`) or a non-transient failure (`PassFailed`) | observe failed, or no pass yet |
//! | `Progressing` | a step is running (`StepsRunning`)       | between steps (`Idle`)                   | —                |
//! | `Held`        | corrections held: `NonTransientFailure`, `PreflightError`, `Contested`, `CorrectionWindow` | `NotHeld` | — |
//!
//! A stack's condition aggregates its apps' and adds the stack-level drift and errors.

use std::borrow::Cow;

use aca_reconcile::{Drift, DriftOutcome, DriftSeverity, PassReport, StepOutcome};
use time::OffsetDateTime;

use super::model::*;
use super::scrub::scrub;

impl Condition {
    pub fn is(&self, status: &str) -> bool {
        self.status == status
    }
}

/// Sets a condition: the transition time moves only when the status does.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    kind: &'static str,
    status: &'static str,
    reason: &'static str,
    message: impl Into<Cow<'static, str>>,
    now: OffsetDateTime,
) {
    set_condition_until(conditions, kind, status, reason, message, None, now);
}

fn set_condition_until(
    conditions: &mut Vec<Condition>,
    kind: &'static str,
    status: &'static str,
    reason: &'static str,
    message: impl Into<Cow<'static, str>>,
    until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) {
    // Every message is scrubbed; one that needed nothing stays as it came (constants borrowed).
    let message = match message.into() {
        Cow::Borrowed(text) => scrub(text),
        Cow::Owned(text) => match scrub(&text) {
            Cow::Owned(clean) => Cow::Owned(clean),
            Cow::Borrowed(_) => Cow::Owned(text),
        },
    };
    let until = until.map(Timestamp::new);
    match conditions.iter_mut().find(|c| c.kind == kind) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = Timestamp::new(now);
                c.status = Cow::Borrowed(status);
            }
            c.reason = Cow::Borrowed(reason);
            c.message = message;
            c.until = until;
        }
        None => conditions.push(Condition {
            kind: Cow::Borrowed(kind),
            status: Cow::Borrowed(status),
            reason: Cow::Borrowed(reason),
            message,
            last_transition_time: Timestamp::new(now),
            until,
        }),
    }
}

/// The four conditions before any pass.
pub fn initial_conditions(now: OffsetDateTime) -> Vec<Condition> {
    let mut c = Vec::new();
    set_condition(
        &mut c,
        SYNCED,
        "Unknown",
        "NoPassYet",
        "no reconcile pass has finished yet",
        now,
    );
    set_condition(
        &mut c,
        HEALTHY,
        "Unknown",
        "NoPassYet",
        "no reconcile pass has finished yet",
        now,
    );
    set_condition(&mut c, PROGRESSING, "False", "Idle", "no step is running", now);
    set_condition(&mut c, HELD, "False", "NotHeld", "corrections are not held", now);
    c
}

pub fn drift_record(d: &Drift, action: DriftOutcome, now: OffsetDateTime) -> DriftRecord {
    DriftRecord {
        app: d.app.clone(),
        field: d.path.clone(),
        desired: scrub(&d.desired).into_owned(),
        live: scrub(&d.live).into_owned(),
        severity: d.severity.as_str().to_string(),
        action: action.as_str().to_string(),
        changed_by: d.changed_by.as_deref().map(|t| scrub(t).into_owned()),
        changed_at: d.changed_at.clone(),
        note: d.note.as_deref().map(|t| scrub(t).into_owned()),
        seen_at: rfc3339(now),
    }
}

/// `Synced` and `Healthy` from the drifts of one scope (an app, or the whole stack).
fn judge(
    conditions: &mut Vec<Condition>,
    drifts: &[&(Drift, DriftOutcome)],
    observed: bool,
    failure: Option<String>,
    now: OffsetDateTime,
) {
    if !observed {
        let why: Cow<'static, str> = failure.map_or(Cow::Borrowed("the live state could not be read"), Cow::Owned);
        set_condition(conditions, SYNCED, "Unknown", "ObserveFailed", why.clone(), now);
        set_condition(conditions, HEALTHY, "Unknown", "ObserveFailed", why, now);
        return;
    }
    let left: Vec<&&(Drift, DriftOutcome)> = drifts.iter().filter(|(_, a)| *a != DriftOutcome::Corrected).collect();
    if drifts.is_empty() {
        set_condition(
            conditions,
            SYNCED,
            "True",
            "InSync",
            "live matches the desired state",
            now,
        );
    } else if left.is_empty() {
        let fields = drifts
            .iter()
            .map(|(d, _)| d.path.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        set_condition(
            conditions,
            SYNCED,
            "True",
            "Corrected",
            format!("corrected: {fields}"),
            now,
        );
    } else {
        let failed = left.iter().any(|(_, a)| *a == DriftOutcome::Failed);
        let fields = left.iter().map(|(d, _)| d.to_string()).collect::<Vec<_>>().join("; ");
        let reason = if failed { "CorrectionFailed" } else { "Drifted" };
        set_condition(conditions, SYNCED, "False", reason, fields, now);
    }
    let critical = |d: &Drift| d.severity == DriftSeverity::Critical;
    let breached: Vec<String> = left
        .iter()
        .filter(|(d, _)| critical(d))
        .map(|(d, _)| match &d.note {
            Some(note) => format!("{d} — {note}"),
            None => d.to_string(),
        })
        .collect();
    if !breached.is_empty() {
        set_condition(
            conditions,
            HEALTHY,
            "False",
            "InvariantBreached",
            breached.join("; "),
            now,
        );
    } else if let Some(error) = failure {
        set_condition(conditions, HEALTHY, "False", "PassFailed", error, now);
    } else if drifts.iter().any(|(d, _)| critical(d)) {
        set_condition(
            conditions,
            HEALTHY,
            "True",
            "Repaired",
            "a broken invariant was repaired in this pass",
            now,
        );
    } else {
        set_condition(
            conditions,
            HEALTHY,
            "True",
            "InvariantsHold",
            "every invariant holds",
            now,
        );
    }
}

fn set_held(conditions: &mut Vec<Condition>, hold: Option<&Hold>, now: OffsetDateTime) {
    match hold {
        Some(h) => set_condition_until(conditions, HELD, "True", h.reason, h.message.clone(), h.until, now),
        None => set_condition(conditions, HELD, "False", "NotHeld", "corrections are not held", now),
    }
}

/// The hold of one app: a contest, or a correction window named in the plan.
fn app_hold(key: &str, report: &PassReport, ctx: &PassContext, now: OffsetDateTime) -> Option<Hold> {
    if let Some(h) = ctx.app_holds.get(key) {
        return Some(h.clone());
    }
    let prefix = format!("apps.{key} ");
    report
        .plan
        .held
        .iter()
        .find(|h| h.starts_with(&prefix) && h.contains("correction window"))
        .map(|h| Hold {
            reason: "CorrectionWindow",
            message: h.clone(),
            until: ctx.windows.get(key).and_then(|w| window_opens(w, now)),
        })
}

/// The next minute at or after `now` inside the window (within a week), when its hold ends.
pub fn window_opens(window: &aca_model::desired::CorrectionWindow, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let start = now.replace_second(0).ok()?.replace_nanosecond(0).ok()?;
    (0..=7 * 24 * 60).map(|m| start + time::Duration::minutes(m)).find(|t| {
        let minute = u32::from(t.hour()) * 60 + u32::from(t.minute());
        window.contains(t.weekday().number_days_from_monday() as usize, minute)
    })
}

/// The stack's hold: a non-transient failure, blocking preflight findings, or its held apps.
fn stack_hold(report: &PassReport, ctx: &PassContext, apps: &[AppStatus]) -> Option<Hold> {
    if let Some(reason) = &ctx.stack_hold {
        return Some(Hold {
            reason: "NonTransientFailure",
            message: format!("{reason}; held until the desired state or a live resource changes"),
            until: None,
        });
    }
    if let Some(aca_reconcile::PassError::Preflight(why)) = &report.error {
        return Some(Hold {
            reason: "PreflightError",
            message: format!("{why}; rechecked every pass"),
            until: None,
        });
    }
    let held: Vec<&AppStatus> = apps
        .iter()
        .filter(|a| a.conditions.iter().any(|c| c.kind == HELD && c.is("True")))
        .collect();
    let first = held.first()?.conditions.iter().find(|c| c.kind == HELD)?;
    Some(Hold {
        reason: if first.reason == "Contested" {
            "Contested"
        } else {
            "CorrectionWindow"
        },
        message: format!(
            "{} app(s) held: {}",
            held.len(),
            held.iter().map(|a| a.key.as_str()).collect::<Vec<_>>().join(", ")
        ),
        until: None,
    })
}

fn pass_record(report: &PassReport, now: OffsetDateTime) -> PassRecord {
    let corrected = report
        .drift_outcomes
        .iter()
        .filter(|(_, a)| *a == DriftOutcome::Corrected)
        .count();
    let result = if report.error.is_some() {
        "failed"
    } else if report.drift_outcomes.is_empty() {
        "in-sync"
    } else if corrected == report.drift_outcomes.len() {
        "corrected"
    } else {
        "drift"
    };
    PassRecord {
        finished_at: rfc3339(now),
        duration_ms: report.duration.as_millis() as u64,
        result: result.into(),
        error: report.error.as_ref().map(|e| scrub(&e.to_string()).into_owned()),
        drifts: report.drift_count(),
        critical: report.critical_count(),
        corrected,
        steps: report.outcomes.len(),
    }
}

fn migration(report: &PassReport, previous: Option<&MigrationState>, now: OffsetDateTime) -> Option<MigrationState> {
    use aca_reconcile::Step;
    let steps = &report.plan.steps;
    if !steps
        .iter()
        .any(|s| matches!(s, Step::Snapshot { .. } | Step::WaitNoMount { .. }))
    {
        return None;
    }
    let snapshot = report.outcomes.iter().find_map(|o| match o {
        StepOutcome::Done(d) if d.starts_with("snapshot ") => Some(scrub(d).into_owned()),
        _ => None,
    });
    Some(MigrationState {
        since: previous.map_or_else(|| rfc3339(now), |m| m.since.clone()),
        steps: steps.iter().map(ToString::to_string).collect(),
        done: report.outcomes.len(),
        snapshot: snapshot.or_else(|| previous.and_then(|m| m.snapshot.clone())),
    })
}

impl StackStatus {
    /// Records a finished pass: conditions, drifts, the pass, the hold, the migration.
    pub fn apply_pass(&mut self, report: &PassReport, ctx: &PassContext, now: OffsetDateTime) {
        let observed = report.observed.is_some();
        let failure = report
            .error
            .as_ref()
            .filter(|e| !e.is_transient() || ctx.stack_hold.is_some())
            .map(|e| scrub(&e.to_string()).into_owned());
        let observe_error = report
            .error
            .as_ref()
            .filter(|_| !observed)
            .map(|e| scrub(&e.to_string()).into_owned());
        for app in &mut self.apps {
            let mine: Vec<&(Drift, DriftOutcome)> = report
                .drift_outcomes
                .iter()
                .filter(|(d, _)| d.app.as_deref() == Some(app.key.as_str()))
                .collect();
            judge(&mut app.conditions, &mine, observed, observe_error.clone(), now);
            for (d, a) in &mine {
                let record = drift_record(d, *a, now);
                if !app.drifts.get(&d.path).is_some_and(|r| r.same_event(&record)) {
                    app.drifts.insert(d.path.clone(), record);
                }
            }
            set_held(&mut app.conditions, app_hold(&app.key, report, ctx, now).as_ref(), now);
            set_condition(
                &mut app.conditions,
                PROGRESSING,
                "False",
                "Idle",
                "no step is running",
                now,
            );
        }
        let all: Vec<&(Drift, DriftOutcome)> = report.drift_outcomes.iter().collect();
        judge(&mut self.conditions, &all, observed, observe_error.or(failure), now);
        let hold = stack_hold(report, ctx, &self.apps);
        set_held(&mut self.conditions, hold.as_ref(), now);
        let ran = report.outcomes.len();
        set_condition(
            &mut self.conditions,
            PROGRESSING,
            "False",
            "Idle",
            format!("{ran} step(s) ran in the last pass"),
            now,
        );
        // An event per new drift or outcome, not per pass that sees the same one again.
        for (d, a) in report.drift_outcomes.iter().rev() {
            let record = drift_record(d, *a, now);
            let seen = self
                .recent_drifts
                .iter()
                .find(|r| r.app == record.app && r.field == record.field)
                .is_some_and(|r| r.same_event(&record));
            if !seen {
                self.recent_drifts.insert(0, record);
            }
        }
        self.recent_drifts.truncate(RECENT_DRIFTS);
        self.migration = migration(report, self.migration.as_ref(), now);
        self.last_pass = Some(pass_record(report, now));
        self.next_reconcile = ctx.next_reconcile.map(rfc3339);
    }

    /// Records a step event: `Progressing` while it runs, and the step in the recent list.
    pub fn apply_step(&mut self, record: StepRecord, now: OffsetDateTime) {
        let running = record.state == "running";
        let (status, reason, message): (_, _, Cow<'static, str>) = if running {
            ("True", "StepsRunning", Cow::Owned(record.step.clone()))
        } else {
            ("False", "Idle", Cow::Borrowed("no step is running"))
        };
        if let Some(app) = record
            .app
            .as_deref()
            .and_then(|k| self.apps.iter_mut().find(|a| a.key == k))
        {
            set_condition(&mut app.conditions, PROGRESSING, status, reason, message.clone(), now);
        }
        if running {
            set_condition(&mut self.conditions, PROGRESSING, status, reason, message, now);
        }
        // A finished step replaces its `running` entry.
        if !running
            && let Some(first) = self.recent_steps.first()
            && first.state == "running"
            && first.step == record.step
        {
            self.recent_steps.remove(0);
        }
        self.recent_steps.insert(0, record);
        self.recent_steps.truncate(RECENT_STEPS);
    }

    pub fn condition(&self, kind: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.kind == kind)
    }
}
