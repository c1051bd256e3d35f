//! Container apps, their revisions and their long-running operations, as Container Apps behaves:
//!
//! - PUT/PATCH/DELETE are long-running operations (`InProgress` → `Succeeded` or `Failed`).
//! - A template change creates a revision; configuration-only changes (ingress, secrets, scale is
//!   part of the template) do not.
//! - Single revision mode keeps the previous revision's replicas running until the new revision is
//!   ready, and for `overlap` after that: an update that does not stop the old revision first
//!   runs two revisions at once.
//! - Replicas keep the secret values they started with until their revision restarts.
//! - GET hides secret values; `listSecrets` returns them.
//!
//! Everything time-dependent is computed from timestamps when asked ("lazy"), so no background
//! task is needed and paused-time tests are deterministic.

mod oracle;
mod validation;
mod views;
mod write;

pub use crate::records::{AppRecord, OpKind, Operation, Principal, RevisionRecord};
pub use oracle::{history, operator_overlaps};
pub use views::{list_secrets, replicas_view, revision_view, view};
pub use write::{WriteOutcome, delete, revision_action, seed, write};
