//! Keeps the reflector (the cache the passes read, `aca_reconcile::Reflector`) filled: a full
//! resync from the subscription LISTs at start, every `--resync`, at once when the set of stacks
//! changes, and when this replica becomes leader (its cache may be as old as `--resync`). Each
//! resync is logged (`event="resync"`, its duration and LIST pages) and counted
//! (`aca_resyncs_total{result}`), and then every stack runs on the refilled cache
//! (`Trigger::All(Cause::Resync)`): a change whose event was lost is found by the next resync,
//! whatever the stacks' intervals. Those passes read nothing from ARM in steady state. The first
//! fill triggers nothing: the daemon waits for it ([`Started::filled`]) and starts its stacks then.

use std::sync::Arc;
use std::time::Duration;

use aca_controller::{Cause, Trigger};
use aca_model::desired::DesiredState;
use aca_reconcile::Reflector;
use futures_util::Stream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::metrics::{Metrics, ReloadLabels};

/// After a failed resync, the next one comes after this (or `every`, if shorter): the passes
/// read ARM directly until then for what the cache does not hold.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(30);

/// What the resync task needs besides the reflector.
pub struct Sync {
    pub desired: watch::Receiver<Arc<DesiredState>>,
    pub leader: watch::Receiver<bool>,
    pub every: Duration,
    pub metrics: Arc<Metrics>,
    pub cancel: CancellationToken,
}

/// The resync task's two outputs.
pub struct Started<S> {
    /// A pass of every stack after each successful resync but the first.
    pub triggers: S,
    /// Resolves once the first fill has been tried (filled or failed): the daemon starts its
    /// stacks then, on the filled cache, instead of reading ARM directly while it fills and
    /// once more after it (every stack ran twice at start).
    pub filled: oneshot::Receiver<()>,
}

/// Runs the resyncs until `cancel`.
pub fn start(reflector: Arc<Reflector>, sync: Sync) -> Started<impl Stream<Item = Trigger<String>> + Send + 'static> {
    let (done, resynced) = mpsc::unbounded_channel();
    let (filled_tx, filled) = oneshot::channel();
    tokio::spawn(keep_in_sync(reflector, sync, filled_tx, done));
    let triggers = futures_util::stream::unfold(resynced, |mut resynced| async move {
        resynced.recv().await?;
        Some((Trigger::All(Cause::Resync), resynced))
    });
    Started { triggers, filled }
}

async fn keep_in_sync(
    reflector: Arc<Reflector>,
    sync: Sync,
    filled: oneshot::Sender<()>,
    done: mpsc::UnboundedSender<()>,
) {
    let Sync {
        mut desired,
        mut leader,
        every,
        metrics,
        cancel,
    } = sync;
    let mut watching_leader = true;
    let mut was_leader = *leader.borrow_and_update();
    reflector.set_scope(&desired.borrow_and_update().stacks);
    let mut first = Some(filled);
    loop {
        let ok = resync_once(&reflector, &metrics).await;
        if let Some(filled) = first.take() {
            // The start: the daemon's first passes follow (the receiver may be gone already).
            let _ = filled.send(());
        } else if ok && done.send(()).is_err() {
            return;
        }
        let wait = if ok { every } else { every.min(RETRY_AFTER_FAILURE) };
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep_until(deadline) => break,
                // Without election the sender is gone at once: stop watching it (a closed
                // channel is always ready and would spin this loop).
                gained = leader.changed(), if watching_leader => match gained {
                    Ok(()) => {
                        // Only a real gain: without election the flag is set once at start.
                        let now = *leader.borrow_and_update();
                        let gained = now && !was_leader;
                        was_leader = now;
                        if gained {
                            break;
                        }
                    }
                    Err(_) => watching_leader = false,
                },
                changed = desired.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    // New stacks or subscriptions: the cache serves nothing until it is refilled.
                    // (The stacks are read in place: a copy of thousands of them is megabytes.)
                    let rescoped = reflector.set_scope(&desired.borrow_and_update().stacks);
                    if rescoped {
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
