//! The write fence: the window, on a monotonic clock, in which this replica may write to ARM.
//!
//! Leader election sets the window (`last successful renewal sent + lease − margin`); the client
//! checks it before **every attempt** of a write, inside the retry loop, not once per request:
//! - an attempt that would start at or after the window's end is not sent;
//! - a retry whose wait (`Retry-After`) would end at or after it is abandoned at once;
//! - when the window ends or is closed, waits and retries in flight are cancelled.
//!
//! Abandoned writes fail with [`Fenced`]; nothing is retried later by this replica: the next leader's
//! pass re-plans from a fresh read. The clock is `tokio::time::Instant` (monotonic, and paused in
//! tests); a process paused by SIGSTOP finds its window over when it resumes.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use aca_arm_api::Fenced;

/// Until when writes are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Window {
    /// No election: always.
    Always,
    /// Until this instant (exclusive).
    Until(Instant),
    /// Not the leader.
    Closed,
}

/// Shared by the election (which moves the window) and every clone of the ARM client (which checks
/// it). Cheap to clone.
#[derive(Debug, Clone)]
pub struct WriteFence {
    window: Arc<watch::Sender<Window>>,
}

impl WriteFence {
    /// Writes always allowed: a single replica, no election.
    pub fn always_open() -> Self {
        WriteFence {
            window: Arc::new(watch::Sender::new(Window::Always)),
        }
    }

    /// Writes refused until [`WriteFence::open_until`].
    pub fn closed() -> Self {
        WriteFence {
            window: Arc::new(watch::Sender::new(Window::Closed)),
        }
    }

    /// Allows writes until `end` (exclusive). The election calls this after each successful acquire
    /// or renewal with `sent + lease − margin`.
    pub fn open_until(&self, end: Instant) {
        self.window.send_replace(Window::Until(end));
    }

    /// Refuses writes from now on (lease lost, released, or refused by storage).
    pub fn close(&self) {
        self.window.send_replace(Window::Closed);
    }

    /// Whether an attempt may start now.
    pub fn allows_now(&self) -> bool {
        self.check(Duration::ZERO).is_ok()
    }

    /// Whether an attempt may start `after` from now (now for `Duration::ZERO`).
    pub fn check(&self, after: Duration) -> Result<(), Fenced> {
        let now = Instant::now();
        match *self.window.borrow() {
            Window::Closed => Err(Fenced::NotHeld),
            Window::Always => Ok(()),
            Window::Until(end) if now >= end => Err(Fenced::WindowEnded { late: now - end }),
            Window::Until(end) if now + after >= end => Err(Fenced::WaitBeyondWindow {
                wait: after,
                left: end - now,
            }),
            Window::Until(_) => Ok(()),
        }
    }

