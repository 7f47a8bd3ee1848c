//! Numbered migrations, one sequence per owner.
//!
//! Hand-written rather than `sqlx::migrate!`: sqlx keeps one `_sqlx_migrations` table per
//! database, and every crate of ours migrates its own tables on the shared pool, so version
//! numbers would collide. Each owner (`billing`, `gallery`, `api`…) keeps its versions in
//! its own table `<owner>_schema (version, applied_us)`.
//!
//! Safe to run from several processes at once, on every start: the whole run is one
//! transaction that first takes the owner's lock (a PostgreSQL transaction-level advisory
//! lock keyed by the owner's name; on SQLite `BEGIN IMMEDIATE`, the database's write
//! lock), then applies the versions above the highest one recorded, in order, and
//! records each. A version recorded is never run again; a failure rolls the run back
//! whole. Versions the code does not know (a database migrated by a newer release) are
//! left alone.

use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::AnyPool;

use crate::Dialect;

/// One migration: the dialect's own statements run first, then the common ones. Every
/// statement may name the types that differ as `{ID}` (an auto-generated BIGINT primary
/// key) and `{BLOB}` (bytes); see [`Dialect::ddl`].
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    pub version: i64,
    pub common: &'static [&'static str],
    pub sqlite: &'static [&'static str],
    pub postgres: &'static [&'static str],
}

impl Migration {
    /// A migration whose statements are the same on both databases.
    pub const fn new(version: i64, common: &'static [&'static str]) -> Migration {
        Migration {
            version,
            common,
            sqlite: &[],
            postgres: &[],
        }
    }

    fn statements(&self, d: Dialect) -> impl Iterator<Item = String> + '_ {
        let own = match d {
            Dialect::Sqlite => self.sqlite,
            Dialect::Postgres => self.postgres,
        };
        own.iter().chain(self.common).map(move |s| d.ddl(s))
    }
}

/// Brings `owner`'s tables up to the last of `migrations` (in increasing version order,
/// versions from 1). Returns the versions applied now (empty when already up to date).
///
/// `owner` names the version table `<owner>_schema` and the lock: lower-case ASCII letters,
/// digits and `_`, starting with a letter.
pub async fn migrate(
    pool: &AnyPool,
    owner: &str,
    migrations: &[Migration],
) -> Result<Vec<i64>, sqlx::Error> {
    check(owner, migrations)?;
    let dialect = Dialect::of_pool(pool).await?;
    let mut tx = dialect.begin_write(pool).await?;
    if dialect == Dialect::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(lock_key(owner))
            .execute(&mut *tx)
            .await?;
    }
    let table = format!("{owner}_schema");
    sqlx::query(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (
            version BIGINT PRIMARY KEY,
            applied_us BIGINT NOT NULL
        )"
    ))
    .execute(&mut *tx)
    .await?;
    let current: Option<i64> = sqlx::query_scalar(&format!("SELECT MAX(version) FROM {table}"))
        .fetch_one(&mut *tx)
        .await?;
    let current = current.unwrap_or(0);
    let mut applied = Vec::new();
    for m in migrations.iter().filter(|m| m.version > current) {
        for sql in m.statements(dialect) {
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        sqlx::query(&format!(
            "INSERT INTO {table} (version, applied_us) VALUES ($1, $2)"
        ))
        .bind(m.version)
        .bind(now_us())
        .execute(&mut *tx)
        .await?;
        applied.push(m.version);
    }
    tx.commit().await?;
    Ok(applied)
}

fn check(owner: &str, migrations: &[Migration]) -> Result<(), sqlx::Error> {
    let bad = |why: String| Err(sqlx::Error::Configuration(why.into()));
    let mut chars = owner.chars();
    let name_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && owner.len() <= 48;
    if !name_ok {
        return bad(format!(
            "migration owner {owner:?} must be lower-case letters, digits and _, from a letter"
        ));
    }
    let mut last = 0;
    for m in migrations {
        if m.version <= last {
            return bad(format!(
                "{owner} migrations must be numbered 1, 2, … in increasing order; {} follows {last}",
                m.version
            ));
        }
        last = m.version;
    }
    Ok(())
}

/// The owner's advisory-lock key: FNV-1a of `renlian.migrate.<owner>`, stable across
/// processes and releases.
fn lock_key(owner: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in "renlian.migrate.".bytes().chain(owner.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h as i64
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
