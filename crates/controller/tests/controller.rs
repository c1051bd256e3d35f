//! The controller's contract under paused tokio time: every run's key, instant and causes are
//! recorded and compared exactly. Reconciles "work" by sleeping on the paused clock.

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aca_controller::{Action, Backoff, Cause, Config, Controller, Request, Trigger};
use futures_util::Stream;
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

const S: Duration = Duration::from_secs(1);

/// Exact timing: no jitter, no resync unless a test asks.
fn config() -> Config {
    Config {
        jitter: 0.0,
        resync: None,
        seed: Some(1),
        ..Config::default()
    }
}

type Key = &'static str;

/// A trigger stream fed by `send_at`.
fn channel() -> (
    mpsc::UnboundedSender<Trigger<Key>>,
    impl Stream<Item = Trigger<Key>> + Send + 'static,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|t| (t, rx)) });
    (tx, stream)
}

/// Sends each trigger at its instant (seconds from now); keeps the stream open afterwards.
fn send_at(tx: mpsc::UnboundedSender<Trigger<Key>>, plan: Vec<(u64, Trigger<Key>)>) {
    tokio::spawn(async move {
        let start = Instant::now();
        for (at, trigger) in plan {
            tokio::time::sleep_until(start + Duration::from_secs(at)).await;
            tx.send(trigger).unwrap();
        }
        sleep(100_000 * S).await;
        drop(tx);
    });
}

/// One run: key, start in seconds from the test's start, causes, failures before it.
type Run = (Key, f64, String, u32);

#[derive(Clone)]
struct Log {
    start: Instant,
    runs: Arc<Mutex<Vec<Run>>>,
}

impl Log {
    fn new() -> Self {
        Log {
            start: Instant::now(),
            runs: Arc::default(),
        }
    }

    fn record(&self, r: &Request<Key>) {
        let at = self.start.elapsed().as_secs_f64();
        self.runs
            .lock()
            .unwrap()
            .push((r.key, at, r.causes.to_string(), r.failures));
    }

    /// (key, second) of every run.
    fn at(&self) -> Vec<(Key, f64)> {
        self.runs.lock().unwrap().iter().map(|r| (r.0, r.1)).collect()
    }

    fn causes(&self) -> Vec<String> {
        self.runs.lock().unwrap().iter().map(|r| r.2.clone()).collect()
    }

    /// A reconcile that records its run, works for `work`, and returns `action`.
    fn reconcile(
        &self,
        work: Duration,
        action: Action,
    ) -> impl FnMut(Request<Key>) -> futures_util::future::BoxFuture<'static, Result<Action, Infallible>> + use<> {
        let log = self.clone();
        move |r| {
            log.record(&r);
            Box::pin(async move {
                sleep(work).await;
                Ok(action)
            })
        }
    }
}

fn never(_: &Key, e: &Infallible, _: u32) -> Action {
    match *e {}
}

#[tokio::test(start_paused = true)]
async fn duplicate_triggers_coalesce_into_one_run() {
    let log = Log::new();
    let (tx, triggers) = channel();
    send_at(tx, (0..5).map(|_| (5, Trigger::Key("a", Cause::Watch))).collect());
    let ctl = Controller::new(["a"], config()).triggers(triggers);
    let stats = ctl.stats();
    ctl.run(log.reconcile(2 * S, Action::AwaitChange), never, sleep(100 * S))
        .await;
    assert_eq!(log.at(), [("a", 0.0), ("a", 5.0)]);
    assert_eq!(log.causes(), ["start", "watch"]);
    let s = stats.snapshot();
    assert_eq!((s.triggers, s.coalesced), (5, 4));
}

#[tokio::test(start_paused = true)]
async fn the_earliest_due_time_wins() {
    let log = Log::new();
    let (tx, triggers) = channel();
    send_at(tx, vec![(5, Trigger::Key("a", Cause::Watch))]);
    let ctl = Controller::new(["a"], config()).triggers(triggers);
    ctl.run(
        log.reconcile(Duration::ZERO, Action::Requeue(30 * S)),
        never,
        sleep(70 * S),
    )
    .await;
    // The event at 5 s replaces the requeue due at 30 s; requeues then count from 5 s.
    assert_eq!(log.at(), [("a", 0.0), ("a", 5.0), ("a", 35.0), ("a", 65.0)]);
    // The run at 5 s stands for both: the event and the requeue it replaced.
    assert_eq!(log.causes(), ["start", "requeue+watch", "requeue", "requeue"]);
}

