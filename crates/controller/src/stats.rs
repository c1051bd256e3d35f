//! Counters of what the controller did, for the caller's metrics and for tests (no metrics
//! crate here: the binary maps these onto its own registry).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Live counters, shared with the caller through an `Arc`. Totals only grow; the per-state
/// gauges are refreshed each time the controller loop turns.
#[derive(Debug, Default)]
pub struct Stats {
    started: AtomicU64,
    succeeded: AtomicU64,
    failed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    triggers: AtomicU64,
    coalesced: AtomicU64,
    unknown_keys: AtomicU64,
    states: [AtomicU64; 5],
}

/// A copy of [`Stats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Reconciles started.
    pub started: u64,
    /// Reconciles that returned `Ok`.
    pub succeeded: u64,
    /// Reconciles that returned `Err` (the error policy decided what next).
    pub failed: u64,
    /// Reconciles that panicked (the key was freed and retried with backoff).
    pub panicked: u64,
    /// Reconciles cancelled: over the timeout, or aborted (freed and retried with backoff).
    pub cancelled: u64,
    /// Triggers received for a key (`Trigger::All` counts once per key; reloads are not
    /// counted).
    pub triggers: u64,
    /// Triggers that joined a run already due, running-again or backing off: no extra run.
    pub coalesced: u64,
    /// Triggers naming a key not in the set (ignored).
    pub unknown_keys: u64,
    pub idle: u64,
    pub queued: u64,
    pub running: u64,
    pub backing_off: u64,
    pub held: u64,
}

#[derive(Clone, Copy, Debug)]
pub(crate) enum Count {
    Started,
    Succeeded,
    Failed,
    Panicked,
    Cancelled,
    Triggers,
    Coalesced,
    UnknownKeys,
}

impl Stats {
    pub(crate) fn add(&self, what: Count) {
        let counter = match what {
            Count::Started => &self.started,
            Count::Succeeded => &self.succeeded,
            Count::Failed => &self.failed,
            Count::Panicked => &self.panicked,
            Count::Cancelled => &self.cancelled,
            Count::Triggers => &self.triggers,
            Count::Coalesced => &self.coalesced,
            Count::UnknownKeys => &self.unknown_keys,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// `counts` in the order idle, queued, running, backing off, held.
    pub(crate) fn set_states(&self, counts: [usize; 5]) {
        for (gauge, n) in self.states.iter().zip(counts) {
            gauge.store(n as u64, Relaxed);
        }
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let s = |a: &AtomicU64| a.load(Relaxed);
        StatsSnapshot {
            started: s(&self.started),
            succeeded: s(&self.succeeded),
            failed: s(&self.failed),
            panicked: s(&self.panicked),
            cancelled: s(&self.cancelled),
            triggers: s(&self.triggers),
            coalesced: s(&self.coalesced),
            unknown_keys: s(&self.unknown_keys),
            idle: s(&self.states[0]),
            queued: s(&self.states[1]),
            running: s(&self.states[2]),
            backing_off: s(&self.states[3]),
            held: s(&self.states[4]),
        }
    }
}
