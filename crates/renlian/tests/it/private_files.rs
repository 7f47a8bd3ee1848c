//! The data directory and its files are private whatever the umask, and a data directory
//! or key file any user could write is refused.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn renlian_with_umask_000(data_dir: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_renlian"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("RENLIAN_DATABASE")
        .env_remove("RENLIAN_MASTER_KEY")
        .output()
        .unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn data_files_are_private_and_unsafe_modes_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("deep/renlian");
    let out = renlian_with_umask_000(&dir, &["account", "create", "acme", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = renlian_with_umask_000(&dir, &["key", "create", "--account", "1", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mode(&dir), 0o700, "data directory");
    assert_eq!(
        mode(&root.path().join("deep")),
        0o700,
        "a parent it created"
    );
    assert_eq!(mode(&dir.join("renlian.db")), 0o600, "database");
    assert_eq!(mode(&dir.join("master.key")), 0o600, "master key");
    for side in ["renlian.db-wal", "renlian.db-shm"] {
        let p = dir.join(side);
        if p.exists() {
            assert_eq!(mode(&p), 0o600, "{side}");
        }
    }

    // A world-writable data directory: refused, nothing opened.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = renlian_with_umask_000(&dir, &["account", "show", "1", "--json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("data directory") && err.contains("chmod o-w"),
        "{err}"
    );

    // A world-writable key file: refused too.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(
        dir.join("master.key"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let out = renlian_with_umask_000(&dir, &["key", "list", "--json"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("key file"), "{err}");

    // Back to 0600, it works again.
    std::fs::set_permissions(
        dir.join("master.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let out = renlian_with_umask_000(&dir, &["key", "list", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
