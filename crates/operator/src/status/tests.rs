//! Condition transitions on hand-built pass reports (no HTTP, no clock: `now` is given).

use std::time::Duration;

use aca_reconcile::{
    Diff, Drift, DriftOutcome, DriftSeverity, ExecError, Fix, Observed, PassError, PassReport, Plan, Step,
};
use time::OffsetDateTime;
use time::macros::datetime;

use super::model::{Condition, HEALTHY, HELD, Hold, PROGRESSING, PassContext, SYNCED, StackStatus, StepRecord};
use super::{StatusBoard, model};

pub(super) const T0: OffsetDateTime = datetime!(2026-11-25 10:00:00 UTC);

pub(super) fn at(secs: i64) -> OffsetDateTime {
    T0 + time::Duration::seconds(secs)
}

/// The example's stack (apps `clickhouse` and `langfuse`) before any pass.
pub(super) fn stack() -> StackStatus {
    let text = include_str!("../../../../deploy/examples/langfuse.yaml");
    let loaded = aca_model::desired::load_str(text, "langfuse.yaml").expect("the example loads");
    let board = StatusBoard::default();
    board.set_stacks(&loaded.state);
    board.snapshot().stacks.remove(0)
}

pub(super) fn drift(app: &str, path: &str, severity: DriftSeverity) -> Drift {
    Drift {
        app: Some(app.into()),
        path: path.into(),
        desired: "1".into(),
        live: "3".into(),
        severity,
        fix: Fix::Template,
        note: None,
        changed_by: Some("alice@contoso.com (User)".into()),
        changed_at: Some("2026-11-25T09:59:58Z".into()),
        invariant: None,
    }
}

pub(super) fn report(actions: Vec<(Drift, DriftOutcome)>) -> PassReport {
    PassReport {
        stack: "langfuse".into(),
        observed: Some(Observed::default()),
        diff: Diff {
            drifts: actions.iter().map(|(d, _)| d.clone()).collect(),
            problems: Vec::new(),
            breaches: Vec::new(),
        },
        preflight: Vec::new(),
        plan: Plan::default(),
        outcomes: Vec::new(),
        error: None,
        drift_outcomes: actions,
        duration: Duration::from_millis(42),
    }
}

pub(super) fn cond<'a>(conditions: &'a [Condition], kind: &str) -> &'a Condition {
    conditions.iter().find(|c| c.kind == kind).expect(kind)
}

pub(super) fn app<'a>(s: &'a StackStatus, key: &str, kind: &str) -> &'a Condition {
    cond(&s.apps.iter().find(|a| a.key == key).expect(key).conditions, kind)
}

pub(super) const SCALE: &str = "apps.langfuse.template.scale.maxReplicas";
pub(super) const SINGLETON: &str = "apps.clickhouse.template.scale.maxReplicas";

#[test]
fn condition_times_are_served_as_rfc3339_and_read_back() {
    let t = model::Timestamp::new(at(300));
    let text = serde_json::to_string(&t).unwrap();
    assert_eq!(text, "\"2026-11-25T10:05:00Z\"");
    assert_eq!(serde_json::from_str::<model::Timestamp>(&text).unwrap(), t);
    // A time from a server in another zone is the same instant.
    let shifted: model::Timestamp = serde_json::from_str("\"2026-11-25T11:05:00+01:00\"").unwrap();
    assert_eq!(shifted, t);
    assert_eq!(t, "2026-11-25T10:05:00Z");
    assert_ne!(t, "2026-11-25T11:05:00+01:00", "compared as served");
    let bad = serde_json::from_str::<model::Timestamp>("\"yesterday\"").unwrap_err();
    assert!(bad.to_string().contains("`yesterday` is not an RFC 3339 time"), "{bad}");
}

#[test]
fn before_any_pass_everything_is_unknown_and_not_held() {
    let s = stack();
    assert_eq!(s.apps.len(), 2);
    for kind in [SYNCED, HEALTHY] {
        assert_eq!(cond(&s.conditions, kind).status, "Unknown");
        assert_eq!(app(&s, "clickhouse", kind).reason, "NoPassYet");
    }
    assert_eq!(cond(&s.conditions, HELD).status, "False");
    assert!(s.last_pass.is_none());
}

