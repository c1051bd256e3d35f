//! The desired-state loader: valid examples load, and every kind of problem is reported with its
//! place, all of them at once.

use std::path::{Path, PathBuf};

use aca_model::desired::{
    Diagnostic, EnvValue, LoadError, Mode, SecretSpec, Severity, UpdateStrategy, load_file, load_str,
};
use proptest::prelude::*;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const HEAD: &str = "stacks:
  - name: s
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg
    environment: env
";

/// Loads `HEAD` + `rest` and returns the errors (panics if it loaded).
fn errors(rest: &str) -> Vec<Diagnostic> {
    match load_str(&format!("{HEAD}{rest}"), "t.yaml") {
        Ok(_) => panic!("expected errors for:\n{rest}"),
        Err(e) => e
            .diagnostics()
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .cloned()
            .collect(),
    }
}

fn one_error(rest: &str) -> Diagnostic {
    let errs = errors(rest);
    assert_eq!(errs.len(), 1, "expected one error, got: {errs:#?}");
    errs.into_iter().next().unwrap()
}

#[test]
fn every_example_file_is_valid() {
    let mut n = 0;
    for entry in std::fs::read_dir(repo().join("deploy/examples")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|x| x == "yaml") {
            let loaded = load_file(&path).unwrap_or_else(|e| panic!("{}:\n{e}", path.display()));
            assert!(!loaded.state.stacks.is_empty());
            n += 1;
        }
    }
    assert!(n >= 2);
}

#[test]
fn the_langfuse_example_reads_as_designed() {
    let loaded = load_file(&repo().join("deploy/examples/langfuse.yaml")).unwrap();
    let stack = &loaded.state.stacks[0];
    assert_eq!(stack.mode, Mode::Enforce);
    let ch = stack.app("clickhouse").unwrap();
    assert_eq!(ch.name, "langfuse-clickhouse");
    assert!(ch.singleton);
    assert_eq!(
        ch.update_strategy,
        UpdateStrategy::Recreate,
        "an exclusive storage makes recreate the default"
    );
    assert_eq!(ch.desired_scale().max, Some(1));
    assert_eq!(ch.tcp_ports(), vec![9000]);
    let lf = stack.app("langfuse").unwrap();
    assert_eq!(lf.forbid_containers, vec!["clickhouse"]);
    assert!(
        matches!(&lf.secrets["clickhouse-migration-url"], SecretSpec::Value(t) if t.raw == "clickhouse://${apps.clickhouse.name}:9000")
    );
    let web = &lf.env["langfuse-web"];
    assert!(web.iter().any(
        |e| e.name == "CLICKHOUSE_CLUSTER_ENABLED" && matches!(&e.value, EnvValue::Literal(t) if t.raw == "false")
    ));
}

/// A daemon keeps every stack parsed for its life: the loader gives back what parsing grew
/// (decision 0036). Each of these lists was grown by pushing, to a capacity above its length.
#[test]
fn a_loaded_state_keeps_no_spare_room() {
    let loaded = load_file(&repo().join("deploy/examples/langfuse.yaml")).unwrap();
    let spare = |what: &str, capacity: usize, len: usize| assert_eq!(capacity, len, "{what}: room left over");
    for stack in &loaded.state.stacks {
        spare("apps", stack.apps.capacity(), stack.apps.len());
        for app in &stack.apps {
            spare("containers", app.containers.capacity(), app.containers.len());
            spare("volumes", app.volumes.capacity(), app.volumes.len());
            spare(
                "forbidContainers",
                app.forbid_containers.capacity(),
                app.forbid_containers.len(),
            );
            if let Some(p) = &app.additional_ports {
                spare("additionalPorts", p.capacity(), p.len());
            }
            for vars in app.env.values() {
                spare("env", vars.capacity(), vars.len());
                for var in vars {
                    if let EnvValue::Literal(t) = &var.value {
                        spare("segments", t.segments.capacity(), t.segments.len());
                    }
                }
            }
            for c in &app.containers {
                if let Some(p) = &c.probes {
                    spare("probes", p.capacity(), p.len());
                }
                if let Some(m) = &c.volume_mounts {
                    spare("volumeMounts", m.capacity(), m.len());
                }
            }
        }
    }
}

