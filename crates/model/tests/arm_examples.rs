//! Every ARM payload deserializes into the model and re-serializes without losing or changing a
//! field: the project's own fixtures (`tests/fixtures/arm/`, always) and the official examples
//! (`../shared/arm-examples/`, when that folder is beside the repository, as in CI; otherwise the
//! tests say they were skipped). New files are picked up automatically; the resource type comes from
//! the file name's operation group.

mod examples;

use std::path::{Path, PathBuf};

use examples::{fixtures_dir, official_dir};

use aca_model::arm::{ContainerApp, EnvironmentStorage, FileShare, List, ManagedEnvironment, SecretsCollection};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Said when the official examples are absent.
const COVERED: &str = "the project's fixtures cover the same property";

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn body(dir: &Path, file: &str) -> Value {
    read(&dir.join(file))["responses"]["200"]["body"].clone()
}

/// Numbers compare by value: ARM's `1` and the model's `1.0` are the same CPU.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w)),
        _ => a == b,
    }
}

fn round_trip<T: DeserializeOwned + Serialize>(what: &str, v: &Value) {
    let typed: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{what}: does not deserialize: {e}"));
    let back = serde_json::to_value(&typed).unwrap();
    assert!(
        same(v, &back),
        "{what}: round trip changed the payload\noriginal: {v:#}\nback:     {back:#}"
    );
}

/// Round-trips one payload as the resource type the file's operation group names.
fn check_payload(file: &str, what: &str, body: &Value) {
    let group = file.split('_').next().unwrap_or(file);
    let is_list = body.get("value").is_some_and(Value::is_array);
    match (group, is_list) {
        ("ContainerApps", _) if file.starts_with("ContainerApps_ListSecrets") => {
            round_trip::<SecretsCollection>(what, body)
        }
        ("ContainerApps", false) => round_trip::<ContainerApp>(what, body),
        ("ContainerApps", true) => round_trip::<List<ContainerApp>>(what, body),
        ("ManagedEnvironments", false) => round_trip::<ManagedEnvironment>(what, body),
        ("ManagedEnvironmentsStorages", false) => round_trip::<EnvironmentStorage>(what, body),
        ("ManagedEnvironmentsStorages", true) => round_trip::<List<EnvironmentStorage>>(what, body),
        (g, false) if g.starts_with("FileShare") => round_trip::<FileShare>(what, body),
        (g, true) if g.starts_with("FileShare") => round_trip::<List<FileShare>>(what, body),
        _ => panic!("{what}: no model type is mapped to the operation group `{group}`; map it in this test"),
    }
}

/// Round-trips every request and response body of every file in `dir`; returns (files, payloads).
fn round_trip_dir(dir: &Path) -> (usize, usize) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut payloads = 0;
    for path in &files {
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let doc = read(path);
        // Request bodies: every object-valued parameter (containerAppEnvelope, storageEnvelope, fileShare).
        for (name, value) in doc["parameters"].as_object().unwrap() {
            if value.is_object() {
                check_payload(&file, &format!("{file} parameter {name}"), value);
                payloads += 1;
            }
        }
        for (status, response) in doc["responses"].as_object().unwrap() {
            if let Some(body) = response.get("body") {
                check_payload(&file, &format!("{file} response {status}"), body);
                payloads += 1;
            }
        }
    }
    (files.len(), payloads)
}

#[test]
fn every_project_fixture_round_trips() {
    let (files, payloads) = round_trip_dir(&fixtures_dir());
    assert!(files >= 11, "expected the project's fixtures, found {files}");
    assert!(payloads >= 19, "only {payloads} payloads checked");
}

#[test]
fn every_official_example_round_trips() {
    let Some(dir) = official_dir("every_official_example_round_trips", COVERED) else {
        return;
    };
    let (files, payloads) = round_trip_dir(&dir);
    assert!(files >= 12, "expected the official examples, found {files}");
    assert!(payloads >= 20, "only {payloads} payloads checked");
}

