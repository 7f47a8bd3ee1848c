//! API keys: a SecretId/SecretKey pair per account, the SecretKey stored encrypted
//! (AES-256-GCM) under a master key that never enters the database.
//!
//! The master key comes from `RENLIAN_MASTER_KEY` (64 hex digits) or from a key file in
//! the data directory, generated on first use with mode 0600. [`MasterKey::seal`] is also
//! what stores the licence issuer's key ring (`licence-registry`'s `Sealer`).

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use sqlx::{AnyPool, Row};

/// Everything the key store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no such SecretId")]
    NotFound,
    #[error("the key is disabled")]
    Disabled,
    #[error("master key: {0}")]
    MasterKey(String),
    #[error("a stored SecretKey cannot be decrypted (wrong master key?)")]
    Decrypt,
    #[error("master key file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// The key that encrypts SecretKeys at rest.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

pub const MASTER_KEY_ENV: &str = "RENLIAN_MASTER_KEY";
pub const MASTER_KEY_FILE: &str = "master.key";

impl MasterKey {
    pub fn from_hex(s: &str) -> Result<Self, KeyError> {
        let bytes =
            hex::decode(s.trim()).map_err(|e| KeyError::MasterKey(format!("not hex: {e}")))?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|_| KeyError::MasterKey("must be 32 bytes (64 hex digits)".into()))?;
        Ok(MasterKey(key))
    }

    /// `RENLIAN_MASTER_KEY` if set, else `DATA_DIR/master.key`, created (0600) if absent.
    pub fn from_env_or_dir(data_dir: &Path) -> Result<Self, KeyError> {
        if let Ok(hex) = std::env::var(MASTER_KEY_ENV) {
            return Self::from_hex(&hex);
        }
        Self::from_file(&data_dir.join(MASTER_KEY_FILE))
    }

    /// Reads the key file, or creates it with a fresh random key (mode 0600, never
    /// overwriting a file another process created meanwhile).
    pub fn from_file(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(s) => return Self::from_hex(&s),
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
            Err(_) => {}
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(path) {
            Ok(mut f) => {
                use std::io::Write;
                f.write_all(hex::encode(key).as_bytes()).map_err(io)?;
                f.sync_all().map_err(io)?;
                Ok(MasterKey(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Self::from_hex(&std::fs::read_to_string(path).map_err(io)?)
            }
            Err(e) => Err(io(e)),
        }
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new((&self.0).into())
    }

    /// Encrypts `plain` (AES-256-GCM, a fresh random 96-bit nonce): nonce ‖ ciphertext.
    /// What SecretKeys and the licence issuer's key ring are stored as.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), plain)
            .map_err(|_| KeyError::MasterKey("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The inverse of [`MasterKey::seal`]; `Decrypt` for a wrong key or altered bytes.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < 12 {
            return Err(KeyError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| KeyError::Decrypt)
    }
}

/// The licence issuer's key ring is sealed with the master key, like SecretKeys.
impl licence_registry::Sealer for MasterKey {
    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, String> {
        MasterKey::seal(self, plain).map_err(|e| e.to_string())
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, String> {
        MasterKey::open(self, sealed).map_err(|e| e.to_string())
    }
}

/// A key as listed (never with its SecretKey).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    pub secret_id: String,
    pub account: i64,
    pub enabled: bool,
    /// Microseconds since the epoch.
    pub created_us: i64,
    /// When a request last authenticated with the key (microseconds since the epoch),
    /// to within [`LAST_USED_EVERY_US`]; `None` if it never did.
    pub last_used_us: Option<i64>,
}

/// A freshly created key: the only time the SecretKey is shown.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewKey {
    pub secret_id: String,
    pub secret_key: String,
}

/// What authentication needs of a key.
#[derive(Debug, Clone)]
pub struct ActiveKey {
    pub account: i64,
    pub secret_key: String,
    /// As in [`KeyInfo::last_used_us`]: authentication skips the write while it is recent.
    pub last_used_us: Option<i64>,
}

/// A key's last use is written at most this often (microseconds): a busy key costs one
/// write a minute, not one per request.
pub const LAST_USED_EVERY_US: i64 = 60_000_000;

/// The `api_keys` table on the shared pool.
#[derive(Clone)]
pub struct KeyStore {
    pool: AnyPool,
    master: MasterKey,
}

const SECRET_ID_PREFIX: &str = "AKID";

/// The api crate's tables, migrated by the `db` crate's runner. Version 1 is exactly the
/// `CREATE TABLE IF NOT EXISTS` the releases before versioned migrations ran on every
/// start: a database they created adopts it untouched and records version 1. Version 2
/// adds when each key was last used (NULL for keys never used since).
const MIGRATIONS: &[db::Migration] = &[
    db::Migration::new(
        1,
        &["CREATE TABLE IF NOT EXISTS api_keys (
        secret_id TEXT PRIMARY KEY,
        account BIGINT NOT NULL,
        nonce_hex TEXT NOT NULL,
        secret_hex TEXT NOT NULL,
        enabled BIGINT NOT NULL,
        created_us BIGINT NOT NULL
    )"],
    ),
    db::Migration::new(2, &["ALTER TABLE api_keys ADD COLUMN last_used_us BIGINT"]),
];

fn random_alnum(n: usize) -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl KeyStore {
    /// Creates or migrates the table if needed (versions in `api_schema`).
    pub async fn open(pool: AnyPool, master: MasterKey) -> Result<Self, KeyError> {
        db::migrate(&pool, "api", MIGRATIONS).await?;
        Ok(KeyStore { pool, master })
    }

    /// The master key (it also seals the licence issuer's key ring).
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Creates a key for `account` (the caller checks the account exists).
    pub async fn create(&self, account: i64) -> Result<NewKey, KeyError> {
        let secret_id = format!("{SECRET_ID_PREFIX}{}", random_alnum(32));
        let secret_key = random_alnum(32);
        let sealed = self.master.seal(secret_key.as_bytes())?;
        let (nonce, sealed) = sealed.split_at(12);
        sqlx::query(
            "INSERT INTO api_keys (secret_id, account, nonce_hex, secret_hex, enabled, created_us)
             VALUES ($1, $2, $3, $4, 1, $5)",
        )
        .bind(&secret_id)
        .bind(account)
        .bind(hex::encode(nonce))
        .bind(hex::encode(sealed))
        .bind(now_us())
        .execute(&self.pool)
        .await?;
        Ok(NewKey {
            secret_id,
            secret_key,
        })
    }

    /// The account and plain SecretKey of an enabled key.
    pub async fn active(&self, secret_id: &str) -> Result<ActiveKey, KeyError> {
        let row = sqlx::query(
            "SELECT account, nonce_hex, secret_hex, enabled, last_used_us FROM api_keys
             WHERE secret_id = $1",
        )
        .bind(secret_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(KeyError::NotFound)?;
        let enabled: i64 = row.try_get("enabled")?;
        if enabled == 0 {
            return Err(KeyError::Disabled);
        }
        let nonce =
            hex::decode(row.try_get::<String, _>("nonce_hex")?).map_err(|_| KeyError::Decrypt)?;
        let sealed =
            hex::decode(row.try_get::<String, _>("secret_hex")?).map_err(|_| KeyError::Decrypt)?;
        if nonce.len() != 12 {
            return Err(KeyError::Decrypt);
        }
        let plain = self.master.open(&[nonce, sealed].concat())?;
        Ok(ActiveKey {
            account: row.try_get("account")?,
            secret_key: String::from_utf8(plain).map_err(|_| KeyError::Decrypt)?,
            last_used_us: row.try_get("last_used_us")?,
        })
    }

    /// Every key, or those of one account, oldest first.
    pub async fn list(&self, account: Option<i64>) -> Result<Vec<KeyInfo>, KeyError> {
        let rows = match account {
            Some(a) => {
                sqlx::query(
                    "SELECT secret_id, account, enabled, created_us, last_used_us FROM api_keys
                     WHERE account = $1 ORDER BY created_us, secret_id",
                )
                .bind(a)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT secret_id, account, enabled, created_us, last_used_us FROM api_keys
                     ORDER BY created_us, secret_id",
                )
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|r| {
                Ok(KeyInfo {
                    secret_id: r.try_get("secret_id")?,
                    account: r.try_get("account")?,
                    enabled: r.try_get::<i64, _>("enabled")? != 0,
                    created_us: r.try_get("created_us")?,
                    last_used_us: r.try_get("last_used_us")?,
                })
            })
            .collect()
    }

    /// Records that a request authenticated with the key at `at_us`, unless a use at most
    /// [`LAST_USED_EVERY_US`] earlier is recorded already (or a later one: times only go
    /// forward). True if this wrote. The condition is in the statement, so any number of
    /// nodes write a busy key's row once a minute between them.
    pub async fn touch(&self, secret_id: &str, at_us: i64) -> Result<bool, KeyError> {
        let done = sqlx::query(
            "UPDATE api_keys SET last_used_us = $1
             WHERE secret_id = $2 AND (last_used_us IS NULL OR last_used_us < $3)",
        )
        .bind(at_us)
        .bind(secret_id)
        .bind(at_us - LAST_USED_EVERY_US)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Disables a key; requests signed with it are refused from then on.
    pub async fn disable(&self, secret_id: &str) -> Result<(), KeyError> {
        let done = sqlx::query("UPDATE api_keys SET enabled = 0 WHERE secret_id = $1")
            .bind(secret_id)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(KeyError::NotFound);
        }
        Ok(())
    }

    /// Replaces a key by a new one of the same account: the old one is disabled.
    pub async fn rotate(&self, secret_id: &str) -> Result<NewKey, KeyError> {
        let row = sqlx::query("SELECT account FROM api_keys WHERE secret_id = $1")
            .bind(secret_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(KeyError::NotFound)?;
        let account: i64 = row.try_get("account")?;
        let new = self.create(account).await?;
        self.disable(secret_id).await?;
        Ok(new)
    }
}
