//! The daemon's reconcile loop: `aca_controller` with one key per stack, grouped by
//! subscription. This module says *what* a pass of a stack is and what follows it (metrics,
//! health, the status board, held corrections, contested apps); *when* a stack runs — interval,
//! jitter, spread, backoff, caps, reruns, panics, shutdown — is the controller's business.
//!
//! | trigger | source | effect |
//! |---|---|---|
//! | start | the stacks loaded at start, once the cache's first fill was tried | spread over `--initial-spread` (default: the shortest interval) |
//! | requeue | a pass that succeeded | again after the stack's interval (jittered ±10 %) |
//! | retry | a pass that failed | `2 × interval`, doubling up to `16 × interval` (≤ 10 min, ≥ interval) |
//! | reload | a valid new desired state | `Trigger::Keys`: new stacks run now, removed ones are forgotten, held ones are released |
//! | leadership | this replica became leader | `Trigger::All`: every stack now; one that is running runs again after |
//! | watch | an event from `--events-queue` about the stack's resources ([`events`]) | `Trigger::Key(stack, Cause::Watch)`: the stack runs now, duplicates coalesce |
//! | resync | the cache was refilled ([`resync`], every `--resync`, unless `--cache off`) | `Trigger::All(Cause::Resync)`: every stack runs on the fresh cache (no ARM read in steady state) |
//! | panic | a pass that panicked | counted (`aca_reconcile_panics_total`); the controller frees the stack, logs `reconcile_panicked`, retries after 1 s doubling |
//!
//! Passes read `aca_reconcile::Reflector` unless `run --cache off`; `resync.rs` refills it every
//! `--resync`, when the stacks change and when leadership is gained.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aca_controller::{Action, Backoff, Cause, Config, Controller, Request, Trigger};
use aca_model::desired::{DesiredState, Stack};
use aca_reconcile::{ArmApi, ExecSettings, PassOptions, PassReport, run_pass};
use futures_util::{FutureExt, stream};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::contest::Contests;
use crate::http::Health;
use crate::leader::Leadership;
use crate::metrics::Metrics;
use crate::status::StatusBoard;

pub mod events;
pub mod resync;
#[cfg(test)]
mod tests;

/// The longest the stacks wait for [`Daemon::start_after`] (the cache's first fill): a fill slowed
/// by throttling must not keep every stack from being reconciled.
pub const START_WAIT: Duration = Duration::from_secs(60);

/// Everything a pass needs and reports to; shared by the spawned passes.
pub struct Daemon {
    pub api: Arc<dyn ArmApi>,
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub status: Arc<StatusBoard>,
    pub leadership: Leadership,
    /// Shutdown: passes stop between ARM operations, no new pass starts.
    pub cancel: CancellationToken,
    pub interval_override: Option<Duration>,
    pub max_concurrent: usize,
    pub per_subscription: usize,
    pub initial_spread: Option<Duration>,
    pub shutdown_timeout: Duration,
    /// More trigger streams: the watch (`events::triggers`, with `--events-queue`) and the
    /// resyncs (`resync::start`, with the cache); taken at start (in a mutex only because a
    /// stream is not `Sync`).
    pub triggers: Mutex<Vec<futures_util::stream::BoxStream<'static, Trigger<String>>>>,
    /// The stacks start once this resolves (the cache's first fill, `resync::Started::filled`),
    /// or after [`START_WAIT`]; `None` starts them at once.
    pub start_after: Mutex<Option<futures_util::future::BoxFuture<'static, ()>>>,
}

/// The operator's own bookkeeping per stack, beside the controller's scheduling state.
#[derive(Debug, Default)]
struct StackState {
    /// After a non-transient failure: correct nothing until the desired state or a live
    /// resource changes.
    held: Option<Held>,
    /// Apps a person keeps changing back.
    contests: Contests,
}

/// Why a stack's corrections are held, and the live resources' stamps at that moment.
#[derive(Debug)]
struct Held {
    reason: String,
    stamps: Vec<Option<String>>,
}

/// A pass that ended with an error; the controller retries it with this backoff.
#[derive(Debug)]
pub struct PassFailed {
    backoff: Backoff,
}

struct Shared {
    daemon: Daemon,
    desired: watch::Receiver<Arc<DesiredState>>,
    stacks: Mutex<HashMap<String, StackState>>,
    /// Storage bindings as first observed, for the `storage-binding` invariant.
    bindings: aca_reconcile::SharedBindings,
}

impl Daemon {
    fn interval(&self, stack: &Stack) -> Duration {
        self.interval_override.unwrap_or(stack.interval)
    }

