//! Whether a billable call would be accepted by metering, asked before an action writes
//! to the gallery (CreatePerson, CreateFace): a call that metering would refuse for
//! arrears must not leave a person or face behind.
//!
//! Metering stays the authority (it decides under its row locks); this pre-check reads
//! the same rule from the billing crate's public views: an account in arrears may still
//! use this month's free calls of the item and its valid packs, and nothing postpaid.
//! A race between the pre-check and metering (another node using the last free call
//! meanwhile) is closed by the actions undoing their write when metering refuses.

use billing::catalogue::FREE_CALLS_PER_MONTH;
use billing::{AccountState, Billing, Item, Month};
use chrono::{DateTime, Utc};

use crate::error::ApiError;

/// `Ok` when one more call of `item` would not be postpaid-bound in arrears.
pub async fn check(
    billing: &Billing,
    account: i64,
    item: Item,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let view = billing.account(account).await?;
    if view.state != AccountState::Arrears {
        return Ok(());
    }
    let tz = billing::time::parse_tz(&view.time_zone)?;
    let bill = billing.bill(account, Month::of(now, tz), now).await?;
    let free_used = bill
        .lines
        .iter()
        .find(|l| l.item == item)
        .map_or(0, |l| l.free);
    if free_used < FREE_CALLS_PER_MONTH {
        return Ok(());
    }
    let packs = billing.packs(account).await?;
    if packs
        .iter()
        .any(|p| p.item == item && p.remaining > 0 && p.purchased_at <= now && now < p.expires_at)
    {
        return Ok(());
    }
    Err(billing::BillingError::InArrears { account }.into())
}
