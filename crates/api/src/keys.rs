//! API keys: a SecretId/SecretKey pair per account, the SecretKey stored encrypted
//! (AES-256-GCM) under a master key that never enters the database.
//!
//! The master key comes from `RENLIAN_MASTER_KEY` (64 hex digits) or from a key file in
//! the data directory, generated on first use with mode 0600. [`MasterKey::seal`] is also
//! what stores the licence issuer's key ring (`licence-registry`'s `Sealer`).

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use sqlx::{AnyPool, Row};

/// Everything the key store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no such SecretId")]
    NotFound,
    #[error("the key is disabled")]
    Disabled,
    #[error("the key expired at {0}")]
    Expired(String),
    #[error("{0}")]
    Token(&'static str),
    #[error("a temporary key cannot be rotated: create a new one")]
    RotateTemporary,
    #[error("the expiry {0} is not in the future")]
    ExpiryPassed(String),
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
    /// What the licence issuer's key ring is stored as.
    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.seal_for(plain, b"")
    }

    /// Like [`MasterKey::seal`], bound to `aad` (authenticated, not stored): opening it
    /// needs the same `aad`. SecretKeys are bound to their SecretId, so a sealed key
    /// copied into another key's row does not open there.
    pub fn seal_for(&self, plain: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| KeyError::MasterKey("encryption failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The inverse of [`MasterKey::seal`]; `Decrypt` for a wrong key or altered bytes.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.open_for(sealed, b"")
    }

    /// The inverse of [`MasterKey::seal_for`] with the same `aad`.
    pub fn open_for(&self, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < 12 {
            return Err(KeyError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(12);
        self.cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
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
    /// When a temporary key stops working (microseconds since the epoch); `None` for a
    /// permanent key.
    pub expires_us: Option<i64>,
}

/// A freshly created key: the only time the SecretKey is shown.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NewKey {
    pub secret_id: String,
    pub secret_key: String,
    /// A temporary key's session token (sent as `X-TC-Token`, or `Token` with signature
    /// v1, as with Tencent Cloud's STS credentials); shown only this once, like the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// A temporary key's expiry, microseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_us: Option<i64>,
}

/// What authentication needs of a key.
#[derive(Debug, Clone)]
pub struct ActiveKey {
    pub account: i64,
    pub secret_key: String,
    /// As in [`KeyInfo::last_used_us`]: authentication skips the write while it is recent.
    pub last_used_us: Option<i64>,
    /// As in [`KeyInfo::expires_us`].
    pub expires_us: Option<i64>,
    /// SHA-256 of a temporary key's token (the token itself is not stored).
    token_sha256: Option<String>,
}

impl ActiveKey {
    /// Whether a request at `now_us` carrying `token` (the `X-TC-Token` header or the v1
    /// `Token` parameter; empty counts as absent) may use this key: a temporary key must
    /// be unexpired and given its own token; a permanent key takes no token (one sent
    /// with it is a credential mix-up, refused rather than ignored).
    pub fn admits(&self, token: Option<&str>, now_us: i64) -> Result<(), KeyError> {
        if let Some(expires) = self.expires_us {
            if now_us >= expires {
                let at = chrono::DateTime::from_timestamp_micros(expires)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_else(|| expires.to_string());
                return Err(KeyError::Expired(at));
            }
        }
        let token = token.filter(|t| !t.is_empty());
        match (&self.token_sha256, token) {
            (None, None) => Ok(()),
            (None, Some(_)) => Err(KeyError::Token(
                "a token was sent with a permanent key (X-TC-Token belongs to temporary keys)",
            )),
            (Some(_), None) => Err(KeyError::Token(
                "this temporary key needs its token (X-TC-Token)",
            )),
            (Some(stored), Some(given)) => {
                // Digests are compared, not tokens: how long a comparison takes tells a
                // guesser about the digest of its guess, which it cannot steer.
                if hex::encode(Sha256::digest(given.as_bytes())) == *stored {
                    Ok(())
                } else {
                    Err(KeyError::Token("the token does not belong to this key"))
                }
            }
        }
    }
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
/// adds when each key was last used (NULL for keys never used since). Version 3 marks
/// SecretKeys sealed bound to their SecretId (`bound`); [`KeyStore::open`] reseals the
/// older rows once and records that in `api_meta`, after which an unbound row is refused.
/// Version 4 adds temporary keys: an expiry and the SHA-256 of their token (NULL for
/// permanent keys).
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
    db::Migration::new(
        3,
        &[
            "ALTER TABLE api_keys ADD COLUMN bound BIGINT NOT NULL DEFAULT 0",
            "CREATE TABLE api_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
        ],
    ),
    db::Migration::new(
        4,
        &[
            "ALTER TABLE api_keys ADD COLUMN expires_us BIGINT",
            "ALTER TABLE api_keys ADD COLUMN token_sha256 TEXT",
        ],
    ),
];

/// `api_meta` row written once every key row is sealed bound to its SecretId.
const KEYS_BOUND: &str = "keys_bound";

fn random_alnum(n: usize) -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// A row's `nonce_hex` and `secret_hex` as the sealed bytes `nonce ‖ ciphertext`.
fn unhex_sealed(row: &sqlx::any::AnyRow) -> Result<Vec<u8>, KeyError> {
    let nonce =
        hex::decode(row.try_get::<String, _>("nonce_hex")?).map_err(|_| KeyError::Decrypt)?;
    let sealed =
        hex::decode(row.try_get::<String, _>("secret_hex")?).map_err(|_| KeyError::Decrypt)?;
    if nonce.len() != 12 {
        return Err(KeyError::Decrypt);
    }
    Ok([nonce, sealed].concat())
}

fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

impl KeyStore {
    /// Creates or migrates the table if needed (versions in `api_schema`).
    pub async fn open(pool: AnyPool, master: MasterKey) -> Result<Self, KeyError> {
        db::migrate(&pool, "api", MIGRATIONS).await?;
        let store = KeyStore { pool, master };
        store.bind_existing().await?;
        Ok(store)
    }

    /// Reseals the keys an earlier release stored unbound, once per database. Several
    /// nodes may start together: each row is claimed by `WHERE bound = 0`, so one of
    /// them rewrites it and the others change nothing.
    async fn bind_existing(&self) -> Result<(), KeyError> {
        let done = sqlx::query("SELECT value FROM api_meta WHERE name = $1")
            .bind(KEYS_BOUND)
            .fetch_optional(&self.pool)
            .await?;
        if done.is_some() {
            return Ok(());
        }
        let rows =
            sqlx::query("SELECT secret_id, nonce_hex, secret_hex FROM api_keys WHERE bound = 0")
                .fetch_all(&self.pool)
                .await?;
        for row in rows {
            let secret_id: String = row.try_get("secret_id")?;
            let old = unhex_sealed(&row)?;
            let plain = self.master.open(&old)?;
            let sealed = self.master.seal_for(&plain, secret_id.as_bytes())?;
            let (nonce, body) = sealed.split_at(12);
            sqlx::query(
                "UPDATE api_keys SET nonce_hex = $1, secret_hex = $2, bound = 1
                 WHERE secret_id = $3 AND bound = 0",
            )
            .bind(hex::encode(nonce))
            .bind(hex::encode(body))
            .bind(&secret_id)
            .execute(&self.pool)
            .await?;
        }
        let marked = sqlx::query("INSERT INTO api_meta (name, value) VALUES ($1, '1')")
            .bind(KEYS_BOUND)
            .execute(&self.pool)
            .await;
        match marked {
            Ok(_) => Ok(()),
            // Another node marked it first.
            Err(e) if db::is_unique_violation(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// The master key (it also seals the licence issuer's key ring).
    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// Creates a key for `account` (the caller checks the account exists).
    pub async fn create(&self, account: i64) -> Result<NewKey, KeyError> {
        self.insert(account, None).await
    }

    /// Creates a temporary key for `account` that works until `expires_us` (microseconds
    /// since the epoch) and only with the session token it comes with, the way Tencent
    /// Cloud's STS credentials work with the SDKs (`Credential(id, key, token)`).
    pub async fn create_temporary(
        &self,
        account: i64,
        expires_us: i64,
    ) -> Result<NewKey, KeyError> {
        if expires_us <= now_us() {
            let at = chrono::DateTime::from_timestamp_micros(expires_us)
                .map(|t| t.to_rfc3339())
                .unwrap_or_else(|| expires_us.to_string());
            return Err(KeyError::ExpiryPassed(at));
        }
        self.insert(account, Some(expires_us)).await
    }

    async fn insert(&self, account: i64, expires_us: Option<i64>) -> Result<NewKey, KeyError> {
        let secret_id = format!("{SECRET_ID_PREFIX}{}", random_alnum(32));
        let secret_key = random_alnum(32);
        let token = expires_us.map(|_| random_alnum(64));
        let token_sha256 = token
            .as_ref()
            .map(|t| hex::encode(Sha256::digest(t.as_bytes())));
        let sealed = self
            .master
            .seal_for(secret_key.as_bytes(), secret_id.as_bytes())?;
        let (nonce, sealed) = sealed.split_at(12);
        sqlx::query(
            "INSERT INTO api_keys
               (secret_id, account, nonce_hex, secret_hex, enabled, created_us, bound,
                expires_us, token_sha256)
             VALUES ($1, $2, $3, $4, 1, $5, 1, $6, $7)",
        )
        .bind(&secret_id)
        .bind(account)
        .bind(hex::encode(nonce))
        .bind(hex::encode(sealed))
        .bind(now_us())
        .bind(expires_us)
        .bind(token_sha256)
        .execute(&self.pool)
        .await?;
        Ok(NewKey {
            secret_id,
            secret_key,
            token,
            expires_us,
        })
    }

    /// The account and plain SecretKey of an enabled key.
    pub async fn active(&self, secret_id: &str) -> Result<ActiveKey, KeyError> {
        let row = sqlx::query(
            "SELECT account, nonce_hex, secret_hex, enabled, last_used_us, bound, expires_us,
                    token_sha256
             FROM api_keys WHERE secret_id = $1",
        )
        .bind(secret_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(KeyError::NotFound)?;
        let enabled: i64 = row.try_get("enabled")?;
        if enabled == 0 {
            return Err(KeyError::Disabled);
        }
        // Every row is bound once the store has opened; an unbound one was not written by
        // this release and is not trusted.
        if row.try_get::<i64, _>("bound")? == 0 {
            return Err(KeyError::Decrypt);
        }
        let plain = self
            .master
            .open_for(&unhex_sealed(&row)?, secret_id.as_bytes())?;
        Ok(ActiveKey {
            account: row.try_get("account")?,
            secret_key: String::from_utf8(plain).map_err(|_| KeyError::Decrypt)?,
            last_used_us: row.try_get("last_used_us")?,
            expires_us: row.try_get("expires_us")?,
            token_sha256: row.try_get("token_sha256")?,
        })
    }

    /// Every key, or those of one account, oldest first.
    pub async fn list(&self, account: Option<i64>) -> Result<Vec<KeyInfo>, KeyError> {
        let rows = match account {
            Some(a) => {
                sqlx::query(
                    "SELECT secret_id, account, enabled, created_us, last_used_us, expires_us FROM api_keys
                     WHERE account = $1 ORDER BY created_us, secret_id",
                )
                .bind(a)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(
                    "SELECT secret_id, account, enabled, created_us, last_used_us, expires_us FROM api_keys
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
                    expires_us: r.try_get("expires_us")?,
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
        let row = sqlx::query("SELECT account, expires_us FROM api_keys WHERE secret_id = $1")
            .bind(secret_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(KeyError::NotFound)?;
        if row.try_get::<Option<i64>, _>("expires_us")?.is_some() {
            return Err(KeyError::RotateTemporary);
        }
        let account: i64 = row.try_get("account")?;
        let new = self.create(account).await?;
        self.disable(secret_id).await?;
        Ok(new)
    }
}
