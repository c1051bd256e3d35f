//! Loader messages are in the project's words and located: no parser internals (`DuplicateKeyPolicy`,
//! `Nodes { .. }`, `NaN`), every error at `line:column` with its full field path, encoding errors too.

use aca_model::desired::{Diagnostic, Severity, load_file, load_paths, load_str};

const HEAD: &str = "stacks:
  - name: s
    subscription: 00000000-0000-0000-0000-000000000000
    resourceGroup: rg
    environment: env
";

/// An app that is valid on its own, for tests that add one problem to it.
const APP: &str = "    apps:
      web:
        name: web-app
        containers:
          - name: web
            image: docker.io/langfuse/langfuse:3
";

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match load_str(text, "t.yaml") {
        Ok(loaded) => loaded.warnings,
        Err(e) => e.diagnostics().to_vec(),
    }
}

fn only_error(text: &str) -> Diagnostic {
    let errs: Vec<Diagnostic> = diagnostics(text)
        .into_iter()
        .filter(|d| d.severity == Severity::Error)
        .collect();
    assert_eq!(errs.len(), 1, "expected one error, got: {errs:#?}");
    errs.into_iter().next().unwrap()
}

/// No message may show the parser's or the standard library's own vocabulary.
fn assert_in_our_words(d: &Diagnostic) {
    let text = d.to_string();
    for internal in [
        "DuplicateKeyPolicy",
        "Options",
        "budget breached",
        "{ ",
        "NaN",
        "error: line",
    ] {
        assert!(!text.contains(internal), "`{internal}` in: {text}");
    }
}

#[test]
fn a_duplicate_key_is_located_at_the_second_with_its_path() {
    let e = only_error(&format!("{HEAD}{APP}    mode: observe\n    mode: enforce\n"));
    assert_in_our_words(&e);
    assert_eq!((e.loc.line, e.loc.column), (13, 5));
    assert_eq!(e.path, "stacks[0].mode");
    assert_eq!(e.message, "key `mode` is given twice in this mapping (first at 12:5)");
    // Also deep inside, and at the top level.
    let e = only_error(&format!(
        "{HEAD}{APP}            cpu: 0.5\n            cpu: 1\n            memory: 1Gi\n"
    ));
    assert_eq!(e.path, "stacks[0].apps.web.containers[0].cpu");
    let e = only_error(&format!("{HEAD}{APP}stacks: []\n"));
    assert_eq!((e.path.as_str(), e.loc.line), ("stacks", 12));
}

#[test]
fn size_and_depth_limits_are_named_in_the_files_terms() {
    let deep = format!("stacks: {}{}\n", "[".repeat(70), "]".repeat(70));
    // 64 levels of serde recursion need more than a test thread's stack in a debug build.
    let e = std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(move || only_error(&deep))
        .unwrap()
        .join()
        .unwrap();
    assert_in_our_words(&e);
    assert!(e.message.contains("more than 64 levels deep"), "{e}");
    assert_eq!(e.loc.line, 1);

    let wide = format!("stacks: [{}]\n", vec!["1"; 250_001].join(","));
    let e = only_error(&wide);
    assert_in_our_words(&e);
    assert!(e.message.contains("more than 250000 values"), "{e}");
}

#[test]
fn a_cpu_that_is_no_number_says_what_was_found() {
    let e = only_error(&format!(
        "{HEAD}{APP}            cpu: \"lots\"\n            memory: 1Gi\n"
    ));
    assert_in_our_words(&e);
    assert_eq!(e.path, "stacks[0].apps.web.containers[0].cpu");
    assert_eq!(e.message, "expected a number of vCPU such as 0.5 or 1.0, found `lots`");
    assert_eq!((e.loc.line, e.loc.column), (12, 18));
    let e = only_error(&format!("{HEAD}{APP}            cpu: [1]\n            memory: 1Gi\n"));
    assert!(e.message.ends_with("found a list"), "{e}");
}

#[test]
fn an_interval_of_the_wrong_type_names_the_expected_form() {
    let e = only_error(&format!("{HEAD}{APP}    interval: [30]\n"));
    assert_in_our_words(&e);
    assert_eq!(e.path, "stacks[0].interval");
    assert_eq!(e.message, "expected a duration such as 30s, found a list");
    assert!(!e.message.contains("``"), "{e}");
}

