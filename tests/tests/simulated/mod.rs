//! The ARM client the suites that run against the in-process simulator share: loopback HTTP, the
//! simulator's static token, short retry and poll delays.

use std::time::Duration;

use aca_arm::{ArmClient, ArmConfig, AuthMethod, AuthSettings, LroSettings, Secret};
use aca_sim::Simulator;

pub fn client(sim: &Simulator) -> ArmClient {
    ArmClient::new(ArmConfig {
        endpoint: Some(sim.base_url.clone()),
        allow_insecure_loopback: true,
        auth: AuthSettings {
            method: AuthMethod::Static,
            static_token: Some(Secret::new("t")),
            ..AuthSettings::default()
        },
        retry_initial_delay: Duration::from_millis(20),
        lro: LroSettings {
            poll_interval: Duration::from_millis(25),
            ..LroSettings::default()
        },
        ..ArmConfig::default()
    })
    .unwrap()
}
