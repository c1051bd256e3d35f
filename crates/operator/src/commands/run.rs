//! `run`: the daemon. This command parses its flags, sets up ARM, leader election, the metrics
//! and status endpoints and the desired-state file watch (a bad new version is refused while the
//! last good one stays in force), then hands the stacks to [`Daemon`] (the controller wiring);
//! SIGTERM/SIGINT stop it between ARM operations within `--shutdown-timeout`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aca_model::desired::DesiredState;
use futures_util::{FutureExt, StreamExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::load_paths;
use crate::arm_setup;
use crate::cli::RunArgs;
use crate::daemon::Daemon;
use crate::error::{self, CliError};
use crate::http::{self, Health};
use crate::leader::Leadership;
use crate::metrics::Metrics;
use crate::status::StatusBoard;

pub async fn run(args: &RunArgs) -> ExitCode {
    let Some(state) = super::load(&args.files) else {
        return ExitCode::from(1);
    };
    let elected = args.leader_election != crate::cli::LeaderElection::None;
    let leadership = if elected {
        Leadership::elected()
    } else {
        Leadership::sole()
    };
    let cancel = CancellationToken::new();
    // The client checks the leadership's fence before every attempt of every write; a shutdown
    // ends its waits for long-running operations.
    let extras = arm_setup::Extras {
        fence: Some(leadership.fence()),
        shutdown: Some(cancel.clone()),
    };
    let client = match arm_setup::client(&args.arm, extras) {
        Ok(c) => Arc::new(c),
        Err(e) => return error::exit(&e),
    };
    let metrics = Arc::new(Metrics::new());
    metrics.watch_arm(client.stats());
    let health = Arc::new(Health::default());
    health.set_leadership(leadership.clone());
    // Stopped only after the passes drained: the current write finishes under the lease.
    let stop_election = CancellationToken::new();
    let (leader_tx, leader_rx) = watch::channel(!elected);
    let election = match crate::leader::start(args, &leadership, metrics.clone(), leader_tx, stop_election.clone()) {
        Ok(e) => e,
        Err(e) => return error::exit(&e.into()),
    };
    let watch = match crate::daemon::events::start(args, cancel.clone()) {
        Ok(w) => w,
        Err(e) => return error::exit(&e.into()),
    };
    let status = Arc::new(StatusBoard::default());
    if let Some(addr) = args.listen_metrics {
        let routes = match crate::status::routes_for(addr, args.status_token_file.as_deref(), &status) {
            Ok(routes) => routes,
            Err(e) => return error::exit(&e.into()),
        };
        match http::serve(addr, metrics.clone(), health.clone(), routes, cancel.clone()).await {
            Ok(bound) => tracing::info!(event = "listening", addr = %bound, "metrics and health on http://{bound}"),
            Err(source) => return error::exit(&CliError::Listen { addr, source }),
        }
    }
    spawn_signal_handler(cancel.clone());
    let (tx, rx) = watch::channel(Arc::new(state));
    tokio::spawn(watch_files(
        args.files.clone(),
        args.reload_interval,
        tx,
        metrics.clone(),
        cancel.clone(),
    ));
    tracing::info!(
        event = "started",
        version = crate::cli::LONG_VERSION,
        "aca-operator running"
    );

    // Passes read the cache (kept filled by the resync task) or, with `--cache off`, ARM itself.
    let mut triggers = Vec::new();
    let mut start_after = None;
    let reflector = match args.cache {
        crate::cli::CacheMode::Off => None,
        crate::cli::CacheMode::On => {
            let reflector = Arc::new(aca_reconcile::Reflector::new(client.clone()));
            let sync = crate::daemon::resync::Sync {
                desired: rx.clone(),
                leader: leader_rx.clone(),
                every: args.resync,
                metrics: metrics.clone(),
                cancel: cancel.clone(),
            };
            let resyncs = crate::daemon::resync::start(reflector.clone(), sync);
            triggers.push(resyncs.triggers.boxed());
            start_after = Some(resyncs.filled.map(|_| ()).boxed());
            Some(reflector)
        }
    };
    let api: Arc<dyn aca_reconcile::ArmApi> = match &reflector {
        Some(reflector) => reflector.clone(),
        None => client,
    };
    if let Some(w) = watch {
        metrics.watch_events(w.stats.clone());
        health.set_events(w.stats.clone());
        // Before an event triggers its stacks, the cache re-reads the resource it names, so the
        // pass it starts sees the change (events only say *what* changed; ARM says how).
        let on_event = move |event: &aca_events::ResourceEvent| {
            let cache = reflector.clone();
            let id = event.subject.resource();
            async move {
                if let (Some(cache), Some(id)) = (cache, id)
                    && let Err(e) = cache.refresh(&id).await
                {
                    tracing::warn!(event = "cache_refresh_failed", resource = %id, error = %e,
                        "the event's resource could not be re-read; the pass reads it itself");
                }
            }
        };
        triggers.push(crate::daemon::events::triggers(w.events, rx.clone(), metrics.clone(), on_event).boxed());
    }
    let daemon = Daemon {
        api,
        metrics,
        health,
        status,
        leadership,
        cancel: cancel.clone(),
        interval_override: args.interval,
        max_concurrent: args.max_concurrent_stacks,
        per_subscription: args.max_concurrent_per_subscription,
        initial_spread: args.initial_spread,
        shutdown_timeout: args.shutdown_timeout,
        triggers: std::sync::Mutex::new(triggers),
        start_after: std::sync::Mutex::new(start_after),
    };
    daemon.run(rx, leader_rx).await;
    stop_election.cancel();
    if let Some(election) = election {
        // The release is one bounded request; wait for it so `leader_released` is logged.
        let _ = tokio::time::timeout(Duration::from_secs(15), election).await;
    }
    tracing::info!(event = "stopped", "aca-operator stopped");
    ExitCode::SUCCESS
}

fn spawn_signal_handler(cancel: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
            tokio::select! {
                _ = term.recv() => tracing::info!(event = "shutdown", signal = "SIGTERM", "stopping after the current ARM operation"),
                _ = tokio::signal::ctrl_c() => tracing::info!(event = "shutdown", signal = "SIGINT", "stopping after the current ARM operation"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        cancel.cancel();
    });
}

/// A digest of the desired-state files as they are now (content and names), read on the blocking
/// pool so the runtime's workers keep serving passes and probes meanwhile.
async fn fingerprint(files: &[PathBuf]) -> u64 {
    let files = files.to_vec();
    tokio::task::spawn_blocking(move || fingerprint_now(&files))
        .await
        .unwrap_or_default()
}

fn fingerprint_now(files: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        let mut paths = vec![f.clone()];
        if f.is_dir()
            && let Ok(entries) = std::fs::read_dir(f)
        {
            paths = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            paths.sort();
        }
        for p in paths {
            p.hash(&mut h);
            std::fs::read(&p).unwrap_or_default().hash(&mut h);
        }
    }
    h.finish()
}

