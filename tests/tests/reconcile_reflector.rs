//! The reflector on the in-memory fake (`fake/mod.rs` logs every call, so reads are counted):
//! a steady pass reads nothing, secrets and revisions are read again only when the app moved,
//! our writes are never read back stale, the executor reads fresh, NotFound stays NotFound, and
//! only what the desired state names is kept.

mod fake;

use std::sync::Arc;
use std::time::Duration;

use aca_arm_api::{ArmResult, Listed, RevisionAction, Tagged};
use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, ManagedEnvironment, ResourceId, Revision, Secret};
use aca_model::desired::Stack;
use aca_reconcile::{ArmApi, ExecSettings, PassOptions, PassReport, Reflector, run_pass};
use aca_sim::scenario;
use fake::{Call, FakeArm};
use serde_json::{Value, json};

fn stack() -> Stack {
    aca_e2e::example_stack()
}

fn options() -> PassOptions {
    PassOptions {
        apply: true,
        exec: ExecSettings {
            poll_interval: Duration::from_millis(10),
            wait_timeout: Duration::from_secs(5),
        },
        ..PassOptions::default()
    }
}

async fn pass(api: &dyn ArmApi, stack: &Stack) -> PassReport {
    let report = run_pass(api, stack, options(), &|_| {}).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    report
}

fn ops(calls: &[Call]) -> Vec<String> {
    calls.iter().map(|c| format!("{} {}", c.op, c.name)).collect()
}

/// The fake after the migration (steady), a reflector over it filled by one resync, calls cleared.
async fn steady() -> (Arc<FakeArm>, Reflector, Stack) {
    let fake = Arc::new(FakeArm::sidecar());
    let stack = stack();
    pass(fake.as_ref(), &stack).await;
    let reflector = Reflector::new(fake.clone());
    assert!(reflector.set_scope(std::slice::from_ref(&stack)));
    reflector.resync().await.unwrap();
    // The first pass over the cache reads what is read once per stamp (secrets, revisions).
    pass(&reflector, &stack).await;
    fake.clear_calls();
    (fake, reflector, stack)
}

fn app_id(name: &str) -> ResourceId {
    ResourceId::parse(&scenario::app_id(name)).unwrap()
}

#[tokio::test]
async fn a_resync_reads_the_subscription_lists_and_the_declared_storages_only() {
    let fake = Arc::new(FakeArm::sidecar());
    let reflector = Reflector::new(fake.clone());
    reflector.set_scope(&[stack()]);
    let done = reflector.resync().await.unwrap();
    assert_eq!(
        ops(&fake.calls()),
        [
            format!("list_apps_in_subscription {}", scenario::SUBSCRIPTION),
            format!("list_environments_in_subscription {}", scenario::SUBSCRIPTION),
            format!("list_storages {}", scenario::ENVIRONMENT),
        ]
    );
    assert_eq!((done.subscriptions, done.pages, done.apps), (1, 3, 1));
}

#[tokio::test]
async fn a_steady_pass_over_the_cache_reads_nothing() {
    let (fake, reflector, stack) = steady().await;
    let report = pass(&reflector, &stack).await;
    assert!(report.plan.steps.is_empty(), "{:?}", report.plan.steps);
    assert_eq!(ops(&fake.calls()), Vec::<String>::new(), "no ARM read in steady state");
}

#[tokio::test]
async fn a_portal_edit_is_seen_after_a_refresh_and_corrected_with_a_fresh_read_first() {
    let (fake, reflector, stack) = steady().await;
    fake.person_edit(
        scenario::LANGFUSE_APP,
        json!({"properties": {"template": {"scale": {"minReplicas": 3}}}}),
    );
    // Until an event or a resync, the cache does not know (and reads nothing).
    assert!(pass(&reflector, &stack).await.plan.steps.is_empty());
    assert!(fake.calls().is_empty());
    let refreshed = reflector
        .refresh(&app_id(scenario::LANGFUSE_APP))
        .await
        .unwrap()
        .unwrap();
    assert!(refreshed.exists);
    assert_eq!(refreshed.subscription, scenario::SUBSCRIPTION.to_ascii_lowercase());
    fake.clear_calls();
    let report = pass(&reflector, &stack).await;
    assert!(!report.plan.steps.is_empty(), "the edit is drift");
    let calls = ops(&fake.calls());
    let write = calls
        .iter()
        .position(|c| c.starts_with("update_app"))
        .expect("corrected");
    assert!(
        calls[..write]
            .iter()
            .any(|c| c == &format!("find_app {}", scenario::LANGFUSE_APP)),
        "the executor re-reads the app from ARM before writing: {calls:?}"
    );
}

