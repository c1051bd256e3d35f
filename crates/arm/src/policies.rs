//! Pipeline policies the operator adds to `azure_core`'s: a static token for the simulator, the
//! client-side throttle, the request trace (and counters), a replica tag, and the write fence.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use azure_core::credentials::Secret;
use azure_core::http::headers::HeaderName;
use azure_core::http::policies::{Policy, PolicyResult, RetryPolicyCount};
use azure_core::http::{Context, RawResponse, Request};
use tokio::time::Instant;

use crate::endpoint::is_loopback;
use aca_arm_api::Fenced;

use crate::fence::WriteFence;
use crate::throttle::{Budget, ClientThrottle};

/// Sends a static bearer token, to loopback hosts only (checked on every request).
#[derive(Debug)]
pub(crate) struct StaticTokenPolicy {
    pub token: Secret,
}

#[async_trait]
impl Policy for StaticTokenPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        if !is_loopback(request.url()) {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Credential,
                "the static token is only sent to loopback hosts",
            ));
        }
        request.insert_header("authorization", format!("Bearer {}", self.token.secret()));
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// The subscription a request's path addresses, for the throttle.
fn subscription_of(request: &Request) -> String {
    let mut parts = request.url().path().split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case("subscriptions") {
            return parts.next().unwrap_or_default().to_string();
        }
    }
    String::new()
}

/// Waits for the subscription's budget before each attempt; learns from ARM's remaining headers.
#[derive(Debug)]
pub(crate) struct ThrottlePolicy {
    pub throttle: Arc<ClientThrottle>,
    pub stats: Arc<ArmStats>,
}

#[async_trait]
impl Policy for ThrottlePolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let subscription = subscription_of(request);
        let budget = Budget::of(request.method().as_str());
        let waited = self.throttle.acquire(&subscription, budget).await;
        if !waited.is_zero() {
            self.stats.add_throttle_wait(waited);
        }
        let response = next[0].send(ctx, request, &next[1..]).await?;
        let header = match budget {
            Budget::Reads => "x-ms-ratelimit-remaining-subscription-reads",
            Budget::Writes => "x-ms-ratelimit-remaining-subscription-writes",
        };
        if let Some(remaining) = response
            .headers()
            .get_optional_str(&HeaderName::from_static(header))
            .and_then(|v| v.parse().ok())
        {
            self.throttle.observe_remaining(&subscription, budget, remaining);
        }
        Ok(response)
    }
}

/// Counters of what the client sent, for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct ArmStats {
    inner: Mutex<StatsInner>,
}

#[derive(Debug, Default, Clone)]
struct StatsInner {
    /// `(method, status)` → count; status 0 for requests that got no response.
    requests: BTreeMap<(String, u16), u64>,
    throttle_wait_ms: u64,
}

impl ArmStats {
    fn record(&self, method: &str, status: u16) {
        *self
            .inner
            .lock()
            .expect("stats lock")
            .requests
            .entry((method.to_string(), status))
            .or_default() += 1;
    }

    fn add_throttle_wait(&self, d: std::time::Duration) {
        self.inner.lock().expect("stats lock").throttle_wait_ms += d.as_millis() as u64;
    }

    /// `(method, status, count)` of every attempt so far.
    pub fn requests(&self) -> Vec<(String, u16, u64)> {
        self.inner
            .lock()
            .expect("stats lock")
            .requests
            .iter()
            .map(|((m, s), n)| (m.clone(), *s, *n))
            .collect()
    }

    /// Total time spent waiting for the client-side throttle.
    pub fn throttle_wait(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.inner.lock().expect("stats lock").throttle_wait_ms)
    }
}

/// Traces every attempt: method, resource path (no query, no headers, no body), status, duration,
/// attempt number. Nothing here can carry a token or a secret value.
#[derive(Debug)]
pub(crate) struct TracePolicy {
    pub stats: Arc<ArmStats>,
}

