//! The one place the binary builds its ARM client, from the command line and the environment.

use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, AuthSettings, LroSettings, WriteFence};
use aca_reconcile::ExecSettings;
use azure_core::http::Url;
use tokio_util::sync::CancellationToken;

use crate::cli::ArmArgs;
use crate::error::CliError;

/// What the daemon adds to the command line's settings; one-shot commands use the default.
#[derive(Debug, Default)]
pub struct Extras {
    /// The leadership's fence, checked before every attempt of every write.
    pub fence: Option<WriteFence>,
    /// Ends the client's waits for long-running operations at shutdown.
    pub shutdown: Option<CancellationToken>,
}

pub fn client(args: &ArmArgs, extras: Extras) -> Result<ArmClient, CliError> {
    let config = ArmConfig {
        cloud: args.cloud,
        endpoint: args.arm_endpoint.clone(),
        allow_insecure_loopback: args.allow_insecure_loopback,
        ca_cert: args.ca_cert.clone(),
        auth: AuthSettings::from_env(args.auth),
        replica_id: args.replica_id.clone(),
        lro: lro_settings(args),
        fence: extras.fence,
        shutdown: extras.shutdown,
        ..ArmConfig::default()
    };
    ArmClient::new(config).map_err(CliError::ArmSetup)
}

/// The endpoint is a local simulator (the same loopback rule the client applies).
fn is_local(args: &ArmArgs) -> bool {
    args.arm_endpoint
        .as_deref()
        .and_then(|e| Url::parse(e).ok())
        .is_some_and(|url| aca_arm::is_loopback(&url))
}

/// A local simulator answers in milliseconds: poll it often. Azure: every 2 s unless told otherwise.
fn lro_settings(args: &ArmArgs) -> LroSettings {
    if is_local(args) {
        LroSettings {
            poll_interval: Duration::from_millis(100),
            ..LroSettings::default()
        }
    } else {
        LroSettings::default()
    }
}

/// How often the executor polls while replicas start or stop.
pub fn exec_settings(args: &ArmArgs) -> ExecSettings {
    if is_local(args) {
        ExecSettings {
            poll_interval: Duration::from_millis(200),
            ..ExecSettings::default()
        }
    } else {
        ExecSettings::default()
    }
}
