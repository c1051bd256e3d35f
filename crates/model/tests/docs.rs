//! The configuration reference is generated from the loader's key table, and every key it lists is
//! accepted by the loader (the all-keys example uses each one and loads).

use std::collections::BTreeSet;
use std::path::Path;

use aca_model::desired::{SCHEMA, configuration_reference, load_file};

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn configuration_reference_is_up_to_date() {
    let path = repo().join("docs/configuration.md");
    let generated = configuration_reference();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/configuration.md is stale: run `UPDATE_DOCS=1 cargo test -p aca-model --test docs`"
    );
}

/// `(object, key)` pairs from the reference's tables.
fn documented_keys() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    let mut object = String::new();
    let mut out = BTreeSet::new();
    for line in text.lines() {
        if line.starts_with("## ") {
            object = line
                .strip_prefix("## `")
                .and_then(|h| h.strip_suffix('`'))
                .unwrap_or_default()
                .to_string();
        } else if let Some(rest) = line.strip_prefix("| `")
            && !object.is_empty()
            && let Some((key, _)) = rest.split_once('`')
        {
            out.insert((object.clone(), key.to_string()));
        }
    }
    out
}

#[test]
fn every_accepted_key_is_documented_and_every_documented_key_is_accepted() {
    let schema: BTreeSet<(String, String)> = SCHEMA
        .iter()
        .map(|k| (k.object.to_string(), k.key.to_string()))
        .collect();
    let documented = documented_keys();
    assert_eq!(schema, documented, "the reference and the loader's key table differ");

    // The loader accepts exactly SCHEMA's keys; the all-keys example uses every one of them.
    let example = repo().join("deploy/examples/all-keys.yaml");
    load_file(&example).unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&example).unwrap();
    for (object, key) in &documented {
        let needle = format!("{key}:");
        let used = text
            .match_indices(&needle)
            .any(|(i, _)| i == 0 || matches!(text.as_bytes()[i - 1], b' ' | b'{' | b',' | b'\n'));
        assert!(used, "all-keys.yaml does not use `{key}` ({object})");
    }
}
