//! The operator's only door to Azure: an ARM client for container apps, managed environments,
//! their storages and file shares, built on `azure_core`'s HTTP pipeline (retry with backoff and
//! jitter honouring `Retry-After`, user agent, request ids) with credentials from `azure_identity`.
//!
//! On top of the pipeline it adds what ARM needs from a careful caller: long-running operations
//! (`Azure-AsyncOperation` and `Location`), a client-side throttle per subscription, typed errors,
//! ETags where ARM has them, a write fence checked before every attempt of a write (leader
//! election), HTTPS only (plain HTTP only to a loopback simulator, by explicit
//! choice), and a trace of every request that never contains a token or a secret.
//!
//! The client knows nothing of desired state.

mod api;
mod auth;
mod client;
mod cloud;
mod config;
mod endpoint;
mod error;
mod fence;
#[cfg(test)]
mod fence_tests;
mod lro;
pub mod operations;
mod policies;
mod throttle;

pub use aca_arm_api::{ArmApi, ArmError, ArmResult, Cause, Fenced, Listed, RevisionAction, Tagged};
pub use auth::{AuthMethod, AuthSettings, STATIC_TOKEN_ENV, StaticTokenCredential, token_credential};
/// The secret wrapper credentials use (never printed by `Debug`).
pub use azure_core::credentials::Secret;
pub use client::ArmClient;
pub use cloud::Cloud;
pub use config::{ArmConfig, LroSettings};
pub use endpoint::is_loopback;
pub use fence::{Transitions, WriteFence};
pub use policies::ArmStats;
pub use throttle::ThrottleSettings;
