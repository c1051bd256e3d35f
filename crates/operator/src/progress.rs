//! Progress during long waits: a spinner on a terminal, else a log line every few seconds, so a
//! slow or unreachable endpoint is never mistaken for a hang.

use std::future::Future;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::time::Instant;

/// How often a wait is logged when no spinner shows.
pub const EVERY: Duration = Duration::from_secs(5);

/// Runs `work` and says what it is doing while it lasts: `what` is a phrase such as
/// "observing stack `langfuse`".
pub async fn while_waiting<T>(what: &str, work: impl Future<Output = T>) -> T {
    let spinner = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(what.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let out = with_ticks(work, EVERY, |waited| {
        if spinner.is_none() {
            tracing::info!(event = "waiting", what, waited_s = waited.as_secs(), "still {what}");
        }
    })
    .await;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    out
}

/// Runs `work`, calling `on_tick` with the time waited every `every` until it ends.
async fn with_ticks<T>(work: impl Future<Output = T>, every: Duration, mut on_tick: impl FnMut(Duration)) -> T {
    let start = Instant::now();
    let mut ticks = tokio::time::interval_at(start + every, every);
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return out,
            _ = ticks.tick() => on_tick(start.elapsed()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_long_wait_is_reported_every_few_seconds_and_a_short_one_not_at_all() {
        let mut seen = Vec::new();
        let out = with_ticks(tokio::time::sleep(Duration::from_secs(12)), EVERY, |w| {
            seen.push(w.as_secs())
        })
        .await;
        assert_eq!(out, ());
        assert_eq!(seen, vec![5, 10]);
        let mut seen = Vec::new();
        with_ticks(tokio::time::sleep(Duration::from_secs(2)), EVERY, |w| {
            seen.push(w.as_secs())
        })
        .await;
        assert!(seen.is_empty());
    }
}
