//! Usage: per billable item and day for a month, with what covered the calls (free
//! pack, paid packs, postpaid), a chart of calls per day, and the same figures as CSV.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use billing::{Item, Month};
use minijinja::context;
use serde::{Deserialize, Serialize};

use super::figures::{attachment, parse_month, row, text};
use super::overview::current_month;
use crate::chart::{bars, Bar};
use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/a/{account}/usage", get(usage))
        .route("/a/{account}/usage.csv", get(usage_csv))
}

#[derive(Deserialize)]
struct MonthQuery {
    month: Option<String>,
}

/// One day's calls of one item and what covered them.
#[derive(Clone, Debug, Serialize)]
struct DayRow {
    /// `YYYY-MM-DD` in the account's billing time zone.
    day: String,
    item: Item,
    calls: u64,
    free: u64,
    pack: u64,
    postpaid: u64,
}

/// The month asked for, the account's current month when none was, or `Err` with the
/// value that is not a month.
fn month_of(query: &MonthQuery, time_zone: &str) -> Result<Result<Month, String>, ConsoleError> {
    match query.month.as_deref().map(str::trim) {
        None | Some("") => Ok(Ok(current_month(time_zone)?)),
        Some(s) => Ok(parse_month(s).ok_or_else(|| s.to_owned())),
    }
}

/// The month's rows, day by day in the account's time zone, items in catalogue order.
async fn day_rows(
    console: &Console,
    account: i64,
    month: Month,
) -> Result<Vec<DayRow>, ConsoleError> {
    let mut rows: Vec<DayRow> = console
        .app
        .billing
        .daily_usage(account, month)
        .await?
        .into_iter()
        .filter(|d| d.calls > 0)
        .map(|d| DayRow {
            day: d.day.to_string(),
            item: d.item,
            calls: d.calls,
            free: d.free,
            pack: d.pack,
            postpaid: d.postpaid,
        })
        .collect();
    rows.sort_by(|a, b| (&a.day, a.item).cmp(&(&b.day, b.item)));
    Ok(rows)
}

async fn usage(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Query(query): Query<MonthQuery>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let view = console.app.billing.account(account).await?;
    let (month, bad_month) = match month_of(&query, &view.time_zone)? {
        Ok(m) => (m, None),
        Err(bad) => (current_month(&view.time_zone)?, Some(bad)),
    };
    let rows = day_rows(&console, account, month).await?;
    let bill = console
        .app
        .billing
        .bill(account, month, chrono::Utc::now())
        .await?;
    // Calls per day over every item: the chart, and the table beside it.
    let mut per_day: BTreeMap<&str, u64> = BTreeMap::new();
    for r in &rows {
        *per_day.entry(r.day.as_str()).or_default() += r.calls;
    }
    let title = format!("{} {month}", text(&viewer, "usage", "chart_title"));
    let chart: Vec<Bar> = per_day
        .iter()
        .map(|(day, calls)| Bar {
            label: day.get(8..).unwrap_or(day).to_string(),
            value: *calls as f64,
            text: format!("{day}: {calls}"),
        })
        .collect();
    let days: Vec<(String, u64)> = per_day.iter().map(|(d, c)| (d.to_string(), *c)).collect();
    let mut response = page(
        &console,
        &viewer,
        "usage.html",
        "usage",
        Some(account),
        context! {
            month => month.to_string(),
            time_zone => view.time_zone,
            rows => rows,
            days => days,
            chart => if chart.is_empty() { String::new() } else { bars(&title, &chart) },
            lines => bill.lines,
            bad_month => bad_month,
        },
    )?;
    if bad_month.is_some() {
        *response.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

/// The month's rows as CSV: `day,item,calls,free,pack,postpaid`.
async fn usage_csv(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Query(query): Query<MonthQuery>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let view = console.app.billing.account(account).await?;
    let month = month_of(&query, &view.time_zone)?
        .map_err(|bad| ConsoleError::Invalid(format!("{bad:?} is not a month (YYYY-MM)")))?;
    let rows = day_rows(&console, account, month).await?;
    let mut body = row(["day", "item", "calls", "free", "pack", "postpaid"]);
    for r in &rows {
        body.push_str(&row([
            r.day.clone(),
            r.item.to_string(),
            r.calls.to_string(),
            r.free.to_string(),
            r.pack.to_string(),
            r.postpaid.to_string(),
        ]));
    }
    Ok(attachment(&format!("usage-{account}-{month}.csv"), body))
}
