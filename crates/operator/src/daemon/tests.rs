//! The daemon on an in-memory ARM under paused time: a pass that panics, leadership gained, a reload.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aca_arm::{ArmError, ArmResult, RevisionAction, Tagged};
use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision, Secret};
use aca_model::desired::DesiredState;
use aca_reconcile::ArmApi;
use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Daemon;
use crate::http::Health;
use crate::leader::Leadership;
use crate::metrics::Metrics;
use crate::status::StatusBoard;

/// An in-memory ARM with the environment and none of the apps. With `panic_first`, its first
/// read panics. The daemons here are followers (`apply` off), so nothing is ever written.
#[derive(Default)]
struct FakeArm {
    panic_first: bool,
    reads: AtomicUsize,
    read: Notify,
}

impl FakeArm {
    fn read<T>(&self, value: T) -> ArmResult<T> {
        let n = self.reads.fetch_add(1, Ordering::SeqCst);
        self.read.notify_one();
        if n == 0 && self.panic_first {
            panic!("injected: the first ARM read of the pass panics");
        }
        Ok(value)
    }
}

#[async_trait]
impl ArmApi for FakeArm {
    async fn get_environment(&self, _: &ResourceId) -> ArmResult<ManagedEnvironment> {
        self.read(ManagedEnvironment::default())
    }
    async fn list_storages(&self, _: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>> {
        self.read(Vec::new())
    }
    async fn find_app(&self, _: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        self.read(None)
    }
    async fn list_secrets(&self, _: &ResourceId) -> ArmResult<Vec<Secret>> {
        self.read(Vec::new())
    }
    async fn list_apps(&self, _: &str, _: &str) -> ArmResult<Vec<ContainerApp>> {
        self.read(Vec::new())
    }
    async fn list_revisions(&self, _: &ResourceId) -> ArmResult<Vec<Revision>> {
        self.read(Vec::new())
    }
    async fn create_app(&self, _: &ResourceId, _: &ContainerApp) -> ArmResult<ContainerApp> {
        unreachable!("no pass gets far enough to write")
    }
    async fn update_app(&self, _: &ResourceId, _: &Value) -> ArmResult<ContainerApp> {
        unreachable!("no pass gets far enough to write")
    }
    async fn revision_action(&self, _: &ResourceId, _: &str, _: RevisionAction) -> ArmResult<()> {
        unreachable!("no pass gets far enough to write")
    }
    async fn get_share(&self, _: &ResourceId) -> ArmResult<Tagged<FileShare>> {
        Err(ArmError::NotFound {
            code: "ShareNotFound".into(),
            message: "no shares in the in-memory ARM".into(),
        })
    }
    async fn snapshot_share(&self, _: &ResourceId, _: Option<&str>) -> ArmResult<FileShare> {
        unreachable!("no pass gets far enough to write")
    }
}

fn daemon(api: Arc<FakeArm>, metrics: Arc<Metrics>, cancel: CancellationToken) -> Daemon {
    Daemon {
        api,
        metrics,
        health: Arc::new(Health::default()),
        status: Arc::new(StatusBoard::default()),
        leadership: Leadership::elected(),
        cancel,
        interval_override: None,
        max_concurrent: 4,
        per_subscription: 2,
        initial_spread: None,
        shutdown_timeout: Duration::from_secs(5),
        triggers: Default::default(),
        start_after: Default::default(),
    }
}

/// One stack of one app, every 30 s.
fn example() -> DesiredState {
    let text = "stacks:
  - name: s
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg
    environment: env
    interval: 30s
    apps:
      web:
        name: web-app
        containers: [{ name: web, image: web:2, cpu: 0.5, memory: 1Gi }]
";
    let state = aca_model::desired::load_str(text, "s.yaml")
        .expect("the stack loads")
        .state;
    assert_eq!(state.stacks[0].interval, Duration::from_secs(30));
    state
}

/// Passes recorded so far, by result.
fn passes(metrics: &Metrics, result: &str) -> u64 {
    let label = format!("result=\"{result}\"");
    metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with("aca_reconcile_passes_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// Waits (in paused time) until `n` passes ended well, and says when.
async fn until_passes(metrics: &Metrics, n: u64, within: Duration) -> Instant {
    tokio::time::timeout(within, async {
        while passes(metrics, "ok") < n {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Instant::now()
    })
    .await
    .unwrap_or_else(|_| panic!("{n} passes within {within:?}; {}", metrics.encode()))
}

#[tokio::test(start_paused = true)]
async fn a_pass_that_panics_frees_its_stack_and_it_runs_again() {
    let state = example();
    let interval = state.stacks[0].interval;
    let api = Arc::new(FakeArm {
        panic_first: true,
        ..FakeArm::default()
    });
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let (_state_tx, state_rx) = watch::channel(Arc::new(state));
    let (_leader_tx, leader_rx) = watch::channel(false);
    let start = Instant::now();
    let run = tokio::spawn(daemon(api.clone(), metrics.clone(), cancel.clone()).run(state_rx, leader_rx));

    // The first pass starts at once and panics on its first read.
    api.read.notified().await;
    assert_eq!(api.reads.load(Ordering::SeqCst), 1);
    // The stack is freed and retried after the controller's panic backoff (1 s, jittered),
    // well before its 30 s interval: before the controller, it never ran again.
    tokio::time::timeout(Duration::from_secs(5), async {
        while api.reads.load(Ordering::SeqCst) < 2 {
            api.read.notified().await;
        }
    })
    .await
    .expect("the stack ran again after its pass panicked");
    let retried_after = start.elapsed();
    assert!(
        retried_after >= Duration::from_millis(900) && retried_after < interval,
        "retried after {retried_after:?}"
    );
    // The panic was counted, and the retried pass ran to its end and was recorded (the
    // panicked one was not).
    tokio::time::sleep(Duration::from_millis(10)).await;
    let text = metrics.encode();
    assert!(text.lines().any(|l| l == "aca_reconcile_panics_total 1"), "{text}");
    assert_eq!(passes(&metrics, "ok"), 1, "{text}");
    assert_eq!(passes(&metrics, "error"), 0, "{text}");

    cancel.cancel();
    run.await.expect("the daemon stops on cancel");
}

#[tokio::test(start_paused = true)]
async fn leadership_gained_and_a_reload_run_the_stack_at_once_not_at_its_interval() {
    let state = example();
    let interval = state.stacks[0].interval;
    let api = Arc::new(FakeArm::default());
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let (state_tx, state_rx) = watch::channel(Arc::new(state.clone()));
    let (leader_tx, leader_rx) = watch::channel(false);
    let run = tokio::spawn(daemon(api.clone(), metrics.clone(), cancel.clone()).run(state_rx, leader_rx));
    until_passes(&metrics, 1, Duration::from_secs(1)).await;
    tokio::time::sleep(interval / 3).await;
    assert_eq!(passes(&metrics, "ok"), 1, "nothing runs before the interval");

    // Leadership gained: the stack runs now, not 20 s later at its interval.
    let gained = Instant::now();
    leader_tx.send(true).expect("the daemon listens");
    let ran = until_passes(&metrics, 2, Duration::from_secs(1)).await;
    assert!(
        ran - gained < Duration::from_millis(100),
        "ran {:?} after",
        ran - gained
    );

    // A reload of the desired state: again at once.
    tokio::time::sleep(interval / 3).await;
    let reloaded = Instant::now();
    state_tx.send(Arc::new(state)).expect("the daemon listens");
    let ran = until_passes(&metrics, 3, Duration::from_secs(1)).await;
    assert!(
        ran - reloaded < Duration::from_millis(100),
        "ran {:?} after",
        ran - reloaded
    );
    assert_eq!(passes(&metrics, "error"), 0);

    cancel.cancel();
    run.await.expect("the daemon stops on cancel");
}

#[tokio::test(start_paused = true)]
async fn the_stacks_start_when_the_first_fill_was_tried_or_after_the_longest_wait() {
    // Filled after 5 s: the first pass follows it, not before.
    let api = Arc::new(FakeArm::default());
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let (_state_tx, state_rx) = watch::channel(Arc::new(example()));
    let (_leader_tx, leader_rx) = watch::channel(false);
    let (filled_tx, filled_rx) = tokio::sync::oneshot::channel::<()>();
    let d = daemon(api.clone(), metrics.clone(), cancel.clone());
    let health = d.health.clone();
    *d.start_after.lock().unwrap() = Some(Box::pin(async move {
        let _ = filled_rx.await;
    }));
    let start = Instant::now();
    let run = tokio::spawn(d.run(state_rx, leader_rx));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(api.reads.load(Ordering::SeqCst), 0, "no read before the fill");
    // Not ready while waiting: the stack is known and has not been reconciled.
    assert_eq!(health.stale(), vec!["s".to_string()]);
    filled_tx.send(()).unwrap();
    let first = until_passes(&metrics, 1, Duration::from_secs(1)).await;
    assert!(first.duration_since(start) >= Duration::from_secs(5));
    cancel.cancel();
    run.await.unwrap();

    // A fill that never ends: the stacks start after START_WAIT all the same.
    let api = Arc::new(FakeArm::default());
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let (_state_tx, state_rx) = watch::channel(Arc::new(example()));
    let (_leader_tx, leader_rx) = watch::channel(false);
    let d = daemon(api.clone(), metrics.clone(), cancel.clone());
    *d.start_after.lock().unwrap() = Some(Box::pin(std::future::pending()));
    let start = Instant::now();
    let run = tokio::spawn(d.run(state_rx, leader_rx));
    tokio::time::sleep(super::START_WAIT - Duration::from_millis(10)).await;
    assert_eq!(api.reads.load(Ordering::SeqCst), 0, "still waiting for the fill");
    let first = until_passes(&metrics, 1, Duration::from_secs(1)).await;
    assert!(first.duration_since(start) >= super::START_WAIT);
    cancel.cancel();
    run.await.unwrap();
}
