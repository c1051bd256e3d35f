//! The daemon's own listener: `/metrics` (Prometheus text), `/healthz` (alive), `/readyz` (the
//! desired state is loaded and every stack had a successful pass recently; its `leader` field says
//! whether this replica may write at this instant, and a follower is ready too), and the routes of
//! [`crate::status`] (`/status`, `/`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::leader::Leadership;
use crate::metrics::Metrics;

/// What `/readyz` decides from.
#[derive(Debug, Default)]
pub struct Health {
    /// Stack name → (interval, last successful pass).
    stacks: Mutex<BTreeMap<String, (Duration, Option<Instant>)>>,
    /// Read at each request, so `leader` is exactly "writes allowed now", never a stale copy.
    leadership: std::sync::OnceLock<Leadership>,
    /// The watch's state, when `--events-queue` is given.
    events: std::sync::OnceLock<Arc<aca_events::WatchStats>>,
}

impl Health {
    pub fn set_stacks(&self, stacks: impl IntoIterator<Item = (String, Duration)>) {
        let mut map = self.stacks.lock().expect("health lock");
        let mut next = BTreeMap::new();
        for (name, interval) in stacks {
            let last = map.remove(&name).and_then(|(_, last)| last);
            next.insert(name, (interval, last));
        }
        *map = next;
    }

    pub fn pass_succeeded(&self, stack: &str) {
        if let Some(entry) = self.stacks.lock().expect("health lock").get_mut(stack) {
            entry.1 = Some(Instant::now());
        }
    }

    pub fn set_leadership(&self, leadership: Leadership) {
        let _ = self.leadership.set(leadership);
    }

    pub fn set_events(&self, stats: Arc<aca_events::WatchStats>) {
        let _ = self.events.set(stats);
    }

    /// `watching`, `degraded` (the queue cannot be read: intervals only) or `off`.
    pub fn events(&self) -> &'static str {
        match self.events.get().map(|s| s.snapshot().degraded) {
            None => "off",
            Some(false) => "watching",
            Some(true) => "degraded",
        }
    }

    /// Whether this replica may write to ARM at this instant.
    pub fn leader(&self) -> bool {
        self.leadership.get().is_some_and(Leadership::is_leader)
    }

    /// Stacks without a successful pass within three intervals (plus a grace for slow ARM).
    pub fn stale(&self) -> Vec<String> {
        let now = Instant::now();
        self.stacks
            .lock()
            .expect("health lock")
            .iter()
            .filter(|(_, (interval, last))| {
                last.is_none_or(|t| now.duration_since(t) > *interval * 3 + Duration::from_secs(30))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

#[derive(Clone)]
struct Ctx {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    status: Router,
    cancel: CancellationToken,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready_handler))
        .with_state(Ctx { metrics, health })
        .merge(status);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { cancel.cancelled().await })
            .await;
    });
    Ok(bound)
}

async fn metrics_handler(State(ctx): State<Ctx>) -> impl IntoResponse {
    // `aca_leader` as of this scrape, not as of the last transition the election reported.
    ctx.metrics.leader.set(i64::from(ctx.health.leader()));
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        ctx.metrics.encode(),
    )
}

async fn ready_handler(State(ctx): State<Ctx>) -> impl IntoResponse {
    let stale = ctx.health.stale();
    let leader = ctx.health.leader();
    let body = serde_json::json!({ "ready": stale.is_empty(), "leader": leader, "staleStacks": stale,
        "events": ctx.health.events() });
    let status = if stale.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, [("content-type", "application/json")], body.to_string())
}
