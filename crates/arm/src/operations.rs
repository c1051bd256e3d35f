//! Every ARM operation the client can issue, with the RBAC action it needs. The client's methods
//! name their operation from this list, so it is complete by construction; the custom role in
//! `deploy/` is checked against it.

/// One ARM operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArmOperation {
    /// Swagger-style id, e.g. `ContainerApps_Get`.
    pub name: &'static str,
    pub method: &'static str,
    /// Path template under the subscription.
    pub path: &'static str,
    /// The Azure RBAC actions a caller needs for it.
    pub actions: &'static [&'static str],
}

impl ArmOperation {
    /// Whether it changes anything: every operation but the GETs and `listSecrets` (a POST that
    /// only reads). The write fence applies to these.
    pub fn is_write(&self) -> bool {
        self.method != "GET" && self.name != CONTAINER_APP_LIST_SECRETS.name
    }
}

const APP: &str = "/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{app}";

macro_rules! op {
    ($ident:ident, $name:literal, $method:literal, $path:expr, [$($action:literal),+ $(,)?]) => {
        pub const $ident: ArmOperation = ArmOperation { name: $name, method: $method, path: $path, actions: &[$($action),+] };
    };
}

op!(
    CONTAINER_APP_GET,
    "ContainerApps_Get",
    "GET",
    APP,
    ["Microsoft.App/containerApps/read"]
);
op!(
    CONTAINER_APP_CREATE_OR_UPDATE,
    "ContainerApps_CreateOrUpdate",
    "PUT",
    APP,
    [
        "Microsoft.App/containerApps/write",
        "Microsoft.App/managedEnvironments/join/action"
    ]
);
op!(
    CONTAINER_APP_UPDATE,
    "ContainerApps_Update",
    "PATCH",
    APP,
    ["Microsoft.App/containerApps/write"]
);
op!(
    CONTAINER_APP_LIST_SECRETS,
    "ContainerApps_ListSecrets",
    "POST",
    "/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{app}/listSecrets",
    ["Microsoft.App/containerApps/listSecrets/action"]
);
op!(
    CONTAINER_APPS_LIST_BY_RESOURCE_GROUP,
    "ContainerApps_ListByResourceGroup",
    "GET",
    "/resourceGroups/{rg}/providers/Microsoft.App/containerApps",
    ["Microsoft.App/containerApps/read"]
);
op!(
    CONTAINER_APPS_LIST_BY_SUBSCRIPTION,
    "ContainerApps_ListBySubscription",
    "GET",
    "/providers/Microsoft.App/containerApps",
    ["Microsoft.App/containerApps/read"]
);
op!(
    REVISIONS_LIST,
    "ContainerAppsRevisions_ListRevisions",
    "GET",
    "/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{app}/revisions",
    ["Microsoft.App/containerApps/revisions/read"]
);
op!(
    REVISION_ACTIVATE,
    "ContainerAppsRevisions_ActivateRevision",
    "POST",
    "/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{app}/revisions/{revision}/activate",
    ["Microsoft.App/containerApps/revisions/activate/action"]
);
op!(
    REVISION_DEACTIVATE,
    "ContainerAppsRevisions_DeactivateRevision",
    "POST",
    "/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{app}/revisions/{revision}/deactivate",
    ["Microsoft.App/containerApps/revisions/deactivate/action"]
);
op!(
    REVISION_RESTART,
    "ContainerAppsRevisions_RestartRevision",
    "POST",
    "/resourceGroups/{rg}/providers/Microsoft.App/containerApps/{app}/revisions/{revision}/restart",
    ["Microsoft.App/containerApps/revisions/restart/action"]
);
op!(
    OPERATION_STATUS,
    "ContainerAppsOperationStatus_Get",
    "GET",
    "/providers/Microsoft.App/locations/{location}/containerappOperationStatuses/{id}",
    ["Microsoft.App/locations/containerappOperationStatuses/read"]
);
op!(
    OPERATION_RESULT,
    "ContainerAppsOperationResults_Get",
    "GET",
    "/providers/Microsoft.App/locations/{location}/containerappOperationResults/{id}",
    ["Microsoft.App/locations/containerappOperationResults/read"]
);
op!(
    MANAGED_ENVIRONMENT_GET,
    "ManagedEnvironments_Get",
    "GET",
    "/resourceGroups/{rg}/providers/Microsoft.App/managedEnvironments/{env}",
    ["Microsoft.App/managedEnvironments/read"]
);
op!(
    MANAGED_ENVIRONMENTS_LIST_BY_SUBSCRIPTION,
    "ManagedEnvironments_ListBySubscription",
    "GET",
    "/providers/Microsoft.App/managedEnvironments",
    ["Microsoft.App/managedEnvironments/read"]
);
op!(
    ENVIRONMENT_STORAGE_GET,
    "ManagedEnvironmentsStorages_Get",
    "GET",
    "/resourceGroups/{rg}/providers/Microsoft.App/managedEnvironments/{env}/storages/{storage}",
    ["Microsoft.App/managedEnvironments/storages/read"]
);
op!(
    ENVIRONMENT_STORAGES_LIST,
    "ManagedEnvironmentsStorages_List",
    "GET",
    "/resourceGroups/{rg}/providers/Microsoft.App/managedEnvironments/{env}/storages",
    ["Microsoft.App/managedEnvironments/storages/read"]
);
op!(
    FILE_SHARE_GET,
    "FileShares_Get",
    "GET",
    "/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}/fileServices/default/shares/{share}",
    ["Microsoft.Storage/storageAccounts/fileServices/shares/read"]
);
op!(
    FILE_SHARE_SNAPSHOT,
    "FileShares_Create ($expand=snapshots)",
    "PUT",
    "/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}/fileServices/default/shares/{share}",
    ["Microsoft.Storage/storageAccounts/fileServices/shares/write"]
);
op!(
    FILE_SHARES_LIST,
    "FileShares_List ($expand=snapshots)",
    "GET",
    "/resourceGroups/{rg}/providers/Microsoft.Storage/storageAccounts/{account}/fileServices/default/shares",
    ["Microsoft.Storage/storageAccounts/fileServices/shares/read"]
);

