//! Licence rows: reading, writing, and signing the stored claims into a file.

use licensing::{Binding, Claims, KeyRing, LicenceKind};
use serde::Serialize;
use sqlx::{AnyConnection, Row};

use crate::{Registry, RegistryError};

/// A licence as the registry holds it (its current generation).
#[derive(Clone, Debug, Serialize)]
pub struct LicenceRecord {
    pub id: String,
    pub account: i64,
    pub sdk: String,
    pub kind: String,
    /// The billing order: a device seat's order, or a platform licence's first purchase.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<i64>,
    /// The seat number within a device order (1 to the order's quantity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seat: Option<i64>,
    pub generation: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cert_sha256: Option<String>,
    /// When the current generation was issued (Unix seconds).
    pub issued: i64,
    /// Expiry; none for a permanent device licence.
    pub expires: Option<i64>,
    /// When it was revoked (every generation).
    pub revoked: Option<i64>,
    #[serde(skip)]
    pub claims: Claims,
}

/// A licence handed out: its record and the signed file.
#[derive(Clone, Debug, Serialize)]
pub struct Issued {
    #[serde(flatten)]
    pub record: LicenceRecord,
    /// The armoured licence file.
    pub licence: String,
    /// False when an earlier request got this very licence (same seat, same generation).
    pub created: bool,
}

pub(crate) const COLUMNS: &str = "id, account_id, sdk, kind, order_id, seat, generation, label, \
    package, cert, issued_s, expires_s, claims, revoked_s";

pub(crate) fn record_from_row(row: &sqlx::any::AnyRow) -> Result<LicenceRecord, RegistryError> {
    let claims: String = row.try_get("claims")?;
    let claims: Claims = serde_json::from_str(&claims)
        .map_err(|e| RegistryError::Corrupt(format!("claims: {e}")))?;
    let generation: i64 = row.try_get("generation")?;
    Ok(LicenceRecord {
        id: row.try_get("id")?,
        account: row.try_get("account_id")?,
        sdk: row.try_get("sdk")?,
        kind: row.try_get("kind")?,
        order: row.try_get("order_id")?,
        seat: row.try_get("seat")?,
        generation: u32::try_from(generation)
            .map_err(|_| RegistryError::Corrupt(format!("generation {generation}")))?,
        label: row.try_get("label")?,
        package: row.try_get("package")?,
        cert_sha256: row.try_get("cert")?,
        issued: row.try_get("issued_s")?,
        expires: row.try_get("expires_s")?,
        revoked: row.try_get("revoked_s")?,
        claims,
    })
}

/// One licence by id, locked for the transaction on PostgreSQL when `lock`.
pub(crate) async fn load(
    conn: &mut AnyConnection,
    id: &str,
    lock: &str,
) -> Result<Option<LicenceRecord>, RegistryError> {
    let q = format!("SELECT {COLUMNS} FROM licence_licences WHERE id = $1{lock}");
    let row = sqlx::query(&q).bind(id).fetch_optional(&mut *conn).await?;
    row.map(|r| record_from_row(&r)).transpose()
}

fn claims_json(claims: &Claims) -> Result<String, RegistryError> {
    serde_json::to_string(claims).map_err(|e| RegistryError::Corrupt(format!("claims: {e}")))
}

