//! The `licensing` service: the calling account's offline-SDK licences (docs/licensing.md).
//! Purchases (device orders, platform licences and renewals) are charged through
//! billing first, with the ClientToken, then carried out by the licence registry keyed
//! on the order's id, so a retried call charges once and gets the same licence. Every
//! call acts on the SecretId's account only; none is metered. Licence and revocation
//! list files travel as their armoured text.

use billing::{Money, SdkOrderKind};
use chrono::{DateTime, SecondsFormat, Utc};
use licence_registry::{Issued, LicenceRecord, Registry};
use licensing::{ActivationRequest, CertDigest, PackageName, PlatformBinding};
use serde_json::{json, Value};

use super::{Call, Fields};
use crate::error::ApiError;

fn money(m: Money) -> Value {
    Value::String(m.round_fen().to_string())
}

fn time(t: i64) -> Value {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|t| Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Fields::new(),
    }
}

fn invalid(e: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_value(e.to_string())
}

fn record_fields(r: &LicenceRecord) -> Value {
    json!({
        "LicenseId": r.id,
        "Kind": r.kind,
        "Sdk": r.sdk,
        "OrderId": r.order,
        "Seat": r.seat,
        "Generation": r.generation,
        "Label": r.label,
        "Package": r.package,
        "CertSha256": r.cert_sha256,
        "IssuedAt": time(r.issued),
        "ExpiresAt": r.expires.map(time),
        "RevokedAt": r.revoked.map(time),
    })
}

fn issued_fields(i: &Issued) -> Value {
    let mut v = record_fields(&i.record);
    v["Created"] = json!(i.created);
    v["License"] = json!(i.licence);
    v
}

async fn registry<'a>(call: &'a Call<'_>) -> Result<&'a Registry, ApiError> {
    Ok(call.state.licences().await?)
}

fn request(call: &Call<'_>, name: &str) -> Result<ActivationRequest, ApiError> {
    ActivationRequest::parse(call.str_req(name)?).map_err(invalid)
}

fn binding(call: &Call<'_>) -> Result<PlatformBinding, ApiError> {
    Ok(PlatformBinding {
        package: PackageName::new(call.str_req("Package")?).map_err(invalid)?,
        certificate: call
            .str_opt("CertSha256")?
            .map(str::parse::<CertDigest>)
            .transpose()
            .map_err(invalid)?,
    })
}

fn sdk(call: &Call<'_>) -> Result<(billing::Sdk, licensing::Sdk), ApiError> {
    let name = call.str_req("Sdk")?;
    Ok((name.parse()?, name.parse().map_err(invalid)?))
}

fn positive(call: &Call<'_>, name: &str, default: Option<i64>) -> Result<u64, ApiError> {
    let v = match (call.int_opt(name)?, default) {
        (Some(v), _) => v,
        (None, Some(d)) => d,
        (None, None) => return Err(ApiError::missing(name)),
    };
    u64::try_from(v)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| ApiError::invalid_value(format!("{name} must be positive, got {v}")))
}

async fn balance(call: &Call<'_>, mut out: Value) -> Result<Fields, ApiError> {
    let a = call.state.billing.account(call.caller.account).await?;
    out["Balance"] = money(a.balance);
    out["Available"] = money(a.available);
    Ok(fields(out))
}

/// The answer to a charged platform purchase or renewal: the licence, the billing
/// order that paid for it, and the balance after.
async fn charged_licence(
    call: &Call<'_>,
    issued: &Issued,
    order: &billing::SdkOrder,
) -> Result<Fields, ApiError> {
    balance(
        call,
        json!({
            "License": issued_fields(issued),
            "OrderId": order.id,
            "Total": money(order.total),
            "Replayed": order.replayed,
        }),
    )
    .await
}

/// Orders `Devices` seats (≥ 50) of `Sdk`, charged at the tier the quantity reaches.
pub async fn create_sdk_order(call: &Call<'_>) -> Result<Fields, ApiError> {
    let (bsdk, lsdk) = sdk(call)?;
    let devices = positive(call, "Devices", None)?;
    let token = call.str_opt("ClientToken")?;
    let account = call.caller.account;
    let now = Utc::now();
    let order = call
        .state
        .billing
        .order_sdk_devices(account, bsdk, devices, token, now)
        .await?;
    let seats = registry(call)
        .await?
        .register_order(order.id, account, lsdk, devices, now.timestamp())
        .await?;
    balance(
        call,
        json!({
            "OrderId": order.id,
            "Sdk": order.sdk.as_str(),
            "Devices": order.quantity,
            "Tier": order.tier,
            "UnitPrice": money(order.unit_price),
            "Total": money(order.total),
            "OrderedAt": time(order.at.timestamp()),
            "Replayed": order.replayed,
            "SeatsUsed": seats.used,
        }),
    )
    .await
}

