//! The daemon on an in-memory ARM under paused time: what happens to a stack whose pass panics.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aca_arm::{ArmError, ArmResult, RevisionAction, Tagged};
use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision, Secret};
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

/// An ARM whose first read panics; every later read fails as a transient error, so each pass
/// after the panic runs to its end.
#[derive(Default)]
struct PanicsOnce {
    reads: AtomicUsize,
    read: Notify,
}

impl PanicsOnce {
    fn read<T>(&self) -> ArmResult<T> {
        let n = self.reads.fetch_add(1, Ordering::SeqCst);
        self.read.notify_one();
        if n == 0 {
            panic!("injected: the first ARM read of the pass panics");
        }
        Err(ArmError::Transient {
            status: Some(503),
            message: "in-memory ARM is down".into(),
        })
    }
}

#[async_trait]
impl ArmApi for PanicsOnce {
    async fn get_environment(&self, _: &ResourceId) -> ArmResult<ManagedEnvironment> {
        self.read()
    }
    async fn list_storages(&self, _: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>> {
        self.read()
    }
    async fn find_app(&self, _: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        self.read()
    }
    async fn list_secrets(&self, _: &ResourceId) -> ArmResult<Vec<Secret>> {
        self.read()
    }
    async fn list_revisions(&self, _: &ResourceId) -> ArmResult<Vec<Revision>> {
        self.read()
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
        self.read()
    }
    async fn snapshot_share(&self, _: &ResourceId, _: Option<&str>) -> ArmResult<FileShare> {
        unreachable!("no pass gets far enough to write")
    }
}

fn daemon(api: Arc<PanicsOnce>, metrics: Arc<Metrics>, cancel: CancellationToken) -> Daemon {
    Daemon {
        api,
        arm_stats: None,
        metrics,
        health: Arc::new(Health::default()),
        status: Arc::new(StatusBoard::default()),
        leadership: Leadership::sole(),
        cancel,
        interval_override: None,
        max_concurrent: 4,
        per_subscription: 2,
        initial_spread: None,
        shutdown_timeout: Duration::from_secs(5),
    }
}

#[tokio::test(start_paused = true)]
async fn a_pass_that_panics_frees_its_stack_and_it_runs_again() {
    let text = include_str!("../../../../deploy/examples/langfuse.yaml");
    let state = aca_model::desired::load_str(text, "langfuse.yaml").expect("the example loads").state;
    let interval = state.stacks[0].interval;
    assert_eq!(interval, Duration::from_secs(30));
    let api = Arc::new(PanicsOnce::default());
    let metrics = Arc::new(Metrics::new());
    let cancel = CancellationToken::new();
    let (_state_tx, state_rx) = watch::channel(Arc::new(state));
    let (_leader_tx, leader_rx) = watch::channel(true);
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
    assert!(
        text.lines()
            .any(|l| l.starts_with("aca_reconcile_passes_total{") && l.ends_with(" 1")),
        "{text}"
    );

    cancel.cancel();
    run.await.expect("the daemon stops on cancel");
}