    /// Runs every stack of `desired` (and of each new version it receives) until `cancel`,
    /// then lets running passes finish within `shutdown_timeout`. `leader` turning true runs
    /// every stack at once.
    pub async fn run(self, desired: watch::Receiver<Arc<DesiredState>>, leader: watch::Receiver<bool>) {
        // Health and the status board know the stacks at once: /readyz says "not ready" while
        // the stacks wait for the cache, not "ready" with nothing to report.
        let (mut desired, mut leader) = (desired, leader);
        let mut initial = desired.borrow_and_update().clone();
        self.stacks_changed(&initial);
        let start_after = self.start_after.lock().expect("start lock").take();
        if let Some(ready) = start_after {
            tokio::select! {
                () = ready => {}
                () = tokio::time::sleep(START_WAIT) => tracing::warn!(
                    event = "start_without_cache",
                    waited_s = START_WAIT.as_secs(),
                    "the cache's first fill is still running: the stacks start now and read ARM for what it does not hold yet"
                ),
                () = self.cancel.cancelled() => return,
            }
        }
        // The start runs every stack of the state as it is now, as leader or not as it is now:
        // a reload or a leadership gain during the wait is covered by it, not run again after.
        if desired.has_changed().unwrap_or(false) {
            initial = desired.borrow_and_update().clone();
            self.stacks_changed(&initial);
        }
        leader.borrow_and_update();
        let spread = self.initial_spread.unwrap_or_else(|| {
            initial
                .stacks
                .iter()
                .map(|s| self.interval(s))
                .min()
                .unwrap_or_default()
        });
        let config = Config {
            concurrency: self.max_concurrent.max(1),
            group_concurrency: self.per_subscription.max(1),
            // Each stack's pace is its interval (`Action::Requeue`); no separate resync.
            resync: None,
            initial_spread: spread,
            shutdown_timeout: self.shutdown_timeout,
            ..Config::default()
        };
        let cancel = self.cancel.clone();
        let more = std::mem::take(&mut *self.triggers.lock().expect("triggers lock"));
        let shared = Arc::new(Shared {
            daemon: self,
            desired: desired.clone(),
            stacks: Mutex::default(),
            bindings: aca_reconcile::SharedBindings::default(),
        });
        let names = initial.stacks.iter().map(|s| s.name.clone());
        let group_of = desired.clone();
        let desired_now = desired.clone();
        let controller = Controller::new(names, config)
            .group_by(move |name: &String| {
                let state = group_of.borrow();
                let stack = state.stacks.iter().find(|s| &s.name == name);
                stack.map(|s| s.subscription.to_ascii_lowercase()).unwrap_or_default()
            })
            .triggers(reloads(shared.clone(), desired))
            .triggers(leadership_gained(leader, desired_now));
        let controller = more.into_iter().fold(controller, Controller::triggers);
        let pass = shared.clone();
        controller
            .run(
                move |request| {
                    let shared = pass.clone();
                    async move {
                        // Counted here, then re-raised: the controller frees the stack and logs it.
                        match AssertUnwindSafe(shared.reconcile(request)).catch_unwind().await {
                            Ok(outcome) => outcome,
                            Err(panic) => {
                                shared.daemon.metrics.reconcile_panics.inc();
                                std::panic::resume_unwind(panic)
                            }
                        }
                    }
                },
                |_name, failed: &PassFailed, failures| Action::Requeue(failed.backoff.delay(failures)),
                async move { cancel.cancelled().await },
            )
            .await;
    }

    /// Health and the status board follow the set of stacks.
    fn stacks_changed(&self, desired: &DesiredState) {
        self.health
            .set_stacks(desired.stacks.iter().map(|s| (s.name.clone(), self.interval(s))));
        self.status.set_stacks(desired);
    }
}

/// A new desired state: held stacks are released, removed ones forgotten, and the controller
/// gets the new set of stacks (all of which run again).
fn reloads(
    shared: Arc<Shared>,
    rx: watch::Receiver<Arc<DesiredState>>,
) -> impl futures_util::Stream<Item = Trigger<String>> {
    stream::unfold((shared, rx), |(shared, mut rx)| async move {
        rx.changed().await.ok()?;
        let desired = rx.borrow_and_update().clone();
        {
            let mut stacks = shared.stacks.lock().expect("stack state lock");
            stacks.retain(|name, _| desired.stacks.iter().any(|s| &s.name == name));
            for state in stacks.values_mut() {
                state.held = None;
            }
        }
        shared.daemon.stacks_changed(&desired);
        let names = desired.stacks.iter().map(|s| s.name.clone()).collect();
        Some((Trigger::Keys(names), (shared, rx)))
    })
}

/// Leadership gained: a new leader corrects at once, not at each stack's next interval.
fn leadership_gained(
    rx: watch::Receiver<bool>,
    desired: watch::Receiver<Arc<DesiredState>>,
) -> impl futures_util::Stream<Item = Trigger<String>> {
    stream::unfold((rx, desired), |(mut rx, desired)| async move {
        loop {
            rx.changed().await.ok()?;
            if *rx.borrow_and_update() {
                let stacks = desired.borrow().stacks.len();
                tracing::info!(
                    event = "leader_pass",
                    stacks,
                    "leadership gained: every stack is reconciled now"
                );
                return Some((Trigger::All(Cause::Leadership), (rx, desired)));
            }
        }
    })
}

