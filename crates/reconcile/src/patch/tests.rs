//! Patches against live apps: what is owned changes, the rest survives.

use std::collections::BTreeMap;

use aca_model::arm::{ContainerApp, Secret};
use aca_model::desired::load_str;
use serde_json::json;

use super::*;

const YAML: &str = "stacks:
  - name: s
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg
    environment: env
    storages:
      data: { exclusive: true }
    apps:
      ch:
        name: ch-app
        singleton: true
        containers: [{ name: ch, image: ch:2, cpu: 1, memory: 2Gi }]
        volumes: [{ name: data, storage: data }]
      web:
        name: web-app
        forbidContainers: [ch]
        secrets:
          url: \"http://${apps.ch.name}\"
        env:
          web:
            URL: { secretRef: url }
            MODE: \"fast\"
";

fn live_web() -> ContainerApp {
    serde_json::from_value(json!({
            "id": "/subscriptions/x/resourceGroups/rg/providers/Microsoft.App/containerApps/web-app",
            "properties": {
                "configuration": {"secrets": [{"name": "url"}, {"name": "other"}], "registries": [{"server": "r.io"}]},
                "template": {
                    "containers": [
                        {"name": "web", "image": "web:7", "env": [{"name": "KEEP", "value": "1"}, {"name": "MODE", "value": "slow"}], "probes": [{"type": "Liveness"}]},
                        {"name": "ch", "image": "ch:1", "volumeMounts": [{"volumeName": "d", "mountPath": "/data"}]},
                        {"name": "sidecar2", "image": "x:1"}
                    ],
                    "volumes": [{"name": "d", "storageType": "AzureFile", "storageName": "data"}, {"name": "tmp", "storageType": "EmptyDir"}],
                    "scale": {"minReplicas": 2, "maxReplicas": 5, "rules": [{"name": "http"}]}
                }
            }
        }))
        .unwrap()
}

#[test]
fn the_patch_removes_the_sidecar_and_its_mount_and_keeps_everything_it_does_not_own() {
    let stack = load_str(YAML, "t.yaml").unwrap().state.stacks.remove(0);
    let spec = stack.app("web").unwrap();
    let live = live_web();
    let secrets = vec![
        Secret {
            name: "url".into(),
            value: Some("http://localhost:8123".into()),
            ..Secret::default()
        },
        Secret {
            name: "other".into(),
            value: Some("keep-me".into()),
            ..Secret::default()
        },
    ];
    let resolver = Resolver {
        stack: &stack,
        default_domain: Some("d.io".into()),
    };
    let storages = BTreeMap::new();
    let input = PatchInput {
        stack: &stack,
        spec,
        live: &live,
        live_secrets: Some(&secrets),
        storages: &storages,
        resolver: &resolver,
    };
    let patch = build_patch(&input).unwrap().expect("something to change");
    assert!(patch.template_changed && patch.secrets_changed);
    let t = &patch.body["properties"]["template"];
    let names: Vec<&str> = t["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["web", "sidecar2"],
        "the forbidden container goes, another stays"
    );
    assert_eq!(
        t["volumes"],
        json!([{"name": "tmp", "storageType": "EmptyDir"}]),
        "only the exclusive storage's volume goes"
    );
    assert_eq!(
        t["scale"]["rules"],
        json!([{"name": "http"}]),
        "unowned scale rules stay"
    );
    let web = &t["containers"][0];
    assert_eq!(web["image"], "web:7", "the image is not owned");
    assert_eq!(web["probes"], json!([{"type": "Liveness"}]));
    assert_eq!(
        web["env"],
        json!([{"name": "KEEP", "value": "1"}, {"name": "MODE", "value": "fast"}, {"name": "URL", "secretRef": "url"}])
    );
    let c = &patch.body["properties"]["configuration"];
    assert_eq!(
        c["secrets"],
        json!([{"name": "url", "value": "http://ch-app"}, {"name": "other", "value": "keep-me"}]),
        "all values sent, owned one changed"
    );
    assert_eq!(c["registries"], json!([{"server": "r.io"}]));
}

#[test]
fn no_patch_when_the_owned_fields_already_match() {
    let stack = load_str(YAML, "t.yaml").unwrap().state.stacks.remove(0);
    let spec = stack.app("ch").unwrap();
    let live: ContainerApp = serde_json::from_value(json!({
        "id": "/x",
        "properties": {"template": {
            "containers": [{"name": "ch", "image": "ch:2", "resources": {"cpu": 1.0, "memory": "2.0Gi"}}],
            "volumes": [{"name": "data", "storageType": "AzureFile", "storageName": "data"}],
            "scale": {"minReplicas": 1, "maxReplicas": 1}
        }}
    }))
    .unwrap();
    let resolver = Resolver {
        stack: &stack,
        default_domain: None,
    };
    let storages = BTreeMap::new();
    let input = PatchInput {
        stack: &stack,
        spec,
        live: &live,
        live_secrets: Some(&[]),
        storages: &storages,
        resolver: &resolver,
    };
    assert_eq!(
        build_patch(&input).unwrap(),
        None,
        "1 vCPU = 1.0 and 2Gi = 2.0Gi: no flapping"
    );
}
