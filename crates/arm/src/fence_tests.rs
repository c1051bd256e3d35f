//! The fence inside the real pipeline (azure_core's retry loop and our policies) over a scripted
//! transport, on paused time: what is sent, when, and what the caller gets.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aca_model::arm::ResourceId;
use async_trait::async_trait;
use azure_core::credentials::Secret;
use azure_core::http::headers::Headers;
use azure_core::http::policies::{Policy, PolicyResult};
use azure_core::http::{AsyncRawResponse, Context, Request, StatusCode, Transport};
use tokio::time::Instant;

use crate::auth::{AuthMethod, AuthSettings};
use crate::{ArmClient, ArmConfig, RevisionAction};
use crate::{Fenced, WriteFence};
use aca_arm_api::ArmError;

/// Answers each request with the next scripted status (and `Retry-After` seconds); records when
/// each attempt reached it.
#[derive(Debug, Default)]
struct Script {
    answers: Mutex<VecDeque<(u16, Option<u64>)>>,
    attempts: Mutex<Vec<(String, Instant)>>,
}

#[async_trait]
impl Policy for Script {
    async fn send(&self, _ctx: &Context, request: &mut Request, _next: &[Arc<dyn Policy>]) -> PolicyResult {
        self.attempts
            .lock()
            .unwrap()
            .push((request.method().as_str().to_string(), Instant::now()));
        let (status, retry_after) = self.answers.lock().unwrap().pop_front().unwrap_or((200, None));
        let mut headers = Headers::new();
        if let Some(s) = retry_after {
            headers.insert("retry-after", s.to_string());
        }
        Ok(AsyncRawResponse::from_bytes(
            StatusCode::from(status),
            headers,
            b"{}".to_vec(),
        ))
    }
}

const WINDOW: Duration = Duration::from_secs(12);

fn client(fence: &WriteFence, answers: &[(u16, Option<u64>)]) -> (ArmClient, Arc<Script>) {
    let script = Arc::new(Script::default());
    script.answers.lock().unwrap().extend(answers.iter().copied());
    let config = ArmConfig {
        endpoint: Some("http://127.0.0.1:9".into()),
        allow_insecure_loopback: true,
        auth: AuthSettings {
            method: AuthMethod::Static,
            static_token: Some(Secret::new("t")),
            ..AuthSettings::default()
        },
        throttle: None,
        fence: Some(fence.clone()),
        ..ArmConfig::default()
    };
    let client = ArmClient::with_transport(config, Transport::with_policy(script.clone())).unwrap();
    (client, script)
}

fn app() -> ResourceId {
    ResourceId::container_app("00000000-0000-0000-0000-000000000000", "rg", "db")
}

async fn restart(client: &ArmClient) -> Result<(), ArmError> {
    client.revision_action(&app(), "r1", RevisionAction::Restart).await
}

fn attempts(script: &Script) -> Vec<Duration> {
    let all = script.attempts.lock().unwrap();
    let first = all.first().map(|(_, at)| *at);
    all.iter().map(|(_, at)| *at - first.unwrap()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_retry_inside_the_window_is_sent() {
    let fence = WriteFence::closed();
    fence.open_until(Instant::now() + WINDOW);
    let (client, script) = client(&fence, &[(503, Some(2)), (200, None)]);
    restart(&client).await.unwrap();
    let at = attempts(&script);
    assert_eq!(at.len(), 2, "{at:?}");
    assert!(at[1] >= Duration::from_secs(2), "Retry-After honoured: {at:?}");
}

#[tokio::test(start_paused = true)]
async fn a_retry_that_would_start_at_the_windows_edge_is_abandoned_at_once() {
    let fence = WriteFence::closed();
    let start = Instant::now();
    fence.open_until(start + Duration::from_secs(2));
    let (client, script) = client(&fence, &[(503, Some(2)), (200, None)]);
    let err = restart(&client).await.unwrap_err();
    assert_eq!(
        err,
        ArmError::Fenced(Fenced::WaitBeyondWindow {
            wait: Duration::from_secs(2),
            left: Duration::from_secs(2)
        })
    );
    assert_eq!(attempts(&script).len(), 1);
    assert_eq!(Instant::now(), start, "no wait for a retry that cannot be sent");
}

#[tokio::test(start_paused = true)]
async fn a_429_asking_for_more_than_the_window_ends_the_write() {
    let fence = WriteFence::closed();
    fence.open_until(Instant::now() + WINDOW);
    let (client, script) = client(&fence, &[(429, Some(25)), (200, None)]);
    let err = restart(&client).await.unwrap_err();
    assert!(
        matches!(err, ArmError::Fenced(Fenced::WaitBeyondWindow { .. })),
        "{err:?}"
    );
    assert_eq!(attempts(&script).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn losing_the_lease_cancels_the_wait_and_the_retries() {
    let fence = WriteFence::closed();
    let start = Instant::now();
    fence.open_until(start + WINDOW);
    let (client, script) = client(&fence, &[(503, Some(10)), (200, None)]);
    let lose = {
        let fence = fence.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            fence.close();
        }
    };
    let (result, ()) = tokio::join!(restart(&client), lose);
    assert_eq!(result.unwrap_err(), ArmError::Fenced(Fenced::NotHeld));
    assert_eq!(
        Instant::now() - start,
        Duration::from_secs(3),
        "abandoned when the lease was lost"
    );
    assert_eq!(attempts(&script).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_end_of_the_window_cancels_a_wait_the_server_did_not_bound() {
    // A 503 without Retry-After: the retry policy's own backoff, then the window ends mid-series.
    let fence = WriteFence::closed();
    let start = Instant::now();
    fence.open_until(start + Duration::from_secs(1));
    let (client, script) = client(&fence, &[(503, None); 10]);
    let err = restart(&client).await.unwrap_err();
    assert!(matches!(err, ArmError::Fenced(_)), "{err:?}");
    assert!(Instant::now() - start <= Duration::from_secs(1));
    assert!(
        attempts(&script).iter().all(|at| *at < Duration::from_secs(1)),
        "no attempt at or after the end"
    );
}

#[tokio::test(start_paused = true)]
async fn nothing_is_sent_without_the_lease_but_reads_are() {
    let fence = WriteFence::closed();
    let (client, script) = client(&fence, &[]);
    assert_eq!(restart(&client).await.unwrap_err(), ArmError::Fenced(Fenced::NotHeld));
    assert!(script.attempts.lock().unwrap().is_empty());
    // A read of the same app goes out (and fails on the scripted `{}`, which is not an app).
    let read = client.get_container_app(&app()).await;
    assert!(matches!(read, Err(ArmError::Decode { .. })), "{read:?}");
    let sent = script.attempts.lock().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "GET");
}
