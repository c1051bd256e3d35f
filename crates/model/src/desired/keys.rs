//! Every key of the desired-state format, its type, default and meaning: the one list the walker
//! ([`super::schema`]) accepts and `docs/configuration.md` is generated from. One line per key.

/// One accepted key of the desired-state format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyDoc {
    /// The object the key belongs to (`stack`, `app`, `ingress`, ...).
    pub object: &'static str,
    pub key: &'static str,
    pub ty: &'static str,
    /// `required`, or the default when absent.
    pub default: &'static str,
    pub doc: &'static str,
}

const fn k(
    object: &'static str,
    key: &'static str,
    ty: &'static str,
    default: &'static str,
    doc: &'static str,
) -> KeyDoc {
    KeyDoc {
        object,
        key,
        ty,
        default,
        doc,
    }
}

/// Every key of the format, grouped by object, in documentation order.
#[rustfmt::skip]
pub const SCHEMA: &[KeyDoc] = &[
    k("document", "stacks", "list of stack", "required", "The stacks this file declares."),
    k("stack", "name", "string", "required", "Unique name of the stack, used in logs and metrics."),
    k("stack", "subscription", "GUID", "required", "Azure subscription id of the environment."),
    k("stack", "resourceGroup", "string", "required", "Resource group of the environment and its apps."),
    k("stack", "environment", "string", "required", "Name of the Container Apps managed environment."),
    k("stack", "interval", "duration", "30s", "Reconcile period (`500ms`, `30s`, `5m`, `1h`, `1m30s`); each pass is jittered by up to 10%."),
    k("stack", "mode", "enforce | observe", "enforce", "`enforce` corrects drift and alerts; `observe` only alerts."),
    k("stack", "correctionWindow", "window", "always", "When drift may be corrected, e.g. `Mon-Fri 09:00-17:00 UTC`; outside it drift is alerted only, except invariant breaches, always corrected."),
    k("stack", "storages", "map of storage", "{}", "Environment storages (by name) the stack's volumes use, and how to treat them."),
    k("stack", "apps", "map of app", "required", "Container apps the stack keeps, by a key that references use."),
    k("storage", "exclusive", "bool", "false", "At most one running revision of one app may mount it (a database's files). Apps mounting it get `recreate` updates."),
    k("storage", "snapshotBeforeMigration", "bool", "false", "Take a share snapshot before the first cutover that touches it."),
    k("storage", "accountResourceGroup", "string", "the stack's resourceGroup", "Resource group of the storage account behind the share (for snapshots)."),
    k("storage", "stopIntruders", "bool", "false", "Exclusive storages: deactivate the running revisions of apps the YAML does not declare that mount it (never deleted). Off: they are alerted only."),
    k("storage", "account", "string", "as first observed", "Storage account the environment storage must point at (exclusive storages: a change is a critical `storage-binding` alert)."),
    k("storage", "share", "string", "as first observed", "File share the environment storage must point at (exclusive storages: a change is a critical `storage-binding` alert)."),
    k("app", "name", "string", "the app's key", "ARM name of the container app (2-32 chars: lower-case letters, digits, `-`)."),
    k("app", "mode", "enforce | observe", "the stack's mode", "Overrides the stack's mode for this app."),
    k("app", "correctionWindow", "window", "the stack's", "Overrides the stack's correction window for this app."),
    k("app", "singleton", "bool", "false", "Exactly one replica: min = max = 1, no other scale accepted."),
    k("app", "updateStrategy", "rolling | recreate", "recreate if it mounts an exclusive storage, else rolling", "`recreate` stops the running revision before a template change, so two revisions never share the storage."),
    k("app", "workloadProfile", "string", "not owned", "Workload profile name; CPU/memory combinations are only checked for Consumption."),
    k("app", "scale", "scale", "not owned", "Replica bounds."),
    k("app", "containers", "list of container", "not owned", "Containers the YAML owns, matched by name; other containers are left alone."),
    k("app", "env", "map of container name to env map", "not owned", "Environment variables for containers by name, without owning their other fields."),
    k("app", "volumes", "list of volume", "not owned", "Volumes backed by environment storages."),
    k("app", "ingress", "ingress", "not owned", "The app's main ingress."),
    k("app", "additionalPorts", "list of additionalPort", "not owned", "Extra TCP ports of the ingress (`[]` means there must be none)."),
    k("app", "forbidContainers", "list of string", "[]", "Container names that must not exist in the app (e.g. a database sidecar moved to its own app)."),
    k("app", "secrets", "map of secret name to value or keyVault", "not owned", "Secrets (values may contain references; never logged)."),
    k("scale", "min", "integer 0-1000", "not owned", "minReplicas."),
    k("scale", "max", "integer 1-1000", "not owned", "maxReplicas."),
    k("container", "name", "string", "required", "Container name within the app."),
    k("container", "image", "string", "not owned", "Image reference: `[registry[:port]/]repository[:tag][@sha256:digest]`, checked by `validate`."),
    k("container", "cpu", "number (vCPU)", "not owned", "CPU; the app's total with memory must be an accepted combination."),
    k("container", "memory", "quantity (Gi/Mi)", "not owned", "Memory such as `2Gi`."),
    k("container", "env", "env map", "not owned", "Environment variables: `NAME: value`, `NAME: {secretRef: s}` or `NAME: {value: v}`."),
    k("container", "volumeMounts", "list of volumeMount", "not owned", "Mounts of the app's volumes."),
    k("container", "probes", "list of probe", "not owned", "Health probes; when present, exactly these kinds (at most one of each)."),
    k("probe", "type", "liveness | readiness | startup", "required", "Readiness gates traffic and \"running\"; startup holds the others until it passes."),
    k("probe", "httpGet", "probeHttp", "none", "An HTTP GET that must answer 2xx/3xx (one of httpGet, tcpSocket)."),
    k("probe", "tcpSocket", "probeTcp", "none", "A TCP connect that must succeed (one of httpGet, tcpSocket)."),
    k("probe", "initialDelaySeconds", "integer 0-60", "not owned", "Delay before the first probe."),
    k("probe", "periodSeconds", "integer 1-240", "not owned", "Time between probes."),
    k("probe", "timeoutSeconds", "integer 1-240", "not owned", "Time a probe may take."),
    k("probe", "failureThreshold", "integer 1-10", "not owned", "Failures in a row that count."),
    k("probeHttp", "path", "string", "required", "Absolute request path, e.g. `/ping`."),
    k("probeHttp", "port", "integer 1-65535", "required", "Container port."),
    k("probeTcp", "port", "integer 1-65535", "required", "Container port."),
    k("volumeMount", "volume", "string", "required", "Name of a volume in the app's `volumes`."),
    k("volumeMount", "path", "string", "required", "Absolute mount path in the container."),
    k("volumeMount", "subPath", "string", "none", "Sub-path of the volume."),
    k("volume", "name", "string", "required", "Volume name, as mounts refer to it."),
    k("volume", "storage", "string", "required", "Environment storage backing it (declared under the stack's `storages`)."),
    k("ingress", "external", "bool", "false", "Reachable from outside the environment."),
    k("ingress", "transport", "auto | http | http2 | tcp", "auto", "Ingress transport."),
    k("ingress", "targetPort", "port", "required", "Port the container listens on."),
    k("ingress", "exposedPort", "port", "targetPort", "TCP only: the port other apps connect to (not 80 or 443)."),
    k("ingress", "allowInsecure", "bool", "not owned", "HTTP only: serve plain HTTP on port 80 instead of redirecting to 443."),
    k("additionalPort", "targetPort", "port", "required", "Port the container listens on."),
    k("additionalPort", "exposedPort", "port", "targetPort", "Port other apps connect to."),
    k("additionalPort", "external", "bool", "false", "Reachable from outside (needs a custom-VNet environment)."),
    k("env", "secretRef", "string", "-", "Use the value of the app's secret of that name."),
    k("env", "value", "string", "-", "A literal value (may contain references)."),
    k("keyVault", "keyVaultUrl", "URL", "required", "Key Vault secret URL; Container Apps reads it with `identity`."),
    k("keyVault", "identity", "string", "required", "`system` or a user-assigned identity resource id."),
];

pub(super) fn keys_of(object: &str) -> Vec<&'static str> {
    SCHEMA.iter().filter(|d| d.object == object).map(|d| d.key).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_keys_are_unique_per_object() {
        for (i, a) in SCHEMA.iter().enumerate() {
            assert!(
                !SCHEMA[i + 1..].iter().any(|b| a.object == b.object && a.key == b.key),
                "{}.{}",
                a.object,
                a.key
            );
        }
    }
}
