//! The small value types a reconciler and its trigger sources speak: what to do next
//! ([`Action`]), how retries grow ([`Backoff`]), why a key runs ([`Cause`], [`Causes`]), and what
//! a trigger stream yields ([`Trigger`]).

use std::fmt;
use std::time::Duration;

/// What a reconcile (or the error policy) asks the controller to do next with its key.
///
/// What the reconcile *did* (corrected, alerted) is not the scheduler's business: report it
/// elsewhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Run the key again after this long (jittered by [`crate::Config::jitter`]), or at its
    /// resync, whichever comes first.
    Requeue(Duration),
    /// Run the key again only when a trigger names it (or at its resync, after a success).
    AwaitChange,
}

/// Exponential backoff: `base`, `2 × base`, `4 × base`, ... up to `max`.
///
/// The delay is deterministic; the controller jitters every delay it schedules, so the policy
/// can be tested alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling up to 5 minutes.
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(300),
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempts` (1 = after the first failure).
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(32);
        self.base.saturating_mul(1u32 << doublings.min(31)).min(self.max)
    }

    /// The usual error policy: a transient error is retried with backoff; a fatal one holds the
    /// key until a trigger names it (retrying cannot fix what only a change can).
    pub fn on_error(&self, transient: bool, attempts: u32) -> Action {
        if transient {
            Action::Requeue(self.delay(attempts))
        } else {
            Action::AwaitChange
        }
    }
}

/// Why a key runs. Several causes coalesce into one run ([`Causes`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The key was known when the controller started.
    Start,
    /// The periodic resync came due.
    Resync,
    /// The last reconcile asked for [`Action::Requeue`].
    Requeue,
    /// A retry after a failure (error, panic or timeout).
    Retry,
    /// A watch event named the key.
    Watch,
    /// The set of keys was reloaded (the desired state changed).
    Reload,
    /// This replica gained leadership.
    Leadership,
}

const ALL: [Cause; 7] = [
    Cause::Start,
    Cause::Resync,
    Cause::Requeue,
    Cause::Retry,
    Cause::Watch,
    Cause::Reload,
    Cause::Leadership,
];

impl Cause {
    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// A lowercase name for logs and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Start => "start",
            Cause::Resync => "resync",
            Cause::Requeue => "requeue",
            Cause::Retry => "retry",
            Cause::Watch => "watch",
            Cause::Reload => "reload",
            Cause::Leadership => "leadership",
        }
    }
}

/// The set of causes that coalesced into one run.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Causes(u8);

impl Causes {
    pub fn contains(self, cause: Cause) -> bool {
        self.0 & cause.bit() != 0
    }

    pub fn insert(&mut self, cause: Cause) {
        self.0 |= cause.bit();
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn iter(self) -> impl Iterator<Item = Cause> {
        ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl From<Cause> for Causes {
    fn from(cause: Cause) -> Self {
        let mut c = Causes::default();
        c.insert(cause);
        c
    }
}

impl fmt::Display for Causes {
    /// `watch+resync`, or `-` when empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("-");
        }
        for (i, c) in self.iter().enumerate() {
            if i > 0 {
                f.write_str("+")?;
            }
            f.write_str(c.as_str())?;
        }
        Ok(())
    }
}

impl fmt::Debug for Causes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a trigger stream yields. The controller does not care where a trigger came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger<K> {
    /// Run this key as soon as it may (a watch event): a key not in the set is ignored
    /// and counted.
    Key(K, Cause),
    /// Run every key as soon as it may (leadership gained, a full resync on request).
    All(Cause),
    /// The set of keys is now exactly these (a desired-state reload): new keys are queued,
    /// removed keys are forgotten (a running one finishes first), kept keys run again.
    Keys(Vec<K>),
}

/// One reconcile request, handed to the reconciler.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<K> {
    pub key: K,
    /// Everything that asked for this run since the last one started.
    pub causes: Causes,
    /// Consecutive failures of this key before this run (0 after a success).
    pub failures: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_base_and_stops_at_max() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        let delays: Vec<u64> = (1..=8).map(|n| b.delay(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(60), "no overflow");
        assert_eq!(b.delay(0), Duration::from_secs(1));
    }

    #[test]
    fn transient_errors_back_off_and_fatal_ones_await_a_change() {
        let b = Backoff::default();
        assert_eq!(b.on_error(true, 3), Action::Requeue(Duration::from_secs(4)));
        assert_eq!(b.on_error(false, 3), Action::AwaitChange);
    }

    #[test]
    fn causes_coalesce_and_print_in_a_fixed_order() {
        let mut c = Causes::from(Cause::Watch);
        c.insert(Cause::Resync);
        c.insert(Cause::Watch);
        assert!(c.contains(Cause::Resync) && c.contains(Cause::Watch));
        assert!(!c.contains(Cause::Retry));
        assert_eq!(c.to_string(), "resync+watch");
        assert_eq!(Causes::default().to_string(), "-");
    }
}
