//! ARM's per-subscription throttle: a token bucket each for reads, writes and deletes.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{BucketConfig, SimConfig};

/// What ARM counts a request as: GET/HEAD are reads, DELETE deletes, everything else writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RequestKind {
    Read,
    Write,
    Delete,
}

impl RequestKind {
    pub fn of(method: &str) -> Self {
        match method {
            "GET" | "HEAD" => RequestKind::Read,
            "DELETE" => RequestKind::Delete,
            _ => RequestKind::Write,
        }
    }

    /// The suffix of ARM's `x-ms-ratelimit-remaining-subscription-*` header.
    pub fn header_suffix(self) -> &'static str {
        match self {
            RequestKind::Read => "reads",
            RequestKind::Write => "writes",
            RequestKind::Delete => "deletes",
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

#[derive(Debug, Default)]
pub struct Throttle {
    buckets: HashMap<(String, RequestKind), Bucket>,
}

/// The throttle's answer: allowed with `remaining` tokens, or refused until `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Admission {
    Allowed { remaining: u64 },
    Throttled { retry_after: Duration },
}

impl Throttle {
    pub fn admit(&mut self, config: &SimConfig, subscription: &str, kind: RequestKind, now: Instant) -> Admission {
        let limits = match kind {
            RequestKind::Read => config.reads,
            RequestKind::Write => config.writes,
            RequestKind::Delete => config.deletes,
        };
        if !config.throttle {
            return Admission::Allowed {
                remaining: limits.capacity as u64,
            };
        }
        let bucket = self
            .buckets
            .entry((subscription.to_ascii_lowercase(), kind))
            .or_insert(Bucket {
                tokens: limits.capacity,
                updated: now,
            });
        refill(bucket, limits, now);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Admission::Allowed {
                remaining: bucket.tokens.floor() as u64,
            }
        } else {
            let wait = (1.0 - bucket.tokens) / limits.per_second;
            Admission::Throttled {
                retry_after: Duration::from_secs_f64(wait),
            }
        }
    }
}

fn refill(bucket: &mut Bucket, limits: BucketConfig, now: Instant) {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * limits.per_second).min(limits.capacity);
    bucket.updated = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn empties_then_refills_at_the_configured_rate() {
        let config = SimConfig {
            reads: BucketConfig {
                capacity: 3.0,
                per_second: 2.0,
            },
            ..SimConfig::default()
        };
        let mut t = Throttle::default();
        let now = Instant::now();
        for left in [2, 1, 0] {
            assert_eq!(
                t.admit(&config, "s", RequestKind::Read, now),
                Admission::Allowed { remaining: left }
            );
        }
        let Admission::Throttled { retry_after } = t.admit(&config, "s", RequestKind::Read, now) else {
            panic!()
        };
        assert_eq!(retry_after, Duration::from_millis(500));
        // Writes and other subscriptions have their own buckets.
        assert!(matches!(
            t.admit(&config, "s", RequestKind::Write, now),
            Admission::Allowed { .. }
        ));
        assert!(matches!(
            t.admit(&config, "other", RequestKind::Read, now),
            Admission::Allowed { .. }
        ));
        let later = now + Duration::from_millis(500);
        assert_eq!(
            t.admit(&config, "s", RequestKind::Read, later),
            Admission::Allowed { remaining: 0 }
        );
    }
}
