//! Azure Resource Manager payloads (api-version 2025-07-01 for Microsoft.App, 2025-06-01 for
//! Microsoft.Storage file shares).
//!
//! Every struct carries an `extra` map flattened into it: fields this crate does not model are kept
//! there and written back unchanged, so a read-modify-write round trip loses nothing.

mod common;
mod container_app;
mod environment;
mod error;
mod file_share;
mod resource_id;
mod revision;
mod storage;

pub use common::{Extra, SystemData};
pub use container_app::*;
pub use environment::*;
pub use error::{ArmErrorBody, ArmErrorDetail};
pub use file_share::*;
pub use resource_id::{ResourceId, ResourceIdError};
pub use revision::*;
pub use storage::*;

/// The Microsoft.App api-version this operator is written against (newest stable).
pub const APP_API_VERSION: &str = "2025-07-01";
/// The Microsoft.Storage api-version used for file shares.
pub const STORAGE_API_VERSION: &str = "2025-06-01";

/// A page of a list operation (`{"value": [...], "nextLink": ...}`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct List<T> {
    pub value: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_link: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
