//! Keeps the reflector (the cache the passes read, `aca_reconcile::Reflector`) filled: a full
//! resync from the subscription LISTs at start, every `--resync`, and at once when the set of
//! stacks changes. Each resync is logged (`event="resync"`, its duration and LIST pages) and
//! counted (`aca_resyncs_total{result}`).

use std::sync::Arc;
use std::time::Duration;

use aca_model::desired::DesiredState;
use aca_reconcile::Reflector;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::metrics::{Metrics, ReloadLabels};

/// After a failed resync, the next one comes after this (or `every`, if shorter): the passes
/// read ARM directly until then for what the cache does not hold.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

pub async fn keep_in_sync(
    reflector: Arc<Reflector>,
    mut desired: watch::Receiver<Arc<DesiredState>>,
    every: Duration,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let stacks = desired.borrow_and_update().stacks.clone();
    reflector.set_scope(&stacks);
    loop {
        let ok = resync_once(&reflector, &metrics).await;
        let wait = if ok { every } else { every.min(RETRY_AFTER_FAILURE) };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => break,
                changed = desired.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let stacks = desired.borrow_and_update().stacks.clone();
                    // New stacks or subscriptions: the cache serves nothing until it is refilled.
                    if reflector.set_scope(&stacks) {
                        break;
                    }
                }
            }
        }
    }
}

async fn resync_once(reflector: &Reflector, metrics: &Metrics) -> bool {
    let result = |r: &str| ReloadLabels { result: r.into() };
    match reflector.resync().await {
        Ok(done) => {
            metrics.resyncs.get_or_create(&result("ok")).inc();
            tracing::info!(
                event = "resync",
                duration_ms = done.duration.as_millis() as u64,
                pages = done.pages,
                subscriptions = done.subscriptions,
                apps = done.apps,
                "cache refilled from the subscription lists"
            );
            true
        }
        Err(e) => {
            metrics.resyncs.get_or_create(&result("error")).inc();
            tracing::warn!(event = "resync_failed", reason = %e, "cache not refilled; passes read ARM for what it does not hold");
            false
        }
    }
}
