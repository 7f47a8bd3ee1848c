//! The consumption rule (rules 2, 3, 8), pure: one record against the in-memory state of
//! its account, month and item. No database: the writer loads the state, runs the rule
//! over the batch's records in order, and writes back what changed.
//!
//! A record's units come from, in order:
//! 1. the month's free calls ([`FREE_CALLS_PER_MONTH`] per account, month and item) not yet
//!    used;
//! 2. the account's packs for the item, in the order given (the loader sorts them earliest
//!    expiry first, ties earliest purchase), each only if it was purchased by the call's
//!    time, has not expired at it and has units left;
//! 3. postpaid — unless the account is in arrears, when the record is refused whole
//!    ([`BillingError::InArrears`]) and nothing changes.
//!
//! A pack whose remainder first falls below [`LOW_PERCENT`] of its size gets one
//! "running low" notice, one that reaches zero one "used up" notice (each once per pack:
//! the flags are kept with the pack).

use crate::account::AccountState;
use crate::catalogue::{Item, FREE_CALLS_PER_MONTH, LOW_PERCENT};
use crate::error::BillingError;
use crate::notice::{NoticeDraft, NoticeKind};
use crate::time::to_micros;

use super::{Consumption, Job};

/// An account's consumption of one item in one month (a `billing_monthly` row).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Counter {
    pub calls: i64,
    pub free: i64,
    pub pack: i64,
    pub postpaid: i64,
    /// Changed since it was loaded: to be written back.
    pub dirty: bool,
}

/// A pack with units left (a `billing_packs` row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PackState {
    pub id: i64,
    pub size: i64,
    pub purchased_us: i64,
    pub expires_us: i64,
    pub remaining: i64,
    pub low_notified: bool,
    pub exhausted_notified: bool,
    /// Changed since it was loaded: to be written back.
    pub dirty: bool,
}

/// Where an account's notices go.
#[derive(Clone, Debug, Default)]
pub(super) struct Contact {
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// One row of `billing_usage`, borrowing its text from the batch.
#[derive(Debug)]
pub(super) struct UsageRow<'a> {
    pub key: &'a str,
    pub part: i64,
    pub account: i64,
    pub item: Item,
    pub action: &'a str,
    pub month: &'a str,
    pub at_us: i64,
    pub units: i64,
    pub source: &'static str,
    pub pack_id: Option<i64>,
}

/// What the records consumed so far will write besides the counters and packs.
#[derive(Default)]
pub(super) struct Effects<'a> {
    pub rows: Vec<UsageRow<'a>>,
    pub notices: Vec<NoticeDraft>,
}

/// Consumes `job` (in `month`, the billing month of its time) against `counter` (its
/// account, month and item) and `packs` (its account's packs for the item, in consumption
/// order), adding its usage rows and notices to `effects`; or refuses it untouched.
pub(super) fn consume<'a>(
    job: &'a Job,
    month: &'a str,
    state: AccountState,
    contact: &Contact,
    counter: &mut Counter,
    packs: &mut [PackState],
    effects: &mut Effects<'a>,
) -> Result<Consumption, BillingError> {
    let account = job.account();
    let item = job.item();
    let at_us = to_micros(job.at());
    let units = job.units() as i64;
    let free = units.min((FREE_CALLS_PER_MONTH as i64 - counter.free).max(0));
    let mut rest = units - free;
    let mut plan: Vec<(usize, i64)> = Vec::new();
    for (i, p) in packs.iter().enumerate() {
        if rest == 0 {
            break;
        }
        if p.remaining > 0 && p.purchased_us <= at_us && at_us < p.expires_us {
            let take = rest.min(p.remaining);
            plan.push((i, take));
            rest -= take;
        }
    }
    let postpaid = rest;
    if postpaid > 0 && state == AccountState::Arrears {
        return Err(BillingError::InArrears { account });
    }

    let pack_units: i64 = plan.iter().map(|(_, u)| u).sum();
    counter.calls += units;
    counter.free += free;
    counter.pack += pack_units;
    counter.postpaid += postpaid;
    counter.dirty = true;

    let mut part = 0;
    let mut row = |units: i64, source: &'static str, pack_id: Option<i64>| {
        effects.rows.push(UsageRow {
            key: job.key(),
            part,
            account,
            item,
            action: job.action(),
            month,
            at_us,
            units,
            source,
            pack_id,
        });
        part += 1;
    };
    if free > 0 {
        row(free, "free", None);
    }
    for (i, take) in &plan {
        let p = &mut packs[*i];
        p.remaining -= take;
        p.dirty = true;
        row(*take, "pack", Some(p.id));
    }
    if postpaid > 0 {
        row(postpaid, "postpaid", None);
    }
    for (i, _) in &plan {
        notify(&mut packs[*i], job, at_us, contact, &mut effects.notices);
    }
    Ok(Consumption {
        account,
        item,
        month: month.to_string(),
        units: units as u64,
        free: free as u64,
        pack: pack_units as u64,
        postpaid: postpaid as u64,
        replayed: false,
    })
}

/// The notices a pack's new remainder calls for, each once per pack.
fn notify(
    p: &mut PackState,
    job: &Job,
    at_us: i64,
    contact: &Contact,
    notices: &mut Vec<NoticeDraft>,
) {
    let (account, item) = (job.account(), job.item());
    if !p.low_notified && p.remaining * 100 < p.size * LOW_PERCENT as i64 {
        p.low_notified = true;
        notices.push(NoticeDraft::new(
            account,
            p.id,
            NoticeKind::PackLow,
            at_us,
            format!(
                "Your {item} pack #{} has {} of {} calls left, below {LOW_PERCENT}%.",
                p.id, p.remaining, p.size
            ),
            contact.email.clone(),
            contact.phone.clone(),
        ));
    }
    if !p.exhausted_notified && p.remaining == 0 {
        p.exhausted_notified = true;
        notices.push(NoticeDraft::new(
            account,
            p.id,
            NoticeKind::PackExhausted,
            at_us,
            format!(
                "Your {item} pack #{} is used up; further {item} calls are billed from other packs or postpaid.",
                p.id
            ),
            contact.email.clone(),
            contact.phone.clone(),
        ));
    }
}

#[cfg(test)]
mod tests;
