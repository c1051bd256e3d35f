//! How the client is set up: where ARM is, how to authenticate, and how patient to be.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::AuthSettings;
use crate::cloud::Cloud;
use crate::fence::WriteFence;
use crate::throttle::ThrottleSettings;

/// How to reach ARM.
#[derive(Debug, Clone)]
pub struct ArmConfig {
    pub cloud: Cloud,
    /// Overrides the cloud's endpoint (a simulator).
    pub endpoint: Option<String>,
    /// Allow `http://` to a loopback address.
    pub allow_insecure_loopback: bool,
    /// Extra CA certificate (PEM) to trust, e.g. the simulator's.
    pub ca_cert: Option<PathBuf>,
    pub auth: AuthSettings,
    /// `None` turns the client-side throttle off.
    pub throttle: Option<ThrottleSettings>,
    pub max_retries: u32,
    pub retry_initial_delay: Duration,
    pub retry_max_delay: Duration,
    pub lro: LroSettings,
    /// Per attempt.
    pub request_timeout: Duration,
    /// Tag every request with this replica id (`x-aca-replica`).
    pub replica_id: Option<String>,
    /// A credential given by the embedding program; replaces `auth` when set.
    pub credential: Option<Arc<dyn azure_core::credentials::TokenCredential>>,
    /// Checked before every attempt of every write (leader election); `None`: writes always allowed.
    pub fence: Option<WriteFence>,
    /// Cancelled at shutdown: waits for long-running operations end at once (`ArmError::Cancelled`).
    pub shutdown: Option<tokio_util::sync::CancellationToken>,
}

impl Default for ArmConfig {
    fn default() -> Self {
        ArmConfig {
            cloud: Cloud::Public,
            endpoint: None,
            allow_insecure_loopback: false,
            ca_cert: None,
            auth: AuthSettings::default(),
            throttle: Some(ThrottleSettings::default()),
            max_retries: 6,
            retry_initial_delay: Duration::from_millis(400),
            retry_max_delay: Duration::from_secs(30),
            lro: LroSettings::default(),
            request_timeout: Duration::from_secs(60),
            replica_id: None,
            credential: None,
            fence: None,
            shutdown: None,
        }
    }
}

/// How long-running operations are waited for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LroSettings {
    /// Between polls when ARM sends no `Retry-After`.
    pub poll_interval: Duration,
    /// Upper bound on one wait, whatever `Retry-After` says.
    pub max_poll_interval: Duration,
    /// Give up (the operation may still finish) after this long.
    pub deadline: Duration,
}

impl Default for LroSettings {
    fn default() -> Self {
        LroSettings {
            poll_interval: Duration::from_secs(2),
            max_poll_interval: Duration::from_secs(30),
            deadline: Duration::from_secs(15 * 60),
        }
    }
}
