//! `aca-operator validate` as a user runs it: the real binary, its exit code and its output.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validate(files: &[PathBuf]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_aca-operator"))
        .arg("validate")
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn examples_are_valid_and_summarised() {
    let files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    let out = validate(&files);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().count(),
        files.len(),
        "one summary line per file:\n{stdout}"
    );
    assert!(
        stdout.contains("langfuse.yaml: ok: 1 stack (langfuse), 2 apps"),
        "{stdout}"
    );
}

#[test]
fn three_problems_give_three_located_errors_and_exit_1() {
    let out = validate(&[repo().join("crates/model/tests/fixtures/three-errors.yaml")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(": error: ")).collect();
    assert_eq!(errors.len(), 3, "{stderr}");
    for (line_col, what) in [
        ("13:1", "tab character"),
        ("10:9", "unknown key `scael`"),
        ("13:9", "singleton"),
    ] {
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("three-errors.yaml:{line_col}: error")) && e.contains(what)),
            "{what} at {line_col}:\n{stderr}"
        );
    }
    assert!(out.stdout.is_empty(), "no summary for an invalid file");
}

#[test]
fn a_valid_and_an_invalid_file_together_exit_1_with_both_reported() {
    let out = validate(&[
        repo().join("deploy/examples/langfuse.yaml"),
        repo().join("crates/model/tests/fixtures/three-errors.yaml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("langfuse.yaml: ok"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("3 errors"));
}

#[test]
fn help_describes_every_subcommand() {
    let out = Command::new(env!("CARGO_BIN_EXE_aca-operator"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(help.contains("validate"), "{help}");
    let out = Command::new(env!("CARGO_BIN_EXE_aca-operator"))
        .args(["validate", "--help"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("file:line:column"));
}

/// The loader alone knows no product; `validate` gives it the playbooks' rules, so a Langfuse
/// mistake in the file is still a located error, beside the generic ones.
#[test]
fn the_playbook_rules_run_at_validate() {
    let dir = std::env::temp_dir().join(format!("aca-validate-playbook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let example = std::fs::read_to_string(repo().join("deploy/examples/langfuse.yaml")).unwrap();
    let broken = example.replace(
        "clickhouse-migration-url: \"clickhouse://${apps.clickhouse.name}:9000\"",
        "clickhouse-migration-url: \"http://${apps.clickhouse.name}:8123\"",
    );
    assert_ne!(broken, example, "the example's migration URL moved");
    let file = dir.join("langfuse.yaml");
    std::fs::write(&file, broken).unwrap();
    let out = validate(std::slice::from_ref(&file));
    std::fs::remove_dir_all(&dir).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("secrets.clickhouse-migration-url: Langfuse runs its ClickHouse migrations")
            && stderr.contains("never at its target port 8123"),
        "{stderr}"
    );
}
