//! Paths shared by the explorations.

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fixture photos' directory (`scripts/fixtures` fetches them once).
pub fn fixtures() -> PathBuf {
    let out = Command::new(root().join("scripts/fixtures"))
        .output()
        .expect("running scripts/fixtures");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}
