//! Finding what a path names, or ARM's 404 for it.

use aca_model::arm::ResourceId;

use crate::apps::AppRecord;
use crate::error::{ArmFailure, ArmResult};
use crate::state::State;

pub(super) fn require(ok: bool, kind: &str, id: &ResourceId) -> ArmResult<()> {
    if ok {
        Ok(())
    } else {
        Err(ArmFailure::not_found(kind, &id.to_string()))
    }
}

pub(super) fn find_app<'s>(state: &'s State, id: &ResourceId) -> ArmResult<&'s AppRecord> {
    state
        .apps
        .get(&id.canonical())
        .ok_or_else(|| ArmFailure::not_found(&format!("Microsoft.App/containerApps/{}", id.name()), &id.to_string()))
}
