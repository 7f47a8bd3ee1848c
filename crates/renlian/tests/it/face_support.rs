//! Helpers shared by the CLI tests that run on the fixture photos.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The fixture photo directory, fetched into the cache by scripts/fixtures.
pub fn fixtures() -> PathBuf {
    script_path("fixtures")
}

/// Runs `scripts/NAME` (one that installs or fetches something into the cache) and
/// returns the path it prints.
pub fn script_path(name: &str) -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scripts")
        .join(name);
    let out = Command::new(script).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// Runs the `renlian` binary built for these tests.
pub fn renlian(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_renlian"))
        .args(args)
        .output()
        .unwrap()
}

/// The JSON a successful command printed.
pub fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
