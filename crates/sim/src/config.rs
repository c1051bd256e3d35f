//! How the simulator behaves: timings of long-running operations and revisions, latency, throttling.

use std::time::Duration;

/// A token bucket: `capacity` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BucketConfig {
    pub capacity: f64,
    pub per_second: f64,
}

/// ARM's usual page of container apps and environments.
pub const DEFAULT_PAGE_SIZE: usize = 20;

#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    /// Added to every ARM request before it is answered (ARM round trips are ~50-150 ms).
    pub latency: Duration,
    /// How long a PUT/PATCH/DELETE stays `InProgress` before it ends `Succeeded` (or `Failed`).
    pub lro_duration: Duration,
    /// How long a new revision takes from creation until its replicas run.
    pub revision_start: Duration,
    /// Single revision mode: how long the previous revision keeps its replicas after the new one
    /// is ready. Container Apps keeps the old revision until the new one is ready, then drains it.
    pub overlap: Duration,
    /// How long a deactivated revision takes to reach zero replicas.
    pub stop_delay: Duration,
    /// Whether the per-subscription throttle applies.
    pub throttle: bool,
    /// ARM's published per-subscription limits (token bucket, 2024 algorithm):
    /// reads 250 bucket / 25 per second, writes 200 / 10, deletes 200 / 10.
    /// Source: learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling
    pub reads: BucketConfig,
    pub writes: BucketConfig,
    pub deletes: BucketConfig,
    /// Items per page of every list (`nextLink` pages the rest), as ARM pages them.
    pub page_size: usize,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            latency: Duration::ZERO,
            lro_duration: Duration::from_millis(300),
            revision_start: Duration::from_millis(400),
            overlap: Duration::from_millis(600),
            stop_delay: Duration::from_millis(200),
            throttle: true,
            reads: BucketConfig {
                capacity: 250.0,
                per_second: 25.0,
            },
            writes: BucketConfig {
                capacity: 200.0,
                per_second: 10.0,
            },
            deletes: BucketConfig {
                capacity: 200.0,
                per_second: 10.0,
            },
            page_size: DEFAULT_PAGE_SIZE,
        }
    }
}