#[test]
fn the_model_reads_the_fields_the_operator_uses() {
    let dir = fixtures_dir();
    let app: ContainerApp = serde_json::from_value(body(&dir, "ContainerApps_Get.json")).unwrap();
    assert_eq!(app.provisioning_state(), Some("Succeeded"));
    assert_eq!(app.effective_scale(), (2, 4));
    assert_eq!(app.ingress().unwrap().target_port, Some(8080));
    assert_eq!(app.containers()[0].volume_mounts()[0].volume_name, "uploads");
    assert_eq!(app.volumes()[1].storage_type.as_deref(), Some("NfsAzureFile"));
    assert_eq!(app.secrets().len(), 2);
    assert!(
        app.environment_id()
            .unwrap()
            .ends_with("/managedEnvironments/fixture-env")
    );

    let env: ManagedEnvironment = serde_json::from_value(body(&dir, "ManagedEnvironments_Get.json")).unwrap();
    assert_eq!(
        env.default_domain(),
        Some("calmwave-1a2b3c4d.westeurope.azurecontainerapps.io")
    );
    assert!(env.has_custom_vnet());
}

#[test]
fn the_model_reads_the_fields_the_operator_uses_in_the_official_examples() {
    let Some(dir) = official_dir(
        "the_model_reads_the_fields_the_operator_uses_in_the_official_examples",
        COVERED,
    ) else {
        return;
    };
    let app: ContainerApp = serde_json::from_value(body(&dir, "ContainerApps_Get.json")).unwrap();
    assert_eq!(app.provisioning_state(), Some("Succeeded"));
    assert_eq!(app.effective_scale(), (1, 5));
    assert_eq!(app.ingress().unwrap().target_port, Some(3000));
    assert_eq!(app.containers()[0].volume_mounts()[0].volume_name, "azurefile");
    assert_eq!(app.volumes()[1].storage_type.as_deref(), Some("NfsAzureFile"));
    assert!(app.environment_id().unwrap().ends_with("/managedEnvironments/demokube"));

    let env: ManagedEnvironment = serde_json::from_value(body(&dir, "ManagedEnvironments_Get.json")).unwrap();
    assert_eq!(env.default_domain(), Some("jlaw-demo1.k4apps.io"));
    assert!(env.has_custom_vnet());
}

/// Sets maxReplicas to 1 on the app of `dir`'s ContainerApps_Get and checks that the fields the model
/// does not know (dapr, scale rules, probes, identity...) are all still there when it is written.
fn unknown_fields_survive(dir: &Path, pointers: &[&str]) {
    let original = body(dir, "ContainerApps_Get.json");
    let mut app: ContainerApp = serde_json::from_value(original.clone()).unwrap();
    let scale = app
        .properties
        .as_mut()
        .unwrap()
        .template
        .as_mut()
        .unwrap()
        .scale
        .as_mut()
        .unwrap();
    scale.max_replicas = Some(1);
    let written = serde_json::to_value(&app).unwrap();
    assert_eq!(written["properties"]["template"]["scale"]["maxReplicas"], 1);
    for pointer in pointers {
        assert!(original.pointer(pointer).is_some(), "the payload has {pointer}");
        assert_eq!(written.pointer(pointer), original.pointer(pointer), "{pointer}");
    }
}

#[test]
fn unknown_fields_survive_a_read_modify_write() {
    let pointers = [
        "/properties/configuration/dapr",
        "/properties/configuration/identitySettings",
        "/properties/template/scale/rules",
        "/properties/template/containers/0/probes",
        "/properties/template/serviceBinds",
        "/identity",
    ];
    unknown_fields_survive(&fixtures_dir(), &pointers);
}

#[test]
fn unknown_fields_of_the_official_example_survive_a_read_modify_write() {
    if let Some(dir) = official_dir(
        "unknown_fields_of_the_official_example_survive_a_read_modify_write",
        COVERED,
    ) {
        let pointers = [
            "/properties/configuration/dapr",
            "/properties/template/scale/rules",
            "/identity",
        ];
        unknown_fields_survive(&dir, &pointers);
    }
}
