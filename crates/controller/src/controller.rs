//! The controller loop: merges trigger streams into the keyed scheduler, starts reconciles
//! within the concurrency caps, and turns each outcome (success, error, panic, timeout) into the
//! key's next state.

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::{BoxStream, SelectAll};
use futures_util::{FutureExt, StreamExt};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;

use crate::action::{Action, Backoff, Cause, Request, Trigger};
use crate::scheduler::{Caps, Finished, Scheduler, Timing, Triggered};
use crate::stats::{Count, Stats};

/// What a key must be: cheap to clone, hashable, printable in logs.
pub trait Key: Clone + Eq + Hash + Debug + Send + 'static {}
impl<T: Clone + Eq + Hash + Debug + Send + 'static> Key for T {}

/// Controller settings. Every field has a documented default ([`Config::default`]).
#[derive(Clone, Debug)]
pub struct Config {
    /// Reconciles running at once, in total. Default 16.
    pub concurrency: usize,
    /// Reconciles running at once within one group (see [`Controller::group_by`]). Default 4.
    pub group_concurrency: usize,
    /// Every key that last succeeded runs again at least this often, whatever its action
    /// asked (`None`: never by time alone). Default 10 minutes.
    pub resync: Option<Duration>,
    /// Every delay the controller schedules (requeue, resync, backoff) is scaled by a
    /// uniform factor in `[1 - jitter, 1 + jitter]`, so keys do not fire together.
    /// Default 0.1; clamped to `[0, 1]`.
    pub jitter: f64,
    /// The keys known at start run spread evenly over this window. Default zero (at once,
    /// within the caps).
    pub initial_spread: Duration,
    /// A reconcile running longer is cancelled (its future dropped), counted, and its key
    /// retried with [`Config::backoff`]. Default `None` (no limit).
    pub timeout: Option<Duration>,
    /// Backoff after a panic or a timeout, where there is no error for the policy to see.
    /// Default [`Backoff::default`] (1 s doubling to 5 minutes).
    pub backoff: Backoff,
    /// At shutdown, how long running reconciles may take to finish before they are aborted.
    /// Default 30 s.
    pub shutdown_timeout: Duration,
    /// Seed of the jitter's generator, for reproducible runs. Default `None` (random).
    pub seed: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            concurrency: 16,
            group_concurrency: 4,
            resync: Some(Duration::from_secs(600)),
            jitter: 0.1,
            initial_spread: Duration::ZERO,
            timeout: None,
            backoff: Backoff::default(),
            shutdown_timeout: Duration::from_secs(30),
            seed: None,
        }
    }
}

type GroupOf<K> = Box<dyn Fn(&K) -> Arc<str> + Send + Sync>;

/// Runs `reconcile` for a set of keys, as triggers and time ask, one run per key at a time.
///
/// ```no_run
/// # use aca_controller::{Action, Backoff, Config, Controller};
/// # async fn demo(shutdown: impl std::future::Future<Output = ()>) {
/// let backoff = Backoff::default();
/// Controller::new(["stack-a".to_string()], Config::default())
///     .run(
///         |request| async move { Ok::<_, std::io::Error>(Action::AwaitChange) },
///         move |_key, _error, attempts| backoff.on_error(true, attempts),
///         shutdown,
///     )
///     .await;
/// # }
/// ```
pub struct Controller<K> {
    keys: Vec<K>,
    config: Config,
    group_of: GroupOf<K>,
    triggers: SelectAll<BoxStream<'static, Trigger<K>>>,
    stats: Arc<Stats>,
}

