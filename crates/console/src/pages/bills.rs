//! Bills: the months with a bill (settled, closed and not yet settled, and the current
//! month's preview), each month's bill line by line as `renlian bill` has it, and its
//! lines as CSV (the same bytes as `renlian bill --csv`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use billing::{Bill, Month};
use chrono::Utc;
use chrono_tz::Tz;
use minijinja::context;
use serde::Serialize;

use super::figures::{attachment, local_time, parse_month, row, zone};
use super::overview::current_month;
use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/a/{account}/bills", get(bills))
        .route("/a/{account}/bills/{month}", get(bill_month))
}

/// How many months back the list looks for usage and purchases (settled months are
/// listed however old).
const MONTHS_BACK: u32 = 12;

/// One month of the list.
#[derive(Serialize)]
struct MonthRow {
    month: String,
    status: billing::BillStatus,
    total: billing::Money,
    purchases: billing::Money,
}

/// The months to list: every settled month (billing lists them), and of the
/// last [`MONTHS_BACK`] months the current one and those with usage or purchases.
async fn months(
    console: &Console,
    account: i64,
    current: Month,
    tz: Tz,
) -> Result<Vec<Bill>, ConsoleError> {
    let billing = &console.app.billing;
    let now = Utc::now();
    let settled: BTreeSet<Month> = billing
        .settlements(account)
        .await?
        .into_iter()
        .map(|s| s.month)
        .collect();
    let mut out = Vec::new();
    let mut month = current;
    let mut recent = BTreeSet::new();
    for _ in 0..MONTHS_BACK {
        recent.insert(month);
        let bill = billing.bill(account, month, now).await?;
        let used = !bill.lines.is_empty()
            || !bill.pack_purchases.is_empty()
            || !bill.sdk_purchases.is_empty()
            || bill.settlement.is_some();
        if month == current || used {
            out.push(bill);
        }
        month = previous(month, tz);
    }
    for m in settled.iter().rev().filter(|m| !recent.contains(m)) {
        out.push(billing.bill(account, *m, now).await?);
    }
    Ok(out)
}

/// The month before `month` in the account's time zone.
fn previous(month: Month, tz: Tz) -> Month {
    Month::of(month.start(tz) - chrono::Duration::seconds(1), tz)
}

async fn bills(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let view = console.app.billing.account(account).await?;
    let current = current_month(&view.time_zone)?;
    let tz = zone(&view.time_zone)?;
    let rows: Vec<MonthRow> = months(&console, account, current, tz)
        .await?
        .into_iter()
        .map(|b| MonthRow {
            month: b.month,
            status: b.status,
            total: b.total,
            purchases: b.pack_purchases_total + b.sdk_purchases_total,
        })
        .collect();
    page(
        &console,
        &viewer,
        "bills.html",
        "bills",
        Some(account),
        context! { view => view, rows => rows, current => current.to_string() },
    )
}

/// `bills/2026-11` (the page) or `bills/2026-11.csv` (the download): one route, since
/// a path segment cannot hold a parameter and a suffix.
async fn bill_month(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, month)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let (label, csv) = match month.strip_suffix(".csv") {
        Some(m) => (m, true),
        None => (month.as_str(), false),
    };
    let month = parse_month(label).ok_or(ConsoleError::NotFound)?;
    let billing = &console.app.billing;
    let view = billing.account(account).await?;
    // A month after the current one has no bill yet.
    if month > current_month(&view.time_zone)? {
        return Err(ConsoleError::NotFound);
    }
    let bill = billing.bill(account, month, Utc::now()).await?;
    if csv {
        return Ok(attachment(
            &format!("bill-{account}-{month}.csv"),
            bill_csv(&bill),
        ));
    }
    let tz = zone(&bill.time_zone)?;
    let pack_times: Vec<String> = bill
        .pack_purchases
        .iter()
        .map(|p| local_time(p.at, tz))
        .collect();
    let sdk_times: Vec<String> = bill
        .sdk_purchases
        .iter()
        .map(|p| local_time(p.at, tz))
        .collect();
    let settled_at = bill.settlement.as_ref().map(|s| local_time(s.at, tz));
    page(
        &console,
        &viewer,
        "bill.html",
        "bills",
        Some(account),
        context! {
            view => view,
            bill => bill,
            pack_times => pack_times,
            sdk_times => sdk_times,
            settled_at => settled_at,
        },
    )
}

/// The bill's lines as `renlian bill --csv` prints them: a header, one line per item,
/// and the total.
fn bill_csv(bill: &Bill) -> String {
    let mut out = row([
        "item",
        "calls",
        "free",
        "pack",
        "postpaid",
        "tier",
        "unit_price",
        "amount",
    ]);
    for l in &bill.lines {
        out.push_str(&row([
            l.item.to_string(),
            l.calls.to_string(),
            l.free.to_string(),
            l.pack.to_string(),
            l.postpaid.to_string(),
            l.tier.to_string(),
            l.unit_price.to_string(),
            l.amount.to_string(),
        ]));
    }
    out.push_str(&row([
        "total",
        "",
        "",
        "",
        "",
        "",
        "",
        &bill.total.to_string(),
    ]));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_month_crosses_the_year() {
        let tz = billing::time::parse_tz("Asia/Shanghai").unwrap();
        let m = |s: &str| s.parse::<Month>().unwrap();
        assert_eq!(previous(m("2026-01"), tz), m("2025-12"));
        assert_eq!(previous(m("2026-12"), tz), m("2026-11"));
    }
}
