//! Device orders: seats, activations and moves.

use licensing::{ActivationRequest, Binding, Claims, LicenceId, LicenceKind, Sdk};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::issuer::next_revocation_seq;
use crate::records::{self, sign, Issued, LicenceRecord, COLUMNS};
use crate::{retry_unique, Registry, RegistryError};

const YEAR: i64 = 365 * licensing::time::DAY;

/// A device order's seats.
#[derive(Clone, Debug, Serialize)]
pub struct OrderSeats {
    pub order: i64,
    pub account: i64,
    pub sdk: String,
    pub seats: u64,
    /// Seats holding a licence (revoked ones included: revoking does not free a seat).
    pub used: u64,
}

/// The licence id of seat `seat` of order `order`.
pub fn seat_id(order: i64, seat: i64) -> String {
    format!("dev-{order}-{seat}")
}

/// Whether `request`'s fingerprint matches a licence's device binding (k of n).
pub(crate) fn matches(record: &LicenceRecord, request: &ActivationRequest) -> bool {
    match &record.claims.binding {
        Binding::Device(d) => request.fingerprint.agreement(&d.fingerprint) >= d.required,
        Binding::Platform(_) => false,
    }
}

async fn lock_order(
    reg: &Registry,
    conn: &mut AnyConnection,
    order: i64,
) -> Result<(i64, String, u64), RegistryError> {
    let q = format!(
        "SELECT account_id, sdk, seats FROM licence_orders WHERE order_id = $1{}",
        reg.for_update()
    );
    let row = sqlx::query(&q)
        .bind(order)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(RegistryError::UnknownOrder(order))?;
    let seats: i64 = row.try_get("seats")?;
    Ok((
        row.try_get("account_id")?,
        row.try_get("sdk")?,
        u64::try_from(seats).map_err(|_| RegistryError::Corrupt(format!("seats {seats}")))?,
    ))
}

async fn order_licences(
    conn: &mut AnyConnection,
    order: i64,
) -> Result<Vec<LicenceRecord>, RegistryError> {
    let q = format!("SELECT {COLUMNS} FROM licence_licences WHERE order_id = $1 ORDER BY seat");
    let rows = sqlx::query(&q).bind(order).fetch_all(&mut *conn).await?;
    rows.iter().map(records::record_from_row).collect()
}

impl Registry {
    /// Records the seats a billing order bought (idempotent: a retry after a crash, or
    /// the first activation of an order, registers it; the same id with other values is
    /// refused).
    pub async fn register_order(
        &self,
        order: i64,
        account: i64,
        sdk: Sdk,
        seats: u64,
        now: i64,
    ) -> Result<OrderSeats, RegistryError> {
        sqlx::query(
            "INSERT INTO licence_orders (order_id, account_id, sdk, seats, created_s) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order)
        .bind(account)
        .bind(sdk.as_str())
        .bind(seats as i64)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let stored = self
            .order_seats(order)
            .await?
            .ok_or(RegistryError::UnknownOrder(order))?;
        if stored.account != account || stored.sdk != sdk.as_str() || stored.seats != seats {
            return Err(RegistryError::OrderMismatch {
                order,
                stored: format!(
                    "account {} {} × {}",
                    stored.account, stored.sdk, stored.seats
                ),
                given: format!("account {account} {sdk} × {seats}"),
            });
        }
        Ok(stored)
    }

    /// An order's seats, `None` if it was never registered.
    pub async fn order_seats(&self, order: i64) -> Result<Option<OrderSeats>, RegistryError> {
        let row = sqlx::query(
            "SELECT o.account_id, o.sdk, o.seats, \
             (SELECT COUNT(*) FROM licence_licences l WHERE l.order_id = o.order_id) AS used \
             FROM licence_orders o WHERE o.order_id = $1",
        )
        .bind(order)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| -> Result<OrderSeats, RegistryError> {
            let seats: i64 = row.try_get("seats")?;
            let used: i64 = row.try_get("used")?;
            Ok(OrderSeats {
                order,
                account: row.try_get("account_id")?,
                sdk: row.try_get("sdk")?,
                seats: seats.max(0) as u64,
                used: used.max(0) as u64,
            })
        })
        .transpose()
    }

    /// Activates a device on a seat of `order`: the device's existing licence if it has
    /// one in this order (k-of-n match; the same seat, id and generation), else the next
    /// free seat, else [`RegistryError::SeatsExhausted`]. The order's row is locked for
    /// the transaction, so concurrent activations (any number of nodes) never exceed it.
    pub async fn activate(
        &self,
        order: i64,
        account: i64,
        request: &ActivationRequest,
        now: i64,
    ) -> Result<Issued, RegistryError> {
        let ring = self.ring(now).await?;
        let record = retry_unique(|| self.try_activate(order, account, request, now)).await?;
        sign(&ring, record.0, record.1)
    }