/// Polls the files; a valid change replaces the desired state, an invalid one is refused and logged.
async fn watch_files(
    files: Vec<PathBuf>,
    every: Duration,
    tx: watch::Sender<Arc<DesiredState>>,
    metrics: Arc<Metrics>,
    cancel: CancellationToken,
) {
    let mut last = fingerprint(&files).await;
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        let now = fingerprint(&files).await;
        if now == last {
            continue;
        }
        last = now;
        let labels = |result: &str| crate::metrics::ReloadLabels { result: result.into() };
        let reading = files.clone();
        let loaded = tokio::task::spawn_blocking(move || load_paths(&reading)).await;
        let Ok(loaded) = loaded else { continue };
        match loaded {
            Ok(loaded) => {
                metrics.reloads.get_or_create(&labels("ok")).inc();
                tracing::info!(
                    event = "config_reloaded",
                    stacks = loaded.state.stacks.len(),
                    warnings = loaded.warnings.len(),
                    "desired state reloaded"
                );
                let _ = tx.send(Arc::new(loaded.state));
            }
            Err(e) => {
                metrics.reloads.get_or_create(&labels("rejected")).inc();
                tracing::error!(event = "config_rejected", reason = %e, "the new desired state is refused; the last good one stays in force");
            }
        }
    }
}
