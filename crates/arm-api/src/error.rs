//! Typed ARM errors. Messages come from ARM's error bodies and never carry a token.

use std::sync::Arc;
use std::time::Duration;

use aca_model::arm::ArmErrorBody;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArmError {
    #[error("not found: {code}: {message}")]
    NotFound { code: String, message: String },
    #[error("conflict: {code}: {message}")]
    Conflict { code: String, message: String },
    /// 412: the resource changed since its ETag was read.
    #[error("precondition failed (stale ETag): {code}: {message}")]
    PreconditionFailed { code: String, message: String },
    /// 429 after the retries ran out.
    #[error("throttled by ARM{}: {message}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    Throttled {
        retry_after: Option<Duration>,
        message: String,
    },
    /// 401/403.
    #[error("not authorized ({status}): {code}: {message}")]
    Auth { status: u16, code: String, message: String },
    /// 5xx, timeouts, resets, after the retries ran out. `cause` is the transport's error, when
    /// there was no answer.
    #[error("transient failure{}: {message}", status.map(|s| format!(" ({s})")).unwrap_or_default())]
    Transient {
        status: Option<u16>,
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Any other 4xx: the request is wrong and retrying will not help.
    #[error("rejected by ARM ({status}): {code}: {message}")]
    BadRequest { status: u16, code: String, message: String },
    /// A long-running operation ended `Failed` or `Canceled`.
    #[error("operation {status}: {code}: {message}")]
    OperationFailed {
        status: String,
        code: String,
        message: String,
    },
    /// A long-running operation did not end within the deadline.
    #[error("operation still running after {}s (deadline)", after.as_secs())]
    OperationTimedOut { after: Duration },
    /// ARM answered something the client cannot read: nothing is done with it.
    #[error("unreadable ARM response for {what}: {message}")]
    Decode { what: String, message: String },
    /// A token could not be acquired (or the credential asked for is refused).
    #[error("credential: {message}")]
    Credential {
        message: String,
        #[source]
        cause: Option<Cause>,
    },
    /// The write was not sent (or not sent again): this replica may no longer write. The next
    /// leader re-plans it from a fresh read.
    #[error("write abandoned: {0}")]
    Fenced(#[from] Fenced),
    /// The client is configured in a way it refuses to run.
    #[error("configuration: {0}")]
    Config(String),
    /// The endpoint is plain HTTP: refused unless it is a loopback simulator and
    /// `ArmConfig::allow_insecure_loopback` (in `aca-arm`) is set.
    #[error("{}", if *loopback {
        format!("{url} is plain HTTP, refused unless allowed explicitly for a local simulator")
    } else {
        format!("{url} is plain HTTP to a non-loopback host: ARM is only reached over HTTPS (plain HTTP is allowed only to 127.0.0.1/localhost, when allowed explicitly)")
    })]
    InsecureEndpoint { url: String, loopback: bool },
    /// The HTTP pipeline failed in a way that is neither the transport nor the credential.
    #[error("HTTP pipeline: {message}")]
    Pipeline {
        message: String,
        #[source]
        cause: Cause,
    },
    /// Shutdown asked while waiting for a long-running operation: the operation goes on in Azure;
    /// the next pass re-reads the live state and plans from there.
    #[error(
        "stopped waiting for the ARM operation after {}s (shutdown); it goes on in Azure, and the next pass resumes from the live state",
        waited.as_secs()
    )]
    Cancelled { waited: Duration },
}

pub type ArmResult<T> = Result<T, ArmError>;

/// The error under an [`ArmError`] (azure_core's, with its own chain of causes), shared so that
/// `ArmError` stays `Clone`. It shows as the error it wraps; `source()` goes on down its chain.
#[derive(Debug, Clone)]
pub struct Cause(Arc<dyn std::error::Error + Send + Sync + 'static>);

impl Cause {
    pub fn new(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Cause(Arc::new(e))
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Two causes are equal when they read the same (the chain is not compared).
impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}

/// Why a write attempt was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fenced {
    #[error("this replica does not hold the leader lease")]
    NotHeld,
    #[error("the leader lease window ended {} ms ago", late.as_millis())]
    WindowEnded { late: Duration },
    #[error("the next attempt would wait {} ms, past the end of the leader lease window in {} ms", wait.as_millis(), left.as_millis())]
    WaitBeyondWindow { wait: Duration, left: Duration },
}

impl ArmError {
    /// Worth trying again later (the pipeline has already retried these).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ArmError::Transient { .. }
                | ArmError::Throttled { .. }
                | ArmError::OperationTimedOut { .. }
                | ArmError::Fenced(_)
                | ArmError::Cancelled { .. }
        )
    }

    /// A short machine-friendly kind, for metrics and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            ArmError::NotFound { .. } => "not_found",
            ArmError::Conflict { .. } => "conflict",
            ArmError::PreconditionFailed { .. } => "precondition_failed",
            ArmError::Throttled { .. } => "throttled",
            ArmError::Auth { .. } => "auth",
            ArmError::Transient { .. } => "transient",
            ArmError::BadRequest { .. } => "bad_request",
            ArmError::OperationFailed { .. } => "operation_failed",
            ArmError::OperationTimedOut { .. } => "operation_timed_out",
            ArmError::Decode { .. } => "decode",
            ArmError::Credential { .. } => "credential",
            ArmError::Fenced(_) => "fenced",
            ArmError::Config(_) | ArmError::InsecureEndpoint { .. } => "config",
            ArmError::Pipeline { .. } => "pipeline",
            ArmError::Cancelled { .. } => "cancelled",
        }
    }

    /// The error for an HTTP status with ARM's error body.
    pub fn from_status(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let (code, message) = match serde_json::from_slice::<ArmErrorBody>(body) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => (
                format!("Http{status}"),
                String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
            ),
        };
        match status {
            404 => ArmError::NotFound { code, message },
            409 => ArmError::Conflict { code, message },
            412 => ArmError::PreconditionFailed { code, message },
            429 => ArmError::Throttled { retry_after, message },
            401 | 403 => ArmError::Auth { status, code, message },
            408 | 500..=599 => ArmError::Transient {
                status: Some(status),
                message: format!("{code}: {message}"),
                cause: None,
            },
            _ => ArmError::BadRequest { status, code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_ended_by_shutdown_is_tried_again_by_the_next_pass() {
        let e = ArmError::Cancelled {
            waited: Duration::from_secs(3),
        };
        assert!(e.is_transient());
        assert_eq!(e.kind(), "cancelled");
    }

    #[test]
    fn statuses_map_to_kinds() {
        let body = br#"{"error":{"code":"ResourceNotFound","message":"gone"}}"#;
        assert_eq!(
            ArmError::from_status(404, body, None),
            ArmError::NotFound {
                code: "ResourceNotFound".into(),
                message: "gone".into()
            }
        );
        assert_eq!(ArmError::from_status(412, body, None).kind(), "precondition_failed");
        assert_eq!(
            ArmError::from_status(429, body, Some(Duration::from_secs(3))).kind(),
            "throttled"
        );
        assert_eq!(ArmError::from_status(503, b"not json", None).kind(), "transient");
        assert_eq!(ArmError::from_status(400, body, None).kind(), "bad_request");
        assert_eq!(ArmError::from_status(403, body, None).kind(), "auth");
        assert!(ArmError::from_status(500, body, None).is_transient());
        assert!(!ArmError::from_status(400, body, None).is_transient());
    }
}
