//! Revocation: a licence (every generation) put on the next list; lists numbered by the
//! issuer row's counter, each holding every revocation so far.

use std::collections::BTreeMap;

use licensing::{LicenceId, RevocationList, Revoked};
use serde::Serialize;
use sqlx::Row;

use crate::issuer::next_revocation_seq;
use crate::records;
use crate::{Registry, RegistryError};

/// What a revocation did.
#[derive(Clone, Debug, Serialize)]
pub struct Revocation {
    pub licence: String,
    /// The first list that carries it.
    pub seq: i64,
    /// False when the licence was already revoked (nothing changed).
    pub revoked_now: bool,
}

/// The current list and its signed file.
#[derive(Clone, Debug, Serialize)]
pub struct SignedList {
    pub seq: u64,
    pub issued: i64,
    pub entries: usize,
    /// The armoured, signed revocation list.
    pub list: String,
}

impl Registry {
    /// Revokes every generation of `licence` (of `account`, when given: the API's caller;
    /// the operator's CLI passes none). Idempotent.
    pub async fn revoke(
        &self,
        licence: &str,
        account: Option<i64>,
        now: i64,
    ) -> Result<Revocation, RegistryError> {
        self.ring(now).await?;
        let mut tx = self.begin().await?;
        let record = records::load(&mut tx, licence, self.for_update())
            .await?
            .ok_or_else(|| RegistryError::UnknownLicence(licence.to_string()))?;
        if let Some(account) = account.filter(|a| *a != record.account) {
            return Err(RegistryError::LicenceAccount {
                licence: licence.to_string(),
                owner: record.account,
                account,
            });
        }
        if record.revoked.is_some() {
            let row = sqlx::query(
                "SELECT MIN(seq) FROM licence_revocations WHERE licence_id = $1 AND up_to_gen IS NULL",
            )
            .bind(licence)
            .fetch_one(&mut *tx)
            .await?;
            let seq: Option<i64> = row.try_get(0)?;
            tx.commit().await?;
            return Ok(Revocation {
                licence: licence.to_string(),
                seq: seq.unwrap_or(0),
                revoked_now: false,
            });
        }
        sqlx::query("UPDATE licence_licences SET revoked_s = $1 WHERE id = $2")
            .bind(now)
            .bind(licence)
            .execute(&mut *tx)
            .await?;
        let seq = next_revocation_seq(&mut tx).await?;
        sqlx::query(
            "INSERT INTO licence_revocations (seq, licence_id, up_to_gen, at_s) VALUES ($1, $2, NULL, $3)",
        )
        .bind(seq)
        .bind(licence)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Revocation {
            licence: licence.to_string(),
            seq,
            revoked_now: true,
        })
    }

    /// The newest revocation list: number, issue time (the last revocation's, or the
    /// issuer's creation while there is none) and every revocation, one entry per
    /// licence (all generations, or up to the highest revoked one), sorted by id. The
    /// same number always has the same content, whichever key signs it.
    pub async fn revocation_list(
        &self,
        now: i64,
    ) -> Result<(RevocationList, SignedList), RegistryError> {
        let ring = self.ring(now).await?;
        let rows = sqlx::query(
            "SELECT seq, licence_id, up_to_gen, at_s FROM licence_revocations ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut merged: BTreeMap<String, Option<u32>> = BTreeMap::new();
        let mut seq = 0u64;
        let mut issued = None;
        for row in &rows {
            let id: String = row.try_get("licence_id")?;
            let gen: Option<i64> = row.try_get("up_to_gen")?;
            let gen = gen
                .map(|g| u32::try_from(g).map_err(|_| RegistryError::Corrupt(format!("gen {g}"))))
                .transpose()?;
            let s: i64 = row.try_get("seq")?;
            seq = u64::try_from(s).map_err(|_| RegistryError::Corrupt(format!("seq {s}")))?;
            issued = Some(row.try_get::<i64, _>("at_s")?);
            let entry = merged.entry(id).or_insert(gen);
            *entry = match (*entry, gen) {
                (None, _) | (_, None) => None,
                (Some(a), Some(b)) => Some(a.max(b)),
            };
        }
        let issued = match issued {
            Some(t) => t,
            None => sqlx::query("SELECT created_s FROM licence_issuer WHERE id = 1")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        };
        let revoked = merged
            .into_iter()
            .map(|(id, gen)| {
                let id = LicenceId::new(id)?;
                Ok(match gen {
                    None => Revoked::all(id),
                    Some(g) => Revoked::up_to(id, g),
                })
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        let list = RevocationList {
            seq,
            issued,
            revoked,
        };
        let text = ring.current().sign_revocation_list(&list)?;
        let signed = SignedList {
            seq,
            issued,
            entries: list.revoked.len(),
            list: text,
        };
        Ok((list, signed))
    }
}