/// Every operation the client can issue.
pub const ALL: &[ArmOperation] = &[
    CONTAINER_APP_GET,
    CONTAINER_APP_CREATE_OR_UPDATE,
    CONTAINER_APP_UPDATE,
    CONTAINER_APP_LIST_SECRETS,
    CONTAINER_APPS_LIST_BY_RESOURCE_GROUP,
    CONTAINER_APPS_LIST_BY_SUBSCRIPTION,
    REVISIONS_LIST,
    REVISION_ACTIVATE,
    REVISION_DEACTIVATE,
    REVISION_RESTART,
    OPERATION_STATUS,
    OPERATION_RESULT,
    MANAGED_ENVIRONMENT_GET,
    MANAGED_ENVIRONMENTS_LIST_BY_SUBSCRIPTION,
    ENVIRONMENT_STORAGE_GET,
    ENVIRONMENT_STORAGES_LIST,
    FILE_SHARE_GET,
    FILE_SHARE_SNAPSHOT,
    FILE_SHARES_LIST,
];

/// The distinct RBAC actions of all operations, sorted.
pub fn required_actions() -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = ALL.iter().flat_map(|o| o.actions.iter().copied()).collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writes_are_exactly_the_operations_that_change_something() {
        let writes: Vec<&str> = ALL.iter().filter(|o| o.is_write()).map(|o| o.name).collect();
        assert_eq!(
            writes,
            [
                CONTAINER_APP_CREATE_OR_UPDATE.name,
                CONTAINER_APP_UPDATE.name,
                REVISION_ACTIVATE.name,
                REVISION_DEACTIVATE.name,
                REVISION_RESTART.name,
                FILE_SHARE_SNAPSHOT.name,
            ]
        );
    }
}