#[tokio::test]
async fn our_write_is_read_back_from_arm_until_it_settles_never_stale() {
    let (fake, reflector, stack) = steady().await;
    let id = app_id(scenario::LANGFUSE_APP);
    let before = reflector.find_app(&id).await.unwrap().unwrap();
    let written = reflector
        .update_app(&id, &json!({"properties": {"template": {"scale": {"maxReplicas": 9}}}}))
        .await
        .unwrap();
    assert_ne!(before.system_data, written.system_data);
    fake.clear_calls();
    let read = reflector.find_app(&id).await.unwrap().unwrap();
    assert_eq!(read.system_data, written.system_data);
    assert_eq!(
        ops(&fake.calls()),
        [format!("find_app {}", scenario::LANGFUSE_APP)],
        "read from ARM once"
    );
    fake.clear_calls();
    reflector.find_app(&id).await.unwrap();
    assert!(fake.calls().is_empty(), "settled: served again");
    // The pass after it puts the scale back (the desired state says max 10) and settles again.
    pass(&reflector, &stack).await;
    pass(&reflector, &stack).await;
    fake.clear_calls();
    assert!(pass(&reflector, &stack).await.plan.steps.is_empty());
    assert!(fake.calls().is_empty(), "{:?}", fake.calls());
}

#[tokio::test]
async fn secrets_are_read_again_only_when_the_app_moved() {
    let (fake, reflector, _stack) = steady().await;
    let id = app_id(scenario::LANGFUSE_APP);
    reflector.list_secrets(&id).await.unwrap();
    assert!(fake.calls().is_empty(), "read at this stamp already");
    fake.person_edit(scenario::LANGFUSE_APP, json!({"tags": {"owner": "alice"}}));
    reflector.refresh(&id).await.unwrap();
    fake.clear_calls();
    reflector.list_secrets(&id).await.unwrap();
    reflector.list_secrets(&id).await.unwrap();
    assert_eq!(ops(&fake.calls()), [format!("list_secrets {}", scenario::LANGFUSE_APP)]);
}

#[tokio::test]
async fn not_found_stays_not_found_and_the_cache_invents_nothing() {
    let mut stack = stack();
    let mut ghost = stack.apps[0].clone();
    ghost.key = "ghost".into();
    ghost.name = "ghost".into();
    stack.apps.push(ghost);
    let fake = Arc::new(FakeArm::sidecar());
    let reflector = Reflector::new(fake.clone());
    reflector.set_scope(std::slice::from_ref(&stack));
    reflector.resync().await.unwrap();
    fake.clear_calls();
    assert_eq!(reflector.find_app(&app_id("ghost")).await.unwrap(), None);
    assert!(fake.calls().is_empty(), "a filled subscription answers absence itself");
    // An app the desired state does not name is read from ARM: never answered from the cache.
    assert_eq!(reflector.find_app(&app_id("elsewhere")).await.unwrap(), None);
    assert_eq!(ops(&fake.calls()), ["find_app elsewhere"]);
    let refreshed = reflector.refresh(&app_id("ghost")).await.unwrap().unwrap();
    assert!(!refreshed.exists);
    assert!(reflector.cached_app(&app_id("ghost")).is_none());
}

#[tokio::test]
async fn only_declared_apps_and_mounters_of_declared_storages_are_kept() {
    let app = |name: &str, storage: Option<&str>| {
        let volumes = storage.map(|s| json!([{"name": "data", "storageType": "AzureFile", "storageName": s}]));
        json!({
            "id": scenario::app_id(name),
            "location": "Japan East",
            "properties": {
                "managedEnvironmentId": scenario::environment_id(),
                "template": {"containers": [{"name": "main", "image": "busybox"}], "volumes": volumes.unwrap_or(json!([]))}
            }
        })
    };
    let mut resources = scenario::resources("sidecar").unwrap();
    resources.push(app("bystander", None));
    resources.push(app("intruder", Some(scenario::STORAGE)));
    let fake = Arc::new(FakeArm::with(resources));
    let reflector = Reflector::new(fake.clone());
    reflector.set_scope(&[stack()]);
    assert_eq!(reflector.resync().await.unwrap().apps, 2);
    assert!(
        reflector.cached_app(&app_id("bystander")).is_none(),
        "not named, mounts nothing"
    );
    assert!(
        reflector.cached_app(&app_id("intruder")).is_some(),
        "mounts a declared storage"
    );
    assert!(reflector.cached_app(&app_id(scenario::LANGFUSE_APP)).is_some());
}

