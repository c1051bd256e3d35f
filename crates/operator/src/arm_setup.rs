//! Builds the ARM client from the command line and the environment.

use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, AuthSettings, LroSettings};
use aca_reconcile::ExecSettings;

use crate::cli::ArmArgs;

pub fn client(args: &ArmArgs) -> Result<ArmClient, String> {
    ArmClient::new(config(args)).map_err(|e| e.to_string())
}

pub fn config(args: &ArmArgs) -> ArmConfig {
    ArmConfig {
        cloud: args.cloud,
        endpoint: args.arm_endpoint.clone(),
        allow_insecure_loopback: args.allow_insecure_loopback,
        ca_cert: args.ca_cert.clone(),
        auth: AuthSettings::from_env(args.auth),
        replica_id: args.replica_id.clone(),
        lro: lro_settings(args),
        ..ArmConfig::default()
    }
}

fn is_local(args: &ArmArgs) -> bool {
    args.arm_endpoint
        .as_deref()
        .is_some_and(|e| e.contains("://127.") || e.contains("://localhost") || e.contains("://[::1]"))
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