#[tokio::test(start_paused = true)]
async fn a_key_never_runs_twice_at_once_and_a_trigger_during_a_run_runs_it_once_after() {
    let log = Log::new();
    let (tx, triggers) = channel();
    let events = [3, 4, 6, 9].map(|t| (t, Trigger::Key("a", Cause::Watch)));
    send_at(tx, events.into());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (inner, f, m) = (log.clone(), in_flight.clone(), most.clone());
    let reconcile = move |r: Request<Key>| {
        inner.record(&r);
        let (f, m) = (f.clone(), m.clone());
        async move {
            let now = f.fetch_add(1, SeqCst) + 1;
            m.fetch_max(now, SeqCst);
            sleep(10 * S).await;
            f.fetch_sub(1, SeqCst);
            Ok::<_, Infallible>(Action::AwaitChange)
        }
    };
    Controller::new(["a"], config())
        .triggers(triggers)
        .run(reconcile, never, sleep(60 * S))
        .await;
    assert_eq!(most.load(SeqCst), 1, "never two runs of a key at once");
    assert_eq!(log.at(), [("a", 0.0), ("a", 10.0)], "exactly one more run, right after");
}

#[tokio::test(start_paused = true)]
async fn backoff_grows_with_failures_and_resets_on_success() {
    let log = Log::new();
    // fail, fail, fail, ok (requeue 30 s), fail, ok (await)
    let script = Arc::new(Mutex::new(vec![
        Err("boom"),
        Err("boom"),
        Err("boom"),
        Ok(Action::Requeue(30 * S)),
        Err("boom"),
        Ok(Action::AwaitChange),
    ]));
    let inner = log.clone();
    let reconcile = move |r: Request<Key>| {
        inner.record(&r);
        let outcome = script.lock().unwrap().remove(0);
        async move { outcome }
    };
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    let backoff = Backoff { base: S, max: 60 * S };
    let policy = move |_: &Key, _: &&str, failures: u32| {
        seen2.lock().unwrap().push(failures);
        backoff.on_error(true, failures)
    };
    Controller::new(["a"], config())
        .run(reconcile, policy, sleep(100 * S))
        .await;
    let at: Vec<f64> = log.at().iter().map(|r| r.1).collect();
    // 0 fails → 1 s; 1 fails → 2 s; 3 fails → 4 s; 7 ok → 30 s; 37 fails → 1 s again; 38 ok.
    assert_eq!(at, [0.0, 1.0, 3.0, 7.0, 37.0, 38.0]);
    assert_eq!(*seen.lock().unwrap(), [1, 2, 3, 1], "the count resets on success");
    let failures: Vec<u32> = log.runs.lock().unwrap().iter().map(|r| r.3).collect();
    assert_eq!(failures, [0, 1, 2, 3, 0, 1]);
}

