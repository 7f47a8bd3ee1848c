//! The committed header is exactly what cbindgen generates from the crate now, and names
//! nothing without the library's prefix.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn header_path() -> PathBuf {
    crate_dir().join("include/renlian_sdk.h")
}

/// Runs the generator (`header-gen`, a workspace of its own: see its Cargo.toml) with the
/// cargo that runs this test, into a target directory of its own under this one's.
fn generate(dir: &Path) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["run", "--quiet", "--manifest-path"])
        .arg(dir.join("header-gen/Cargo.toml"))
        .arg("--target-dir")
        .arg(Path::new(env!("CARGO_TARGET_TMPDIR")).join("header-gen"))
        .arg("--")
        .arg(dir)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "the header generator failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("the header is UTF-8")
}

#[test]
fn the_committed_header_is_current() {
    let fresh = generate(&crate_dir());
    let path = header_path();
    if std::env::var_os("RENLIAN_REGENERATE_HEADER").is_some() {
        std::fs::write(&path, &fresh).expect("write the header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed == fresh {
        return;
    }
    let (line, old, new) = committed
        .lines()
        .map(Some)
        .chain(std::iter::repeat(None))
        .zip(fresh.lines().map(Some).chain(std::iter::repeat(None)))
        .take(committed.lines().count().max(fresh.lines().count()) + 1)
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| {
            (
                i + 1,
                a.unwrap_or("(end of file)"),
                b.unwrap_or("(end of file)"),
            )
        })
        .unwrap_or((0, "", ""));
    panic!(
        "{} is not what cbindgen generates from the crate now; first difference at line \
         {line}:\n  committed: {old}\n  generated: {new}\nRegenerate it with:\n  \
         RENLIAN_REGENERATE_HEADER=1 cargo test --workspace --test it -- header::",
        path.display()
    );
}

/// Every function and constant of the ABI carries the `rl_` / `RL_` prefix, so the header
/// cannot clash with an integrator's names.
#[test]
fn every_exported_name_is_prefixed() {
    let header = std::fs::read_to_string(header_path()).expect("the committed header");
    let mut names = 0;
    for line in header.lines() {
        if let Some(rest) = line.strip_prefix("#define ") {
            let name = rest.split_whitespace().next().unwrap_or("");
            if name != "RENLIAN_SDK_H" {
                assert!(name.starts_with("RL_"), "{line}");
                names += 1;
            }
        }
        if let Some(open) = line.find('(') {
            let before = &line[..open];
            if !line.starts_with(' ') && !line.starts_with('/') && !line.starts_with('#') {
                let name = before
                    .split_whitespace()
                    .last()
                    .unwrap_or("")
                    .trim_start_matches('*');
                assert!(name.starts_with("rl_"), "{line}");
                names += 1;
            }
        }
    }
    assert!(names > 40, "only {names} names found in the header");
}
