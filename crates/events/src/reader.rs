//! The queue reader: receive a batch, decode, hand the events on, delete what was handled.
//!
//! | situation | what the reader does | what it says |
//! |---|---|---|
//! | a message with resource events | hands each on, then deletes the message | `received`, `decoded` counters |
//! | an undecodable message (poison) | deletes it at once: it never blocks the queue | one WARN `event_poison` with its id, dequeue count and reason, never its body; `poison` counter |
//! | an empty queue | waits [`Settings::idle_poll`] (a queue has no long poll) | nothing |
//! | the queue unreachable or refusing | retries after 1 s, doubling to [`Settings::max_backoff`] | ONE WARN `events_degraded` per outage and the `degraded` flag; INFO `events_recovered` when a receive works again |
//! | a failed delete | goes on; the message comes back after its visibility timeout | WARN `event_delete_failed`; the repeat is a duplicate trigger, which the scheduler coalesces |
//!
//! Events only trigger work: a lost, late or repeated event costs latency, never correctness,
//! because the state is always read from ARM and a resync bounds the delay.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::decode::{ResourceEvent, decode};

/// One received queue message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub id: String,
    pub pop_receipt: String,
    pub dequeue_count: i64,
    pub text: String,
}

/// Why the queue could not be read or a message not deleted. In our words, the cause kept as text
/// (the storage client's errors carry no secrets, but never a message body either).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the queue is unreachable: {0}")]
    Unreachable(String),
    #[error("no token for the queue: {0}")]
    Credential(String),
    #[error("the queue answered {status}: {detail}")]
    Status { status: u16, detail: String },
    #[error("the queue request failed: {0}")]
    Other(String),
}

/// What the reader needs of a queue, so the loop can be tested on paused time with a fake.
#[async_trait::async_trait]
pub trait MessageQueue: Send + Sync {
    /// Up to `max` visible messages (fewer, or none, is normal).
    async fn receive(&self, max: u8) -> Result<Vec<Message>, QueueError>;
    async fn delete(&self, message: &Message) -> Result<(), QueueError>;
}

/// How the reader paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Messages per receive (Azure allows 1-32).
    pub batch: u8,
    /// The wait after an empty receive.
    pub idle_poll: Duration,
    /// The longest wait between attempts while the queue fails.
    pub max_backoff: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            batch: 32,
            idle_poll: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// The watch's counters and state, read by metrics and health while the reader runs.
#[derive(Debug, Default)]
pub struct WatchStats {
    received: AtomicU64,
    decoded: AtomicU64,
    poison: AtomicU64,
    degraded: AtomicBool,
}

/// A copy of [`WatchStats`] at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WatchSnapshot {
    /// Queue messages received (each counted once per delivery).
    pub received: u64,
    /// Resource events decoded from them.
    pub decoded: u64,
    /// Undecodable messages, deleted.
    pub poison: u64,
    /// True while the queue cannot be read.
    pub degraded: bool,
}

impl WatchStats {
    pub fn snapshot(&self) -> WatchSnapshot {
        WatchSnapshot {
            received: self.received.load(Ordering::Relaxed),
            decoded: self.decoded.load(Ordering::Relaxed),
            poison: self.poison.load(Ordering::Relaxed),
            degraded: self.degraded.load(Ordering::Relaxed),
        }
    }
}

/// A running watch: its events and its state.
#[derive(Debug)]
pub struct Watch {
    pub events: mpsc::Receiver<ResourceEvent>,
    pub stats: Arc<WatchStats>,
}

/// Starts reading `queue` until `cancel` (or until the receiver of events is dropped).
pub fn spawn(queue: impl MessageQueue + 'static, settings: Settings, cancel: CancellationToken) -> Watch {
    let (tx, events) = mpsc::channel(1024);
    let stats = Arc::new(WatchStats::default());
    tokio::spawn(run(queue, settings, tx, stats.clone(), cancel));
    Watch { events, stats }
}

/// After `failures` failed receives in a row: 1 s doubling, at most `max`.
fn backoff(failures: u32, max: Duration) -> Duration {
    Duration::from_secs(1)
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(max)
}

/// The reader's loop; see the module's table.
pub async fn run(
    queue: impl MessageQueue,
    settings: Settings,
    tx: mpsc::Sender<ResourceEvent>,
    stats: Arc<WatchStats>,
    cancel: CancellationToken,
) {
    let mut failures = 0u32;
    loop {
        let received = tokio::select! {
            _ = cancel.cancelled() => return,
            r = queue.receive(settings.batch.clamp(1, 32)) => r,
        };
        let pause = match received {
            Err(e) => {
                failures += 1;
                if !stats.degraded.swap(true, Ordering::Relaxed) {
                    tracing::warn!(event = "events_degraded", reason = %e,
                        "the events queue cannot be read: drift is found on the periodic passes until it recovers");
                }
                backoff(failures, settings.max_backoff)
            }
            Ok(messages) => {
                if stats.degraded.swap(false, Ordering::Relaxed) {
                    tracing::info!(
                        event = "events_recovered",
                        failed_attempts = failures,
                        "the events queue is read again"
                    );
                }
                failures = 0;
                let idle = messages.is_empty();
                for m in messages {
                    if !handle(&queue, &m, &tx, &stats).await {
                        return;
                    }
                }
                if idle { settings.idle_poll } else { Duration::ZERO }
            }
        };
        if !pause.is_zero() {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// Decodes one message, hands its events on and deletes it. False when nobody listens any more.
async fn handle(queue: &impl MessageQueue, m: &Message, tx: &mpsc::Sender<ResourceEvent>, stats: &WatchStats) -> bool {
    stats.received.fetch_add(1, Ordering::Relaxed);
    match decode(&m.text) {
        Ok(events) => {
            for e in events {
                stats.decoded.fetch_add(1, Ordering::Relaxed);
                if tx.send(e).await.is_err() {
                    return false;
                }
            }
        }
        Err(why) => {
            stats.poison.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(event = "event_poison", message_id = %m.id, dequeue_count = m.dequeue_count,
                reason = %why, "an undecodable queue message is deleted");
        }
    }
    if let Err(e) = queue.delete(m).await {
        tracing::warn!(event = "event_delete_failed", message_id = %m.id, reason = %e,
            "the message will be delivered again");
    }
    true
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
