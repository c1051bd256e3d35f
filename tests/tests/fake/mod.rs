//! An in-memory `ArmApi` for unit tests of the reconcile core: no HTTP, no simulator, no time.
//! It keeps resources as ARM JSON and behaves as ARM does where the core depends on it: GET hides
//! secret values, every write moves `systemData.lastModifiedAt`, a template change makes a new
//! revision that runs at once while the old one (Single mode) stops at once. Every call is logged,
//! so tests assert the order of reads and writes.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Mutex;

use aca_arm_api::{ArmError, ArmResult, Listed, RevisionAction, Tagged};
use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision, Secret};
use aca_reconcile::ArmApi;
use async_trait::async_trait;
use serde_json::{Value, json};

/// One call to the fake: the `ArmApi` method and the last segment of the id (an app's name...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub op: &'static str,
    pub name: String,
}

impl Call {
    pub fn is_write(&self) -> bool {
        matches!(
            self.op,
            "create_app" | "update_app" | "revision_action" | "snapshot_share"
        )
    }
}

#[derive(Debug, Default)]
struct World {
    environments: BTreeMap<String, Value>,
    storages: BTreeMap<String, Value>,
    apps: BTreeMap<String, Value>,
    revisions: BTreeMap<String, Vec<Value>>,
    shares: BTreeMap<String, Value>,
    calls: Vec<Call>,
    /// Orders writes: `lastModifiedAt` and ETags.
    clock: u64,
}

#[derive(Debug, Default)]
pub struct FakeArm {
    world: Mutex<World>,
}

fn key(id: &str) -> String {
    id.to_ascii_lowercase()
}

fn not_found(id: &ResourceId) -> ArmError {
    ArmError::NotFound {
        code: "ResourceNotFound".into(),
        message: format!("{id} was not found (fake)"),
    }
}