/// A new licence row from its first claims.
pub(crate) async fn insert(
    conn: &mut AnyConnection,
    claims: &Claims,
    order: Option<i64>,
    seat: Option<i64>,
    label: Option<&str>,
    now: i64,
) -> Result<LicenceRecord, RegistryError> {
    claims.check()?;
    let (fingerprint, required, package, cert) = binding_columns(claims)?;
    sqlx::query(
        "INSERT INTO licence_licences (id, account_id, sdk, kind, order_id, seat, generation, \
         fingerprint, required, label, package, cert, issued_s, expires_s, claims, revoked_s, \
         created_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
         NULL, $16)",
    )
    .bind(claims.id.as_str())
    .bind(claims.account)
    .bind(claims.sdk.as_str())
    .bind(claims.kind.as_str())
    .bind(order)
    .bind(seat)
    .bind(i64::from(claims.generation))
    .bind(fingerprint)
    .bind(required)
    .bind(label)
    .bind(package.clone())
    .bind(cert.clone())
    .bind(claims.issued)
    .bind(claims.expires)
    .bind(claims_json(claims)?)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(LicenceRecord {
        id: claims.id.as_str().to_string(),
        account: claims.account,
        sdk: claims.sdk.as_str().to_string(),
        kind: claims.kind.as_str().to_string(),
        order,
        seat,
        generation: claims.generation,
        label: label.map(str::to_string),
        package,
        cert_sha256: cert,
        issued: claims.issued,
        expires: claims.expires,
        revoked: None,
        claims: claims.clone(),
    })
}

/// Replaces a licence's claims by its next generation's.
pub(crate) async fn update(
    conn: &mut AnyConnection,
    record: &mut LicenceRecord,
    claims: Claims,
    label: Option<&str>,
) -> Result<(), RegistryError> {
    claims.check()?;
    let (fingerprint, required, _, _) = binding_columns(&claims)?;
    sqlx::query(
        "UPDATE licence_licences SET generation = $1, fingerprint = $2, required = $3, \
         label = $4, issued_s = $5, expires_s = $6, claims = $7 WHERE id = $8",
    )
    .bind(i64::from(claims.generation))
    .bind(fingerprint)
    .bind(required)
    .bind(label)
    .bind(claims.issued)
    .bind(claims.expires)
    .bind(claims_json(&claims)?)
    .bind(claims.id.as_str())
    .execute(&mut *conn)
    .await?;
    record.generation = claims.generation;
    record.label = label.map(str::to_string);
    record.issued = claims.issued;
    record.expires = claims.expires;
    record.claims = claims;
    Ok(())
}

type BindingColumns = (Option<String>, Option<i64>, Option<String>, Option<String>);

fn binding_columns(claims: &Claims) -> Result<BindingColumns, RegistryError> {
    Ok(match &claims.binding {
        Binding::Device(d) => (
            Some(
                serde_json::to_string(&d.fingerprint)
                    .map_err(|e| RegistryError::Corrupt(e.to_string()))?,
            ),
            Some(d.required as i64),
            None,
            None,
        ),
        Binding::Platform(p) => (
            None,
            None,
            Some(p.package.as_str().to_string()),
            p.certificate.map(|c| c.to_colon_hex()),
        ),
    })
}

/// Signs a record's current claims with the ring's current key.
pub(crate) fn sign(
    ring: &KeyRing,
    record: LicenceRecord,
    created: bool,
) -> Result<Issued, RegistryError> {
    let licence = ring.current().issue(&record.claims)?;
    Ok(Issued {
        record,
        licence,
        created,
    })
}

pub(crate) fn kind_of(record: &LicenceRecord) -> LicenceKind {
    record.claims.kind
}

impl Registry {
    /// One licence and its file (signed now with the current key).
    pub async fn licence(&self, id: &str, now: i64) -> Result<Issued, RegistryError> {
        let ring = self.ring(now).await?;
        let mut conn = self.pool.acquire().await?;
        let record = load(&mut conn, id, "")
            .await?
            .ok_or_else(|| RegistryError::UnknownLicence(id.to_string()))?;
        sign(&ring, record, false)
    }

    /// An account's licences, oldest first.
    pub async fn licences(&self, account: i64) -> Result<Vec<LicenceRecord>, RegistryError> {
        let q = format!(
            "SELECT {COLUMNS} FROM licence_licences WHERE account_id = $1 ORDER BY created_s, order_id, seat, id"
        );
        let rows = sqlx::query(&q).bind(account).fetch_all(&self.pool).await?;
        rows.iter().map(record_from_row).collect()
    }
}
