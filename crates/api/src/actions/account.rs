//! The `billing` service: the calling account's own balance, packs, usage, bills and
//! notices, and buying a pack. Every call acts on the SecretId's account only; none is
//! metered. Amounts are decimal strings with two places; items, pack sizes and states
//! are spelled as the billing crate and the `renlian` CLI spell them.

use billing::{Bill, Item, Money, Month, Notice, Pack, PackSize};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::{Call, Fields};
use crate::error::ApiError;

fn money(m: Money) -> Value {
    Value::String(m.round_fen().to_string())
}

fn time(t: DateTime<Utc>) -> Value {
    Value::String(t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A bill line's usage: what DescribeUsage gives per item and DescribeBills extends.
fn usage_fields(l: &billing::BillLine) -> Fields {
    fields(json!({
        "Item": l.item.as_str(),
        "Calls": l.calls,
        "Free": l.free,
        "Pack": l.pack,
        "Postpaid": l.postpaid,
    }))
}

fn fields(v: Value) -> Fields {
    match v {
        Value::Object(m) => m,
        _ => Fields::new(),
    }
}

pub async fn describe_account_balance(call: &Call<'_>) -> Result<Fields, ApiError> {
    let a = call.state.billing.account(call.caller.account).await?;
    Ok(fields(json!({
        "AccountId": a.id,
        "Name": a.name,
        "TimeZone": a.time_zone,
        "Balance": money(a.balance),
        "Frozen": money(a.frozen),
        "Available": money(a.available),
        "State": serde_json::to_value(a.state).unwrap_or(Value::Null),
    })))
}

/// `expired` once past its expiry (or voided), else `exhausted` when used up, else `active`.
fn pack_state(p: &Pack, now: DateTime<Utc>) -> &'static str {
    if p.voided.is_some() || p.expires_at <= now {
        "expired"
    } else if p.remaining == 0 {
        "exhausted"
    } else {
        "active"
    }
}

fn pack_fields(p: &Pack, now: DateTime<Utc>) -> Value {
    json!({
        "PackId": p.id,
        "Item": p.item.as_str(),
        "Size": p.size.as_str(),
        "Units": p.units,
        "Remaining": p.remaining,
        "Price": money(p.price),
        "PurchasedAt": time(p.purchased_at),
        "ExpiresAt": time(p.expires_at),
        "State": pack_state(p, now),
    })
}

pub async fn describe_resource_packs(call: &Call<'_>) -> Result<Fields, ApiError> {
    let now = Utc::now();
    // Distinguishes "no such account" from "no packs".
    call.state.billing.account(call.caller.account).await?;
    let packs = call.state.billing.packs(call.caller.account).await?;
    let list: Vec<Value> = packs.iter().map(|p| pack_fields(p, now)).collect();
    Ok(fields(json!({
        "TotalCount": list.len(),
        "ResourcePacks": list,
    })))
}

pub async fn buy_resource_pack(call: &Call<'_>) -> Result<Fields, ApiError> {
    let item: Item = call.str_req("Item")?.parse()?;
    let size: PackSize = call.str_req("Size")?.parse()?;
    // The idempotency key: a retry with the same token gets the first purchase's pack and
    // is not charged again. Without one, a retry buys again.
    let token = call.str_opt("ClientToken")?;
    let now = Utc::now();
    // The same engine call as `renlian pack buy`: the price leaves the balance at once.
    let order = call
        .state
        .billing
        .buy_pack_with_token(call.caller.account, item, size, now, token)
        .await?;
    let a = call.state.billing.account(call.caller.account).await?;
    Ok(fields(json!({
        "ResourcePack": pack_fields(&order.pack, now),
        "Balance": money(a.balance),
        "Available": money(a.available),
    })))
}

/// The `Month` field, or the account's current month in its billing time zone.
async fn month(call: &Call<'_>) -> Result<Month, ApiError> {
    match call.str_opt("Month")? {
        Some(m) => Ok(m.parse()?),
        None => {
            let a = call.state.billing.account(call.caller.account).await?;
            let tz = billing::time::parse_tz(&a.time_zone)?;
            Ok(Month::of(Utc::now(), tz))
        }
    }
}

async fn bill(call: &Call<'_>) -> Result<Bill, ApiError> {
    let month = month(call).await?;
    Ok(call
        .state
        .billing
        .bill(call.caller.account, month, Utc::now())
        .await?)
}

pub async fn describe_usage(call: &Call<'_>) -> Result<Fields, ApiError> {
    let bill = bill(call).await?;
    let usage: Vec<Value> = bill
        .lines
        .iter()
        .map(|l| Value::Object(usage_fields(l)))
        .collect();
    Ok(fields(json!({
        "Month": bill.month,
        "TimeZone": bill.time_zone,
        "Usage": usage,
    })))
}

pub async fn describe_bills(call: &Call<'_>) -> Result<Fields, ApiError> {
    let bill = bill(call).await?;
    let lines: Vec<Value> = bill
        .lines
        .iter()
        .map(|l| {
            let mut line = usage_fields(l);
            line.insert("Tier".into(), json!(l.tier));
            line.insert(
                "UnitPrice".into(),
                json!(l.unit_price.normalize().to_string()),
            );
            line.insert("Amount".into(), money(l.amount));
            Value::Object(line)
        })
        .collect();
    let purchases: Vec<Value> = bill
        .pack_purchases
        .iter()
        .map(|p| {
            json!({
                "PackId": p.pack,
                "Item": p.item.as_str(),
                "Size": p.size.as_str(),
                "Price": money(p.price),
                "PurchasedAt": time(p.at),
            })
        })
        .collect();
    // Offline-SDK purchases of the month (device seats, platform years): already paid.
    let sdk_purchases: Vec<Value> = bill
        .sdk_purchases
        .iter()
        .map(|p| {
            json!({
                "OrderId": p.order,
                "Kind": p.kind.as_str(),
                "Sdk": p.sdk.as_str(),
                "Quantity": p.quantity,
                "Tier": p.tier,
                "UnitPrice": money(p.unit_price),
                "Total": money(p.total),
                "Package": p.package,
                "PurchasedAt": time(p.at),
            })
        })
        .collect();
    let settlement = bill.settlement.as_ref().map(|s| {
        json!({
            "SettledAt": time(s.at),
            "Total": money(s.total),
            "Released": money(s.released),
            "Frozen": money(s.frozen),
        })
    });
    Ok(fields(json!({
        "Month": bill.month,
        "TimeZone": bill.time_zone,
        "Status": serde_json::to_value(bill.status).unwrap_or(Value::Null),
        "Total": money(bill.total),
        "Lines": lines,
        "PackPurchases": purchases,
        "PackPurchasesTotal": money(bill.pack_purchases_total),
        "SdkPurchases": sdk_purchases,
        "SdkPurchasesTotal": money(bill.sdk_purchases_total),
        "Settlement": settlement,
    })))
}

/// `delivered` once every channel has delivered, else `pending`.
fn delivery_state(n: &Notice) -> &'static str {
    if n.deliveries.iter().all(|d| d.state == "delivered") {
        "delivered"
    } else {
        "pending"
    }
}

pub async fn describe_notices(call: &Call<'_>) -> Result<Fields, ApiError> {
    let notices = call.state.billing.notices(call.caller.account).await?;
    let list: Vec<Value> = notices
        .iter()
        .map(|n| {
            let deliveries: Vec<Value> = n
                .deliveries
                .iter()
                .map(|d| {
                    json!({
                        "Channel": d.channel,
                        "Target": d.target,
                        "State": d.state,
                        "Attempts": d.attempts,
                        "LastError": d.last_error,
                        "NextAttemptAt": d.next_attempt_at.map(time),
                        "DeliveredAt": d.delivered_at.map(time),
                    })
                })
                .collect();
            json!({
                "NoticeId": n.id,
                "Kind": n.kind.as_str(),
                "PackId": n.pack,
                "CreatedAt": time(n.at),
                "Message": n.message,
                "DeliveryState": delivery_state(n),
                "Deliveries": deliveries,
            })
        })
        .collect();
    Ok(fields(json!({
        "TotalCount": list.len(),
        "Notices": list,
    })))
}
