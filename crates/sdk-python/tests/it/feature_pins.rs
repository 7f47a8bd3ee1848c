//! The feature pins in Cargo.toml, checked without building: maturin builds this crate
//! alone, and any crate whose features differ from what `cargo test --workspace`
//! resolved is compiled again (tract and all above it: minutes on 2 cores). The wheel
//! test notices that too, but only on a cold target directory, where the other variant
//! is not already cached; `cargo tree` answers the same question every time.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use crate::support::repo_root;

/// Each package ("name vX.Y.Z") in a `cargo tree` selection with the union of the
/// features it is built with.
fn features(selection: &[&str], edges: &str) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(repo_root())
        .arg("tree")
        .args(selection)
        .args(["--frozen", "-e", edges, "--prefix", "none", "-f", "{p}|{f}"])
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut packages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // A package printed before is marked " (*)" at the end of the line.
        let line = line.trim_end().trim_end_matches(" (*)");
        let Some((package, feats)) = line.split_once('|') else {
            continue;
        };
        // "name v1.2.3 (/path) (*)" -> "name v1.2.3"
        let name: String = package
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        packages.entry(name).or_default().extend(
            feats
                .split(',')
                .filter(|f| !f.is_empty())
                .map(str::to_owned),
        );
    }
    packages
}

#[test]
fn maturin_resolves_the_features_cargo_test_built() {
    // The workspace with dev-dependencies, as `cargo test --workspace --all-targets`
    // resolves it; this crate as maturin builds it (no dev-dependencies).
    let workspace = features(&["--workspace"], "normal,build,dev");
    let alone = features(&["-p", "sdk-python"], "normal,build");
    assert!(alone.len() > 50, "cargo tree listed too little: {alone:?}");
    let differing: Vec<String> = alone
        .iter()
        .filter(|(package, feats)| workspace.get(*package) != Some(*feats))
        .map(|(package, feats)| {
            let theirs = workspace.get(package).cloned().unwrap_or_default();
            let missing: Vec<&String> = theirs.difference(feats).collect();
            let extra: Vec<&String> = feats.difference(&theirs).collect();
            format!("{package}: add {missing:?}, extra {extra:?}")
        })
        .collect();
    assert!(
        differing.is_empty(),
        "crates/sdk-python alone resolves other features than the workspace; pin the \
         missing ones in crates/sdk-python/Cargo.toml:\n{}",
        differing.join("\n")
    );
}