/// Counts each drift in the metrics the moment the pass finds it.
fn found_counter(metrics: &Arc<Metrics>) -> aca_reconcile::OnFound {
    let metrics = metrics.clone();
    aca_reconcile::OnFound(Arc::new(move |stack: &str, d: &aca_reconcile::Drift| {
        metrics.record_found(stack, d)
    }))
}

impl Shared {
    async fn reconcile(&self, request: Request<String>) -> Result<Action, PassFailed> {
        let d = &self.daemon;
        let desired = self.desired.borrow().clone();
        let Some(stack) = desired.stacks.iter().find(|s| s.name == request.key) else {
            // Gone from the desired state; the reload has removed the key.
            return Ok(Action::AwaitChange);
        };
        let interval = d.interval(stack);
        let (held, holds) = {
            let mut stacks = self.stacks.lock().expect("stack state lock");
            let state = stacks.entry(stack.name.clone()).or_default();
            (state.held.is_some(), state.contests.holds(Instant::now()))
        };
        let options = PassOptions {
            apply: !held && d.leadership.is_leader(),
            exec: exec_settings(interval),
            log_events: true,
            cancel: Some(d.cancel.clone()),
            holds,
            gate: Some(d.leadership.gate()),
            bindings: Some(self.bindings.clone()),
            on_found: Some(found_counter(&d.metrics)),
            cause: Some(request.causes.to_string()),
            ..PassOptions::default()
        };
        // The cutover's outage, measured from the steps as they finish (the playbook's clock).
        let outage = aca_reconcile::playbook::OutageClock::default();
        let on_step = |e: &aca_reconcile::StepEvent| {
            outage.observe(e);
            d.status.step_event(&stack.name, e);
        };
        let report = run_pass(d.api.as_ref(), stack, options, &on_step).await;
        if let Some(w) = outage.window() {
            tracing::info!(event = "outage", stack = %stack.name,
                none_running_ms = w.none_running().as_millis() as u64,
                wired_to_stopped_ms = w.wired_to_stopped().as_millis() as u64, "{w}");
        }
        self.finished(stack, interval, &report, request.failures + 1)
    }

    /// Records a pass and decides what follows it. `failures` counts this pass if it failed.
    fn finished(
        &self,
        stack: &Stack,
        interval: Duration,
        report: &PassReport,
        failures: u32,
    ) -> Result<Action, PassFailed> {
        let d = &self.daemon;
        let name = &stack.name;
        d.metrics.record_pass(report);
        if d.cancel.is_cancelled() {
            tracing::info!(event = "pass_stopped", stack = %name, "pass ended for shutdown");
        }
        let now = Instant::now();
        let mut stacks = self.stacks.lock().expect("stack state lock");
        let state = stacks.entry(name.clone()).or_default();
        state.contests.record(name, report, interval, now);
        if let Some(held) = &state.held
            && report.observed.is_some()
            && stamps(report) != held.stamps
        {
            tracing::info!(event = "stack_released", stack = %name, reason = %held.reason, "a live resource changed: corrections resume");
            state.held = None;
        }
        let backoff = backoff(interval);
        let (outcome, next_in) = match &report.error {
            None => {
                d.health.pass_succeeded(name);
                (Ok(Action::Requeue(interval)), interval)
            }
            Some(e) => {
                if !e.is_transient() && state.held.is_none() {
                    tracing::error!(event = "stack_held", stack = %name, reason = %e,
                        "corrections are held until the desired state or a live resource changes; drift is still reported");
                    state.held = Some(Held {
                        reason: e.to_string(),
                        stamps: stamps(report),
                    });
                }
                (Err(PassFailed { backoff }), backoff.delay(failures))
            }
        };
        let held = state.held.as_ref().map(|h| h.reason.clone());
        let context = crate::status::context(held, state.contests.holds_remaining(now), next_in);
        drop(stacks);
        d.status.pass_finished(report, &context);
        outcome
    }
}

/// After a failed pass: `2 × interval`, doubling up to `16 × interval`, at most 10 minutes
/// unless the interval itself is longer.
fn backoff(interval: Duration) -> Backoff {
    Backoff {
        base: interval.saturating_mul(2),
        max: interval.saturating_mul(16).min(Duration::from_secs(600)).max(interval),
    }
}

fn exec_settings(interval: Duration) -> ExecSettings {
    ExecSettings {
        poll_interval: (interval / 4).clamp(Duration::from_millis(100), Duration::from_secs(5)),
        ..ExecSettings::default()
    }
}

/// `systemData.lastModifiedAt` of every declared app (and the environment), as observed.
fn stamps(report: &PassReport) -> Vec<Option<String>> {
    let Some(o) = &report.observed else { return Vec::new() };
    let mut out: Vec<Option<String>> = o
        .apps
        .values()
        .map(|a| {
            a.as_ref()
                .and_then(|a| a.system_data.as_ref())
                .and_then(|s| s.last_modified_at.clone())
        })
        .collect();
    out.push(
        o.environment
            .as_ref()
            .and_then(|e| e.system_data.as_ref())
            .and_then(|s| s.last_modified_at.clone()),
    );
    out
}
