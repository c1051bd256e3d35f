//! Prometheus metrics (text format on `/metrics`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use aca_reconcile::{DriftOutcome, PassReport};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DriftLabels {
    pub stack: String,
    pub app: String,
    pub field: String,
    pub severity: String,
    pub action: String,
}

/// A drift or breach as found, before anything is done about it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FoundLabels {
    pub stack: String,
    pub app: String,
    pub severity: String,
    /// The invariant's stable name for a breach (`exclusive-storage`, ...), `-` for other drift.
    pub invariant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StackLabels {
    pub stack: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PassLabels {
    pub stack: String,
    pub result: String,
}

/// A reload (or a resync) concerns all stacks at once: no `stack` label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    pub status: String,
}

/// Every metric the operator exports. Names are listed in docs/operations.md.
pub struct Metrics {
    pub registry: Registry,
    /// `aca_drift_events_total`
    pub drift_events: Family<DriftLabels, Counter>,
    /// `aca_drifts_found_total`: counted the moment a pass finds them, before any correction.
    pub drifts_found: Family<FoundLabels, Counter>,
    /// `aca_drifts`: drift found by the last pass, per stack.
    pub drifts: Family<StackLabels, Gauge>,
    /// `aca_critical_drifts`
    pub critical: Family<StackLabels, Gauge>,
    /// `aca_reconcile_duration_seconds`: one histogram for all stacks, as controller-runtime's
    /// reconcile time is per controller. Per stack it was 17 series a stack (42,500 at 2,500
    /// stacks) and half a MiB; a stack's last duration is on the status page.
    pub duration: Histogram,
    /// `aca_reconcile_passes_total`
    pub passes: Family<PassLabels, Counter>,
    /// `aca_last_successful_reconcile_timestamp_seconds`
    pub last_success: Family<StackLabels, Gauge<f64, AtomicU64>>,
    /// `aca_arm_requests_total`
    pub arm_requests: Family<RequestLabels, Counter>,
    /// `aca_arm_throttled_total`: 429 answers from ARM.
    pub arm_throttled: Counter,
    /// `aca_arm_throttle_wait_seconds_total`: time the client-side throttle made requests wait.
    pub throttle_wait: Counter<f64, AtomicU64>,
    /// `aca_config_reloads_total` by result.
    pub reloads: Family<ReloadLabels, Counter>,
    /// `aca_leader`: 1 when this replica may write.
    pub leader: Gauge,
    /// `aca_reconcile_panics_total`: passes that panicked (the stack is retried).
    pub reconcile_panics: Counter,
    /// `aca_resyncs_total` by result: full LIST refreshes of the reflector (`run --resync`).
    pub resyncs: Family<ReloadLabels, Counter>,
    /// `aca_events_received_total`, `aca_events_decoded_total`, `aca_events_poison_total`: the
    /// watch's queue messages, the resource events in them, the undecodable ones (deleted).
    pub events_received: Counter,
    pub events_decoded: Counter,
    pub events_poison: Counter,
    /// `aca_events_unmatched_total`: events that concern no stack.
    pub events_unmatched: Counter,
    /// `aca_events_degraded`: 1 while the events queue cannot be read.
    pub events_degraded: Gauge,
    seen_events: Mutex<aca_events::WatchSnapshot>,
    events_stats: std::sync::OnceLock<std::sync::Arc<aca_events::WatchStats>>,
    seen_requests: Mutex<BTreeMap<(String, u16), u64>>,
    seen_wait_ms: Mutex<u64>,
    /// The client's counters, read at each scrape so requests show as they happen.
    arm_stats: std::sync::OnceLock<std::sync::Arc<aca_arm::ArmStats>>,
}

/// The `app` label (and log field) of what concerns a stack, not one app: `-`, in logs and metrics
/// alike (an empty label would read as no label at all in PromQL).
pub const NO_APP: &str = "-";

