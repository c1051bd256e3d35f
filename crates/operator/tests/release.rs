//! The release binary the Dockerfile builds, built with the Dockerfile's own command, runs.

use std::path::Path;
use std::process::Command;

#[test]
fn release_binary_runs_version() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dockerfile = std::fs::read_to_string(repo.join("deploy/Dockerfile")).unwrap();
    let build = dockerfile
        .lines()
        .find_map(|l| l.trim().strip_prefix("RUN cargo "))
        .expect("the Dockerfile builds with `RUN cargo ...`");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(build.split_whitespace())
        .current_dir(&repo)
        .status()
        .unwrap();
    assert!(status.success(), "`cargo {build}` failed");

    let binary = repo.join("target/release/aca-operator");
    let out = Command::new(&binary).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with(&format!("aca-operator {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("commit ") && text.contains("built "), "{text}");
    let out = Command::new(&binary).arg("version").output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        text,
        "`version` and `--version` agree"
    );
}
