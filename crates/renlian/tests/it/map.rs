//! docs/architecture.md is the map of the code: every crate under `crates/` has a section
//! there and no section names a crate that is not, and every `RENLIAN_*` variable the code
//! or the scripts read is in its configuration table.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn architecture() -> String {
    std::fs::read_to_string(root().join("docs/architecture.md")).expect("docs/architecture.md")
}

/// The package names of the workspace's crates (`crates/*/Cargo.toml`).
fn crates_on_disk() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let manifest = entry.expect("crates/ entry").path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let name = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("name = "))
            .unwrap_or_else(|| panic!("no package name in {}", manifest.display()));
        names.insert(name.trim_matches('"').to_string());
    }
    names
}

/// The crates the map has a section for: `### \`name\`` headings under "## Crates".
fn crates_on_the_map(doc: &str) -> BTreeSet<String> {
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with("Crates"))
        .expect("a \"## Crates\" section");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .filter_map(|l| l.strip_suffix('`'))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_crate_is_on_the_map_and_nothing_else() {
    let on_disk = crates_on_disk();
    let on_map = crates_on_the_map(&architecture());
    let missing: Vec<_> = on_disk.difference(&on_map).collect();
    let stale: Vec<_> = on_map.difference(&on_disk).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/architecture.md: crates without a section {missing:?}, sections without a crate {stale:?}"
    );
    assert!(on_disk.len() >= 9, "{on_disk:?}");
}

/// RENLIAN_ names that are not environment variables.
const NOT_VARIABLES: [&str; 1] = [
    // The C header's include guard (crates/sdk-c/cbindgen.toml).
    "RENLIAN_SDK_H",
];

fn variables_in(path: &Path, found: &mut BTreeSet<String>) {
    if path.is_dir() {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "target" || name.starts_with('.') {
            return;
        }
        for entry in std::fs::read_dir(path).expect("readable directory") {
            variables_in(&entry.expect("entry").path(), found);
        }
        return;
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let mut rest = text.as_str();
    while let Some(i) = rest.find("RENLIAN_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches('_');
        if name.len() > "RENLIAN_".len() && !NOT_VARIABLES.contains(&name) {
            found.insert(name.to_string());
        }
        rest = &tail[end..];
    }
}

#[test]
fn every_environment_variable_is_in_the_configuration_table() {
    let mut found = BTreeSet::new();
    variables_in(&root().join("crates"), &mut found);
    variables_in(&root().join("scripts"), &mut found);
    let doc = architecture();
    let missing: Vec<_> = found
        .iter()
        .filter(|v| !doc.contains(&format!("`{v}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "RENLIAN_* variables read by the code but not in docs/architecture.md: {missing:?}"
    );
    assert!(found.contains("RENLIAN_MODELS"), "{found:?}");
}