#[tokio::test]
async fn a_changed_scope_serves_nothing_until_the_next_resync() {
    let (fake, reflector, stack) = steady().await;
    assert!(
        !reflector.set_scope(std::slice::from_ref(&stack)),
        "same stacks: no change"
    );
    let mut more = stack.clone();
    more.name = "other".into();
    more.environment = "cae-other".into();
    assert!(reflector.set_scope(&[stack.clone(), more]));
    reflector.find_app(&app_id(scenario::LANGFUSE_APP)).await.unwrap();
    assert_eq!(ops(&fake.calls()), [format!("find_app {}", scenario::LANGFUSE_APP)]);
}

/// The fake, with the subscription's app LIST held open (after it read) until the test lets it go.
struct HeldList {
    fake: Arc<FakeArm>,
    listed: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl ArmApi for HeldList {
    async fn get_environment(&self, id: &ResourceId) -> ArmResult<ManagedEnvironment> {
        self.fake.get_environment(id).await
    }
    async fn list_storages(&self, env: &ResourceId) -> ArmResult<Vec<EnvironmentStorage>> {
        self.fake.list_storages(env).await
    }
    async fn find_app(&self, id: &ResourceId) -> ArmResult<Option<ContainerApp>> {
        self.fake.find_app(id).await
    }
    async fn list_secrets(&self, id: &ResourceId) -> ArmResult<Vec<Secret>> {
        self.fake.list_secrets(id).await
    }
    async fn list_apps(&self, sub: &str, rg: &str) -> ArmResult<Vec<ContainerApp>> {
        self.fake.list_apps(sub, rg).await
    }
    async fn list_revisions(&self, id: &ResourceId) -> ArmResult<Vec<Revision>> {
        self.fake.list_revisions(id).await
    }
    async fn create_app(&self, id: &ResourceId, app: &ContainerApp) -> ArmResult<ContainerApp> {
        self.fake.create_app(id, app).await
    }
    async fn update_app(&self, id: &ResourceId, patch: &Value) -> ArmResult<ContainerApp> {
        self.fake.update_app(id, patch).await
    }
    async fn revision_action(&self, app: &ResourceId, rev: &str, action: RevisionAction) -> ArmResult<()> {
        self.fake.revision_action(app, rev, action).await
    }
    async fn get_share(&self, id: &ResourceId) -> ArmResult<Tagged<FileShare>> {
        self.fake.get_share(id).await
    }
    async fn snapshot_share(&self, id: &ResourceId, if_match: Option<&str>) -> ArmResult<FileShare> {
        self.fake.snapshot_share(id, if_match).await
    }
    async fn list_apps_in_subscription(&self, sub: &str) -> ArmResult<Listed<ContainerApp>> {
        let listed = self.fake.list_apps_in_subscription(sub).await;
        self.listed.notify_one();
        self.release.notified().await;
        listed
    }
    async fn list_environments_in_subscription(&self, sub: &str) -> ArmResult<Listed<ManagedEnvironment>> {
        self.fake.list_environments_in_subscription(sub).await
    }
}

#[tokio::test]
async fn a_resync_that_listed_before_our_write_does_not_undo_it_in_the_cache() {
    let fake = Arc::new(FakeArm::sidecar());
    let stack = stack();
    pass(fake.as_ref(), &stack).await;
    let held = Arc::new(HeldList {
        fake: fake.clone(),
        listed: tokio::sync::Notify::new(),
        release: tokio::sync::Notify::new(),
    });
    let reflector = Arc::new(Reflector::new(held.clone()));
    reflector.set_scope(std::slice::from_ref(&stack));
    let first = tokio::spawn({
        let r = reflector.clone();
        async move { r.resync().await }
    });
    held.listed.notified().await;
    held.release.notify_one();
    first.await.unwrap().unwrap();
    // The second resync lists, then our write lands, then the (older) list is installed.
    let second = tokio::spawn({
        let r = reflector.clone();
        async move { r.resync().await }
    });
    held.listed.notified().await;
    let id = app_id(scenario::LANGFUSE_APP);
    let written = reflector
        .update_app(&id, &json!({"tags": {"written": "by us"}}))
        .await
        .unwrap();
    held.release.notify_one();
    second.await.unwrap().unwrap();
    let cached = reflector.cached_app(&id).unwrap();
    assert_eq!(
        cached.system_data, written.system_data,
        "the LIST read before the write lost"
    );
    let read = reflector.find_app(&id).await.unwrap().unwrap();
    assert_eq!(read.system_data, written.system_data);
}
