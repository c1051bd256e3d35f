//! The keyed scheduler: one entry per key, the earliest due time wins, a running key is never
//! started again until it finishes, and a key triggered while running runs once more after it.
//!
//! It is a plain state machine driven by the controller loop with explicit instants, so every
//! rule is tested here on hand-built values; the states and their guarantees are the table in
//! the crate documentation.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::action::{Action, Cause, Causes};

/// The state of one key (the crate documentation has the table of guarantees).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyState {
    Idle,
    Queued,
    Running,
    BackingOff,
    AwaitingChange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Idle,
    /// Due at `due`, waiting in the heap (`seq` tells a live heap item from a stale one).
    Queued {
        due: Instant,
        seq: u64,
    },
    /// Due now, waiting for a concurrency slot in `ready`.
    Ready,
    /// `again`: triggered during the run, so it runs once more after it.
    Running {
        again: bool,
    },
    /// Failed; not run before `until`, whatever triggers it.
    BackingOff {
        until: Instant,
        seq: u64,
    },
    /// Failed and the policy said wait for a change: only a trigger naming it runs it.
    AwaitingChange,
}

impl State {
    fn public(self) -> KeyState {
        match self {
            State::Idle => KeyState::Idle,
            State::Queued { .. } | State::Ready => KeyState::Queued,
            State::Running { .. } => KeyState::Running,
            State::BackingOff { .. } => KeyState::BackingOff,
            State::AwaitingChange => KeyState::AwaitingChange,
        }
    }
}

#[derive(Debug)]
struct Entry {
    group: Arc<str>,
    state: State,
    /// Causes gathered for the next run.
    causes: Causes,
    /// Consecutive failures; reset on success.
    failures: u32,
    /// Removed from the key set while running: forgotten when the run ends.
    removed: bool,
    /// A new group given by a reload while running: taken when the run ends (the running
    /// count belongs to the old one).
    regroup: Option<Arc<str>>,
}

/// A heap item ordered by due time, then by insertion (a stable order for equal times).
#[derive(Debug)]
struct Timed<K> {
    due: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Timed<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl<K> Eq for Timed<K> {}
impl<K> PartialOrd for Timed<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Timed<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.due, self.seq).cmp(&(other.due, other.seq))
    }
}

/// What a trigger did to its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Triggered {
    /// The key will run (sooner than it would have).
    Scheduled,
    /// The key was already due, running or backing off: the trigger joined its next run.
    Coalesced,
    /// No such key.
    Unknown,
}

/// How a run ended, as the scheduler needs it: the action to take and whether it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finished {
    Succeeded(Action),
    Failed(Action),
}

/// Delays the scheduler turns into due times: the resync bound and the jitter.
#[derive(Debug)]
pub struct Timing {
    pub resync: Option<Duration>,
    pub jitter: f64,
    pub rng: fastrand::Rng,
}

impl Timing {
    /// `d` scaled by a uniform factor in `[1 - jitter, 1 + jitter]`.
    fn jittered(&mut self, d: Duration) -> Duration {
        if self.jitter <= 0.0 || d.is_zero() {
            return d;
        }
        d.mul_f64(1.0 - self.jitter + 2.0 * self.jitter * self.rng.f64())
    }
}

/// Concurrency caps: runs in total, and runs per group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub total: usize,
    pub per_group: usize,
}

#[derive(Debug)]
pub struct Scheduler<K> {
    entries: HashMap<K, Entry>,
    heap: BinaryHeap<Reverse<Timed<K>>>,
    ready: VecDeque<K>,
    running: usize,
    running_by_group: HashMap<Arc<str>, usize>,
    seq: u64,
    timing: Timing,
    caps: Caps,
}

impl<K: Clone + Eq + Hash> Scheduler<K> {
    pub fn new(timing: Timing, caps: Caps) -> Self {
        Scheduler {
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            ready: VecDeque::new(),
            running: 0,
            running_by_group: HashMap::new(),
            seq: 0,
            timing,
            caps: Caps {
                total: caps.total.max(1),
                per_group: caps.per_group.max(1),
            },
        }
    }

