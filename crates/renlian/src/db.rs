//! Opening the one database pool every crate's tables live in.
//!
//! SQLite (the default, a file in the data directory): WAL so readers never block the
//! writer, `synchronous=FULL` so a committed transaction survives power loss, not only a
//! crash (the metering writer acknowledges a call only after its commit, and group commit
//! keeps the fsync per batch, not per call), a busy timeout so the CLI and a running
//! server can share the file. For metering throughput: a 64 MiB page cache per connection
//! (with SQLite's default 2 MiB every batch re-reads the usage table's key index from the
//! file) and a checkpoint every 16,384 WAL pages (64 MiB) instead of 1,000, so a page that
//! every batch rewrites is copied into the database file once per checkpoint, not once per
//! few batches (durability is the WAL's fsync at each commit, whatever the interval).
//! PostgreSQL: whatever `--database postgres://…` names.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use crate::GlobalOpts;

/// Opens the pool for `--database` / `--data-dir`. The data directory (it holds the
/// master key whatever the database) is created private, and so is a SQLite file.
pub async fn open(global: &GlobalOpts) -> anyhow::Result<AnyPool> {
    let data_dir = global.data_dir();
    crate::private::ensure_dir(&data_dir)?;
    crate::private::refuse_world_writable(&data_dir.join("master.key"), "key file")?;
    open_url(&global.database_url()).await
}

pub async fn open_url(url: &str) -> anyhow::Result<AnyPool> {
    sqlx::any::install_default_drivers();
    if let Some(path) = sqlite_path(url) {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private::ensure_dir(dir)?;
        }
        if !path.as_os_str().is_empty() && !url.contains(":memory:") {
            crate::private::ensure_file(&path, "database file")?;
        }
        let url = if url.contains('?') {
            url.to_string()
        } else {
            format!("{url}?mode=rwc")
        };
        return AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL").await?;
                    conn.execute("PRAGMA synchronous = FULL").await?;
                    conn.execute("PRAGMA busy_timeout = 30000").await?;
                    conn.execute("PRAGMA cache_size = -65536").await?;
                    conn.execute("PRAGMA wal_autocheckpoint = 16384").await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .with_context(|| format!("opening SQLite database {url}"));
    }
    AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect(url)
        .await
        .with_context(|| format!("connecting to {url}"))
}

/// The file of a `sqlite:` URL, `None` for other databases.
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite:///tmp/x/renlian.db"),
            Some(PathBuf::from("/tmp/x/renlian.db"))
        );
        assert_eq!(
            sqlite_path("sqlite://data/r.db?mode=rwc"),
            Some(PathBuf::from("data/r.db"))
        );
        assert_eq!(sqlite_path("postgres://postgres@127.0.0.1/test"), None);
    }
}
