//! Property tests of ARM response parsing: arbitrary JSON and mangled ARM payloads never panic the
//! model; they deserialize or give an error. The payloads are the project's fixtures, plus the
//! official examples when `../shared/arm-examples` is beside the repository (as in CI).

mod examples;

use std::path::Path;
use std::sync::OnceLock;

use aca_model::arm::{
    ArmErrorBody, ContainerApp, EnvironmentStorage, FileShare, List, ManagedEnvironment, Revision, SecretsCollection,
};
use proptest::prelude::*;
use serde_json::Value;

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-zA-Z0-9 /._-]{0,12}".prop_map(Value::String),
    ];
    let keys = prop_oneof![
        Just("id"),
        Just("name"),
        Just("properties"),
        Just("template"),
        Just("configuration"),
        Just("containers"),
        Just("scale"),
        Just("minReplicas"),
        Just("maxReplicas"),
        Just("secrets"),
        Just("value"),
        Just("ingress"),
        Just("targetPort"),
        Just("volumes"),
        Just("storageName"),
        Just("systemData"),
        Just("replicas"),
        Just("etag"),
        Just("error"),
        Just("code"),
        Just("message"),
        Just("azureFile"),
        Just("additionalPortMappings"),
        Just("x"),
    ];
    leaf.prop_recursive(5, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

fn parse_all(text: &str) {
    let _ = serde_json::from_str::<ContainerApp>(text);
    let _ = serde_json::from_str::<List<ContainerApp>>(text);
    let _ = serde_json::from_str::<ManagedEnvironment>(text);
    let _ = serde_json::from_str::<EnvironmentStorage>(text);
    let _ = serde_json::from_str::<FileShare>(text);
    let _ = serde_json::from_str::<List<Revision>>(text);
    let _ = serde_json::from_str::<SecretsCollection>(text);
    let _ = serde_json::from_str::<ArmErrorBody>(text);
    if let Ok(app) = serde_json::from_str::<ContainerApp>(text) {
        // The accessors the operator uses never panic either.
        let _ = (
            app.effective_scale(),
            app.containers().len(),
            app.volumes().len(),
            app.secrets().len(),
            app.environment_id(),
        );
        let _ = serde_json::to_string(&app).expect("what was read can be written");
    }
}

/// Every response body of the fixtures and, when present, of the official examples (read once).
fn examples() -> &'static [String] {
    static ALL: OnceLock<Vec<String>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out = bodies(&examples::fixtures_dir());
        if let Some(official) = examples::official_dir(
            "the official examples in mangled_examples_never_panic",
            "it runs on the project's fixtures",
        ) {
            out.extend(bodies(&official));
        }
        out
    })
}

fn bodies(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "json") {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for (_, r) in doc["responses"].as_object().unwrap() {
                if let Some(body) = r.get("body") {
                    out.push(body.to_string());
                }
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics_the_model(v in arb_json()) {
        parse_all(&v.to_string());
    }

    /// ARM payloads cut at any byte (truncated answers) or with a byte replaced.
    #[test]
    fn mangled_examples_never_panic(which in 0usize..64, cut in 0.0f64..1.0, at in 0.0f64..1.0, byte in any::<u8>()) {
        let all = examples();
        let text = &all[which % all.len()];
        let truncated = &text.as_bytes()[..(text.len() as f64 * cut) as usize];
        parse_all(&String::from_utf8_lossy(truncated));
        let mut bytes = text.clone().into_bytes();
        let i = ((bytes.len() - 1) as f64 * at) as usize;
        bytes[i] = byte;
        parse_all(&String::from_utf8_lossy(&bytes));
    }
}