    /// Resolves once writes are no longer allowed: the window closed or its end passed. Never
    /// resolves while the window has no end.
    pub async fn lost(&self) {
        let mut rx = self.window.subscribe();
        loop {
            let window = *rx.borrow_and_update();
            match window {
                Window::Closed => return,
                Window::Until(end) if Instant::now() >= end => return,
                Window::Until(end) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(end) => {}
                        changed = rx.changed() => if changed.is_err() { return },
                    }
                }
                Window::Always => {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }

    /// The transitions of "writes allowed", for whoever reports leadership.
    pub fn transitions(&self) -> Transitions {
        Transitions {
            rx: self.window.subscribe(),
            last: None,
        }
    }
}

impl Window {
    fn allows(self, now: Instant) -> bool {
        match self {
            Window::Always => true,
            Window::Until(end) => now < end,
            Window::Closed => false,
        }
    }
}

/// Yields each change of "writes allowed" the moment it happens: a window opened, closed, or its
/// end passing.
#[derive(Debug)]
pub struct Transitions {
    rx: watch::Receiver<Window>,
    last: Option<bool>,
}

impl Transitions {
    /// The current state the first time; then waits for it to change and returns the new one.
    pub async fn next(&mut self) -> bool {
        loop {
            let window = *self.rx.borrow_and_update();
            let now = Instant::now();
            let allowed = window.allows(now);
            if self.last != Some(allowed) {
                self.last = Some(allowed);
                return allowed;
            }
            let changed = match window {
                Window::Until(end) if now < end => tokio::select! {
                    _ = tokio::time::sleep_until(end) => Ok(()),
                    changed = self.rx.changed() => changed,
                },
                _ => self.rx.changed().await,
            };
            if changed.is_err() {
                // The fence is gone: nothing will change any more.
                std::future::pending::<()>().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE_WINDOW: Duration = Duration::from_secs(12);

    #[tokio::test(start_paused = true)]
    async fn an_attempt_inside_the_window_is_allowed_and_refused_at_its_edge() {
        let fence = WriteFence::closed();
        assert_eq!(fence.check(Duration::ZERO), Err(Fenced::NotHeld));
        fence.open_until(Instant::now() + LEASE_WINDOW);
        assert!(fence.allows_now());
        tokio::time::advance(LEASE_WINDOW - Duration::from_millis(1)).await;
        assert!(fence.allows_now(), "1 ms before the end");
        assert_eq!(
            fence.check(Duration::from_millis(1)),
            Err(Fenced::WaitBeyondWindow {
                wait: Duration::from_millis(1),
                left: Duration::from_millis(1)
            }),
            "an attempt that would start at the end"
        );
        tokio::time::advance(Duration::from_millis(1)).await;
        assert_eq!(
            fence.check(Duration::ZERO),
            Err(Fenced::WindowEnded { late: Duration::ZERO })
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_past_the_window_is_refused_up_front() {
        let fence = WriteFence::closed();
        fence.open_until(Instant::now() + LEASE_WINDOW);
        assert!(fence.check(Duration::from_secs(2)).is_ok());
        assert!(matches!(
            fence.check(Duration::from_secs(25)),
            Err(Fenced::WaitBeyondWindow { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn lost_resolves_at_the_end_of_the_window_or_when_closed() {
        let fence = WriteFence::closed();
        let start = Instant::now();
        fence.open_until(start + LEASE_WINDOW);
        let lost = tokio::spawn({
            let fence = fence.clone();
            async move {
                fence.lost().await;
                Instant::now()
            }
        });
        // A renewal moves the end: the window now ends 5 s later.
        tokio::time::advance(Duration::from_secs(5)).await;
        fence.open_until(start + LEASE_WINDOW + Duration::from_secs(5));
        assert_eq!(lost.await.unwrap() - start, LEASE_WINDOW + Duration::from_secs(5));

        fence.open_until(Instant::now() + LEASE_WINDOW);
        let lost = tokio::spawn({
            let fence = fence.clone();
            async move {
                fence.lost().await;
                Instant::now()
            }
        });
        tokio::time::advance(Duration::from_secs(1)).await;
        let closed_at = Instant::now();
        fence.close();
        assert_eq!(lost.await.unwrap(), closed_at);
        assert!(!fence.allows_now());
    }

    #[tokio::test(start_paused = true)]
    async fn always_open_never_ends() {
        let fence = WriteFence::always_open();
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert!(fence.allows_now());
        assert!(
            tokio::time::timeout(Duration::from_secs(3600), fence.lost())
                .await
                .is_err()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn transitions_come_the_moment_the_window_ends() {
        let fence = WriteFence::closed();
        let mut t = fence.transitions();
        assert!(!t.next().await);
        let start = Instant::now();
        fence.open_until(start + LEASE_WINDOW);
        assert!(t.next().await);
        // Renewals that keep writes allowed are not transitions.
        fence.open_until(start + LEASE_WINDOW * 2);
        assert!(!t.next().await);
        assert_eq!(Instant::now() - start, LEASE_WINDOW * 2);
    }
}