impl Metrics {
    pub fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("aca"),
            drift_events: Family::default(),
            drifts_found: Family::default(),
            drifts: Family::default(),
            critical: Family::default(),
            duration: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
            passes: Family::default(),
            last_success: Family::default(),
            arm_requests: Family::default(),
            arm_throttled: Counter::default(),
            throttle_wait: Counter::default(),
            reloads: Family::default(),
            leader: Gauge::default(),
            reconcile_panics: Counter::default(),
            resyncs: Family::default(),
            events_received: Counter::default(),
            events_decoded: Counter::default(),
            events_poison: Counter::default(),
            events_unmatched: Counter::default(),
            events_degraded: Gauge::default(),
            seen_events: Mutex::default(),
            events_stats: std::sync::OnceLock::new(),
            seen_requests: Mutex::new(BTreeMap::new()),
            seen_wait_ms: Mutex::new(0),
            arm_stats: std::sync::OnceLock::new(),
        };
        let r = &mut m.registry;
        r.register(
            "drift_events",
            "Drift events, by field and what was done",
            m.drift_events.clone(),
        );
        r.register(
            "drifts_found",
            "Drifts and invariant breaches, counted when found (before any correction)",
            m.drifts_found.clone(),
        );
        r.register("drifts", "Drifts found by the last pass", m.drifts.clone());
        r.register(
            "critical_drifts",
            "Invariant breaches found by the last pass",
            m.critical.clone(),
        );
        r.register(
            "reconcile_duration_seconds",
            "Duration of reconcile passes",
            m.duration.clone(),
        );
        r.register("reconcile_passes", "Reconcile passes, by result", m.passes.clone());
        r.register(
            "last_successful_reconcile_timestamp_seconds",
            "Unix time of the last successful pass",
            m.last_success.clone(),
        );
        r.register(
            "arm_requests",
            "ARM request attempts, by method and status (0: no response)",
            m.arm_requests.clone(),
        );
        r.register(
            "arm_throttled",
            "429 answers received from ARM",
            m.arm_throttled.clone(),
        );
        r.register(
            "arm_throttle_wait_seconds",
            "Time requests waited for the client-side throttle",
            m.throttle_wait.clone(),
        );
        r.register("config_reloads", "Desired-state reloads, by result", m.reloads.clone());
        r.register("leader", "1 when this replica may write to ARM", m.leader.clone());
        r.register(
            "reconcile_panics",
            "Passes that panicked (the stack was freed and retried)",
            m.reconcile_panics.clone(),
        );
        r.register(
            "resyncs",
            "Full LIST refreshes of the cache the passes read, by result",
            m.resyncs.clone(),
        );
        r.register(
            "events_received",
            "Queue messages read by the watch",
            m.events_received.clone(),
        );
        r.register(
            "events_decoded",
            "Resource events decoded from the queue",
            m.events_decoded.clone(),
        );
        r.register(
            "events_poison",
            "Undecodable queue messages (logged and deleted)",
            m.events_poison.clone(),
        );
        r.register(
            "events_unmatched",
            "Resource events that concern no stack",
            m.events_unmatched.clone(),
        );
        r.register(
            "events_degraded",
            "1 while the events queue cannot be read (drift is found on the interval only)",
            m.events_degraded.clone(),
        );
        m
    }

    /// Reads the watch's counters at every scrape from now on.
    pub fn watch_events(&self, stats: std::sync::Arc<aca_events::WatchStats>) {
        let _ = self.events_stats.set(stats);
    }

    /// An event mapped to its stacks: `matched` when it concerns one.
    pub fn record_event(&self, matched: bool) {
        if !matched {
            self.events_unmatched.inc();
        }
    }

    fn record_events(&self, stats: &aca_events::WatchStats) {
        let now = stats.snapshot();
        let mut seen = self.seen_events.lock().expect("metrics lock");
        self.events_received.inc_by(now.received.saturating_sub(seen.received));
        self.events_decoded.inc_by(now.decoded.saturating_sub(seen.decoded));
        self.events_poison.inc_by(now.poison.saturating_sub(seen.poison));
        self.events_degraded.set(i64::from(now.degraded));
        *seen = now;
    }

    pub fn record_pass(&self, r: &PassReport) {
        let stack = StackLabels { stack: r.stack.clone() };
        self.drifts.get_or_create(&stack).set(r.drift_count() as i64);
        self.critical.get_or_create(&stack).set(r.critical_count() as i64);
        self.duration.observe(r.duration.as_secs_f64());
        let result = if r.error.is_some() { "error" } else { "ok" };
        self.passes
            .get_or_create(&PassLabels {
                stack: r.stack.clone(),
                result: result.into(),
            })
            .inc();
        if r.error.is_none() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.last_success.get_or_create(&stack).set(now);
        }
        for (d, action) in &r.drift_outcomes {
            let labels = DriftLabels {
                stack: r.stack.clone(),
                app: d.app.clone().unwrap_or_else(|| NO_APP.into()),
                field: d.path.clone(),
                severity: d.severity.as_str().into(),
                action: DriftOutcome::as_str(*action).into(),
            };
            self.drift_events.get_or_create(&labels).inc();
        }
    }

    /// Adds what the ARM client counted since the last call.
    fn record_arm(&self, stats: &aca_arm::ArmStats) {
        let mut seen = self.seen_requests.lock().expect("metrics lock");
        for (method, status, count) in stats.requests() {
            let prev = seen.insert((method.clone(), status), count).unwrap_or(0);
            let delta = count.saturating_sub(prev);
            if delta > 0 {
                self.arm_requests
                    .get_or_create(&RequestLabels {
                        method,
                        status: status.to_string(),
                    })
                    .inc_by(delta);
                if status == 429 {
                    self.arm_throttled.inc_by(delta);
                }
            }
        }
        let mut wait = self.seen_wait_ms.lock().expect("metrics lock");
        let total = stats.throttle_wait().as_millis() as u64;
        if total > *wait {
            self.throttle_wait.inc_by((total - *wait) as f64 / 1000.0);
            *wait = total;
        }
    }

    /// Reads `stats` at every scrape from now on (ARM attempts and 429s show while a pass runs).
    /// Counts one drift as the pass finds it (`PassOptions::on_found`).
    pub fn record_found(&self, stack: &str, d: &aca_reconcile::Drift) {
        self.drifts_found
            .get_or_create(&FoundLabels {
                stack: stack.to_string(),
                app: d.app.clone().unwrap_or_else(|| NO_APP.to_string()),
                severity: d.severity.as_str().to_string(),
                invariant: d.invariant.unwrap_or(NO_APP).to_string(),
            })
            .inc();
    }

    pub fn watch_arm(&self, stats: std::sync::Arc<aca_arm::ArmStats>) {
        let _ = self.arm_stats.set(stats);
    }

    pub fn encode(&self) -> String {
        if let Some(stats) = self.arm_stats.get() {
            self.record_arm(stats);
        }
        if let Some(stats) = self.events_stats.get() {
            self.record_events(stats);
        }
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