#[test]
fn tab_unknown_key_and_singleton_max_are_three_located_errors() {
    let err = load_file(&repo().join("crates/model/tests/fixtures/three-errors.yaml")).unwrap_err();
    let errs = err.diagnostics();
    assert_eq!(errs.len(), 3, "{err}");
    let find = |needle: &str| {
        errs.iter()
            .find(|d| d.message.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in {err}"))
    };
    let tab = find("tab character");
    assert_eq!((tab.loc.line, tab.loc.column), (13, 1));
    let unknown = find("unknown key `scael`");
    assert_eq!((unknown.loc.line, unknown.loc.column), (10, 9));
    assert_eq!(unknown.hint.as_deref(), Some("did you mean `scale`?"));
    let single = find("singleton");
    assert_eq!(
        (single.loc.line, single.loc.column),
        (13, 9),
        "columns count a tab as one, as the file has it"
    );
    assert_eq!(single.path, "stacks[0].apps.clickhouse.scale.max");
    // The rendered text starts every error with file:line:column.
    let text = err.to_string();
    assert!(text.contains("three-errors.yaml:13:1: error"), "{text}");
    assert!(
        text.contains("three-errors.yaml:10:9: error: stacks[0].apps.clickhouse: unknown key `scael`"),
        "{text}"
    );
}

#[test]
fn syntax_errors_are_located() {
    let err = load_str("stacks: [\n  {name: a\n", "bad.yaml").unwrap_err();
    let d = &err.diagnostics()[0];
    assert!(d.message.starts_with("YAML syntax error"), "{d}");
    assert!(d.loc.line >= 1 && d.loc.column >= 1);
}

#[test]
fn wrong_types_are_reported_with_what_was_found() {
    let e = one_error("    apps:\n      alpha:\n        singleton: yes please\n");
    assert_eq!(e.path, "stacks[0].apps.alpha.singleton");
    assert!(e.message.contains("expected true or false, found a string"), "{e}");
    assert_eq!(e.loc.line, 8);
}

#[test]
fn ports_must_be_in_range() {
    let e = one_error("    apps:\n      alpha:\n        ingress: { targetPort: 70000 }\n");
    assert!(e.message.contains("70000 is out of range"), "{e}");
    let e = one_error("    apps:\n      alpha:\n        additionalPorts: [{ targetPort: 0 }]\n");
    assert!(e.message.contains("0 is out of range"), "{e}");
    let e = one_error(
        "    apps:\n      alpha:\n        scale: { min: 1 }\n        ingress: { transport: tcp, targetPort: 9000, exposedPort: 443 }\n",
    );
    assert!(e.message.contains("cannot expose port 443"), "{e}");
}

#[test]
fn cpu_memory_combinations_follow_the_consumption_table() {
    let e = one_error("    apps:\n      alpha:\n        containers:\n          - { name: c, cpu: 1, memory: 3Gi }\n");
    assert!(e.message.contains("CPU 1 with memory 3Gi is not a combination"), "{e}");
    assert!(e.hint.as_deref().unwrap().contains("1/2Gi"));
    // The total counts: 0.75 + 0.25 vCPU with 1.5Gi + 0.5Gi is 1 vCPU / 2Gi.
    load_str(&format!("{HEAD}    apps:\n      alpha:\n        containers:\n          - {{ name: c, cpu: 0.75, memory: 1.5Gi }}\n          - {{ name: d, cpu: 0.25, memory: 0.5Gi }}\n"), "t.yaml").unwrap();
}

#[test]
fn duplicate_app_names_are_errors() {
    let e = one_error("    apps:\n      alpha: { name: same-name }\n      beta: { name: same-name }\n");
    assert!(
        e.message.contains("app name `same-name` is already used by apps.alpha"),
        "{e}"
    );
}

#[test]
fn references_must_point_at_something() {
    let e = one_error("    apps:\n      alpha:\n        secrets:\n          url: \"http://${apps.clickhuose.name}\"\n");
    assert!(e.message.contains("refers to no app"), "{e}");
    assert_eq!(e.loc.line, 9);
    let e = one_error(
        "    apps:\n      clickhouse: {}\n      alpha:\n        secrets:\n          url: \"http://${apps.clickhuose.name}\"\n",
    );
    assert_eq!(e.hint.as_deref(), Some("did you mean `clickhouse`?"));
}

#[test]
fn an_exclusive_storage_mounted_by_two_apps_is_an_error() {
    let e = one_error(
        "    storages:\n      data: { exclusive: true }\n    apps:\n      alpha:\n        singleton: true\n        volumes: [{ name: v, storage: data }]\n      beta:\n        singleton: true\n        volumes: [{ name: v, storage: data }]\n",
    );
    assert!(
        e.message
            .contains("exclusive storage `data` is mounted by apps.alpha and apps.beta"),
        "{e}"
    );
}

#[test]
fn rolling_updates_on_an_exclusive_storage_are_refused() {
    let e = one_error(
        "    storages:\n      data: { exclusive: true }\n    apps:\n      alpha:\n        updateStrategy: rolling\n        volumes: [{ name: v, storage: data }]\n",
    );
    assert!(e.message.contains("two revisions"), "{e}");
}

#[test]
fn several_errors_are_all_reported() {
    let errs = errors("    mode: enforcing\n    interval: soon\n    apps:\n      Bad_Name: { replicas: 2 }\n");
    let text: Vec<String> = errs.iter().map(ToString::to_string).collect();
    assert_eq!(errs.len(), 4, "{text:#?}");
    assert!(
        text.iter()
            .any(|t| t.contains("`enforcing` is not a mode") && t.contains("did you mean `enforce`"))
    );
    assert!(text.iter().any(|t| t.contains("`soon` is not a duration")));
    assert!(
        text.iter()
            .any(|t| t.contains("`Bad_Name` is not a valid container app name"))
    );
    assert!(text.iter().any(|t| t.contains("unknown key `replicas`")));
}

#[test]
fn url_facts_are_checked() {
    // Product rules (migration URLs, cluster mode) are the reconcile playbooks', given to the
    // loader by the operator: the model alone accepts them.
    load_str(
        &format!("{HEAD}    apps:\n      ch: {{ singleton: true, ingress: {{ targetPort: 8123 }} }}\n      lf:\n        secrets:\n          clickhouse-migration-url: \"https://${{apps.ch.fqdn}}\"\n"),
        "t.yaml",
    )
    .unwrap();
    // A native-protocol URL needs a TCP port on the target.
    let e = one_error(
        "    apps:\n      ch: { singleton: true, ingress: { targetPort: 8123 } }\n      lf:\n        secrets:\n          m: \"tcp://${apps.ch.name}:9000\"\n",
    );
    assert!(e.message.contains("needs TCP port 9000"), "{e}");
    // HTTP ingress is never reached at its target port.
    let e = one_error(
        "    apps:\n      ch: { singleton: true, ingress: { targetPort: 8123 } }\n      lf:\n        secrets:\n          u: \"http://${apps.ch.name}:8123\"\n",
    );
    assert!(e.message.contains("never at its target port 8123"), "{e}");
    // TCP ingress with min 0 never wakes.
    let e = one_error(
        "    apps:\n      ch:\n        scale: { min: 0, max: 1 }\n        ingress: { transport: tcp, targetPort: 9000 }\n",
    );
    assert!(e.message.contains("at least one replica"), "{e}");
}

#[test]
fn warnings_do_not_fail_the_load() {
    let loaded = load_str(
        &format!("{HEAD}    apps:\n      alpha:\n        ingress: {{ transport: tcp, targetPort: 9000 }}\n"),
        "t.yaml",
    )
    .unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    assert!(loaded.warnings[0].message.contains("scale.min >= 1"));
}

#[test]
fn stacks_across_files_must_have_unique_names() {
    let dir = std::env::temp_dir().join(format!("aca-model-dup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let doc = format!("{HEAD}    apps:\n      alpha: {{}}\n");
    std::fs::write(dir.join("one.yaml"), &doc).unwrap();
    std::fs::write(dir.join("two.yml"), &doc).unwrap();
    let err = aca_model::desired::load_paths(std::slice::from_ref(&dir)).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("stack name `s` is already used"), "{text}");
    assert!(text.contains("also owned by stack"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = load_file(Path::new("/nonexistent/x.yaml")).unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }));
    assert!(err.to_string().starts_with("/nonexistent/x.yaml: cannot read"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    /// Arbitrary bytes never panic the loader: it returns a value or located errors.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = load_str(&text, "fuzz.yaml") {
            for d in e.diagnostics() {
                prop_assert!(d.loc.line >= 1);
            }
        }
    }

    /// YAML-shaped noise (keys of the format, indentation, tabs, flow syntax) never panics either.
    #[test]
    fn yaml_shaped_noise_never_panics(parts in proptest::collection::vec(prop_oneof![
        Just("stacks:\n"), Just("  - "), Just("name: x\n"), Just("apps:\n"), Just("    a:\n"), Just("\t"),
        Just("      scale: {min: 1, max: 3}\n"), Just("singleton: true\n"), Just("${apps.alpha.name}"), Just("["),
        Just("]"), Just("{"), Just("}"), Just(": "), Just("- "), Just("\n"), Just("  "), Just("\""), Just("&a "), Just("*a "),
    ], 0..60)) {
        let text: String = parts.concat();
        let _ = load_str(&text, "fuzz.yaml");
    }
}

#[test]
fn correction_windows_are_checked() {
    let e = one_error("    correctionWindow: Mon-Fri 9-17 CET\n    apps:\n      alpha: {}\n");
    assert_eq!(e.path, "stacks[0].correctionWindow");
    assert!(e.message.contains("UTC"), "{e}");
    let loaded = load_str(&format!("{HEAD}    correctionWindow: Mon-Fri 09:00-17:00 UTC\n    apps:\n      alpha: {{ correctionWindow: daily 00:00-06:00 UTC }}\n"), "t.yaml").unwrap();
    let stack = &loaded.state.stacks[0];
    assert!(stack.correction_window.unwrap().contains(0, 600));
    assert!(stack.apps[0].correction_window.unwrap().contains(5, 60));
}

#[test]
fn an_app_on_an_exclusive_storage_must_be_a_singleton() {
    let rest = "    storages:
      data: { exclusive: true }
    apps:
      clickhouse:
        scale: { min: 3, max: 3 }
        containers: [{ name: ch, image: clickhouse/clickhouse-server:24.8, volumeMounts: [{ volume: d, path: /var/lib/clickhouse }] }]
        volumes: [{ name: d, storage: data }]
";
    let e = one_error(rest);
    assert!(e.message.contains("exclusive storage `data`"), "{e}");
    assert!(e.message.contains("scale min 3, max 3"), "{e}");
    assert_eq!(e.path, "stacks[0].apps.clickhouse.singleton");
    assert_eq!((e.loc.line, e.loc.column), (9, 7), "{e}");
    // The same app as a singleton loads; a non-exclusive storage needs no singleton.
    let ok = rest.replace("scale: { min: 3, max: 3 }", "singleton: true");
    load_str(&format!("{HEAD}{ok}"), "t.yaml").unwrap();
    let shared = rest.replace("exclusive: true", "exclusive: false");
    load_str(&format!("{HEAD}{shared}"), "t.yaml").unwrap();
}
