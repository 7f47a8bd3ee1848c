//! Operator: metering health at a glance (`Billing::metering_health`): calls metered in
//! the last minute, enrolments waiting for reconciliation, notice deliveries waiting and
//! failing, with the oldest pending enrolments listed.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use minijinja::context;

use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route("/operator/health", get(health))
}

/// Pending enrolments listed on the page (the count covers them all).
const LISTED_ENROLMENTS: u32 = 20;

async fn health(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
) -> Result<Response, ConsoleError> {
    viewer.operator()?;
    let billing = &console.app.billing;
    let now = chrono::Utc::now();
    let figures = billing.metering_health(now).await?;
    let pending = billing.pending_enrolments(now, LISTED_ENROLMENTS).await?;
    // Older than the reconciliation's grace: the reconciler should have settled it.
    let grace = chrono::Duration::from_std(api::reconcile::DEFAULT_GRACE)
        .unwrap_or_else(|_| chrono::Duration::minutes(5));
    let late_before = (now - grace).timestamp_micros();
    let pending: Vec<_> = pending
        .iter()
        .map(|p| {
            let at_us = p.at.timestamp_micros();
            context! {
                request_id => &p.request_id,
                account => p.account,
                action => &p.action,
                at_us => at_us,
                late => at_us < late_before,
            }
        })
        .collect();
    page(
        &console,
        &viewer,
        "health.html",
        "health",
        None,
        context! {
            health => &figures,
            calls_per_second => format!("{:.2}", figures.calls_per_second),
            oldest_us => figures.oldest_pending_enrolment.map(|t| t.timestamp_micros()),
            pending => pending,
            checked_us => now.timestamp_micros(),
        },
    )
}
