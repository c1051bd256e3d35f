//! Each invariant on hand-built observed states (no HTTP), boundary cases included.

use serde_json::{Value, json};

use super::*;
use aca_model::desired::load_str;

const YAML: &str = "stacks:
  - name: s
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg
    environment: env
    storages:
      data: { exclusive: true }
    apps:
      db:
        name: ch
        singleton: true
        containers: [{ name: ch, image: db:24, volumeMounts: [{ volume: d, path: /data }] }]
        volumes: [{ name: d, storage: data }]
      web:
        name: web
        forbidContainers: [ch]
";

fn stack() -> Stack {
    load_str(YAML, "t.yaml").unwrap().state.stacks.remove(0)
}

fn app(name: &str, latest_ready: &str, state: &str) -> ContainerApp {
    serde_json::from_value(json!({
        "id": format!("/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.App/containerApps/{name}"),
        "name": name,
        "systemData": {"lastModifiedBy": "someone@example.com", "lastModifiedByType": "User", "lastModifiedAt": "2026-11-25T10:00:00Z"},
        "properties": {
            "provisioningState": state,
            "managedEnvironmentId": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.App/managedEnvironments/env",
            "latestRevisionName": latest_ready,
            "latestReadyRevisionName": latest_ready,
            "template": {"volumes": [{"name": "d", "storageName": "data"}], "containers": [{"name": "ch"}]}
        }
    }))
    .unwrap()
}

fn rev(name: &str, storage: Option<&str>, replicas: u32, active: bool, state: &str) -> Revision {
    let volumes: Vec<Value> = storage
        .map(|s| json!({"name": "d", "storageName": s}))
        .into_iter()
        .collect();
    serde_json::from_value(json!({
        "name": name,
        "properties": {"active": active, "replicas": replicas, "provisioningState": state,
            "template": {"volumes": volumes}}
    }))
    .unwrap()
}

fn storage(account: &str, share: &str, mode: &str) -> EnvironmentStorage {
    serde_json::from_value(json!({
        "name": "data",
        "properties": {"azureFile": {"accountName": account, "shareName": share, "accessMode": mode}}
    }))
    .unwrap()
}

/// The target layout: `ch` runs one replica of `ch--1` on `data`.
fn healthy() -> Observed {
    let mut o = Observed {
        environment: Some(serde_json::from_value(json!({"name": "env"})).unwrap()),
        ..Observed::default()
    };
    o.storages.insert("data".into(), storage("acct", "share", "ReadWrite"));
    let ch = app("ch", "ch--1", "Succeeded");
    o.apps.insert("db".into(), Some(ch.clone()));
    o.environment_apps.insert("ch".into(), ch);
    o.revisions
        .insert("ch".into(), vec![rev("ch--1", Some("data"), 1, true, "Provisioned")]);
    o
}

fn add_app(o: &mut Observed, name: &str, revisions: Vec<Revision>) {
    o.environment_apps
        .insert(name.into(), app(name, &rev_name(&revisions[0]), "Succeeded"));
    o.revisions.insert(name.into(), revisions);
}

fn breaches(o: &Observed) -> Vec<Breach> {
    evaluate(&stack(), o, &Bindings::new())
}

#[test]
fn the_target_layout_breaks_nothing() {
    assert_eq!(breaches(&healthy()), vec![]);
}

#[test]
fn an_undeclared_app_running_on_the_share_is_a_critical_breach_naming_it() {
    let mut o = healthy();
    add_app(
        &mut o,
        "ch-old",
        vec![rev("ch-old--a", Some("data"), 1, true, "Provisioned")],
    );
    let b = breaches(&o);
    assert_eq!(b.len(), 1, "{b:#?}");
    assert_eq!(b[0].invariant, EXCLUSIVE_STORAGE);
    assert_eq!(b[0].app.as_deref(), Some("ch-old"));
    assert_eq!(b[0].key, None);
    assert_eq!(b[0].revision.as_deref(), Some("ch-old--a"));
    assert_eq!(b[0].replicas, 1);
    assert_eq!(b[0].changed_by.as_deref(), Some("someone@example.com (User)"));
    assert_eq!(
        b[0].repair,
        Repair::None,
        "an undeclared app is never touched by default"
    );
    assert!(b[0].what.contains("an undeclared app"), "{}", b[0].what);
    let d = b[0].to_drift();
    assert_eq!(d.severity, DriftSeverity::Critical);
    assert_eq!(d.invariant, Some(EXCLUSIVE_STORAGE));
}

#[test]
fn an_intruder_with_zero_replicas_is_not_a_breach() {
    let mut o = healthy();
    add_app(
        &mut o,
        "ch-old",
        vec![rev("ch-old--a", Some("data"), 0, false, "Deprovisioned")],
    );
    assert_eq!(breaches(&o), vec![]);
}

