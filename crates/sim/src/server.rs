//! Starting and stopping a simulator: on a loopback port, over HTTP or HTTPS.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::SimConfig;
use crate::routes::Ctx;
use crate::state::{Principal, State};
use crate::{admin, routes, scenario};

/// How to start a simulator.
#[derive(Debug, Clone)]
pub struct StartOptions {
    pub listen: SocketAddr,
    pub config: SimConfig,
    /// Serve HTTPS with a certificate generated at start; its CA is written to this file.
    pub tls_ca_out: Option<PathBuf>,
    /// Resources to load at start (ARM shape, each with its `id`).
    pub seed: Vec<Value>,
    /// A built-in scenario to load at start.
    pub scenario: Option<String>,
    /// Put an Event Grid event into this queue after every successful write (see `events`).
    pub events: Option<crate::events::EventsTarget>,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            config: SimConfig::default(),
            tls_ca_out: None,
            seed: Vec::new(),
            scenario: None,
            events: None,
        }
    }
}

/// A running simulator. Dropping it does not stop it; call [`Simulator::stop`].
#[derive(Debug)]
pub struct Simulator {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT` (or `https://localhost:PORT` in TLS mode).
    pub base_url: String,
    state: Arc<Mutex<State>>,
    events: crate::events::EventSink,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("unknown scenario `{0}`")]
    UnknownScenario(String),
    #[error("cannot seed: {0}")]
    Seed(String),
    #[error("TLS set-up failed: {0}")]
    Tls(String),
    #[error("event publisher: {0}")]
    Events(String),
}

impl Simulator {
    pub async fn start(options: StartOptions) -> Result<Simulator, StartError> {
        let mut state = State::new(options.config.clone());
        let seeder = Principal {
            name: "terraform@contoso.com".into(),
            kind: "User".into(),
        };
        if let Some(name) = &options.scenario {
            for r in scenario::resources(name).ok_or_else(|| StartError::UnknownScenario(name.clone()))? {
                crate::seed::seed(&mut state, r, &seeder).map_err(StartError::Seed)?;
            }
        }
        for r in options.seed {
            crate::seed::seed(&mut state, r, &seeder).map_err(StartError::Seed)?;
        }
        let state = Arc::new(Mutex::new(state));
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: options.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: options.listen,
            source,
        })?;
        let events = crate::events::EventSink::default();
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = rx.await;
        };
        let (base_url, task) = match &options.tls_ca_out {
            None => {
                let app = app(Ctx {
                    state: state.clone(),
                    scheme: "http",
                    events: events.clone(),
                });
                let task = tokio::spawn(async move {
                    let _ = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
                });
                (format!("http://{addr}"), task)
            }
            Some(ca_out) => {
                let tls = crate::tls::TlsListener::new(listener, ca_out).map_err(StartError::Tls)?;
                let app = app(Ctx {
                    state: state.clone(),
                    scheme: "https",
                    events: events.clone(),
                });
                let task = tokio::spawn(async move {
                    let _ = axum::serve(tls, app).with_graceful_shutdown(shutdown).await;
                });
                (format!("https://localhost:{}", addr.port()), task)
            }
        };
        if let Some(target) = options.events {
            events.enable(target).map_err(StartError::Events)?;
        }
        Ok(Simulator {
            addr,
            base_url,
            state,
            events,
            shutdown: Some(tx),
            task,
        })
    }

    /// The simulator's state, for in-process tests that inspect it directly.
    pub fn state(&self) -> Arc<Mutex<State>> {
        self.state.clone()
    }

    /// From now on, puts an Event Grid event into `target`'s queue after every successful write.
    pub fn publish_events(&self, target: crate::events::EventsTarget) -> Result<(), String> {
        self.events.enable(target)
    }

    /// Faults injected so far that never answered a request. A fault test asserts this is empty, so
    /// that a fault whose path or method matches nothing cannot pass unnoticed.
    pub fn unfired_faults(&self) -> Vec<crate::Fault> {
        crate::faults::unfired(&self.state.lock().expect("state lock").faults)
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
    }
}

fn app(ctx: Ctx) -> Router {
    admin::router()
        .merge(crate::events::router())
        .fallback(routes::handle)
        .with_state(ctx)
}
