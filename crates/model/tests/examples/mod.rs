//! Where the ARM payloads of the model's tests are: the project's fixtures (always) and the
//! official examples (only where `../shared/arm-examples` is beside the repository, as in CI).

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/arm")
}

/// `../shared/arm-examples` when it exists; otherwise writes past the test harness's capture (so it
/// shows in `cargo test`'s output) that `what` was skipped, and what covers it instead.
pub fn official_dir(what: &str, instead: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/arm-examples");
    if dir.is_dir() {
        return Some(dir);
    }
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {what}: no ../shared/arm-examples beside the repository (CI has it); {instead}"
    );
    None
}
