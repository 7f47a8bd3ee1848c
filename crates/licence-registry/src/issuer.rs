//! The issuer key ring: created on first use, stored sealed in `licence_issuer`, rotated
//! and retired under the row's lock.

use licensing::{KeyId, KeyRing};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::{Registry, RegistryError};

/// One key of the ring, as listed (never its secret).
#[derive(Clone, Debug, Serialize)]
pub struct KeyInfo {
    pub id: String,
    /// The Ed25519 public key, 64 hex digits: what SDK builds embed.
    pub public: String,
    pub created: i64,
    pub retired: Option<i64>,
    /// The key that signs now.
    pub current: bool,
}

impl Registry {
    fn seal_ring(&self, ring: &KeyRing) -> Result<String, RegistryError> {
        let sealed = self
            .sealer
            .seal(&ring.to_bytes())
            .map_err(RegistryError::Seal)?;
        Ok(hex::encode(sealed))
    }

    fn unseal_ring(&self, text: &str) -> Result<KeyRing, RegistryError> {
        let sealed = hex::decode(text).map_err(|e| RegistryError::Corrupt(format!("ring: {e}")))?;
        let plain = self.sealer.open(&sealed).map_err(RegistryError::Seal)?;
        Ok(KeyRing::from_bytes(&plain)?)
    }

    /// The issuer's key ring, created (one fresh key) on first use. Two nodes creating it
    /// at once both end up with the one that was stored first.
    pub async fn ring(&self, now: i64) -> Result<KeyRing, RegistryError> {
        if let Some(row) = sqlx::query("SELECT ring FROM licence_issuer WHERE id = 1")
            .fetch_optional(&self.pool)
            .await?
        {
            return self.unseal_ring(&row.try_get::<String, _>(0)?);
        }
        let fresh = KeyRing::generate(now);
        sqlx::query(
            "INSERT INTO licence_issuer (id, ring, revocation_seq, created_s, updated_s) \
             VALUES (1, $1, 0, $2, $2) ON CONFLICT (id) DO NOTHING",
        )
        .bind(self.seal_ring(&fresh)?)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT ring FROM licence_issuer WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        self.unseal_ring(&row.try_get::<String, _>(0)?)
    }

    /// The ring's keys, oldest first.
    pub async fn keys(&self, now: i64) -> Result<Vec<KeyInfo>, RegistryError> {
        Ok(key_infos(&self.ring(now).await?))
    }

    /// Adds a new signing key; older keys keep verifying until retired.
    pub async fn rotate(&self, now: i64) -> Result<Vec<KeyInfo>, RegistryError> {
        self.change_ring(now, |ring| {
            ring.rotate(now);
            Ok(())
        })
        .await
    }

    /// Stops trusting key `id` (64-bit id in hex); the current key cannot be retired.
    pub async fn retire(&self, id: &str, now: i64) -> Result<Vec<KeyInfo>, RegistryError> {
        let key: KeyId = id.trim().parse()?;
        self.change_ring(now, |ring| Ok(ring.retire(key, now)?))
            .await
    }

    async fn change_ring(
        &self,
        now: i64,
        change: impl FnOnce(&mut KeyRing) -> Result<(), RegistryError>,
    ) -> Result<Vec<KeyInfo>, RegistryError> {
        self.ring(now).await?;
        let mut tx = self.begin().await?;
        let q = format!(
            "SELECT ring FROM licence_issuer WHERE id = 1{}",
            self.for_update()
        );
        let row = sqlx::query(&q).fetch_one(&mut *tx).await?;
        let mut ring = self.unseal_ring(&row.try_get::<String, _>(0)?)?;
        change(&mut ring)?;
        sqlx::query("UPDATE licence_issuer SET ring = $1, updated_s = $2 WHERE id = 1")
            .bind(self.seal_ring(&ring)?)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(key_infos(&ring))
    }
}

fn key_infos(ring: &KeyRing) -> Vec<KeyInfo> {
    let current = ring.current().id();
    ring.keys()
        .iter()
        .map(|k| KeyInfo {
            id: k.key.id().to_hex(),
            public: k.key.public().to_hex(),
            created: k.created,
            retired: k.retired,
            current: k.key.id() == current,
        })
        .collect()
}

/// Takes the next revocation list number (locks the issuer row until the transaction
/// ends, so numbers are given out in commit order, once each).
pub(crate) async fn next_revocation_seq(conn: &mut AnyConnection) -> Result<i64, RegistryError> {
    let row = sqlx::query(
        "UPDATE licence_issuer SET revocation_seq = revocation_seq + 1 WHERE id = 1 \
         RETURNING revocation_seq",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.try_get(0)?)
}
