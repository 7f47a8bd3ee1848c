//! A database created by the release before versioned migrations (`api_keys` made by a
//! `CREATE TABLE IF NOT EXISTS` on every start, no `api_schema`) opens with this code,
//! adopts migration version 1 untouched and keeps its keys. On SQLite and PostgreSQL.

use crate::common;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use api::{KeyError, KeyStore, MasterKey};
use sqlx::AnyPool;

/// The previous release's statement, verbatim (the fixture, not the schema).
const PREVIOUS_RELEASE: &str = "CREATE TABLE IF NOT EXISTS api_keys (
                secret_id TEXT PRIMARY KEY,
                account BIGINT NOT NULL,
                nonce_hex TEXT NOT NULL,
                secret_hex TEXT NOT NULL,
                enabled BIGINT NOT NULL,
                created_us BIGINT NOT NULL
            )";

const MASTER: [u8; 32] = [7; 32];

/// A key row as the previous release stored it: the SecretKey sealed under the master key.
async fn old_key(pool: &AnyPool, secret_id: &str, secret_key: &str, account: i64, enabled: bool) {
    let nonce = [3u8; 12];
    let sealed = Aes256Gcm::new((&MASTER).into())
        .encrypt(Nonce::from_slice(&nonce), secret_key.as_bytes())
        .unwrap();
    sqlx::query(
        "INSERT INTO api_keys (secret_id, account, nonce_hex, secret_hex, enabled, created_us)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(secret_id)
    .bind(account)
    .bind(hex::encode(nonce))
    .bind(hex::encode(sealed))
    .bind(i64::from(enabled))
    .bind(1_790_000_000_000_000i64)
    .execute(pool)
    .await
    .unwrap();
}

async fn versions(pool: &AnyPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM api_schema ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn upgrade(db: common::Db) {
    let pool = db.pool().await;
    sqlx::query(PREVIOUS_RELEASE).execute(&pool).await.unwrap();
    old_key(&pool, "AKIDold1", "secret-one", 1, true).await;
    old_key(&pool, "AKIDold2", "secret-two", 2, false).await;

    let master = MasterKey::from_hex(&hex::encode(MASTER)).unwrap();
    let keys = KeyStore::open(pool.clone(), master.clone()).await.unwrap();
    // Version 1 adopted untouched, version 2 (last use), 3 (keys bound to their ids) and
    // 4 (temporary keys) applied on top; the old keys resealed bound, and permanent.
    assert_eq!(versions(&pool).await, vec![1, 2, 3, 4]);
    let unbound: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE bound = 0")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(unbound, 0);

    let active = keys.active("AKIDold1").await.unwrap();
    assert_eq!(
        (active.account, active.secret_key.as_str()),
        (1, "secret-one")
    );
    assert!(matches!(
        keys.active("AKIDold2").await,
        Err(KeyError::Disabled)
    ));
    let listed = keys.list(None).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|k| k.last_used_us.is_none()));
    assert!(listed.iter().all(|k| k.expires_us.is_none()));
    let new = keys.create(1).await.unwrap();
    assert_eq!(keys.active(&new.secret_id).await.unwrap().account, 1);
    assert_eq!(keys.list(Some(1)).await.unwrap().len(), 2);

    // A restart migrates nothing more.
    KeyStore::open(pool.clone(), master).await.unwrap();
    assert_eq!(versions(&pool).await, vec![1, 2, 3, 4]);
    pool.close().await;
    db.drop_db().await;
}

#[tokio::test]
async fn previous_release_sqlite() {
    upgrade(common::sqlite().await).await;
}

#[tokio::test]
async fn previous_release_postgres() {
    upgrade(common::postgres().await).await;
}

/// A SecretKey's sealed bytes copied into another key's row do not open there, and a row
/// marked unbound after the one-time resealing is refused.
async fn sealed_keys_are_bound_to_their_ids(db: common::Db) {
    let pool = db.pool().await;
    let master = MasterKey::from_hex(&hex::encode(MASTER)).unwrap();
    let keys = KeyStore::open(pool.clone(), master).await.unwrap();
    let a = keys.create(1).await.unwrap();
    let b = keys.create(2).await.unwrap();
    sqlx::query(
        "UPDATE api_keys SET nonce_hex = (SELECT nonce_hex FROM api_keys WHERE secret_id = $1),
                             secret_hex = (SELECT secret_hex FROM api_keys WHERE secret_id = $1)
         WHERE secret_id = $2",
    )
    .bind(&a.secret_id)
    .bind(&b.secret_id)
    .execute(&pool)
    .await
    .unwrap();
    assert!(matches!(
        keys.active(&b.secret_id).await,
        Err(KeyError::Decrypt)
    ));
    assert_eq!(
        keys.active(&a.secret_id).await.unwrap().secret_key,
        a.secret_key
    );
    sqlx::query("UPDATE api_keys SET bound = 0 WHERE secret_id = $1")
        .bind(&a.secret_id)
        .execute(&pool)
        .await
        .unwrap();
    assert!(matches!(
        keys.active(&a.secret_id).await,
        Err(KeyError::Decrypt)
    ));
    db.drop_db().await;
}

#[tokio::test]
async fn sealed_keys_are_bound_sqlite() {
    sealed_keys_are_bound_to_their_ids(common::sqlite().await).await;
}

#[tokio::test]
async fn sealed_keys_are_bound_postgres() {
    sealed_keys_are_bound_to_their_ids(common::postgres().await).await;
}
