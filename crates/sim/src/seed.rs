//! Seeding: one resource in its ARM shape put into the world as if it had always been there
//! (start-up seeds, scenarios, the admin API's `PUT /_sim/resources`).

use aca_model::arm::ResourceId;
use serde_json::Value;

use crate::records::Principal;
use crate::shares::ShareRecord;
use crate::state::State;

/// Seeds one resource in its ARM shape, as if it had always been there (no operation, no log).
pub fn seed(state: &mut State, resource: Value, by: &Principal) -> Result<(), String> {
    let id_text = resource
        .get("id")
        .and_then(Value::as_str)
        .ok_or("a seeded resource needs an `id`")?;
    let id = ResourceId::parse(id_text).map_err(|e| e.to_string())?;
    state.add_resource_group(&id.subscription, &id.resource_group);
    let ty = id.resource_type().to_ascii_lowercase();
    match ty.as_str() {
        "microsoft.app/managedenvironments" => {
            let env = crate::environments::normalise(&id, resource);
            state.environments.insert(id.canonical(), env);
        }
        "microsoft.app/managedenvironments/storages" => {
            state
                .storages
                .insert(id.canonical(), crate::environments::normalise_storage(&id, resource));
        }
        "microsoft.app/containerapps" => crate::apps::seed(state, &id, resource, by).map_err(|e| e.message)?,
        "microsoft.storage/storageaccounts/fileservices/shares" => {
            let etag = state.next_id();
            state
                .shares
                .insert(id.canonical(), ShareRecord::new(&id, resource, etag));
        }
        other => return Err(format!("the simulator does not keep resources of type {other}")),
    }
    Ok(())
}
