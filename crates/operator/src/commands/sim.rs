//! `sim`: the local ARM simulator, for users who have only this binary.

use std::process::ExitCode;
use std::time::Duration;

use aca_sim::{SimConfig, Simulator, StartOptions};

use crate::cli::SimArgs;

pub async fn run(args: &SimArgs) -> ExitCode {
    let options = StartOptions {
        listen: args.listen,
        scenario: Some(args.scenario.clone()),
        tls_ca_out: args.tls_ca_out.clone(),
        config: SimConfig {
            latency: Duration::from_millis(args.latency_ms),
            ..SimConfig::default()
        },
        ..StartOptions::default()
    };
    let sim = match Simulator::start(options).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("aca-operator sim: {e}");
            return ExitCode::from(1);
        }
    };
    println!("listening on {}", sim.base_url);
    let _ = tokio::signal::ctrl_c().await;
    sim.stop().await;
    ExitCode::SUCCESS
}
