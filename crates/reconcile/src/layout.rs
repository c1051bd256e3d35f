//! Who mounts what: exclusive storages, their owner app, and the apps that must not mount them.
//! Pure functions of the desired and live resources (no dependency on `observe`).

use aca_model::arm::{ContainerApp, Revision};
use aca_model::desired::{AppSpec, Stack};

/// The declared app whose volumes use `storage`.
pub fn owner<'a>(stack: &'a Stack, storage: &str) -> Option<&'a AppSpec> {
    stack.apps.iter().find(|a| a.storages().any(|s| s == storage))
}

/// True when the app's live template has a volume on `storage`.
pub fn mounts(app: &ContainerApp, storage: &str) -> bool {
    app.volumes().iter().any(|v| {
        v.storage_name
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(storage))
    })
}

/// Declared apps other than the owner whose live template (`live` by app key) mounts an exclusive
/// `storage`.
pub fn intruders<'a, 'l>(
    stack: &'a Stack,
    live: impl Fn(&str) -> Option<&'l ContainerApp>,
    storage: &str,
) -> Vec<&'a AppSpec> {
    let owner = owner(stack, storage).map(|a| a.key.as_str());
    stack
        .apps
        .iter()
        .filter(|a| Some(a.key.as_str()) != owner)
        .filter(|a| live(&a.key).is_some_and(|l| mounts(l, storage)))
        .collect()
}

/// Exclusive storages of the stack.
pub fn exclusive_storages(stack: &Stack) -> impl Iterator<Item = &str> {
    stack.storages.values().filter(|s| s.exclusive).map(|s| s.name.as_str())
}

/// Revisions that mount `storage` and may have running replicas (an answer that does not say is
/// taken as running: the invariant is never concluded safe from a missing field).
pub fn running_mounts<'a>(revisions: &'a [Revision], storage: &str) -> Vec<&'a Revision> {
    revisions
        .iter()
        .filter(|r| r.may_be_running() && mounts_storage(r, storage))
        .collect()
}

/// A revision whose template is missing is taken as mounting everything.
fn mounts_storage(r: &Revision, storage: &str) -> bool {
    let Some(template) = r.properties.as_ref().and_then(|p| p.template.as_ref()) else {
        return true;
    };
    template.volumes.iter().flatten().any(|v| {
        v.storage_name
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case(storage))
    })
}
