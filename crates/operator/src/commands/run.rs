//! `run`: the daemon. Every stack is reconciled each interval (jittered, spread, bounded
//! concurrency, backoff on errors); each drift is logged; the desired-state files are watched and
//! a bad new version is refused while the last good one stays in force; SIGTERM/SIGINT stop between
//! ARM operations within a bound.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aca_arm::ArmClient;
use aca_model::desired::{DesiredState, Stack, load_paths};
use aca_reconcile::{ExecSettings, PassOptions, PassReport, run_pass};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::arm_setup;
use crate::cli::RunArgs;
use crate::contest::Contests;
use crate::http::{self, Health};
use crate::leader::Leadership;
use crate::metrics::Metrics;
use crate::status::StatusBoard;

pub async fn run(args: &RunArgs) -> ExitCode {
    let parse = |flag: &str, text: &str| {
        aca_model::desired::parse_duration(text)
            .ok_or_else(|| format!("--{flag}: `{text}` is not a duration (e.g. 2s, 30s, 5m)"))
    };
    let parse_zero = |flag: &str, text: &str| {
        if text.trim() == "0s" || text.trim() == "0" {
            Ok(Duration::ZERO)
        } else {
            parse(flag, text)
        }
    };
    let durations = (
        args.interval.as_deref().map(|t| parse("interval", t)).transpose(),
        parse("reload-interval", &args.reload_interval),
        parse("shutdown-timeout", &args.shutdown_timeout),
        args.initial_spread
            .as_deref()
            .map(|t| parse_zero("initial-spread", t))
            .transpose(),
    );
    let (interval_override, reload_every, shutdown_timeout, initial_spread) = match durations {
        (Ok(i), Ok(r), Ok(s), Ok(sp)) => (i, r, s, sp),
        (Err(e), _, _, _) | (_, Err(e), _, _) | (_, _, Err(e), _) | (_, _, _, Err(e)) => {
            eprintln!("aca-operator: {e}");
            return ExitCode::from(1);
        }
    };
    let Some(state) = super::load(&args.files) else {
        return ExitCode::from(1);
    };
    let elected = args.leader_election != crate::cli::LeaderElection::None;
    let leadership = if elected {
        Leadership::elected()
    } else {
        Leadership::sole()
    };
    let cancel = CancellationToken::new();
    // The client checks the leadership's fence before every attempt of every write; a shutdown
    // ends its waits for long-running operations.
    let config = aca_arm::ArmConfig {
        fence: Some(leadership.fence()),
        shutdown: Some(cancel.clone()),
        ..arm_setup::config(&args.arm)
    };
    let client = match ArmClient::new(config) {
        Ok(c) => Arc::new(c),
        Err(e) => {
            eprintln!("aca-operator: {e}");
            return ExitCode::from(1);
        }
    };
    let metrics = Arc::new(Metrics::new());
    metrics.watch_arm(client.stats());
    let health = Arc::new(Health::default());
    health.set_leadership(leadership.clone());
    // Stopped only after the passes drained: the current write finishes under the lease.
    let stop_election = CancellationToken::new();
    let (leader_tx, leader_rx) = watch::channel(!elected);
    let election = match crate::leader::start(args, &leadership, metrics.clone(), leader_tx, stop_election.clone()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("aca-operator: {e}");
            return ExitCode::from(1);
        }
    };
    let status = Arc::new(StatusBoard::default());
    if let Some(addr) = args.listen_metrics {
        let Some(routes) = crate::status::routes_for(addr, args.status_token_file.as_deref(), &status) else {
            return ExitCode::from(1);
        };
        match http::serve(addr, metrics.clone(), health.clone(), routes, cancel.clone()).await {
            Ok(bound) => tracing::info!(event = "listening", addr = %bound, "metrics and health on http://{bound}"),
            Err(e) => {
                eprintln!("aca-operator: --listen-metrics {addr}: {e}");
                return ExitCode::from(1);
            }
        }
    }
    spawn_signal_handler(cancel.clone());
    let (tx, rx) = watch::channel(Arc::new(state));
    tokio::spawn(watch_files(
        args.files.clone(),
        reload_every,
        tx,
        metrics.clone(),
        cancel.clone(),
    ));
    tracing::info!(
        event = "started",
        version = crate::cli::LONG_VERSION,
        "aca-operator running"
    );

    let daemon = Daemon {
        client,
        metrics,
        health,
        interval_override,
        max_concurrent: args.max_concurrent_stacks.max(1),
        per_subscription: args.max_concurrent_per_subscription.max(1),
        initial_spread,
        leadership,
        cancel: cancel.clone(),
        status,
    };
    daemon.schedule(rx, leader_rx, shutdown_timeout).await;
    stop_election.cancel();
    if let Some(election) = election {
        // The release is one bounded request; wait for it so `leader_released` is logged.
        let _ = tokio::time::timeout(Duration::from_secs(15), election).await;
    }
    tracing::info!(event = "stopped", "aca-operator stopped");
    ExitCode::SUCCESS
}

fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = term.recv() => tracing::info!(event = "shutdown", signal = "SIGTERM", "stopping after the current ARM operation"),
                _ = tokio::signal::ctrl_c() => tracing::info!(event = "shutdown", signal = "SIGINT", "stopping after the current ARM operation"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        cancel.cancel();
    });
}

/// A digest of the desired-state files as they are now (content and names).
fn fingerprint(files: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        let mut paths = vec![f.clone()];
        if f.is_dir()
            && let Ok(entries) = std::fs::read_dir(f)
        {
            paths = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
        }
        for p in paths {
            p.hash(&mut h);
            std::fs::read(&p).unwrap_or_default().hash(&mut h);
        }
    }
    h.finish()
}

/// Polls the files; a valid change replaces the desired state, an invalid one is refused and logged.
async fn watch_files(
    files: Vec<PathBuf>,
    every: Duration,
    tx: watch::Sender<Arc<DesiredState>>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let mut last = fingerprint(&files);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = fingerprint(&files);
        if now == last {
            continue;
        }
        last = now;
        let labels = |result: &str| crate::metrics::ReloadLabels { result: result.into() };
        match load_paths(&files) {
            Ok(loaded) => {
                metrics.reloads.get_or_create(&labels("ok")).inc();
                tracing::info!(
                    event = "config_reloaded",
                    stacks = loaded.state.stacks.len(),
                    warnings = loaded.warnings.len(),
                    "desired state reloaded"
                );
                let _ = tx.send(Arc::new(loaded.state));
            }
            Err(e) => {
                metrics.reloads.get_or_create(&labels("rejected")).inc();
                tracing::error!(event = "config_rejected", reason = %e, "the new desired state is refused; the last good one stays in force");
            }
        }
    }
}

struct Daemon {
    client: Arc<ArmClient>,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    interval_override: Option<Duration>,
    max_concurrent: usize,
    per_subscription: usize,
    initial_spread: Option<Duration>,
    leadership: Leadership,
    cancel: CancellationToken,
    status: Arc<StatusBoard>,
}

/// Why a stack's corrections are held, and the live resources' stamps at that moment.
#[derive(Debug)]
struct Held {
    reason: String,
    stamps: Vec<Option<String>>,
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

#[derive(Debug)]
struct Slot {
    due: Instant,
    running: bool,
    failures: u32,
    /// After a non-transient failure: correct nothing until the desired state or a live resource
    /// changes.
    held: Option<Held>,
    /// Apps a person keeps changing back.
    contests: Contests,
    /// Run again as soon as the current pass ends (leadership was gained during an observe-only pass).
    rerun: bool,
}

impl Daemon {
    fn interval(&self, stack: &Stack) -> Duration {
        self.interval_override.unwrap_or(stack.interval)
    }