    /// Adds a key due at `due`; a known key is left as it is.
    pub fn insert(&mut self, key: K, group: Arc<str>, due: Instant, cause: Cause) {
        if self.entries.contains_key(&key) {
            return;
        }
        self.entries.insert(
            key.clone(),
            Entry {
                group,
                state: State::Idle,
                causes: Causes::default(),
                failures: 0,
                removed: false,
                regroup: None,
            },
        );
        self.schedule(&key, due, cause);
    }

    /// Asks for `key` to run at `at`; the earlier of this and any time already set wins.
    /// A running, backing-off or held key is not moved (see the state table).
    pub fn schedule(&mut self, key: &K, at: Instant, cause: Cause) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        match entry.state {
            State::Idle => {}
            State::Queued { due, .. } if due <= at => {
                entry.causes.insert(cause);
                return;
            }
            State::Queued { .. } => {}
            State::Ready | State::Running { .. } | State::BackingOff { .. } | State::AwaitingChange => return,
        }
        entry.causes.insert(cause);
        self.seq += 1;
        entry.state = State::Queued { due: at, seq: self.seq };
        self.heap.push(Reverse(Timed {
            due: at,
            seq: self.seq,
            key: key.clone(),
        }));
    }

    /// A trigger: the key runs as soon as its state allows.
    pub fn trigger(&mut self, key: &K, cause: Cause) -> Triggered {
        let Some(entry) = self.entries.get_mut(key) else {
            return Triggered::Unknown;
        };
        if entry.removed {
            return Triggered::Unknown;
        }
        entry.causes.insert(cause);
        match entry.state {
            State::Idle | State::AwaitingChange | State::Queued { .. } => {
                entry.state = State::Ready;
                self.ready.push_back(key.clone());
                Triggered::Scheduled
            }
            State::Running { again: false } => {
                entry.state = State::Running { again: true };
                Triggered::Scheduled
            }
            State::Ready | State::Running { again: true } | State::BackingOff { .. } => Triggered::Coalesced,
        }
    }

    /// Replaces the key set: new keys are queued now, kept keys triggered, others forgotten
    /// (a running one when its run ends).
    pub fn set_keys(&mut self, keys: Vec<(K, Arc<str>)>, cause: Cause, now: Instant) {
        let wanted: HashMap<K, Arc<str>> = keys.into_iter().collect();
        let gone: Vec<K> = self
            .entries
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .cloned()
            .collect();
        for key in gone {
            self.remove(&key);
        }
        for (key, group) in wanted {
            let Some(entry) = self.entries.get_mut(&key) else {
                self.insert(key, group, now, cause);
                continue;
            };
            entry.removed = false;
            if matches!(entry.state, State::Running { .. }) {
                entry.regroup = Some(group).filter(|g| *g != entry.group);
            } else {
                entry.group = group;
            }
            self.trigger(&key, cause);
        }
    }

    fn remove(&mut self, key: &K) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        if matches!(entry.state, State::Running { .. }) {
            entry.removed = true;
        } else {
            // Heap and ready items of a missing key are skipped as stale.
            self.entries.remove(key);
        }
    }

    /// Moves every key whose time has come from the heap to the ready list, in due order.
    fn promote(&mut self, now: Instant) {
        while let Some(Reverse(top)) = self.heap.peek() {
            if top.due > now {
                break;
            }
            let Reverse(item) = self.heap.pop().expect("peeked");
            let Some(entry) = self.entries.get_mut(&item.key) else {
                continue;
            };
            match entry.state {
                State::Queued { seq, .. } | State::BackingOff { seq, .. } if seq == item.seq => {
                    entry.state = State::Ready;
                    self.ready.push_back(item.key);
                }
                _ => {} // stale: the key moved since
            }
        }
    }

    /// The keys to start now, marked running: due keys in due order, as far as the caps allow.
    /// Each comes with its causes and its failures so far.
    pub fn start_due(&mut self, now: Instant) -> Vec<(K, Causes, u32)> {
        self.promote(now);
        let mut started = Vec::new();
        let mut waiting = VecDeque::new();
        while let Some(key) = self.ready.pop_front() {
            let Some(entry) = self.entries.get_mut(&key) else {
                continue;
            };
            if entry.state != State::Ready {
                continue; // stale
            }
            let in_group = self.running_by_group.get(&entry.group).copied().unwrap_or(0);
            if self.running >= self.caps.total || in_group >= self.caps.per_group {
                waiting.push_back(key);
                if self.running >= self.caps.total {
                    break;
                }
                continue;
            }
            entry.state = State::Running { again: false };
            self.running += 1;
            *self.running_by_group.entry(entry.group.clone()).or_default() += 1;
            started.push((key, std::mem::take(&mut entry.causes), entry.failures));
        }
        waiting.append(&mut self.ready);
        self.ready = waiting;
        started
    }

    /// Consecutive failures of `key` so far (0 if unknown).
    pub fn failures(&self, key: &K) -> u32 {
        self.entries.get(key).map_or(0, |e| e.failures)
    }

    /// A run of `key` ended: frees its slot and decides when it runs next.
    pub fn finish(&mut self, key: &K, how: Finished, now: Instant) {
        let Some(entry) = self.entries.get_mut(key) else { return };
        let State::Running { again } = entry.state else { return };
        self.running -= 1;
        if let Some(n) = self.running_by_group.get_mut(&entry.group) {
            *n -= 1;
            if *n == 0 {
                self.running_by_group.remove(&entry.group);
            }
        }
        if entry.removed {
            self.entries.remove(key);
            return;
        }
        if let Some(group) = entry.regroup.take() {
            entry.group = group;
        }
        let resync = self.timing.resync;
        match how {
            Finished::Succeeded(action) => {
                entry.failures = 0;
                entry.state = State::Idle;
                if again {
                    self.trigger_pending(key);
                    return;
                }
                let (delay, cause) = match (action, resync) {
                    (Action::Requeue(d), Some(r)) if r < d => (Some(r), Cause::Resync),
                    (Action::Requeue(d), _) => (Some(d), Cause::Requeue),
                    (Action::AwaitChange, Some(r)) => (Some(r), Cause::Resync),
                    (Action::AwaitChange, None) => (None, Cause::Resync),
                };
                if let Some(d) = delay {
                    let at = now + self.timing.jittered(d);
                    self.schedule(key, at, cause);
                }
            }
            Finished::Failed(action) => {
                entry.failures = entry.failures.saturating_add(1);
                match action {
                    Action::Requeue(d) => {
                        let until = now + self.timing.jittered(d);
                        entry.causes.insert(Cause::Retry);
                        self.seq += 1;
                        entry.state = State::BackingOff { until, seq: self.seq };
                        self.heap.push(Reverse(Timed {
                            due: until,
                            seq: self.seq,
                            key: key.clone(),
                        }));
                    }
                    Action::AwaitChange => {
                        entry.state = State::AwaitingChange;
                        if again {
                            self.trigger_pending(key);
                        }
                    }
                }
            }
        }
    }

    /// Makes a key that was triggered during its run ready (its causes are already gathered).
    fn trigger_pending(&mut self, key: &K) {
        if let Some(entry) = self.entries.get_mut(key) {
            entry.state = State::Ready;
            self.ready.push_back(key.clone());
        }
    }

    /// When the controller must wake next to start a key (`None`: only a trigger or a finished
    /// run can make anything due). Keys waiting for a slot wake it through finished runs.
    pub fn next_wake(&mut self) -> Option<Instant> {
        while let Some(Reverse(top)) = self.heap.peek() {
            let live = self.entries.get(&top.key).is_some_and(|e| match e.state {
                State::Queued { seq, .. } | State::BackingOff { seq, .. } => seq == top.seq,
                _ => false,
            });
            if live {
                return Some(top.due);
            }
            self.heap.pop();
        }
        None
    }

    #[cfg(test)]
    pub fn state(&self, key: &K) -> Option<KeyState> {
        self.entries.get(key).map(|e| e.state.public())
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().filter(|(_, e)| !e.removed).map(|(k, _)| k)
    }

    /// How many keys are in each state: idle, queued, running, backing off, held.
    pub fn counts(&self) -> [usize; 5] {
        let mut out = [0; 5];
        for e in self.entries.values() {
            out[e.state.public() as usize] += 1;
        }
        out
    }
}

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;
