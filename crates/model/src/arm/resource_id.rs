//! ARM resource ids: `/subscriptions/{s}/resourceGroups/{g}/providers/{ns}/{type}/{name}[/{type}/{name}]...`.
//!
//! ARM treats the fixed segments (`subscriptions`, `resourceGroups`, `providers`, namespaces and
//! type names) case-insensitively; so does [`ResourceId::parse`]. Names keep their case.

use std::fmt;

/// A parsed ARM resource id (resource-group scoped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceId {
    pub subscription: String,
    pub resource_group: String,
    /// Provider namespace as written, e.g. `Microsoft.App`.
    pub namespace: String,
    /// `(type, name)` pairs from the outermost resource inwards, e.g.
    /// `[("managedEnvironments", "env"), ("storages", "data")]`.
    pub segments: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid ARM resource id {id:?}: {reason}")]
pub struct ResourceIdError {
    pub id: String,
    pub reason: &'static str,
}

impl ResourceId {
    pub fn parse(id: &str) -> Result<Self, ResourceIdError> {
        let fail = |reason| ResourceIdError {
            id: id.to_string(),
            reason,
        };
        let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(fail("empty path segment"));
        }
        let expect = |i: usize, word: &str| parts.get(i).is_some_and(|p| p.eq_ignore_ascii_case(word));
        if !expect(0, "subscriptions") || parts.len() < 2 {
            return Err(fail("must start with /subscriptions/{id}"));
        }
        if !expect(2, "resourceGroups") || parts.len() < 4 {
            return Err(fail("missing /resourceGroups/{name}"));
        }
        if !expect(4, "providers") || parts.len() < 6 {
            return Err(fail("missing /providers/{namespace}"));
        }
        let rest = &parts[6..];
        if rest.is_empty() || !rest.len().is_multiple_of(2) {
            return Err(fail("resource types and names must come in pairs"));
        }
        Ok(ResourceId {
            subscription: parts[1].to_string(),
            resource_group: parts[3].to_string(),
            namespace: parts[5].to_string(),
            segments: rest.chunks(2).map(|c| (c[0].to_string(), c[1].to_string())).collect(),
        })
    }

    /// A `Microsoft.App/containerApps` id.
    pub fn container_app(subscription: &str, resource_group: &str, name: &str) -> Self {
        Self::new(
            subscription,
            resource_group,
            "Microsoft.App",
            &[("containerApps", name)],
        )
    }

    /// A `Microsoft.App/managedEnvironments` id.
    pub fn managed_environment(subscription: &str, resource_group: &str, name: &str) -> Self {
        Self::new(
            subscription,
            resource_group,
            "Microsoft.App",
            &[("managedEnvironments", name)],
        )
    }

    /// A `Microsoft.App/managedEnvironments/storages` id.
    pub fn environment_storage(subscription: &str, resource_group: &str, env: &str, storage: &str) -> Self {
        Self::new(
            subscription,
            resource_group,
            "Microsoft.App",
            &[("managedEnvironments", env), ("storages", storage)],
        )
    }

    /// A `Microsoft.Storage/storageAccounts/fileServices/shares` id (file service `default`).
    pub fn file_share(subscription: &str, resource_group: &str, account: &str, share: &str) -> Self {
        Self::new(
            subscription,
            resource_group,
            "Microsoft.Storage",
            &[
                ("storageAccounts", account),
                ("fileServices", "default"),
                ("shares", share),
            ],
        )
    }

    pub fn new(subscription: &str, resource_group: &str, namespace: &str, segments: &[(&str, &str)]) -> Self {
        ResourceId {
            subscription: subscription.to_string(),
            resource_group: resource_group.to_string(),
            namespace: namespace.to_string(),
            segments: segments.iter().map(|(t, n)| (t.to_string(), n.to_string())).collect(),
        }
    }

    /// The innermost resource's name.
    pub fn name(&self) -> &str {
        &self.segments.last().expect("a parsed id has at least one segment").1
    }

    /// The full type, e.g. `Microsoft.App/managedEnvironments/storages`.
    pub fn resource_type(&self) -> String {
        let mut t = self.namespace.clone();
        for (ty, _) in &self.segments {
            t.push('/');
            t.push_str(ty);
        }
        t
    }

    /// True when both ids name the same resource, comparing as ARM does: fixed segments and
    /// names case-insensitively.
    pub fn same_resource(&self, other: &ResourceId) -> bool {
        self.canonical() == other.canonical()
    }

    /// A lower-cased form for use as a map key.
    pub fn canonical(&self) -> String {
        self.to_string().to_ascii_lowercase()
    }

    /// The parent resource (`None` for a top-level resource).
    pub fn parent(&self) -> Option<ResourceId> {
        (self.segments.len() > 1).then(|| ResourceId {
            segments: self.segments[..self.segments.len() - 1].to_vec(),
            ..self.clone()
        })
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/subscriptions/{}/resourceGroups/{}/providers/{}",
            self.subscription, self.resource_group, self.namespace
        )?;
        for (ty, name) in &self.segments {
            write!(f, "/{ty}/{name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_round_trips() {
        let id = ResourceId::parse(
            "/SUBSCRIPTIONS/s1/resourcegroups/rg/PROVIDERS/Microsoft.App/managedEnvironments/env/storages/data",
        )
        .unwrap();
        assert_eq!(id.subscription, "s1");
        assert_eq!(id.resource_group, "rg");
        assert_eq!(id.name(), "data");
        assert_eq!(id.resource_type(), "Microsoft.App/managedEnvironments/storages");
        assert_eq!(id.parent().unwrap().name(), "env");
        assert!(id.same_resource(&ResourceId::environment_storage("S1", "RG", "env", "DATA")));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "/subscriptions",
            "/subscriptions/s/resourceGroups/rg",
            "/subscriptions/s/resourceGroups/rg/providers/ns/type",
        ] {
            assert!(ResourceId::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}