    async fn schedule(
        &self,
        mut rx: watch::Receiver<Arc<DesiredState>>,
        mut leader_rx: watch::Receiver<bool>,
        shutdown_timeout: Duration,
    ) {
        let semaphore = Arc::new(Semaphore::new(self.max_concurrent));
        let mut per_subscription: HashMap<String, Arc<Semaphore>> = HashMap::new();
        let mut slots: HashMap<String, Slot> = HashMap::new();
        let mut joins: JoinSet<(String, PassReport)> = JoinSet::new();
        let mut rng = Jitter::seeded();
        let mut desired = rx.borrow_and_update().clone();
        self.sync_slots(&desired, &mut slots);
        loop {
            let now = Instant::now();
            for stack in &desired.stacks {
                let Some(slot) = slots.get_mut(&stack.name) else {
                    continue;
                };
                if slot.running || slot.due > now {
                    continue;
                }
                slot.running = true;
                let stack = Arc::new(stack.clone());
                let client = self.client.clone();
                let semaphore = semaphore.clone();
                let status = self.status.clone();
                let subscription = per_subscription
                    .entry(stack.subscription.to_ascii_lowercase())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_subscription)))
                    .clone();
                let options = PassOptions {
                    apply: slot.held.is_none() && self.leadership.is_leader(),
                    exec: exec_settings(self.interval(&stack)),
                    log_events: true,
                    cancel: Some(self.cancel.clone()),
                    holds: slot.contests.holds(now),
                    gate: Some(self.leadership.gate()),
                    ..PassOptions::default()
                };
                joins.spawn(async move {
                    // The subscription's slot first: a busy subscription does not hold global slots.
                    let _sub = subscription.acquire_owned().await;
                    let _permit = semaphore.acquire_owned().await;
                    let on_step = |e: &aca_reconcile::StepEvent| status.step_event(&stack.name, e);
                    let report = run_pass(client.as_ref(), &stack, options, &on_step).await;
                    (stack.name.clone(), report)
                });
            }
            let next_due = slots
                .values()
                .filter(|s| !s.running)
                .map(|s| s.due)
                .min()
                .unwrap_or(now + Duration::from_secs(3600));
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                Some(done) = joins.join_next(), if !joins.is_empty() => {
                    if let Ok((name, report)) = done {
                        self.finished(&desired, &mut slots, &name, &report, &mut rng);
                    }
                }
                changed = rx.changed() => {
                    if changed.is_ok() {
                        desired = rx.borrow_and_update().clone();
                        for slot in slots.values_mut() {
                            slot.held = None;
                        }
                        self.sync_slots(&desired, &mut slots);
                    }
                }
                changed = leader_rx.changed() => {
                    if changed.is_ok() && *leader_rx.borrow_and_update() {
                        // A new leader corrects at once, not at each stack's next interval.
                        tracing::info!(event = "leader_pass", stacks = slots.len(), "leadership gained: every stack is reconciled now");
                        for slot in slots.values_mut() {
                            if slot.running {
                                slot.rerun = true;
                            } else {
                                slot.due = Instant::now();
                            }
                        }
                    }
                }
                _ = tokio::time::sleep_until(next_due) => {}
            }
        }
        // Shutdown: the executor stops between ARM operations; give it a bounded time.
        let drain = async {
            while let Some(done) = joins.join_next().await {
                if let Ok((name, report)) = done {
                    self.metrics.record_pass(&report);
                    tracing::info!(event = "pass_stopped", stack = %name, "pass ended for shutdown");
                }
            }
        };
        if tokio::time::timeout(shutdown_timeout, drain).await.is_err() {
            tracing::warn!(
                event = "shutdown_timeout",
                "passes still running after the shutdown timeout were abandoned"
            );
        }
    }

    /// Adds slots for new stacks (spread over their interval), drops removed ones.
    fn sync_slots(&self, desired: &DesiredState, slots: &mut HashMap<String, Slot>) {
        let now = Instant::now();
        let n = desired.stacks.len().max(1) as u32;
        slots.retain(|name, _| desired.stacks.iter().any(|s| &s.name == name));
        for (i, stack) in desired.stacks.iter().enumerate() {
            let spread = self.initial_spread.unwrap_or_else(|| self.interval(stack));
            slots.entry(stack.name.clone()).or_insert_with(|| Slot {
                due: now + spread * i as u32 / n,
                running: false,
                failures: 0,
                held: None,
                contests: Contests::default(),
                rerun: false,
            });
        }
        self.health
            .set_stacks(desired.stacks.iter().map(|s| (s.name.clone(), self.interval(s))));
        self.status.set_stacks(desired);
    }

    fn finished(
        &self,
        desired: &DesiredState,
        slots: &mut HashMap<String, Slot>,
        name: &str,
        report: &PassReport,
        rng: &mut Jitter,
    ) {
        self.metrics.record_pass(report);
        self.metrics.record_arm(&self.client.stats());
        let Some(stack) = desired.stacks.iter().find(|s| s.name == name) else {
            slots.remove(name);
            return;
        };
        let interval = self.interval(stack);
        let Some(slot) = slots.get_mut(name) else { return };
        slot.running = false;
        slot.contests.record(name, report, interval, Instant::now());
        if let Some(held) = &slot.held
            && report.observed.is_some()
            && stamps(report) != held.stamps
        {
            tracing::info!(event = "stack_released", stack = %name, reason = %held.reason, "a live resource changed: corrections resume");
            slot.held = None;
        }
        match &report.error {
            None => {
                slot.failures = 0;
                self.health.pass_succeeded(name);
                slot.due = Instant::now() + rng.around(interval);
            }
            Some(e) => {
                slot.failures += 1;
                if !e.is_transient() && slot.held.is_none() {
                    tracing::error!(event = "stack_held", stack = %name, reason = %e,
                        "corrections are held until the desired state or a live resource changes; drift is still reported");
                    slot.held = Some(Held {
                        reason: e.to_string(),
                        stamps: stamps(report),
                    });
                }
                let backoff = interval * 2u32.saturating_pow(slot.failures.min(4));
                slot.due = Instant::now() + rng.around(backoff.min(Duration::from_secs(600)).max(interval));
            }
        }
        if std::mem::take(&mut slot.rerun) {
            slot.due = Instant::now();
        }
        let now = Instant::now();
        let held = slot.held.as_ref().map(|h| h.reason.clone());
        let context = crate::status::context(
            held,
            slot.contests.holds_remaining(now),
            slot.due.saturating_duration_since(now),
        );
        self.status.pass_finished(report, &context);
    }
}

fn exec_settings(interval: Duration) -> ExecSettings {
    ExecSettings {
        poll_interval: (interval / 4).clamp(Duration::from_millis(100), Duration::from_secs(5)),
        ..ExecSettings::default()
    }
}

/// ±10% jitter, so stacks do not fire together.
struct Jitter(u64);

impl Jitter {
    fn seeded() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(42);
        Jitter(seed | 1)
    }

    fn next(&mut self) -> f64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn around(&mut self, d: Duration) -> Duration {
        d.mul_f64(0.9 + 0.2 * self.next())
    }
}
