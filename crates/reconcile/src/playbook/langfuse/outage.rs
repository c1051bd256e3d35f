//! The cutover's outage: ClickHouse must stop in the sidecar before the dedicated app starts on
//! the same share. `plan` says so and how long it expects it to last (a finding, from the revision
//! timings ARM shows, [`crate::timings`]); `apply` measures it from the executor's steps:
//!
//! - T0: the host app (Langfuse) was updated: its new revision points at the dedicated ClickHouse;
//! - T1: no revision of the host runs on the share any more: no ClickHouse runs anywhere;
//! - T2: the dedicated app runs (ready, with a readiness probe: ClickHouse answers).

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aca_model::desired::AppSpec;

use super::super::{ContainerRef, Context};
use crate::execute::StepEvent;
use crate::finding::{Finding, Level};
use crate::observe::Observed;
use crate::plan::Step;
use crate::timings;

/// Assumed for a revision start when none was observed: an image pull and a start on Azure
/// (stated in the finding, never passed off as measured).
pub const DEFAULT_REVISION_START: Duration = Duration::from_secs(60);

/// One part of the expected outage and what it is based on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    pub took: Duration,
    /// Where the figure comes from, for the message.
    pub basis: String,
}

/// What `plan` expects the cutover to cost, before it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedOutage {
    /// T0→T1: Langfuse's new revision replaces the one with the sidecar.
    pub host_switch: Estimate,
    /// T1→T2: the dedicated ClickHouse app's revision starts.
    pub clickhouse_start: Estimate,
}

impl ExpectedOutage {
    /// T1→T2: no ClickHouse runs anywhere.
    pub fn none_running(&self) -> Duration {
        self.clickhouse_start.took
    }

    /// T0→T2: Langfuse points at a ClickHouse that is not running.
    pub fn wired_to_stopped(&self) -> Duration {
        self.host_switch.took + self.clickhouse_start.took
    }
}

fn observed_start(observed: &Observed, app: &AppSpec) -> Option<Estimate> {
    let r = timings::last_replacement(observed.revisions_of(&app.name)?)?;
    Some(Estimate {
        took: r.took,
        basis: format!(
            "apps.{}'s revision {} replaced {} in {:.1} s (its createdTime to the old one's lastActiveTime)",
            app.key,
            r.newer,
            r.older,
            r.took.as_secs_f64()
        ),
    })
}

/// The expected window from the revision timings observed on `host` (the app with the sidecar)
/// and `clickhouse` (the dedicated app, if it has revisions), else [`DEFAULT_REVISION_START`].
pub fn expected_outage(observed: &Observed, host: &AppSpec, clickhouse: &AppSpec) -> ExpectedOutage {
    let default = || Estimate {
        took: DEFAULT_REVISION_START,
        basis: format!(
            "no replaced revision observed: assumed {} s",
            DEFAULT_REVISION_START.as_secs()
        ),
    };
    let host_switch = observed_start(observed, host).unwrap_or_else(default);
    let clickhouse_start = observed_start(observed, clickhouse)
        .or_else(|| {
            observed_start(observed, host).map(|e| Estimate {
                basis: format!("as long as {}", e.basis),
                ..e
            })
        })
        .unwrap_or_else(default);
    ExpectedOutage {
        host_switch,
        clickhouse_start,
    }
}

/// `cutover-outage`: the cutover is still to come (a ClickHouse container runs where the stack
/// forbids it) and a dedicated ClickHouse app is declared.
pub(super) fn pending(cx: &Context<'_>, clickhouse: &[ContainerRef<'_>], out: &mut Vec<Finding>) {
    let Some(target) = clickhouse.first() else { return };
    let sidecar = cx.stack.apps.iter().find(|a| {
        cx.observed.app(&a.key).is_some_and(|live| {
            live.containers()
                .iter()
                .any(|c| a.forbid_containers.contains(&c.name) && c.image.as_deref().is_some_and(super::is_clickhouse))
        })
    });
    let Some(host) = sidecar else { return };
    let e = expected_outage(cx.observed, host, target.app);
    out.push(Finding {
        level: Level::Info,
        check: "cutover-outage",
        what: format!(
            "the cutover stops ClickHouse: apps.{h}'s new revision points at apps.{ch} before it exists (T0), the sidecar stops with the old revision (T1), and apps.{ch} must be created and become ready (T2); expected: Langfuse without ClickHouse for about {wired:.1} s (T0→T2), {none:.1} s of them with no ClickHouse at all (T1→T2), plus the create's own operation; Langfuse's switch: {hb}; ClickHouse's start: {cb}; ingestion is queued and retried, the UI fails meanwhile",
            h = host.key,
            ch = target.app.key,
            wired = e.wired_to_stopped().as_secs_f64(),
            none = e.none_running().as_secs_f64(),
            hb = e.host_switch.basis,
            cb = e.clickhouse_start.basis,
        ),
        remedy: "run it in a maintenance window (docs/migration.md, \"The outage\"); keep the readiness probe so T2 means ClickHouse answers".into(),
        sources: "ARM revision createdTime and lastActiveTime; langfuse docs self-hosting architecture (queued ingestion)",
    });
}

