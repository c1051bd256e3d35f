//! The client-side throttle: a token bucket per subscription for reads and for writes, so a large
//! pass slows itself down instead of collecting 429s. ARM's `x-ms-ratelimit-remaining-subscription-*`
//! headers pull the local bucket down when other callers share the subscription's budget.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Rates and bursts per subscription. The defaults stay just under ARM's published limits
/// (reads 250 / 25 per second, writes 200 / 10 per second; learn.microsoft.com, "Understand how
/// Azure Resource Manager throttles requests").
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThrottleSettings {
    pub reads_per_second: f64,
    pub read_burst: f64,
    pub writes_per_second: f64,
    pub write_burst: f64,
}

impl Default for ThrottleSettings {
    /// 99% of ARM's rates and bursts: ARM's remaining-requests headers keep the local buckets in
    /// step, so a thin margin is enough to stay clear of 429s while using the whole budget.
    fn default() -> Self {
        ThrottleSettings {
            reads_per_second: 24.75,
            read_burst: 247.0,
            writes_per_second: 9.9,
            write_burst: 198.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Budget {
    Reads,
    Writes,
}

impl Budget {
    pub(crate) fn of(method: &str) -> Self {
        if method.eq_ignore_ascii_case("GET") || method.eq_ignore_ascii_case("HEAD") {
            Budget::Reads
        } else {
            Budget::Writes
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug)]
pub(crate) struct ClientThrottle {
    settings: ThrottleSettings,
    buckets: Mutex<HashMap<(String, Budget), Bucket>>,
}

impl ClientThrottle {
    pub(crate) fn new(settings: ThrottleSettings) -> Self {
        ClientThrottle {
            settings,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn limits(&self, budget: Budget) -> (f64, f64) {
        match budget {
            Budget::Reads => (self.settings.reads_per_second, self.settings.read_burst),
            Budget::Writes => (self.settings.writes_per_second, self.settings.write_burst),
        }
    }

    /// Takes a token now, or tells how long until one is available.
    fn try_take(&self, subscription: &str, budget: Budget, now: Instant) -> Option<Duration> {
        let (rate, burst) = self.limits(budget);
        let mut buckets = self.buckets.lock().expect("throttle lock");
        let b = buckets
            .entry((subscription.to_ascii_lowercase(), budget))
            .or_insert(Bucket {
                tokens: burst,
                updated: now,
            });
        b.tokens = (b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate).min(burst);
        b.updated = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }

    /// Waits for a token; returns how long it waited.
    pub(crate) async fn acquire(&self, subscription: &str, budget: Budget) -> Duration {
        let start = Instant::now();
        while let Some(wait) = self.try_take(subscription, budget, Instant::now()) {
            tokio::time::sleep(wait).await;
        }
        start.elapsed()
    }

    /// ARM said how many requests remain: never believe we have more than that.
    pub(crate) fn observe_remaining(&self, subscription: &str, budget: Budget, remaining: u64) {
        let mut buckets = self.buckets.lock().expect("throttle lock");
        if let Some(b) = buckets.get_mut(&(subscription.to_ascii_lowercase(), budget)) {
            b.tokens = b.tokens.min(remaining as f64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_steady_rate() {
        let t = ClientThrottle::new(ThrottleSettings {
            reads_per_second: 10.0,
            read_burst: 5.0,
            ..ThrottleSettings::default()
        });
        for _ in 0..5 {
            assert_eq!(t.acquire("s", Budget::Reads).await, Duration::ZERO);
        }
        let waited = t.acquire("s", Budget::Reads).await;
        assert!((99..=101).contains(&waited.as_millis()), "{waited:?}");
        // Another subscription has its own budget.
        assert_eq!(t.acquire("other", Budget::Reads).await, Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn remaining_headers_pull_the_bucket_down() {
        let t = ClientThrottle::new(ThrottleSettings {
            reads_per_second: 10.0,
            read_burst: 100.0,
            ..ThrottleSettings::default()
        });
        t.acquire("s", Budget::Reads).await;
        t.observe_remaining("s", Budget::Reads, 0);
        let waited = t.acquire("s", Budget::Reads).await;
        assert!(waited >= Duration::from_millis(99), "{waited:?}");
    }
}