impl<K> std::fmt::Debug for Controller<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controller")
            .field("keys", &self.keys.len())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<K: Key> Controller<K> {
    /// A controller for these keys, all in one group until [`Controller::group_by`].
    pub fn new(keys: impl IntoIterator<Item = K>, config: Config) -> Self {
        let one: Arc<str> = Arc::from("");
        Controller {
            keys: keys.into_iter().collect(),
            config,
            group_of: Box::new(move |_| one.clone()),
            triggers: SelectAll::new(),
            stats: Arc::default(),
        }
    }

    /// Names each key's group (e.g. its subscription) for [`Config::group_concurrency`].
    pub fn group_by(mut self, group_of: impl Fn(&K) -> String + Send + Sync + 'static) -> Self {
        self.group_of = Box::new(move |k| Arc::from(group_of(k)));
        self
    }

    /// Adds a stream of triggers (watch events, reloads, leadership). Streams are merged; one
    /// that ends is dropped and the others go on.
    pub fn triggers(mut self, stream: impl futures_util::Stream<Item = Trigger<K>> + Send + 'static) -> Self {
        self.triggers.push(stream.boxed());
        self
    }

    /// The counters of this controller, live while it runs.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Runs until `shutdown` completes, then lets running reconciles finish within
    /// [`Config::shutdown_timeout`] and aborts the rest.
    ///
    /// `reconcile` is called once per run and its future spawned (so a panic in the future is
    /// caught and a timeout can drop it); the closure itself should only build the future, as
    /// a panic there (or in `error_policy`) stops the controller. `error_policy(key, error, failures)` decides what follows an `Err`;
    /// `failures` counts this one (1 after the first failure in a row).
    pub async fn run<R, Fut, E, P>(self, mut reconcile: R, mut error_policy: P, shutdown: impl Future<Output = ()>)
    where
        R: FnMut(Request<K>) -> Fut,
        Fut: Future<Output = Result<Action, E>> + Send + 'static,
        E: Send + 'static,
        P: FnMut(&K, &E, u32) -> Action,
    {
        let Controller {
            keys,
            config,
            group_of,
            mut triggers,
            stats,
        } = self;
        let timing = Timing {
            resync: config.resync,
            jitter: config.jitter.clamp(0.0, 1.0),
            rng: config.seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        };
        let caps = Caps {
            total: config.concurrency,
            per_group: config.group_concurrency,
        };
        let mut sched = Scheduler::new(timing, caps);
        let start = Instant::now();
        let n = keys.len().max(1) as u32;
        for (i, key) in keys.into_iter().enumerate() {
            let group = group_of(&key);
            let due = start + config.initial_spread * i as u32 / n;
            sched.insert(key, group, due, Cause::Start);
        }

        let mut tasks: JoinSet<Result<Result<Action, E>, TimedOut>> = JoinSet::new();
        let mut running: HashMap<tokio::task::Id, K> = HashMap::new();
        let mut triggers_open = !triggers.is_empty();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            for (key, causes, failures) in sched.start_due(Instant::now()) {
                stats.add(Count::Started);
                tracing::debug!(event = "reconcile_started", key = ?key, causes = %causes, failures);
                let run = reconcile(Request {
                    key: key.clone(),
                    causes,
                    failures,
                });
                let timeout = config.timeout;
                let handle = tasks.spawn(async move {
                    match timeout {
                        Some(limit) => tokio::time::timeout(limit, run).await.map_err(|_| TimedOut),
                        None => Ok(run.await),
                    }
                });
                running.insert(handle.id(), key);
            }
            stats.set_states(sched.counts());
            let wake = sched.next_wake();
            // Biased: shutdown first, then outcomes before triggers, so a key's run that ends at
            // the same instant as a trigger for it is seen as finished first (deterministic).
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    let (id, outcome) = match done {
                        Ok((id, out)) => (id, Ok(out)),
                        Err(e) => (e.id(), Err(e)),
                    };
                    let Some(key) = running.remove(&id) else { continue };
                    let failures = sched.failures(&key).saturating_add(1);
                    let how = match classify(&stats, &key, outcome) {
                        Ok(action) => Finished::Succeeded(action),
                        Err(Some(error)) => Finished::Failed(error_policy(&key, &error, failures)),
                        Err(None) => Finished::Failed(Action::Requeue(config.backoff.delay(failures))),
                    };
                    sched.finish(&key, how, Instant::now());
                }
                trigger = triggers.next(), if triggers_open => match trigger {
                    Some(trigger) => {
                        apply(&mut sched, trigger, &group_of, &stats);
                        // Take the rest of a burst before starting anything, so its duplicates
                        // coalesce into one run (bounded, so a flood cannot starve the runs).
                        for _ in 0..BURST {
                            match triggers.next().now_or_never() {
                                Some(Some(trigger)) => apply(&mut sched, trigger, &group_of, &stats),
                                Some(None) => {
                                    triggers_open = false;
                                    break;
                                }
                                None => break,
                            }
                        }
                    }
                    None => triggers_open = false,
                },
                () = tokio::time::sleep_until(wake.unwrap_or_else(Instant::now)), if wake.is_some() => {}
            }
        }

        let drain = async {
            while let Some(done) = tasks.join_next_with_id().await {
                let (id, outcome) = match done {
                    Ok((id, out)) => (id, Ok(out)),
                    Err(e) => (e.id(), Err(e)),
                };
                if let Some(key) = running.remove(&id) {
                    let _ = classify(&stats, &key, outcome);
                }
            }
        };
        if tokio::time::timeout(config.shutdown_timeout, drain).await.is_err() {
            tracing::warn!(
                event = "reconcile_abandoned",
                running = tasks.len(),
                "reconciles still running after the shutdown timeout were aborted"
            );
            tasks.abort_all();
        }
        stats.set_states(sched.counts());
    }
}