#[test]
fn a_drift_then_its_correction_then_steady_state() {
    let mut s = stack();
    let ctx = PassContext::default();
    s.apply_pass(&report(vec![]), &ctx, at(0));
    assert_eq!(app(&s, "langfuse", SYNCED).reason, "InSync");

    // Seen and only alerted (observe mode, say): not synced, still healthy (a warning).
    s.apply_pass(
        &report(vec![(
            drift("langfuse", SCALE, DriftSeverity::Warning),
            DriftOutcome::Alerted,
        )]),
        &ctx,
        at(10),
    );
    let synced = app(&s, "langfuse", SYNCED);
    assert_eq!((&*synced.status, &*synced.reason), ("False", "Drifted"));
    assert_eq!(synced.last_transition_time, "2026-11-25T10:00:10Z");
    assert!(synced.message.contains("alice@contoso.com"), "{synced:?}");
    assert_eq!(
        app(&s, "clickhouse", SYNCED).status,
        "True",
        "only the drifted app is out of sync"
    );
    assert_eq!(cond(&s.conditions, SYNCED).status, "False");
    assert_eq!(app(&s, "langfuse", HEALTHY).status, "True");
    let record = &s.apps.iter().find(|a| a.key == "langfuse").unwrap().drifts[SCALE];
    assert_eq!((record.live.as_str(), record.action.as_str()), ("3", "alerted"));
    assert_eq!(record.changed_by.as_deref(), Some("alice@contoso.com (User)"));
    assert_eq!(s.last_pass.as_ref().unwrap().result, "drift");

    // Corrected: synced again, the transition time moves, the record says what was done.
    s.apply_pass(
        &report(vec![(
            drift("langfuse", SCALE, DriftSeverity::Warning),
            DriftOutcome::Corrected,
        )]),
        &ctx,
        at(20),
    );
    let synced = app(&s, "langfuse", SYNCED);
    assert_eq!((&*synced.status, &*synced.reason), ("True", "Corrected"));
    assert_eq!(synced.last_transition_time, "2026-11-25T10:00:20Z");
    assert_eq!(
        s.apps.iter().find(|a| a.key == "langfuse").unwrap().drifts[SCALE].action,
        "corrected"
    );
    assert_eq!(s.recent_drifts.len(), 2);
    assert_eq!(s.recent_drifts[0].action, "corrected", "newest first");

    // The same drift seen again is one event, not one per pass.
    for t in [25, 26] {
        s.apply_pass(
            &report(vec![(
                drift("langfuse", SCALE, DriftSeverity::Warning),
                DriftOutcome::Corrected,
            )]),
            &ctx,
            at(t),
        );
    }
    assert_eq!(s.recent_drifts.len(), 2);

    // Nothing drifted: the reason changes, the transition time does not.
    s.apply_pass(&report(vec![]), &ctx, at(30));
    let synced = app(&s, "langfuse", SYNCED);
    assert_eq!(synced.reason, "InSync");
    assert_eq!(synced.last_transition_time, "2026-11-25T10:00:20Z");
    assert_eq!(s.last_pass.as_ref().unwrap().finished_at, "2026-11-25T10:00:30Z");
}

#[test]
fn an_invariant_breach_makes_the_app_and_stack_unhealthy_until_it_is_repaired() {
    let mut s = stack();
    let ctx = PassContext::default();
    s.apply_pass(&report(vec![]), &ctx, at(0));
    let mut breach = drift("clickhouse", SINGLETON, DriftSeverity::Critical);
    breach.note = Some("two ClickHouse replicas on one share".into());

    s.apply_pass(&report(vec![(breach.clone(), DriftOutcome::Alerted)]), &ctx, at(10));
    for c in [app(&s, "clickhouse", HEALTHY), cond(&s.conditions, HEALTHY)] {
        assert_eq!((&*c.status, &*c.reason), ("False", "InvariantBreached"));
        assert!(c.message.contains("two ClickHouse replicas"), "{c:?}");
    }
    assert_eq!(app(&s, "langfuse", HEALTHY).status, "True");
    assert_eq!(s.last_pass.as_ref().unwrap().critical, 1);

    // A failed repair leaves it breached.
    s.apply_pass(&report(vec![(breach.clone(), DriftOutcome::Failed)]), &ctx, at(20));
    assert_eq!(app(&s, "clickhouse", HEALTHY).status, "False");
    assert_eq!(app(&s, "clickhouse", SYNCED).reason, "CorrectionFailed");
    assert_eq!(
        app(&s, "clickhouse", HEALTHY).last_transition_time,
        "2026-11-25T10:00:10Z"
    );

    // Repaired in this pass, then steady.
    s.apply_pass(&report(vec![(breach, DriftOutcome::Corrected)]), &ctx, at(30));
    let h = app(&s, "clickhouse", HEALTHY);
    assert_eq!((&*h.status, &*h.reason), ("True", "Repaired"));
    assert_eq!(h.last_transition_time, "2026-11-25T10:00:30Z");
    s.apply_pass(&report(vec![]), &ctx, at(40));
    assert_eq!(app(&s, "clickhouse", HEALTHY).reason, "InvariantsHold");
    assert_eq!(cond(&s.conditions, HEALTHY).status, "True");
}