#[test]
fn a_file_that_is_not_utf8_is_located_at_its_first_bad_byte() {
    let dir = std::env::temp_dir().join(format!("aca-model-utf8-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("latin1.yaml");
    let mut bytes = HEAD.as_bytes().to_vec();
    bytes.extend_from_slice(b"    # caf\xe9\n");
    std::fs::write(&path, &bytes).unwrap();
    let err = load_file(&path).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let e = &err.diagnostics()[0];
    assert_eq!((e.loc.line, e.loc.column), (6, 10));
    assert_eq!(e.message, "byte 0xE9 is not UTF-8 text");
    assert!(err.to_string().contains("latin1.yaml:6:10: error: byte 0xE9"), "{err}");
}

#[test]
fn duplicate_stack_names_are_located_at_the_second_stacks_name() {
    let second = "  - name: s\n    subscription: 00000000-0000-0000-0000-000000000000\n    resourceGroup: rg\n    environment: env2\n    apps: {}\n";
    let e = only_error(&format!("{HEAD}    apps: {{}}\n{second}"));
    assert_eq!(e.path, "stacks[1].name");
    assert_eq!((e.loc.line, e.loc.column), (7, 5));
    // Across files, the index is the stack's own file's.
    let dir = std::env::temp_dir().join(format!("aca-model-stacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), format!("{HEAD}    apps: {{}}\n")).unwrap();
    std::fs::write(dir.join("b.yaml"), format!("stacks:\n{second}")).unwrap();
    let err = load_paths(std::slice::from_ref(&dir)).unwrap_err();
    std::fs::remove_dir_all(&dir).unwrap();
    let e = &err.diagnostics()[0];
    assert_eq!(e.path, "stacks[0].name");
    assert!(e.file.ends_with("b.yaml"), "{e}");
}

#[test]
fn warnings_are_located_at_their_own_keys() {
    // The shape `export` writes: a secretRef to a secret that lives only in Azure, a TCP app.
    let text = format!(
        "{HEAD}    apps:
      db:
        name: db-app
        ingress: {{ transport: tcp, targetPort: 9000, exposedPort: 9000 }}
        env:
          db:
            A: plain
            PASSWORD: {{ secretRef: db-password }}
"
    );
    let warnings = diagnostics(&text);
    assert_eq!(warnings.len(), 2, "{warnings:#?}");
    let secret = warnings.iter().find(|w| w.message.contains("db-password")).unwrap();
    assert_eq!((secret.loc.line, secret.loc.column), (13, 36));
    assert_eq!(secret.path, "stacks[0].apps.db.env.db.PASSWORD");
    let tcp = warnings.iter().find(|w| w.message.contains("TCP")).unwrap();
    assert_eq!((tcp.loc.line, tcp.loc.column), (9, 18));
}

#[test]
fn image_references_follow_the_documented_syntax() {
    for (image, why) in [
        ("\"\"", "is empty"),
        ("\"not an image !!\"", "contains ' '"),
        ("Nginx", "`Nginx` is not a repository name part"),
    ] {
        let e = only_error(&format!("{HEAD}{APP}").replace("docker.io/langfuse/langfuse:3", image));
        assert_eq!(e.path, "stacks[0].apps.web.containers[0].image");
        assert_eq!((e.loc.line, e.loc.column), (11, 20));
        assert!(e.message.contains(why), "{e}");
        assert!(
            e.hint
                .as_deref()
                .unwrap()
                .contains("[registry[:port]/]repository[:tag]")
        );
    }
}

#[test]
fn an_unset_env_variable_is_a_located_error_and_a_set_one_is_never_shown() {
    let unset = "ACA_MODEL_TEST_SURELY_UNSET_VARIABLE";
    let text = format!("{HEAD}{APP}        secrets:\n          key: \"${{env:{unset}}}\"\n");
    let e = only_error(&text);
    assert_eq!(e.path, "stacks[0].apps.web.secrets.key");
    assert_eq!((e.loc.line, e.loc.column), (13, 16));
    assert!(e.message.contains(&format!("{unset} is not set")), "{e}");
    // PATH is set wherever tests run; loading reads it but says nothing of its value.
    let path_value = std::env::var("PATH").unwrap();
    let loaded = load_str(&text.replace(unset, "PATH"), "t.yaml").unwrap();
    assert!(loaded.warnings.iter().all(|w| !w.to_string().contains(&path_value)));
    assert!(!format!("{:?}", loaded.state).contains(&path_value));
}