#[async_trait]
impl Policy for TracePolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        let start = Instant::now();
        let method = request.method().as_str().to_string();
        let path = request.url().path().to_string();
        let attempt = ctx.value::<RetryPolicyCount>().map_or(0, |c| **c);
        let result = next[0].send(ctx, request, &next[1..]).await;
        let duration_ms = start.elapsed().as_millis() as u64;
        match &result {
            Ok(response) => {
                let status = u16::from(response.status());
                self.stats.record(&method, status);
                if status == 429 || status >= 500 {
                    tracing::warn!(target: "aca::arm", method, path, status, duration_ms, attempt, "arm request");
                } else {
                    tracing::debug!(target: "aca::arm", method, path, status, duration_ms, attempt, "arm request");
                }
            }
            Err(e) => {
                self.stats.record(&method, 0);
                tracing::warn!(target: "aca::arm", method, path, duration_ms, attempt, error = %e.kind(), "arm request failed");
            }
        }
        result
    }
}

/// Tags requests with the operator replica's id (`x-aca-replica`), so a request log can tell
/// replicas apart (high availability checks).
#[derive(Debug)]
pub(crate) struct ReplicaTagPolicy {
    pub replica: String,
}

#[async_trait]
impl Policy for ReplicaTagPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        request.insert_header("x-aca-replica", self.replica.clone());
        next[0].send(ctx, request, &next[1..]).await
    }
}

/// Marks a request, in the pipeline's context, as a write: the fence applies to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WriteRequest;

fn fenced(why: Fenced) -> azure_core::Error {
    azure_core::Error::new(azure_core::error::ErrorKind::Other, why)
}

/// The statuses `azure_core`'s retry policy retries.
fn retried(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// How long the server asked to wait (`retry-after-ms`, `x-ms-retry-after-ms`, `retry-after` in s).
fn asked_wait(headers: &azure_core::http::headers::Headers) -> Option<std::time::Duration> {
    let header = |name: &'static str| {
        headers
            .get_optional_str(&HeaderName::from_static(name))
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    header("x-ms-retry-after-ms")
        .or_else(|| header("retry-after-ms"))
        .map(std::time::Duration::from_millis)
        .or_else(|| header("retry-after").map(std::time::Duration::from_secs))
}

/// How long ARM asked to wait before the next poll (`Retry-After` in seconds).
pub(crate) fn retry_after(response: &RawResponse) -> Option<std::time::Duration> {
    response
        .headers()
        .get_optional_str(&HeaderName::from_static("retry-after"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(std::time::Duration::from_secs)
}

/// Outside the retry loop: a write is abandoned the moment the fence's window ends, whatever it
/// is doing (waiting for a retry, the throttle, or an answer).
#[derive(Debug)]
pub(crate) struct FenceCallPolicy {
    pub fence: WriteFence,
}

#[async_trait]
impl Policy for FenceCallPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        if ctx.value::<WriteRequest>().is_none() {
            return next[0].send(ctx, request, &next[1..]).await;
        }
        self.fence.check(std::time::Duration::ZERO).map_err(fenced)?;
        tokio::select! {
            biased;
            _ = self.fence.lost() => Err(fenced(self.fence.check(std::time::Duration::ZERO).err().unwrap_or(Fenced::NotHeld))),
            result = next[0].send(ctx, request, &next[1..]) => result,
        }
    }
}

/// Inside the retry loop, last before the wire: every attempt of a write is checked against the
/// fence, and a retry the server asks to delay past the window's end is abandoned at once.
#[derive(Debug)]
pub(crate) struct FenceAttemptPolicy {
    pub fence: WriteFence,
}

#[async_trait]
impl Policy for FenceAttemptPolicy {
    async fn send(&self, ctx: &Context, request: &mut Request, next: &[Arc<dyn Policy>]) -> PolicyResult {
        if ctx.value::<WriteRequest>().is_none() {
            return next[0].send(ctx, request, &next[1..]).await;
        }
        self.fence.check(std::time::Duration::ZERO).map_err(fenced)?;
        let response = next[0].send(ctx, request, &next[1..]).await?;
        if retried(u16::from(response.status()))
            && let Some(wait) = asked_wait(response.headers())
        {
            // `Err` of a kind the retry policy does not retry: the loop ends here.
            self.fence.check(wait).map_err(fenced)?;
        }
        Ok(response)
    }
}
