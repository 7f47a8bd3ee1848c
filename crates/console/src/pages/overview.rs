//! The account's overview: money, state, the month so far per billable item, calls per
//! day this month and postpaid charges per month this year (each chart beside its table).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use chrono::{Datelike, NaiveDate};
use minijinja::context;

use crate::chart::{self, Bar};
use crate::error::ConsoleError;
use crate::i18n;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route("/a/{account}/overview", get(overview))
}

/// The account's current month in its billing time zone.
pub fn current_month(time_zone: &str) -> Result<billing::Month, ConsoleError> {
    let tz = billing::time::parse_tz(time_zone)?;
    Ok(billing::Month::of(chrono::Utc::now(), tz))
}

/// The account's today in its billing time zone.
fn today(time_zone: &str) -> Result<NaiveDate, ConsoleError> {
    let tz = billing::time::parse_tz(time_zone)?;
    Ok(chrono::Utc::now().with_timezone(&tz).date_naive())
}

/// The days of `month` (`YYYY-MM`) up to and including `until`.
fn days_of(month: billing::Month, until: NaiveDate) -> Vec<NaiveDate> {
    let label = month.to_string();
    let first = NaiveDate::parse_from_str(&format!("{label}-01"), "%Y-%m-%d").ok();
    let mut days = Vec::new();
    let mut d = first;
    while let Some(day) = d {
        if day.format("%Y-%m").to_string() != label || day > until {
            break;
        }
        days.push(day);
        d = day.succ_opt();
    }
    days
}

/// One row of the calls-per-day table.
#[derive(serde::Serialize)]
struct DayRow {
    day: String,
    calls: u64,
}

/// One row of the charges-per-month table.
#[derive(serde::Serialize)]
struct MonthRow {
    month: String,
    total: String,
    settled: bool,
}

async fn overview(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let billing = &console.app.billing;
    let view = billing.account(account).await?;
    let month = current_month(&view.time_zone)?;
    let today = today(&view.time_zone)?;
    let bill = billing.bill(account, month, chrono::Utc::now()).await?;
    let t = i18n::catalogue(viewer.lang);
    let text = |key: &str| {
        t.get_attr("overview")
            .and_then(|o| o.get_attr(key))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };

    // Calls per day: the daily roll-up, all items together.
    let mut per_day: BTreeMap<NaiveDate, u64> = BTreeMap::new();
    for row in billing.daily_usage(account, month).await? {
        *per_day.entry(row.day).or_default() += row.calls;
    }
    let days: Vec<DayRow> = days_of(month, today)
        .into_iter()
        .map(|d| DayRow {
            day: d.format("%Y-%m-%d").to_string(),
            calls: per_day.get(&d).copied().unwrap_or(0),
        })
        .collect();
    let day_bars: Vec<Bar> = days
        .iter()
        .map(|r| Bar {
            label: r.day[8..].to_string(),
            value: r.calls as f64,
            text: format!("{}: {}", r.day, r.calls),
        })
        .collect();
    let calls_chart = chart::bars(&text("calls_per_day"), &day_bars).replacen(
        "<svg ",
        "<svg id=\"calls-per-day\" ",
        1,
    );

    // Postpaid charges per month of this year: settled totals, and previews of the rest.
    let spend = billing.monthly_spend(account, today.year()).await?;
    let months: Vec<MonthRow> = (1..=today.month())
        .map(|m| {
            let label = format!("{:04}-{m:02}", today.year());
            let found = spend.iter().find(|s| s.month.to_string() == label);
            MonthRow {
                month: label,
                total: found
                    .map(|s| s.total.to_string())
                    .unwrap_or_else(|| "0.00".into()),
                settled: found.is_some_and(|s| s.settled),
            }
        })
        .collect();
    let month_bars: Vec<Bar> = months
        .iter()
        .map(|r| Bar {
            label: r.month[5..].to_string(),
            value: r.total.parse().unwrap_or(0.0),
            text: format!("{}: ¥{}", r.month, r.total),
        })
        .collect();
    let spend_chart = chart::bars(&text("spend_per_month"), &month_bars).replacen(
        "<svg ",
        "<svg id=\"spend-per-month\" ",
        1,
    );

    page(
        &console,
        &viewer,
        "overview.html",
        "overview",
        Some(account),
        context! {
            view => view, bill => bill, month => month.to_string(),
            days => days, calls_chart => calls_chart,
            months => months, spend_chart => spend_chart, year => today.year(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_run_to_today_within_the_month() {
        let m = billing::Month::new(2026, 2).unwrap();
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(days_of(m, d("2026-02-03")).len(), 3);
        assert_eq!(days_of(m, d("2026-03-15")).len(), 28);
        assert!(days_of(m, d("2026-01-31")).is_empty());
    }
}