/// The measured window, once the cutover ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutageWindow {
    pub t0: Instant,
    pub t1: Instant,
    pub t2: Instant,
}

impl OutageWindow {
    /// T1 to T2: no ClickHouse runs anywhere.
    pub fn none_running(&self) -> Duration {
        self.t2.saturating_duration_since(self.t1)
    }

    /// T0 to T2: Langfuse points at a ClickHouse that is not running.
    pub fn wired_to_stopped(&self) -> Duration {
        self.t2.saturating_duration_since(self.t0)
    }
}

impl fmt::Display for OutageWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cutover outage: no ClickHouse ran for {:.1} s (T1→T2); Langfuse pointed at a stopped ClickHouse for {:.1} s (T0→T2)",
            self.none_running().as_secs_f64(),
            self.wired_to_stopped().as_secs_f64()
        )
    }
}

/// Fed the executor's events (as `on_event` does), keeps T0, T1, T2.
#[derive(Debug, Default)]
pub struct OutageClock {
    marks: Mutex<Marks>,
}

#[derive(Debug, Default)]
struct Marks {
    t0: Option<Instant>,
    t1: Option<Instant>,
    t2: Option<Instant>,
}

impl OutageClock {
    pub fn observe(&self, e: &StepEvent<'_>) {
        self.observe_at(e, Instant::now());
    }

    /// As [`observe`](Self::observe), at a given instant (tests).
    pub fn observe_at(&self, e: &StepEvent<'_>, now: Instant) {
        let StepEvent::Finished { step, .. } = e else { return };
        let mut m = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        match step {
            Step::Update { .. } if m.t0.is_none() && m.t1.is_none() => m.t0 = Some(now),
            Step::WaitNoMount { .. } if m.t0.is_some() => m.t1 = Some(now),
            Step::WaitRunning { .. } if m.t1.is_some() && m.t2.is_none() => m.t2 = Some(now),
            _ => {}
        }
    }

    /// The window, if a cutover ran to the end (T0, T1 and T2 seen in that order).
    pub fn window(&self) -> Option<OutageWindow> {
        let m = self.marks.lock().unwrap_or_else(|p| p.into_inner());
        Some(OutageWindow {
            t0: m.t0?,
            t1: m.t1?,
            t2: m.t2?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::execute::StepOutcome;

    #[test]
    fn the_window_runs_from_the_host_update_over_the_drain_to_the_owner_running() {
        let clock = OutageClock::default();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let done = StepOutcome::Done(String::new());
        let steps = [
            (
                Step::Update {
                    app: "langfuse".into(),
                    recreate: None,
                    secrets_only: false,
                },
                100,
            ),
            (
                Step::WaitNoMount {
                    storage: "s".into(),
                    apps: vec!["langfuse".into()],
                },
                10_100,
            ),
            (
                Step::Create {
                    app: "clickhouse".into(),
                },
                15_000,
            ),
            (
                Step::WaitRunning {
                    app: "clickhouse".into(),
                },
                30_100,
            ),
            (
                Step::Update {
                    app: "clickhouse".into(),
                    recreate: None,
                    secrets_only: false,
                },
                31_000,
            ),
        ];
        assert_eq!(clock.window(), None);
        for (step, ms) in &steps {
            clock.observe_at(
                &StepEvent::Started {
                    index: 0,
                    total: 1,
                    step,
                },
                at(0),
            );
            clock.observe_at(&StepEvent::Finished { step, outcome: &done }, at(*ms));
        }
        let w = clock.window().unwrap();
        assert_eq!(w.none_running(), Duration::from_secs(20));
        assert_eq!(w.wired_to_stopped(), Duration::from_secs(30));
        assert!(
            w.to_string().contains("20.0 s") && w.to_string().contains("30.0 s"),
            "{w}"
        );
    }

    #[test]
    fn no_window_without_a_drain() {
        let clock = OutageClock::default();
        let done = StepOutcome::Done(String::new());
        for step in [
            Step::Update {
                app: "a".into(),
                recreate: None,
                secrets_only: false,
            },
            Step::WaitRunning { app: "a".into() },
        ] {
            clock.observe_at(
                &StepEvent::Finished {
                    step: &step,
                    outcome: &done,
                },
                Instant::now(),
            );
        }
        assert_eq!(clock.window(), None);
    }
}