#[test]
fn a_revision_draining_during_single_mode_overlap_is_a_breach_repaired_by_deactivation() {
    let mut o = healthy();
    // ch--0 was superseded (inactive) but its replica still runs: it still writes to the share.
    o.revisions.insert(
        "ch".into(),
        vec![
            rev("ch--0", Some("data"), 1, false, "Deprovisioned"),
            rev("ch--1", Some("data"), 1, true, "Provisioned"),
        ],
    );
    let b = breaches(&o);
    assert_eq!(b.len(), 1, "{b:#?}");
    assert_eq!(
        b[0].revision.as_deref(),
        Some("ch--0"),
        "the newest ready revision stays"
    );
    assert_eq!(
        b[0].repair,
        Repair::Deactivate {
            revisions: vec!["ch--0".into()]
        }
    );
    assert_eq!(b[0].key.as_deref(), Some("db"));
}

#[test]
fn three_replicas_of_one_revision_are_a_breach() {
    let mut o = healthy();
    o.revisions
        .insert("ch".into(), vec![rev("ch--1", Some("data"), 3, true, "Provisioned")]);
    let b = breaches(&o);
    assert_eq!(b.len(), 1, "{b:#?}");
    assert_eq!(b[0].replicas, 3);
    assert!(b[0].what.contains("3 processes"), "{}", b[0].what);
}

#[test]
fn the_sidecar_alone_before_the_cutover_breaks_nothing() {
    let mut o = healthy();
    o.apps.insert("db".into(), None);
    o.environment_apps.clear();
    o.revisions.clear();
    add_app(&mut o, "web", vec![rev("web--1", Some("data"), 1, true, "Provisioned")]);
    assert_eq!(breaches(&o), vec![]);
}

#[test]
fn a_stopped_singleton_is_not_running_with_the_reason_seen() {
    let cases = [
        (
            "Succeeded",
            rev("ch--1", Some("data"), 0, false, "Deprovisioned"),
            "deactivated",
            true,
        ),
        (
            "InProgress",
            rev("ch--1", Some("data"), 0, false, "Deprovisioned"),
            "operation stuck",
            false,
        ),
        (
            "Failed",
            rev("ch--1", Some("data"), 0, false, "Deprovisioned"),
            "update rejected",
            true,
        ),
        (
            "Succeeded",
            rev("ch--1", Some("data"), 0, true, "Provisioned"),
            "no replicas",
            true,
        ),
    ];
    for (app_state, r, reason, repaired) in cases {
        let mut o = healthy();
        let ch = app("ch", "ch--1", app_state);
        o.apps.insert("db".into(), Some(ch.clone()));
        o.environment_apps.insert("ch".into(), ch);
        o.revisions.insert("ch".into(), vec![r]);
        let b = breaches(&o);
        assert_eq!(b.len(), 1, "{reason}: {b:#?}");
        assert_eq!(b[0].invariant, RUNNING);
        assert_eq!(b[0].reason, Some(reason));
        assert!(b[0].what.starts_with("not-running"), "{}", b[0].what);
        assert_eq!(b[0].repair != Repair::None, repaired, "{reason}: {:?}", b[0].repair);
    }
}

#[test]
fn a_failed_new_revision_reactivates_the_last_good_one() {
    let mut o = healthy();
    let mut ch = app("ch", "ch--1", "Succeeded");
    ch.properties.as_mut().unwrap().latest_revision_name = Some("ch--2".into());
    o.apps.insert("db".into(), Some(ch.clone()));
    o.environment_apps.insert("ch".into(), ch);
    o.revisions.insert(
        "ch".into(),
        vec![
            rev("ch--1", Some("data"), 0, false, "Deprovisioned"),
            rev("ch--2", Some("data"), 0, false, "Failed"),
        ],
    );
    let b = breaches(&o);
    assert_eq!(b[0].reason, Some("provisioning failed"));
    assert_eq!(
        b[0].repair,
        Repair::Reactivate {
            revision: "ch--1".into(),
            restart: false
        }
    );
}

#[test]
fn a_stopped_singleton_is_not_started_while_an_intruder_runs() {
    let mut o = healthy();
    o.revisions
        .insert("ch".into(), vec![rev("ch--1", Some("data"), 0, false, "Deprovisioned")]);
    add_app(
        &mut o,
        "ch-old",
        vec![rev("ch-old--a", Some("data"), 1, true, "Provisioned")],
    );
    assert_eq!(
        breaches(&o),
        vec![],
        "one process on the share: no running breach either"
    );
}

