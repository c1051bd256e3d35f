//! Long-running operations, as ARM runs them: poll `Azure-AsyncOperation` (a status resource) when
//! the answer has one, else `Location` (202 until done), honouring `Retry-After`, within a deadline.
//! `Failed` or `Canceled` become [`ArmError::OperationFailed`] with ARM's code and message.

use std::time::Duration;

use azure_core::http::headers::HeaderName;
use azure_core::http::{Method, RawResponse, Url};
use serde::Deserialize;
use tokio::time::Instant;

use crate::client::ArmClient;
use crate::endpoint::same_origin;
use crate::operations;
use crate::policies::retry_after;
use aca_arm_api::{ArmError, ArmResult};

/// How often a long wait is logged.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
struct OperationStatus {
    #[serde(default)]
    status: String,
    #[serde(default)]
    error: Option<OperationError>,
}

#[derive(Debug, Deserialize)]
struct OperationError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

fn header_url(response: &RawResponse, name: &'static str) -> Option<String> {
    response
        .headers()
        .get_optional_str(&HeaderName::from_static(name))
        .map(str::to_string)
}

impl ArmClient {
    /// Waits until the operation `initial` started is over. An answer without operation headers
    /// means the work is already done.
    pub(crate) async fn wait_for_operation(&self, initial: &RawResponse) -> ArmResult<()> {
        let async_url = header_url(initial, "azure-asyncoperation");
        let location = header_url(initial, "location");
        let (url, by_status) = match (async_url, location) {
            (Some(u), _) => (u, true),
            (None, Some(u)) => (u, false),
            (None, None) => return Ok(()),
        };
        let url = Url::parse(&url).map_err(|e| ArmError::Decode {
            what: "operation URL".into(),
            message: e.to_string(),
        })?;
        if !same_origin(&url, self.endpoint()) {
            return Err(ArmError::Decode {
                what: "operation URL".into(),
                message: format!(
                    "{url} is not on the ARM endpoint {}; refusing to send credentials there",
                    self.endpoint()
                ),
            });
        }
        let start = Instant::now();
        let first_delay = retry_after(initial).unwrap_or(self.lro_settings().poll_interval);
        // A shutdown ends the wait at once, in a poll's sleep or its request alike (polls only read).
        tokio::select! {
            done = self.poll_operation(&url, by_status, first_delay, start) => done,
            () = self.shutdown_asked() => {
                tracing::warn!(
                    event = "lro_abandoned",
                    operation = url.path(),
                    waited_ms = start.elapsed().as_millis() as u64,
                    "shutdown: stopped waiting for an ARM operation; it goes on in Azure, and the next pass resumes from the live state"
                );
                Err(ArmError::Cancelled { waited: start.elapsed() })
            }
        }
    }

    async fn poll_operation(&self, url: &Url, by_status: bool, first_delay: Duration, start: Instant) -> ArmResult<()> {
        let settings = self.lro_settings();
        let mut delay = first_delay;
        let mut last_progress = start;
        loop {
            if start.elapsed() + delay.min(settings.max_poll_interval) > settings.deadline {
                return Err(ArmError::OperationTimedOut { after: start.elapsed() });
            }
            tokio::time::sleep(delay.min(settings.max_poll_interval)).await;
            // A long operation says it is still waiting (a hang is visible before its deadline).
            if last_progress.elapsed() >= PROGRESS_EVERY {
                last_progress = Instant::now();
                let waited_s = start.elapsed().as_secs();
                tracing::info!(target: "aca::arm", event = "operation_waiting", operation = %url.path(), waited_s,
                    deadline_s = settings.deadline.as_secs(), "a long-running ARM operation is still in progress");
            }
            if by_status {
                let raw = self
                    .send(&operations::OPERATION_STATUS, Method::Get, url.clone(), None, &[])
                    .await?;
                let raw = ArmClient::expect_success(raw)?;
                let status: OperationStatus = ArmClient::decode("operation status", &raw)?;
                match status.status.as_str() {
                    "Succeeded" => return Ok(()),
                    "Failed" | "Canceled" | "Cancelled" => {
                        let e = status.error.unwrap_or(OperationError {
                            code: String::new(),
                            message: String::new(),
                        });
                        return Err(ArmError::OperationFailed {
                            status: status.status,
                            code: e.code,
                            message: e.message,
                        });
                    }
                    _ => delay = retry_after(&raw).unwrap_or(settings.poll_interval),
                }
            } else {
                let raw = self
                    .send(&operations::OPERATION_RESULT, Method::Get, url.clone(), None, &[])
                    .await?;
                let code = u16::from(raw.status());
                match code {
                    202 => delay = retry_after(&raw).unwrap_or(settings.poll_interval),
                    200..=299 => return Ok(()),
                    _ => {
                        return Err(match ArmError::from_status(code, raw.body(), None) {
                            ArmError::BadRequest { code, message, .. } | ArmError::Conflict { code, message } => {
                                ArmError::OperationFailed {
                                    status: "Failed".into(),
                                    code,
                                    message,
                                }
                            }
                            other => other,
                        });
                    }
                }
            }
        }
    }
}