#[tokio::test(start_paused = true)]
async fn a_fatal_error_holds_the_key_until_a_trigger_names_it() {
    let log = Log::new();
    let (tx, triggers) = channel();
    send_at(tx, vec![(200, Trigger::Key("a", Cause::Watch))]);
    let fatal = Arc::new(AtomicBool::new(true));
    let inner = log.clone();
    let reconcile = move |r: Request<Key>| {
        inner.record(&r);
        let fail = fatal.swap(false, SeqCst);
        async move { if fail { Err("refused") } else { Ok(Action::AwaitChange) } }
    };
    let backoff = Backoff::default();
    let ctl = Controller::new(
        ["a"],
        Config {
            resync: Some(60 * S),
            ..config()
        },
    )
    .triggers(triggers);
    let stats = ctl.stats();
    let policy = move |_: &Key, _: &&str, n: u32| backoff.on_error(false, n);
    ctl.run(reconcile, policy, sleep(250 * S)).await;
    // Awaiting change: neither backoff nor the 60 s resync retried it; the event at 200 s did.
    assert_eq!(log.at(), [("a", 0.0), ("a", 200.0)]);
    assert_eq!(stats.snapshot().failed, 1);
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_capped_in_total_and_per_group() {
    let log = Log::new();
    let current = Arc::new(Mutex::new((0usize, 0usize, 0usize, 0usize))); // total, A, max total, max A
    let (inner, cur) = (log.clone(), current.clone());
    let reconcile = move |r: Request<Key>| {
        inner.record(&r);
        let cur = cur.clone();
        let in_a = r.key.starts_with('a');
        async move {
            {
                let mut c = cur.lock().unwrap();
                c.0 += 1;
                c.1 += usize::from(in_a);
                c.2 = c.2.max(c.0);
                c.3 = c.3.max(c.1);
            }
            sleep(10 * S).await;
            let mut c = cur.lock().unwrap();
            c.0 -= 1;
            c.1 -= usize::from(in_a);
            Ok::<_, Infallible>(Action::AwaitChange)
        }
    };
    let keys = ["a1", "a2", "a3", "a4", "b1", "b2"];
    Controller::new(
        keys,
        Config {
            concurrency: 3,
            group_concurrency: 2,
            ..config()
        },
    )
    .group_by(|k: &Key| k[..1].to_string())
    .run(reconcile, never, sleep(100 * S))
    .await;
    let (_, _, most, most_a) = *current.lock().unwrap();
    assert_eq!((most, most_a), (3, 2));
    // Group A's third key waits while b1 takes the free slot; nothing waits needlessly.
    let mut at = log.at();
    at.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(y.0)));
    let expected = [
        (0.0, "a1"),
        (0.0, "a2"),
        (0.0, "b1"),
        (10.0, "a3"),
        (10.0, "a4"),
        (10.0, "b2"),
    ];
    assert_eq!(at, expected.map(|(t, k)| (k, t)));
}

