//! Operator: the audit log of operators' writes, newest first.

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
    Router::new().route("/operator/audit", get(audit))
}

/// Entries shown: the newest this many.
const SHOWN: i64 = 500;

async fn audit(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
) -> Result<Response, ConsoleError> {
    viewer.operator()?;
    let entries = console.users.audit_log(SHOWN).await?;
    page(
        &console,
        &viewer,
        "audit.html",
        "audit",
        None,
        context! { entries => entries, shown => SHOWN },
    )
}