    async fn try_activate(
        &self,
        order: i64,
        account: i64,
        request: &ActivationRequest,
        now: i64,
    ) -> Result<(LicenceRecord, bool), RegistryError> {
        let mut tx = self.begin().await?;
        let (owner, sdk, seats) = lock_order(self, &mut tx, order).await?;
        if owner != account {
            return Err(RegistryError::OrderAccount {
                order,
                owner,
                account,
            });
        }
        if sdk != request.sdk.as_str() {
            return Err(RegistryError::WrongSdk {
                order,
                order_sdk: sdk,
                asked: request.sdk.as_str().to_string(),
            });
        }
        let held = order_licences(&mut tx, order).await?;
        if let Some(found) = held.iter().find(|r| matches(r, request)) {
            if found.revoked.is_some() {
                return Err(RegistryError::Revoked(found.id.clone()));
            }
            let found = found.clone();
            tx.commit().await?;
            return Ok((found, false));
        }
        if held.len() as u64 >= seats {
            return Err(RegistryError::SeatsExhausted { order, seats });
        }
        let seat = held.iter().filter_map(|r| r.seat).max().unwrap_or(0) + 1;
        let claims = Claims::device(LicenceId::new(seat_id(order, seat))?, account, request, now);
        let record = records::insert(
            &mut tx,
            &claims,
            Some(order),
            Some(seat),
            request.label.as_deref(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok((record, true))
    }

    /// Moves a seat to another device: the licence keeps its id, its generation grows by
    /// one, and the old generations go on the next revocation list. At most
    /// `moves_per_year` moves in any 365 days. The device the seat already has gets its
    /// licence back unchanged; a device holding another seat of the order is refused.
    pub async fn move_seat(
        &self,
        licence: &str,
        account: i64,
        request: &ActivationRequest,
        now: i64,
    ) -> Result<Issued, RegistryError> {
        let ring = self.ring(now).await?;
        let (record, created) = self.try_move(licence, account, request, now).await?;
        sign(&ring, record, created)
    }

    async fn try_move(
        &self,
        licence: &str,
        account: i64,
        request: &ActivationRequest,
        now: i64,
    ) -> Result<(LicenceRecord, bool), RegistryError> {
        let mut tx = self.begin().await?;
        let first = records::load(&mut tx, licence, "")
            .await?
            .ok_or_else(|| RegistryError::UnknownLicence(licence.to_string()))?;
        let (Some(order), LicenceKind::Device) = (first.order, records::kind_of(&first)) else {
            return Err(RegistryError::WrongKind {
                licence: licence.to_string(),
                kind: first.kind,
                operation: "moving a seat",
                needs: "device (a seat of an order)",
            });
        };
        // The order first, as activations lock it: the same lock order everywhere.
        lock_order(self, &mut tx, order).await?;
        let mut record = records::load(&mut tx, licence, self.for_update())
            .await?
            .ok_or_else(|| RegistryError::UnknownLicence(licence.to_string()))?;
        if record.account != account {
            return Err(RegistryError::LicenceAccount {
                licence: licence.to_string(),
                owner: record.account,
                account,
            });
        }
        if record.revoked.is_some() {
            return Err(RegistryError::Revoked(licence.to_string()));
        }
        if record.sdk != request.sdk.as_str() {
            return Err(RegistryError::WrongSdk {
                order,
                order_sdk: record.sdk,
                asked: request.sdk.as_str().to_string(),
            });
        }
        if matches(&record, request) {
            tx.commit().await?;
            return Ok((record, false));
        }
        if let Some(other) = order_licences(&mut tx, order)
            .await?
            .into_iter()
            .find(|r| r.id != record.id && matches(r, request))
        {
            return Err(RegistryError::DeviceHasSeat(other.id));
        }
        let rows = sqlx::query(
            "SELECT at_s FROM licence_moves WHERE licence_id = $1 AND at_s > $2 ORDER BY at_s",
        )
        .bind(licence)
        .bind(now - YEAR)
        .fetch_all(&mut *tx)
        .await?;
        let moves = rows
            .iter()
            .map(|r| r.try_get::<i64, _>(0))
            .collect::<Result<Vec<_>, _>>()?;
        if moves.len() >= self.config.moves_per_year as usize {
            return Err(RegistryError::MovesExhausted {
                licence: licence.to_string(),
                moves: moves.len() as u32,
                next: licensing::time::format_utc(moves[0] + YEAR),
            });
        }
        let old = record.generation;
        let mut claims = Claims::device(record.claims.id.clone(), account, request, now);
        claims.generation = old + 1;
        records::update(&mut tx, &mut record, claims, request.label.as_deref()).await?;
        sqlx::query("INSERT INTO licence_moves (licence_id, generation, at_s) VALUES ($1, $2, $3)")
            .bind(licence)
            .bind(i64::from(old + 1))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let seq = next_revocation_seq(&mut tx).await?;
        sqlx::query(
            "INSERT INTO licence_revocations (seq, licence_id, up_to_gen, at_s) VALUES ($1, $2, $3, $4)",
        )
        .bind(seq)
        .bind(licence)
        .bind(i64::from(old))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((record, true))
    }
}
