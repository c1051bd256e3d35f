//! Records the git commit and the build date for `aca-operator version`. The date is
//! `SOURCE_DATE_EPOCH` when set (reproducible builds), else the commit's date, so that building
//! the same commit twice gives the same binary; `unknown` outside a git checkout.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .or_else(|| git(&["log", "-1", "--format=%ct"]))
        .and_then(|s| s.parse::<i64>().ok());
    let date = epoch
        .and_then(|e| time::OffsetDateTime::from_unix_timestamp(e).ok())
        .map(|d| d.date().to_string())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=ACA_GIT_COMMIT={commit}");
    println!("cargo:rustc-env=ACA_BUILD_DATE={date}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // jemalloc's options come from .cargo/config.toml, found only when building inside the
    // repository; without them jemalloc keeps as much as glibc's malloc (decision 0037).
    println!("cargo:rerun-if-env-changed=JEMALLOC_SYS_WITH_MALLOC_CONF");
    if std::env::var_os("CARGO_FEATURE_JEMALLOC").is_some()
        && std::env::var_os("JEMALLOC_SYS_WITH_MALLOC_CONF").is_none()
    {
        println!(
            "cargo:warning=JEMALLOC_SYS_WITH_MALLOC_CONF is not set: build from the repository (its \
             .cargo/config.toml sets it) or set it as there; jemalloc's defaults keep more memory"
        );
    }
    println!("cargo:rerun-if-changed=../../.git/HEAD");
    println!("cargo:rerun-if-changed=../../.git/refs/heads");
}
