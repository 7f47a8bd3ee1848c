//! The data directory and its files are private to the user running `renlian`: they
//! hold face descriptors, names, billing and the master key. The directory is created
//! 0700 and the files 0600 whatever the umask; a directory or key file that any user may
//! write is refused, because another user could replace `master.key` or the database.
//! A directory that exists already keeps its mode otherwise (an operator may share it
//! with a group on purpose; releases before this one made it 0755: `chmod 700` it).

use std::path::Path;

use anyhow::{bail, Context};

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// Writable by every user.
#[cfg(unix)]
const WORLD_WRITABLE: u32 = 0o002;

/// Creates `dir` (and missing parents) as 0700, then checks it.
pub fn ensure_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder
        .create(dir)
        .with_context(|| format!("creating data directory {}", dir.display()))?;
    refuse_world_writable(dir, "data directory")?;
    Ok(())
}

/// Creates `path` empty as 0600 if it does not exist (so that SQLite, which gives its
/// WAL and shared-memory files the database file's mode, keeps all three private), then
/// checks it.
pub fn ensure_file(path: &Path, what: &str) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    match options.open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating {what} {}", path.display())),
    }
    refuse_world_writable(path, what)
}

/// Refuses a file or directory any user may write; a missing one passes.
pub fn refuse_world_writable(path: &Path, what: &str) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let mode = meta.permissions().mode() & 0o777;
        if mode & WORLD_WRITABLE != 0 {
            bail!(
                "{what} {} has mode {mode:o}: any user could replace it; run `chmod o-w {}` (or chmod 700 / 600) and start again",
                path.display(),
                path.display()
            );
        }
    }
    Ok(())
}