#[test]
fn storage_binding_keeps_account_share_and_read_write() {
    let s = stack();
    let mut baseline = Bindings::new();
    remember_bindings(&s, &healthy(), &mut baseline);
    assert_eq!(evaluate(&s, &healthy(), &baseline), vec![]);

    for (account, share, mode, expect) in [
        ("other", "share", "ReadWrite", "account other"),
        ("acct", "elsewhere", "ReadWrite", "share elsewhere"),
        ("acct", "share", "ReadOnly", "access mode ReadOnly"),
    ] {
        let mut o = healthy();
        o.storages.insert("data".into(), storage(account, share, mode));
        let b = evaluate(&s, &o, &baseline);
        assert_eq!(b.len(), 1, "{expect}: {b:#?}");
        assert_eq!(b[0].invariant, STORAGE_BINDING);
        assert!(b[0].what.contains(expect), "{}", b[0].what);
        // The baseline is never overwritten by a changed binding.
        let mut kept = baseline.clone();
        remember_bindings(&s, &o, &mut kept);
        assert_eq!(kept, baseline);
    }
    // Declared in the YAML: checked even without a baseline.
    let declared = load_str(
        &YAML.replace("{ exclusive: true }", "{ exclusive: true, share: share-a }"),
        "t.yaml",
    )
    .unwrap()
    .state
    .stacks
    .remove(0);
    let b = evaluate(&declared, &healthy(), &Bindings::new());
    assert_eq!(b.len(), 1);
    assert!(b[0].what.contains("expected share-a"), "{}", b[0].what);
}

#[test]
fn a_pass_reads_only_its_own_stacks_bindings() {
    let s = stack();
    let mut all = Bindings::new();
    remember_bindings(&s, &healthy(), &mut all);
    let other = load_str(
        &YAML
            .replace("name: s\n", "name: t\n")
            .replace("environment: env", "environment: env2"),
        "t.yaml",
    )
    .unwrap()
    .state
    .stacks
    .remove(0);
    let theirs = Binding {
        account: Some("theirs".into()),
        share: Some("theirs".into()),
        access_mode: None,
    };
    all.insert(binding_key(&other, "data"), theirs);
    assert_eq!(all.len(), 2);
    let own = bindings_of(&s, &all);
    assert_eq!(own.keys().collect::<Vec<_>>(), vec![&binding_key(&s, "data")]);
    // The pass judges a changed binding against its own first one as before.
    let mut moved = healthy();
    moved
        .storages
        .insert("data".into(), storage("acct", "elsewhere", "ReadWrite"));
    let breaches = evaluate(&s, &moved, &own);
    assert_eq!(breaches.len(), 1, "{breaches:#?}");
    assert_eq!(breaches, evaluate(&s, &moved, &all));
    assert_eq!(bindings_of(&other, &all).len(), 1);
}

#[test]
fn singleton_scale_and_revision_mode_are_owned() {
    let s = stack();
    let mut o = healthy();
    let mut ch: Value = serde_json::to_value(app("ch", "ch--1", "Succeeded")).unwrap();
    ch["properties"]["configuration"] = json!({"activeRevisionsMode": "Multiple"});
    ch["properties"]["template"]["scale"] = json!({"minReplicas": 1, "maxReplicas": 3});
    let ch: ContainerApp = serde_json::from_value(ch).unwrap();
    o.apps.insert("db".into(), Some(ch.clone()));
    o.environment_apps.insert("ch".into(), ch);
    let diff = crate::diff_stack(&s, &o);
    let singleton: Vec<&Drift> = diff.drifts.iter().filter(|d| d.invariant == Some(SINGLETON)).collect();
    let paths: Vec<&str> = singleton.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "apps.db.template.scale.maxReplicas",
            "apps.db.configuration.activeRevisionsMode"
        ]
    );
    assert!(singleton.iter().all(|d| d.severity == DriftSeverity::Critical));
}

#[test]
fn undeclared_apps_are_stopped_only_when_the_yaml_opts_in() {
    let mut o = healthy();
    o.apps.insert("db".into(), None);
    o.environment_apps.clear();
    o.revisions.clear();
    add_app(
        &mut o,
        "ch-old",
        vec![rev("ch-old--a", Some("data"), 1, true, "Provisioned")],
    );
    assert_eq!(
        breaches(&o),
        vec![],
        "alone on the share and not opted in: nothing to say"
    );
    let opted = load_str(
        &YAML.replace("{ exclusive: true }", "{ exclusive: true, stopIntruders: true }"),
        "t.yaml",
    )
    .unwrap()
    .state
    .stacks
    .remove(0);
    let b = evaluate(&opted, &o, &Bindings::new());
    assert_eq!(b.len(), 1, "{b:#?}");
    assert_eq!(
        b[0].repair,
        Repair::StopIntruder {
            app: "ch-old".into(),
            revisions: vec!["ch-old--a".into()]
        }
    );
}