/// A device's licence on a seat of one of the caller's orders (the same device again
/// gets the same seat and licence).
pub async fn activate_sdk_license(call: &Call<'_>) -> Result<Fields, ApiError> {
    let order_id = call
        .int_opt("OrderId")?
        .ok_or_else(|| ApiError::missing("OrderId"))?;
    let request = request(call, "ActivationRequest")?;
    let account = call.caller.account;
    let order = call
        .state
        .billing
        .sdk_order(order_id)
        .await?
        .filter(|o| o.account == account && o.kind == SdkOrderKind::Devices)
        .ok_or_else(|| {
            ApiError::new(
                "ResourceNotFound",
                format!("no device order {order_id} of this account"),
            )
        })?;
    let sdk: licensing::Sdk = order.sdk.as_str().parse().map_err(invalid)?;
    let reg = registry(call).await?;
    let now = Utc::now().timestamp();
    reg.register_order(order.id, account, sdk, order.quantity, now)
        .await?;
    let issued = reg.activate(order.id, account, &request, now).await?;
    Ok(fields(issued_fields(&issued)))
}

/// Moves a seat to the device of `ActivationRequest` (a bounded number of times a year).
pub async fn move_sdk_license(call: &Call<'_>) -> Result<Fields, ApiError> {
    let id = call.str_req("LicenseId")?;
    let request = request(call, "ActivationRequest")?;
    let issued = registry(call)
        .await?
        .move_seat(id, call.caller.account, &request, Utc::now().timestamp())
        .await?;
    Ok(fields(issued_fields(&issued)))
}

/// A 30-day trial: `ActivationRequests` (at most 3 devices in all) or `Package`.
pub async fn create_sdk_trial(call: &Call<'_>) -> Result<Fields, ApiError> {
    let (_, sdk) = sdk(call)?;
    let account = call.caller.account;
    call.state.billing.account(account).await?;
    let reg = registry(call).await?;
    let now = Utc::now().timestamp();
    let issued = match call.str_list_opt("ActivationRequests")? {
        Some(texts) => {
            let requests = texts
                .iter()
                .map(|t| ActivationRequest::parse(t).map_err(invalid))
                .collect::<Result<Vec<_>, _>>()?;
            reg.trial_devices(account, sdk, &requests, now).await?
        }
        None => vec![
            reg.trial_platform(account, sdk, binding(call)?, now)
                .await?,
        ],
    };
    let list: Vec<Value> = issued.iter().map(issued_fields).collect();
    Ok(fields(json!({ "Licenses": list })))
}

/// A platform licence for one package (and certificate), `Years` (default 1), charged.
pub async fn create_sdk_platform_license(call: &Call<'_>) -> Result<Fields, ApiError> {
    let (bsdk, lsdk) = sdk(call)?;
    let bind = binding(call)?;
    let years = positive(call, "Years", Some(1))?;
    let token = call.str_opt("ClientToken")?;
    let account = call.caller.account;
    let now = Utc::now();
    let order = call
        .state
        .billing
        .charge_sdk_platform(account, bsdk, bind.package.as_str(), years, token, now)
        .await?;
    let issued = registry(call)
        .await?
        .create_platform(order.id, account, lsdk, bind, years as i64, now.timestamp())
        .await?;
    charged_licence(call, &issued, &order).await
}

/// Renews a platform licence for a year from its end (from now once lapsed), charged.
pub async fn renew_sdk_platform_license(call: &Call<'_>) -> Result<Fields, ApiError> {
    let id = call.str_req("LicenseId")?;
    let token = call.str_opt("ClientToken")?;
    let account = call.caller.account;
    let reg = registry(call).await?;
    let current = reg.renewable(id, account).await?;
    let bsdk: billing::Sdk = current.sdk.parse()?;
    let now = Utc::now();
    let order = call
        .state
        .billing
        .charge_sdk_platform(
            account,
            bsdk,
            current.package.as_deref().unwrap_or_default(),
            1,
            token,
            now,
        )
        .await?;
    let issued = reg
        .renew_platform(id, account, order.id, 1, now.timestamp())
        .await?;
    charged_licence(call, &issued, &order).await
}

/// Revokes one of the caller's licences (every generation) on the next list.
pub async fn revoke_sdk_license(call: &Call<'_>) -> Result<Fields, ApiError> {
    let id = call.str_req("LicenseId")?;
    let r = registry(call)
        .await?
        .revoke(id, Some(call.caller.account), Utc::now().timestamp())
        .await?;
    Ok(fields(json!({
        "LicenseId": r.licence,
        "RevocationListSeq": r.seq,
        "RevokedNow": r.revoked_now,
    })))
}

/// The caller's licences (records; `ActivateSdkLicense` again gives a seat's file).
pub async fn describe_sdk_licenses(call: &Call<'_>) -> Result<Fields, ApiError> {
    let list = registry(call).await?.licences(call.caller.account).await?;
    let list: Vec<Value> = list.iter().map(record_fields).collect();
    Ok(fields(json!({
        "TotalCount": list.len(),
        "Licenses": list,
    })))
}

/// The current signed revocation list and the issuer's trusted public keys.
pub async fn describe_sdk_revocation_list(call: &Call<'_>) -> Result<Fields, ApiError> {
    let reg = registry(call).await?;
    let now = Utc::now().timestamp();
    let (_, signed) = reg.revocation_list(now).await?;
    let keys: Vec<Value> = reg
        .keys(now)
        .await?
        .iter()
        .filter(|k| k.retired.is_none())
        .map(|k| json!({"KeyId": k.id, "PublicKey": k.public, "Current": k.current}))
        .collect();
    Ok(fields(json!({
        "Seq": signed.seq,
        "IssuedAt": time(signed.issued),
        "Entries": signed.entries,
        "RevocationList": signed.list,
        "TrustedKeys": keys,
    })))
}
