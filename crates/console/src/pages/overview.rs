//! The account's overview: money, state, and the month so far per billable item.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;

use crate::error::ConsoleError;
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

async fn overview(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let billing = &console.app.billing;
    let view = billing.account(account).await?;
    let month = current_month(&view.time_zone)?;
    let bill = billing.bill(account, month, chrono::Utc::now()).await?;
    page(
        &console,
        &viewer,
        "overview.html",
        "overview",
        Some(account),
        context! { view => view, bill => bill, month => month.to_string() },
    )
}
