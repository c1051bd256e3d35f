//! A local Azure Resource Manager for Container Apps: the embedded default of aca-operator's demo,
//! tests and benchmarks. It speaks the ARM contract the operator relies on (api-version, bearer
//! auth, long-running operations, revisions, secrets, ETags, throttling, error bodies) and offers an
//! admin API under `/_sim/` to seed state, edit it as a person would, and inject faults.
//! See `docs/simulator.md`.

mod admin;
mod api_version;
pub mod apps;
pub mod cli;
mod clock;
pub mod config;
mod environments;
pub mod error;
pub mod events;
pub mod faults;
mod records;
mod reply;
mod routes;
pub mod scenario;
mod seed;
mod server;
pub mod shares;
pub mod state;
pub mod throttle;
mod tls;

pub use config::{BucketConfig, SimConfig};
pub use faults::Fault;
pub use server::{Simulator, StartError, StartOptions};