/// RFC 7396 JSON merge patch, as ARM applies a PATCH.
pub fn merge(target: &mut Value, patch: &Value) {
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

impl FakeArm {
    /// A fake holding these resources (environments, storages, apps, shares), e.g. a simulator
    /// scenario's. Each app gets one running revision of its template.
    pub fn with(resources: Vec<Value>) -> Self {
        let fake = FakeArm::default();
        {
            let mut w = fake.world.lock().unwrap();
            for mut r in resources {
                let id = r["id"].as_str().expect("an id").to_string();
                let parsed = ResourceId::parse(&id).unwrap();
                // What ARM adds to every resource it returns.
                r["name"] = json!(parsed.name());
                r["type"] = json!(parsed.resource_type());
                let ty = parsed.resource_type().to_ascii_lowercase();
                match ty.as_str() {
                    "microsoft.app/managedenvironments" => drop(w.environments.insert(key(&id), r)),
                    "microsoft.app/managedenvironments/storages" => drop(w.storages.insert(key(&id), r)),
                    "microsoft.storage/storageaccounts/fileservices/shares" => drop(w.shares.insert(key(&id), r)),
                    "microsoft.app/containerapps" => w.write_app(&id, r, "seed@contoso.com", "User"),
                    other => panic!("the fake keeps no {other}"),
                }
            }
        }
        fake
    }

    /// The resources of the simulator's `sidecar` scenario (the migration's starting point).
    pub fn sidecar() -> Self {
        Self::with(aca_sim::scenario::resources("sidecar").unwrap())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.world.lock().unwrap().calls.clone()
    }

    pub fn writes(&self) -> Vec<Call> {
        self.calls().into_iter().filter(Call::is_write).collect()
    }

    pub fn clear_calls(&self) {
        self.world.lock().unwrap().calls.clear();
    }

    /// The stored app (with secret values), by name.
    pub fn app(&self, name: &str) -> Option<Value> {
        let w = self.world.lock().unwrap();
        w.apps.get(&key(&aca_sim::scenario::app_id(name))).cloned()
    }

    /// A person edits an app in the portal (merge patch).
    pub fn person_edit(&self, name: &str, patch: Value) {
        let id = aca_sim::scenario::app_id(name);
        let mut w = self.world.lock().unwrap();
        let mut app = w.apps.get(&key(&id)).cloned().expect("the app exists");
        merge(&mut app, &patch);
        w.write_app(&id, app, "alice@contoso.com", "User");
    }

    /// Running revisions of an app by name: (revision, replicas, mounted storages).
    pub fn running(&self, name: &str) -> Vec<(String, u64, Vec<String>)> {
        let w = self.world.lock().unwrap();
        let revisions = w.revisions.get(&key(&aca_sim::scenario::app_id(name)));
        revisions
            .into_iter()
            .flatten()
            .filter(|r| r["properties"]["replicas"].as_u64().unwrap_or(0) > 0)
            .map(|r| {
                let storages = r["properties"]["template"]["volumes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v["storageName"].as_str().map(str::to_string))
                    .collect();
                (
                    r["name"].as_str().unwrap().to_string(),
                    r["properties"]["replicas"].as_u64().unwrap(),
                    storages,
                )
            })
            .collect()
    }

    fn log(&self, op: &'static str, id: &ResourceId) -> std::sync::MutexGuard<'_, World> {
        self.log_named(op, id.name())
    }

    fn log_named(&self, op: &'static str, name: &str) -> std::sync::MutexGuard<'_, World> {
        let mut w = self.world.lock().unwrap();
        w.calls.push(Call {
            op,
            name: name.to_string(),
        });
        w
    }
}

impl World {
    /// Stores an app as ARM would after a write by `by`: new stamp, and a new running revision when
    /// the template changed (the previous ones stop: Single revision mode).
    fn write_app(&mut self, id: &str, mut app: Value, by: &str, by_type: &str) {
        self.clock += 1;
        let name = id.rsplit('/').next().unwrap().to_string();
        let template = app["properties"]["template"].clone();
        let revisions = self.revisions.entry(key(id)).or_default();
        let current = revisions.iter().rev().find(|r| r["properties"]["active"] == true);
        let latest = match current {
            Some(r) if r["properties"]["template"] == template => r["name"].as_str().unwrap().to_string(),
            _ => {
                for r in revisions.iter_mut() {
                    r["properties"]["active"] = json!(false);
                    r["properties"]["replicas"] = json!(0);
                }
                let revision = format!("{name}--r{}", self.clock);
                let replicas = template["scale"]["minReplicas"].as_u64().unwrap_or(1).max(1);
                revisions.push(json!({
                    "name": revision,
                    "properties": {"active": true, "replicas": replicas, "template": template,
                                   "provisioningState": "Provisioned", "runningState": "Running"}
                }));
                revision
            }
        };
        app["id"] = json!(id);
        app["name"] = json!(name);
        app["type"] = json!("Microsoft.App/containerApps");
        app["systemData"] = json!({
            "lastModifiedBy": by,
            "lastModifiedByType": by_type,
            "lastModifiedAt": format!("2026-11-25T10:00:{:02}.{:07}Z", self.clock % 60, self.clock),
        });
        let props = &mut app["properties"];
        props["provisioningState"] = json!("Succeeded");
        props["latestRevisionName"] = json!(latest);
        props["latestReadyRevisionName"] = json!(latest);
        self.apps.insert(key(id), app);
    }
}

/// An app as ARM returns it on GET or LIST: never with secret values.
fn as_read(app: &Value) -> ContainerApp {
    let mut shown = app.clone();
    if let Some(secrets) = shown["properties"]["configuration"]["secrets"].as_array_mut() {
        for s in secrets {
            s.as_object_mut().unwrap().remove("value");
        }
    }
    typed(shown)
}

fn typed<T: serde::de::DeserializeOwned>(v: Value) -> T {
    serde_json::from_value(v).expect("the fake's JSON reads as the model")
}

#[async_trait]
impl ArmApi for FakeArm {
    async fn get_environment(&self, id: &ResourceId) -> ArmResult<ManagedEnvironment> {
        let w = self.log("get_environment", id);
        w.environments
            .get(&key(&id.to_string()))
            .map(|e| typed(e.clone()))
            .ok_or_else(|| not_found(id))
    }

    async fn list_storages(&self, environment: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>> {
        let w = self.log("list_storages", environment);
        let prefix = format!("{}/storages/", key(&environment.to_string()));
        Ok(w.storages
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, s)| typed(s.clone()))
            .collect())
    }

    async fn find_app(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        let w = self.log("find_app", id);
        Ok(w.apps.get(&key(&id.to_string())).map(as_read))
    }

    async fn list_apps(&self, subscription: &str, resource_group: &str) -> ArmResult<Vec<ContainerApp>> {
        let w = self.log_named("list_apps", resource_group);
        let prefix = key(&format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.App/containerApps/"
        ));
        Ok(w.apps
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, a)| as_read(a))
            .collect())
    }

    async fn list_secrets(&self, id: &ResourceId) -> ArmResult<Vec<Secret>> {
        let w = self.log("list_secrets", id);
        let app = w.apps.get(&key(&id.to_string())).ok_or_else(|| not_found(id))?;
        Ok(typed(app["properties"]["configuration"]["secrets"].clone()))
    }

    async fn list_revisions(&self, id: &ResourceId) -> ArmResult<Vec<Revision>> {
        let w = self.log("list_revisions", id);
        Ok(typed(json!(
            w.revisions.get(&key(&id.to_string())).cloned().unwrap_or_default()
        )))
    }

    async fn create_app(&self, id: &ResourceId, app: &ContainerApp) -> ArmResult<ContainerApp> {
        let mut w = self.log("create_app", id);
        w.write_app(
            &id.to_string(),
            serde_json::to_value(app).unwrap(),
            "aca-operator",
            "Application",
        );
        Ok(typed(w.apps[&key(&id.to_string())].clone()))
    }

    async fn update_app(&self, id: &ResourceId, patch: &Value) -> ArmResult<ContainerApp> {
        let mut w = self.log("update_app", id);
        let mut app = w
            .apps
            .get(&key(&id.to_string()))
            .cloned()
            .ok_or_else(|| not_found(id))?;
        merge(&mut app, patch);
        w.write_app(&id.to_string(), app, "aca-operator", "Application");
        Ok(typed(w.apps[&key(&id.to_string())].clone()))
    }

    async fn revision_action(&self, app: &ResourceId, revision: &str, action: RevisionAction) -> ArmResult<()> {
        let mut w = self.log("revision_action", app);
        let spec = w
            .apps
            .get(&key(&app.to_string()))
            .cloned()
            .ok_or_else(|| not_found(app))?;
        let replicas = spec["properties"]["template"]["scale"]["minReplicas"]
            .as_u64()
            .unwrap_or(1)
            .max(1);
        let revisions = w.revisions.entry(key(&app.to_string())).or_default();
        let r = revisions
            .iter_mut()
            .find(|r| r["name"] == revision)
            .ok_or_else(|| not_found(app))?;
        match action {
            RevisionAction::Deactivate => {
                r["properties"]["active"] = json!(false);
                r["properties"]["replicas"] = json!(0);
            }
            RevisionAction::Activate | RevisionAction::Restart => {
                r["properties"]["active"] = json!(true);
                r["properties"]["replicas"] = json!(replicas);
            }
        }
        Ok(())
    }

    async fn get_share(&self, id: &ResourceId) -> ArmResult<Tagged<FileShare>> {
        let w = self.log("get_share", id);
        let share = w.shares.get(&key(&id.to_string())).ok_or_else(|| not_found(id))?;
        Ok(Tagged {
            value: typed(share.clone()),
            etag: Some(format!("\"0x{}\"", w.clock)),
        })
    }

    async fn snapshot_share(&self, id: &ResourceId, _if_match: Option<&str>) -> ArmResult<FileShare> {
        let mut w = self.log("snapshot_share", id);
        w.clock += 1;
        let mut share = w
            .shares
            .get(&key(&id.to_string()))
            .cloned()
            .ok_or_else(|| not_found(id))?;
        share["properties"]["snapshotTime"] = json!(format!("2026-11-25T10:00:{:02}.0000000Z", w.clock % 60));
        Ok(typed(share))
    }

    /// One page: the fake does not page.
    async fn list_apps_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ContainerApp>> {
        let w = self.log_named("list_apps_in_subscription", subscription);
        let prefix = key(&format!("/subscriptions/{subscription}/"));
        let items = w
            .apps
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, a)| as_read(a))
            .collect();
        Ok(Listed { items, pages: 1 })
    }

    async fn list_environments_in_subscription(&self, subscription: &str) -> ArmResult<Listed<ManagedEnvironment>> {
        let w = self.log_named("list_environments_in_subscription", subscription);
        let prefix = key(&format!("/subscriptions/{subscription}/"));
        let items = w
            .environments
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(_, e)| typed(e.clone()))
            .collect();
        Ok(Listed { items, pages: 1 })
    }
}