#[test]
fn a_contest_holds_the_app_until_a_time_and_then_releases_it() {
    let mut s = stack();
    let mut ctx = PassContext::default();
    ctx.app_holds.insert(
        "clickhouse".into(),
        Hold {
            reason: "Contested",
            message: "contested: changed again by alice".into(),
            until: Some(at(300)),
        },
    );
    s.apply_pass(
        &report(vec![(
            drift("clickhouse", SINGLETON, DriftSeverity::Warning),
            DriftOutcome::Alerted,
        )]),
        &ctx,
        at(0),
    );
    let held = app(&s, "clickhouse", HELD);
    assert_eq!((&*held.status, &*held.reason), ("True", "Contested"));
    assert_eq!(
        held.until.map(|t| t.to_string()).as_deref(),
        Some("2026-11-25T10:05:00Z")
    );
    assert_eq!(app(&s, "langfuse", HELD).status, "False");
    let stack_held = cond(&s.conditions, HELD);
    assert_eq!((&*stack_held.status, &*stack_held.reason), ("True", "Contested"));
    assert!(stack_held.message.contains("clickhouse"));

    s.apply_pass(&report(vec![]), &PassContext::default(), at(310));
    assert_eq!(app(&s, "clickhouse", HELD).status, "False");
    assert_eq!(app(&s, "clickhouse", HELD).last_transition_time, "2026-11-25T10:05:10Z");
    assert_eq!(cond(&s.conditions, HELD).reason, "NotHeld");
}

#[test]
fn a_correction_window_named_in_the_plan_holds_its_app() {
    let mut s = stack();
    let mut r = report(vec![(
        drift("langfuse", SCALE, DriftSeverity::Warning),
        DriftOutcome::Alerted,
    )]);
    r.plan.held.push("apps.langfuse has its corrections held (outside its correction window Sat 02:00-04:00): drift is reported, not corrected".into());
    r.plan
        .held
        .push("apps.clickhouse is in observe mode: drift is reported, not corrected".into());
    let mut ctx = PassContext::default();
    let window = aca_model::desired::CorrectionWindow::parse("Sat 02:00-04:00 UTC").unwrap();
    ctx.windows.insert("langfuse".into(), window);
    s.apply_pass(&r, &ctx, at(0)); // Wednesday 10:00
    let held = app(&s, "langfuse", HELD);
    assert_eq!(held.reason, "CorrectionWindow");
    assert_eq!(
        held.until.map(|t| t.to_string()).as_deref(),
        Some("2026-11-28T02:00:00Z"),
        "the window opens on Saturday"
    );
    assert_eq!(
        app(&s, "clickhouse", HELD).status,
        "False",
        "observe mode is a mode, not a hold"
    );
}

#[test]
fn a_window_hold_ends_when_the_window_next_opens() {
    use super::conditions::window_opens;
    let w = |t: &str| aca_model::desired::CorrectionWindow::parse(t).unwrap();
    // T0 is Wednesday 10:00 UTC.
    assert_eq!(window_opens(&w("daily 09:00-17:00 UTC"), T0), Some(T0), "open now");
    assert_eq!(window_opens(&w("daily 10:30-11:00 UTC"), T0), Some(at(1800)));
    assert_eq!(
        window_opens(&w("Mon-Tue 09:00-17:00 UTC"), T0),
        Some(datetime!(2026-11-30 09:00 UTC))
    );
    assert_eq!(
        window_opens(&w("Wed 22:00-02:00 UTC"), T0),
        Some(datetime!(2026-11-25 22:00 UTC))
    );
}