#[tokio::test(start_paused = true)]
async fn a_panicking_reconcile_frees_its_key_and_runs_again() {
    let log = Log::new();
    let first = Arc::new(AtomicBool::new(true));
    let inner = log.clone();
    let reconcile = move |r: Request<Key>| {
        inner.record(&r);
        let panic = first.swap(false, SeqCst);
        async move {
            sleep(S).await;
            assert!(!panic, "a forced panic in the reconcile (expected by this test)");
            Ok::<_, Infallible>(Action::AwaitChange)
        }
    };
    let ctl = Controller::new(["a"], config());
    let stats = ctl.stats();
    ctl.run(reconcile, never, sleep(60 * S)).await;
    // Panicked at 1 s; retried after Config::backoff's base (1 s).
    assert_eq!(log.at(), [("a", 0.0), ("a", 2.0)]);
    assert_eq!(log.causes(), ["start", "retry"]);
    let s = stats.snapshot();
    assert_eq!((s.panicked, s.succeeded, s.running), (1, 1, 0));
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_reconcile_frees_its_key_and_runs_again() {
    struct Dropped(Arc<AtomicBool>);
    impl Drop for Dropped {
        fn drop(&mut self) {
            self.0.store(true, SeqCst);
        }
    }
    let log = Log::new();
    let dropped = Arc::new(AtomicBool::new(false));
    let first = Arc::new(AtomicBool::new(true));
    let (inner, d) = (log.clone(), dropped.clone());
    let reconcile = move |r: Request<Key>| {
        inner.record(&r);
        let hang = first.swap(false, SeqCst);
        let guard = Dropped(d.clone());
        async move {
            if hang {
                std::future::pending::<()>().await;
            }
            drop(guard);
            Ok::<_, Infallible>(Action::AwaitChange)
        }
    };
    let ctl = Controller::new(
        ["a"],
        Config {
            timeout: Some(5 * S),
            ..config()
        },
    );
    let stats = ctl.stats();
    ctl.run(reconcile, never, sleep(60 * S)).await;
    assert!(dropped.load(SeqCst), "the hung reconcile's future was dropped");
    // Cancelled at 5 s; retried 1 s later.
    assert_eq!(log.at(), [("a", 0.0), ("a", 6.0)]);
    let s = stats.snapshot();
    assert_eq!((s.cancelled, s.succeeded), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn resync_runs_every_key_without_any_trigger() {
    let log = Log::new();
    Controller::new(
        ["a"],
        Config {
            resync: Some(600 * S),
            ..config()
        },
    )
    .run(log.reconcile(S, Action::AwaitChange), never, sleep(1300 * S))
    .await;
    // Resync counts from the end of each run (1 s of work).
    assert_eq!(log.at(), [("a", 0.0), ("a", 601.0), ("a", 1202.0)]);
    assert_eq!(log.causes(), ["start", "resync", "resync"]);
}

#[tokio::test(start_paused = true)]
async fn resync_is_jittered_so_keys_spread() {
    let log = Log::new();
    let keys: Vec<Key> = vec!["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"];
    Controller::new(
        keys,
        Config {
            resync: Some(600 * S),
            jitter: 0.1,
            ..config()
        },
    )
    .run(
        log.reconcile(Duration::ZERO, Action::AwaitChange),
        never,
        sleep(700 * S),
    )
    .await;
    let second: Vec<f64> = log.at().iter().filter(|r| r.1 > 0.0).map(|r| r.1).collect();
    assert_eq!(second.len(), 8, "every key resynced once: {second:?}");
    assert!(second.iter().all(|t| (540.0..=660.0).contains(t)), "{second:?}");
    let spread = second.iter().cloned().fold(f64::MIN, f64::max) - second.iter().cloned().fold(f64::MAX, f64::min);
    assert!(spread > 10.0, "not all at once: {second:?}");
}

#[tokio::test(start_paused = true)]
async fn a_reload_runs_new_and_kept_keys_and_forgets_removed_ones() {
    let log = Log::new();
    let (tx, triggers) = channel();
    send_at(
        tx,
        vec![(5, Trigger::Keys(vec!["b", "c"])), (8, Trigger::Key("a", Cause::Watch))],
    );
    let ctl = Controller::new(
        ["a", "b"],
        Config {
            resync: Some(60 * S),
            ..config()
        },
    )
    .triggers(triggers);
    let stats = ctl.stats();
    ctl.run(
        log.reconcile(Duration::ZERO, Action::AwaitChange),
        never,
        sleep(100 * S),
    )
    .await;
    let mut at = log.at();
    at.sort_by(|x, y| x.1.total_cmp(&y.1).then(x.0.cmp(y.0)));
    assert_eq!(
        at,
        [("a", 0.0), ("b", 0.0), ("b", 5.0), ("c", 5.0), ("b", 65.0), ("c", 65.0)]
    );
    assert_eq!(
        stats.snapshot().unknown_keys,
        1,
        "the event for the removed key was ignored"
    );
}

#[tokio::test(start_paused = true)]
async fn leadership_gained_runs_every_key() {
    let log = Log::new();
    let (tx, triggers) = channel();
    send_at(tx, vec![(5, Trigger::All(Cause::Leadership))]);
    let run = Controller::new(["a", "b"], config()).triggers(triggers).run(
        log.reconcile(Duration::ZERO, Action::AwaitChange),
        never,
        sleep(10 * S),
    );
    // Spawned, as the daemon will: the controller's future is Send.
    tokio::spawn(run).await.unwrap();
    let late: Vec<String> = log
        .runs
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.1 == 5.0)
        .map(|r| r.2.clone())
        .collect();
    assert_eq!(late, ["leadership", "leadership"]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_waits_for_running_reconciles_then_aborts_them() {
    let log = Log::new();
    let start = Instant::now();
    Controller::new(
        ["a"],
        Config {
            shutdown_timeout: 5 * S,
            ..config()
        },
    )
    .run(log.reconcile(100 * S, Action::AwaitChange), never, sleep(S))
    .await;
    assert_eq!(
        start.elapsed(),
        6 * S,
        "shutdown at 1 s + 5 s of grace, not the 100 s run"
    );
    let quick = Log::new();
    let start = Instant::now();
    Controller::new(["a"], config())
        .run(quick.reconcile(2 * S, Action::AwaitChange), never, sleep(S))
        .await;
    assert_eq!(start.elapsed(), 2 * S, "a run that ends within the grace is waited for");
}
