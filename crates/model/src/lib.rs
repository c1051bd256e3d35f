//! Types shared by every part of aca-operator, and nothing that talks HTTP.
//!
//! - [`arm`]: the Azure Resource Manager payloads the operator reads and writes, as serde types
//!   that keep every field they do not know, so a read-modify-write never drops one.
//! - [`desired`]: the desired-state YAML, its loader and its validation (errors with file:line:column).
//! - [`quantity`]: CPU and memory quantities, normalised so `1` equals `1.0` and `2Gi` equals `2.0Gi`.

pub mod arm;
pub mod desired;
pub mod quantity;