#[test]
fn a_non_transient_failure_holds_the_stack_and_a_preflight_error_too() {
    let mut s = stack();
    let mut r = report(vec![(
        drift("langfuse", SCALE, DriftSeverity::Warning),
        DriftOutcome::Failed,
    )]);
    r.error = Some(PassError::Apply(ExecError::AppMissing("langfuse".into())));
    let ctx = PassContext {
        stack_hold: Some("apply: apps.langfuse does not exist".into()),
        ..PassContext::default()
    };
    s.apply_pass(&r, &ctx, at(0));
    let held = cond(&s.conditions, HELD);
    assert_eq!((&*held.status, &*held.reason), ("True", "NonTransientFailure"));
    let healthy = cond(&s.conditions, HEALTHY);
    assert_eq!((&*healthy.status, &*healthy.reason), ("False", "PassFailed"));
    assert_eq!(s.last_pass.as_ref().unwrap().result, "failed");

    let mut r = report(vec![]);
    r.error = Some(PassError::Preflight(
        "1 blocking finding(s): migration-needs-native-protocol".into(),
    ));
    s.apply_pass(&r, &PassContext::default(), at(10));
    let held = cond(&s.conditions, HELD);
    assert_eq!((&*held.status, &*held.reason), ("True", "PreflightError"));
    assert!(held.message.contains("migration-needs-native-protocol"));
    assert_eq!(
        held.last_transition_time, "2026-11-25T10:00:00Z",
        "still held: no transition"
    );
    assert_eq!(
        cond(&s.conditions, HEALTHY).status,
        "True",
        "a preflight error is rechecked, not a failure"
    );
}

#[test]
fn an_unreadable_live_state_is_unknown_not_healthy() {
    let mut s = stack();
    s.apply_pass(&report(vec![]), &PassContext::default(), at(0));
    let mut r = report(vec![]);
    r.observed = None;
    r.error = Some(PassError::Observe(aca_arm::ArmError::Transient {
        status: Some(503),
        message: "GET https://management.azure.com/x?api-version=1&sig=zzz: unavailable".into(),
        cause: None,
    }));
    s.apply_pass(&r, &PassContext::default(), at(10));
    for c in [cond(&s.conditions, HEALTHY), app(&s, "clickhouse", SYNCED)] {
        assert_eq!((&*c.status, &*c.reason), ("Unknown", "ObserveFailed"));
        assert!(!c.message.contains("sig=zzz"), "no query string from ARM: {c:?}");
    }
    assert!(!s.last_pass.as_ref().unwrap().error.as_ref().unwrap().contains("sig="));
}

#[test]
fn steps_make_the_stack_progressing_and_a_cutover_is_a_migration() {
    let mut s = stack();
    let step = |state: &str, detail: &str| StepRecord {
        at: "2026-11-25T10:00:01Z".into(),
        app: Some("langfuse".into()),
        kind: "update".into(),
        step: "update apps.langfuse".into(),
        state: state.into(),
        detail: detail.into(),
    };
    s.apply_step(step("running", ""), at(1));
    assert_eq!(cond(&s.conditions, PROGRESSING).status, "True");
    assert_eq!(app(&s, "langfuse", PROGRESSING).message, "update apps.langfuse");
    s.apply_step(step("done", "updated langfuse (new revision)"), at(2));
    assert_eq!(app(&s, "langfuse", PROGRESSING).status, "False");
    assert_eq!(s.recent_steps.len(), 1, "the finished step replaces its running entry");
    assert_eq!(s.recent_steps[0].detail, "updated langfuse (new revision)");

    let mut r = report(vec![]);
    r.plan.steps = vec![
        Step::Update {
            app: "langfuse".into(),
            recreate: None,
            secrets_only: false,
        },
        Step::WaitNoMount {
            storage: "clickhouse-data".into(),
            apps: vec!["langfuse".into()],
        },
        Step::Create {
            app: "clickhouse".into(),
        },
    ];
    r.outcomes = vec![aca_reconcile::StepOutcome::Done("updated langfuse".into())];
    s.apply_pass(&r, &PassContext::default(), at(3));
    assert_eq!(cond(&s.conditions, PROGRESSING).status, "False");
    let m = s.migration.as_ref().expect("a cutover is a migration");
    assert_eq!((m.steps.len(), m.done), (3, 1));
    assert_eq!(m.since, "2026-11-25T10:00:03Z");
    s.apply_pass(&report(vec![]), &PassContext::default(), at(4));
    assert!(s.migration.is_none(), "done: no cutover planned any more");
}

#[test]
fn a_stack_removed_from_the_desired_state_leaves_the_status() {
    let board = StatusBoard::default();
    let text = include_str!("../../../../deploy/examples/langfuse.yaml");
    board.set_stacks(&aca_model::desired::load_str(text, "a.yaml").unwrap().state);
    assert_eq!(board.snapshot().stacks.len(), 1);
    board.set_stacks(&aca_model::desired::DesiredState::default());
    assert!(board.snapshot().stacks.is_empty());
}
