//! Trials: 30 days from the first request; one per account and SDK, either a device
//! trial (at most [`TRIAL_DEVICES`] devices, each with its own licence, all ending with
//! the trial) or a platform trial (one package).

use licensing::{ActivationRequest, Claims, LicenceId, PlatformBinding, Sdk};
use sqlx::{AnyConnection, Row};

use crate::device::matches;
use crate::records::{self, sign, Issued, LicenceRecord, COLUMNS};
use crate::{retry_unique, Registry, RegistryError, TRIAL_DEVICES};

/// The trial of `account` and `sdk`, started now as `kind` if there is none: its kind
/// and end.
async fn trial(
    reg: &Registry,
    conn: &mut AnyConnection,
    account: i64,
    sdk: Sdk,
    kind: &str,
    now: i64,
) -> Result<i64, RegistryError> {
    let q = format!(
        "SELECT kind, expires_s FROM licence_trials WHERE account_id = $1 AND sdk = $2{}",
        reg.for_update()
    );
    let row = sqlx::query(&q)
        .bind(account)
        .bind(sdk.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    let (stored, expires) = match row {
        Some(row) => (
            row.try_get::<String, _>("kind")?,
            row.try_get::<i64, _>("expires_s")?,
        ),
        None => {
            // Two first requests at once: one insert wins, the other fails on the
            // primary key and its retry finds this row.
            let end = licensing::time::trial_end(now);
            sqlx::query(
                "INSERT INTO licence_trials (account_id, sdk, kind, started_s, expires_s) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(account)
            .bind(sdk.as_str())
            .bind(kind)
            .bind(now)
            .bind(end)
            .execute(&mut *conn)
            .await?;
            (kind.to_string(), end)
        }
    };
    if stored != kind {
        return Err(RegistryError::TrialTaken {
            account,
            sdk: sdk.as_str().to_string(),
            kind: stored,
        });
    }
    Ok(expires)
}

fn over(account: i64, sdk: Sdk, end: i64) -> RegistryError {
    RegistryError::TrialOver {
        account,
        sdk: sdk.as_str().to_string(),
        ended: licensing::time::format_utc(end),
    }
}

impl Registry {
    /// Device trial licences for `requests` (all for `sdk`): a device the trial already
    /// binds gets its licence again; new devices are added while the trial binds fewer
    /// than three and has not ended. All or nothing: a request that would be a fourth
    /// device refuses the whole call.
    pub async fn trial_devices(
        &self,
        account: i64,
        sdk: Sdk,
        requests: &[ActivationRequest],
        now: i64,
    ) -> Result<Vec<Issued>, RegistryError> {
        if requests.is_empty() {
            return Err(RegistryError::NoDevices);
        }
        for r in requests {
            if r.sdk != sdk {
                return Err(RegistryError::WrongSdk {
                    order: 0,
                    order_sdk: sdk.as_str().to_string(),
                    asked: r.sdk.as_str().to_string(),
                });
            }
        }
        let ring = self.ring(now).await?;
        let records = retry_unique(|| self.try_trial_devices(account, sdk, requests, now)).await?;
        records
            .into_iter()
            .map(|(r, created)| sign(&ring, r, created))
            .collect()
    }

    async fn try_trial_devices(
        &self,
        account: i64,
        sdk: Sdk,
        requests: &[ActivationRequest],
        now: i64,
    ) -> Result<Vec<(LicenceRecord, bool)>, RegistryError> {
        let mut tx = self.begin().await?;
        let end = trial(self, &mut tx, account, sdk, "device", now).await?;
        let q = format!(
            "SELECT {COLUMNS} FROM licence_licences WHERE account_id = $1 AND sdk = $2 \
             AND kind = 'trial-device' ORDER BY created_s, id"
        );
        let rows = sqlx::query(&q)
            .bind(account)
            .bind(sdk.as_str())
            .fetch_all(&mut *tx)
            .await?;
        let mut held = rows
            .iter()
            .map(records::record_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let mut out = Vec::with_capacity(requests.len());
        for request in requests {
            if let Some(found) = held.iter().find(|r| matches(r, request)) {
                out.push((found.clone(), false));
                continue;
            }
            if now >= end {
                return Err(over(account, sdk, end));
            }
            if held.len() >= TRIAL_DEVICES {
                return Err(RegistryError::TrialDevicesExhausted {
                    account,
                    sdk: sdk.as_str().to_string(),
                    max: TRIAL_DEVICES,
                });
            }
            let id = LicenceId::new(format!("trial-{account}-{sdk}-{}", held.len() + 1))?;
            let mut claims = Claims::trial_device(id, account, request, now);
            claims.expires = Some(end);
            let record =
                records::insert(&mut tx, &claims, None, None, request.label.as_deref(), now)
                    .await?;
            held.push(record.clone());
            out.push((record, true));
        }
        tx.commit().await?;
        Ok(out)
    }

    /// The platform trial of `sdk` for one package: the same package again gets the same
    /// licence; another package is refused.
    pub async fn trial_platform(
        &self,
        account: i64,
        sdk: Sdk,
        binding: PlatformBinding,
        now: i64,
    ) -> Result<Issued, RegistryError> {
        let ring = self.ring(now).await?;
        let (record, created) =
            retry_unique(|| self.try_trial_platform(account, sdk, &binding, now)).await?;
        sign(&ring, record, created)
    }

    async fn try_trial_platform(
        &self,
        account: i64,
        sdk: Sdk,
        binding: &PlatformBinding,
        now: i64,
    ) -> Result<(LicenceRecord, bool), RegistryError> {
        let mut tx = self.begin().await?;
        let end = trial(self, &mut tx, account, sdk, "platform", now).await?;
        let id = format!("trial-{account}-{sdk}");
        if let Some(found) = records::load(&mut tx, &id, "").await? {
            let same = matches!(&found.claims.binding,
                licensing::Binding::Platform(p) if p == binding);
            if !same {
                return Err(RegistryError::TrialPackage {
                    account,
                    sdk: sdk.as_str().to_string(),
                    package: found.package.unwrap_or_default(),
                });
            }
            tx.commit().await?;
            return Ok((found, false));
        }
        if now >= end {
            return Err(over(account, sdk, end));
        }
        let mut claims =
            Claims::trial_platform(LicenceId::new(id)?, account, sdk, binding.clone(), now);
        claims.expires = Some(end);
        let record = records::insert(&mut tx, &claims, None, None, None, now).await?;
        tx.commit().await?;
        Ok((record, true))
    }
}
