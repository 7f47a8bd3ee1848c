//! Platform licences: one application package (and certificate), a year at a time,
//! each purchase or renewal a billing order applied once.

use licensing::{Binding, Claims, LicenceId, LicenceKind, PlatformBinding, Sdk};
use sqlx::{AnyConnection, Row};

use crate::records::{self, sign, Issued, LicenceRecord};
use crate::{retry_unique, Registry, RegistryError};

/// The licence id of the platform licence bought by billing order `order`.
pub fn platform_id(order: i64) -> String {
    format!("plat-{order}")
}

/// The licence and generation an order was applied to, if it was.
async fn applied(conn: &mut AnyConnection, order: i64) -> Result<Option<String>, RegistryError> {
    let row = sqlx::query("SELECT licence_id FROM licence_platform_orders WHERE order_id = $1")
        .bind(order)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.try_get::<String, _>(0)).transpose()?)
}

async fn record_order(
    conn: &mut AnyConnection,
    order: i64,
    licence: &str,
    generation: u32,
    now: i64,
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO licence_platform_orders (order_id, licence_id, generation, at_s) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(order)
    .bind(licence)
    .bind(i64::from(generation))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Registry {
    /// The platform licence bought by billing order `order` (`years` years from now).
    /// Idempotent on the order: a retry gets the same licence.
    pub async fn create_platform(
        &self,
        order: i64,
        account: i64,
        sdk: Sdk,
        binding: PlatformBinding,
        years: i64,
        now: i64,
    ) -> Result<Issued, RegistryError> {
        let ring = self.ring(now).await?;
        let (record, created) =
            retry_unique(|| self.try_create_platform(order, account, sdk, &binding, years, now))
                .await?;
        sign(&ring, record, created)
    }

    async fn try_create_platform(
        &self,
        order: i64,
        account: i64,
        sdk: Sdk,
        binding: &PlatformBinding,
        years: i64,
        now: i64,
    ) -> Result<(LicenceRecord, bool), RegistryError> {
        let mut tx = self.begin().await?;
        if let Some(id) = applied(&mut tx, order).await? {
            let found = records::load(&mut tx, &id, "")
                .await?
                .ok_or_else(|| RegistryError::Corrupt(format!("order {order} of missing {id}")))?;
            let same = found.account == account
                && found.claims.sdk == sdk
                && matches!(&found.claims.binding, Binding::Platform(p) if p == binding);
            if !same || found.id != platform_id(order) {
                return Err(RegistryError::PlatformMismatch {
                    order,
                    stored: format!("{} {}", found.sdk, found.package.unwrap_or_default()),
                    given: format!("{sdk} {}", binding.package),
                });
            }
            tx.commit().await?;
            return Ok((found, false));
        }
        let mut claims = Claims::platform(
            LicenceId::new(platform_id(order))?,
            account,
            sdk,
            binding.clone(),
            now,
        );
        claims.expires = Some(licensing::time::add_years(now, years.max(1)));
        let record = records::insert(&mut tx, &claims, Some(order), None, None, now).await?;
        record_order(&mut tx, order, &record.id, 1, now).await?;
        tx.commit().await?;
        Ok((record, true))
    }

    /// Renews a platform licence with billing order `order` (already charged): `years`
    /// years from its current end, or from now once lapsed; the next generation. A retry
    /// with the same order gets the renewed licence again; another licence's order is
    /// refused.
    pub async fn renew_platform(
        &self,
        licence: &str,
        account: i64,
        order: i64,
        years: i64,
        now: i64,
    ) -> Result<Issued, RegistryError> {
        let ring = self.ring(now).await?;
        let (record, created) =
            retry_unique(|| self.try_renew(licence, account, order, years, now)).await?;
        sign(&ring, record, created)
    }

    async fn try_renew(
        &self,
        licence: &str,
        account: i64,
        order: i64,
        years: i64,
        now: i64,
    ) -> Result<(LicenceRecord, bool), RegistryError> {
        let mut tx = self.begin().await?;
        let mut record = records::load(&mut tx, licence, self.for_update())
            .await?
            .ok_or_else(|| RegistryError::UnknownLicence(licence.to_string()))?;
        if let Some(done) = applied(&mut tx, order).await? {
            if done != licence {
                return Err(RegistryError::RenewalUsed {
                    order,
                    licence: done,
                });
            }
            tx.commit().await?;
            return Ok((record, false));
        }
        check_platform(&record, account)?;
        let end = record.expires.ok_or_else(|| {
            RegistryError::Corrupt(format!("platform licence {licence} without expiry"))
        })?;
        let mut new_end = licensing::time::renewed_end(end, now);
        for _ in 1..years.max(1) {
            new_end = licensing::time::add_years(new_end, 1);
        }
        let mut claims = record.claims.clone();
        claims.generation += 1;
        claims.issued = now;
        claims.not_before = now;
        claims.expires = Some(new_end);
        let label = record.label.clone();
        records::update(&mut tx, &mut record, claims, label.as_deref()).await?;
        record_order(&mut tx, order, licence, record.generation, now).await?;
        tx.commit().await?;
        Ok((record, true))
    }

    /// Checks that `licence` is a live platform licence of `account` (before charging a
    /// renewal); returns its record.
    pub async fn renewable(
        &self,
        licence: &str,
        account: i64,
    ) -> Result<LicenceRecord, RegistryError> {
        let mut conn = self.pool.acquire().await?;
        let record = records::load(&mut conn, licence, "")
            .await?
            .ok_or_else(|| RegistryError::UnknownLicence(licence.to_string()))?;
        check_platform(&record, account)?;
        Ok(record)
    }
}

fn check_platform(record: &LicenceRecord, account: i64) -> Result<(), RegistryError> {
    if record.account != account {
        return Err(RegistryError::LicenceAccount {
            licence: record.id.clone(),
            owner: record.account,
            account,
        });
    }
    if record.claims.kind != LicenceKind::Platform {
        return Err(RegistryError::WrongKind {
            licence: record.id.clone(),
            kind: record.kind.clone(),
            operation: "renewal",
            needs: "platform",
        });
    }
    if record.revoked.is_some() {
        return Err(RegistryError::Revoked(record.id.clone()));
    }
    Ok(())
}