/// Triggers taken at once after the first of a burst.
const BURST: usize = 1024;

/// A reconcile went over [`Config::timeout`].
#[derive(Debug)]
struct TimedOut;

/// Counts and logs an outcome. `Err(Some(e))`: the reconcile failed; `Err(None)`: it panicked,
/// timed out or was aborted.
fn classify<K: Debug, E>(
    stats: &Stats,
    key: &K,
    outcome: Result<Result<Result<Action, E>, TimedOut>, JoinError>,
) -> Result<Action, Option<E>> {
    match outcome {
        Ok(Ok(Ok(action))) => {
            stats.add(Count::Succeeded);
            Ok(action)
        }
        Ok(Ok(Err(error))) => {
            stats.add(Count::Failed);
            Err(Some(error))
        }
        Ok(Err(TimedOut)) => {
            stats.add(Count::Cancelled);
            tracing::warn!(event = "reconcile_cancelled", key = ?key, reason = "timeout", "the reconcile took too long and was cancelled; it will be retried");
            Err(None)
        }
        Err(e) if e.is_panic() => {
            stats.add(Count::Panicked);
            // The panic hook has printed the message; the key is freed and retried.
            tracing::error!(event = "reconcile_panicked", key = ?key, "the reconcile panicked; it will be retried");
            Err(None)
        }
        Err(_) => {
            stats.add(Count::Cancelled);
            tracing::warn!(event = "reconcile_cancelled", key = ?key, reason = "aborted", "the reconcile was aborted; it will be retried");
            Err(None)
        }
    }
}

fn apply<K: Key>(sched: &mut Scheduler<K>, trigger: Trigger<K>, group_of: &GroupOf<K>, stats: &Stats) {
    let count = |t: Triggered| {
        stats.add(Count::Triggers);
        match t {
            Triggered::Scheduled => {}
            Triggered::Coalesced => stats.add(Count::Coalesced),
            Triggered::Unknown => stats.add(Count::UnknownKeys),
        }
    };
    match trigger {
        Trigger::Key(key, cause) => count(sched.trigger(&key, cause)),
        Trigger::All(cause) => {
            let keys: Vec<K> = sched.keys().cloned().collect();
            for key in keys {
                count(sched.trigger(&key, cause));
            }
        }
        Trigger::Keys(keys) => {
            let keys = keys
                .into_iter()
                .map(|k| {
                    let g = group_of(&k);
                    (k, g)
                })
                .collect();
            sched.set_keys(keys, Cause::Reload, Instant::now());
        }
    }
}
