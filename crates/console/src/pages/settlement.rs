//! Operator: month-end settlement. First a dry run of the chosen month
//! (`Billing::preview_settlement`: the same plan as the run, written nowhere), then the
//! run itself, which does what `renlian settle --month M` does: pending enrolments older
//! than the grace period are reconciled, then every due account is settled. A second run
//! of a month changes nothing (billing's own rule), so the run answers with its report
//! directly rather than through a redirect.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use billing::{BillingError, Month};
use minijinja::{context, Value};

use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route("/operator/settlement", get(preview).post(run))
}

#[derive(serde::Deserialize, Default)]
struct MonthQuery {
    month: Option<String>,
}

/// The month before the current one in the deployment's billing time zone: the one a
/// settlement is usually run for.
fn last_month(console: &Console) -> Month {
    let tz = console.app.billing.config().default_time_zone;
    let this = Month::of(chrono::Utc::now(), tz);
    let start = this.start(tz) - chrono::Duration::days(1);
    Month::of(start, tz)
}

struct Shown {
    month: String,
    preview: Option<billing::SettlementPreview>,
    report: Option<Value>,
    error: Option<String>,
}

async fn render(console: &Console, viewer: &Viewer, s: Shown) -> Result<Response, ConsoleError> {
    let failed = s.error.is_some();
    let mut r = page(
        console,
        viewer,
        "settlement.html",
        "settlement",
        None,
        context! {
            month => s.month,
            preview => s.preview,
            report => s.report,
            error => s.error,
        },
    )?;
    if failed {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

/// A month-not-over or malformed-month refusal is shown on the page; anything else fails.
fn refusal(e: BillingError) -> Result<String, ConsoleError> {
    match e {
        BillingError::MonthNotOver { .. } | BillingError::OutOfRange(_) => Ok(e.to_string()),
        BillingError::UnknownName { .. } => Ok(e.to_string()),
        other => Err(other.into()),
    }
}

async fn preview(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(q): Query<MonthQuery>,
) -> Result<Response, ConsoleError> {
    viewer.operator()?;
    let Some(text) = q.month.filter(|m| !m.trim().is_empty()) else {
        let month = last_month(&console).to_string();
        let shown = Shown {
            month,
            preview: None,
            report: None,
            error: None,
        };
        return render(&console, &viewer, shown).await;
    };
    let mut shown = Shown {
        month: text.trim().to_owned(),
        preview: None,
        report: None,
        error: None,
    };
    let asked = match text.trim().parse::<Month>() {
        Ok(m) => {
            console
                .app
                .billing
                .preview_settlement(m, chrono::Utc::now())
                .await
        }
        Err(e) => Err(e),
    };
    match asked {
        Ok(p) => shown.preview = Some(p),
        Err(e) => shown.error = Some(refusal(e)?),
    }
    render(&console, &viewer, shown).await
}

#[derive(serde::Deserialize)]
struct RunForm {
    month: String,
}

async fn run(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Form(f): Form<RunForm>,
) -> Result<Response, ConsoleError> {
    let user = viewer.operator()?;
    let mut shown = Shown {
        month: f.month.trim().to_owned(),
        preview: None,
        report: None,
        error: None,
    };
    let month: Month = match f.month.trim().parse() {
        Ok(m) => m,
        Err(e) => {
            shown.error = Some(refusal(e)?);
            return render(&console, &viewer, shown).await;
        }
    };
    let billing = &console.app.billing;
    let now = chrono::Utc::now();
    // Refused before the settlement day, before anything is touched (the run checks the
    // same again).
    if let Err(e) = billing.preview_settlement(month, now).await {
        shown.error = Some(refusal(e)?);
        return render(&console, &viewer, shown).await;
    }
    // As `renlian settle`: enrolments a dead process left pending are settled first, so
    // that the bill carries none of them.
    let enrolments = api::reconcile_enrolments(
        billing,
        &console.app.gallery,
        api::reconcile::DEFAULT_GRACE,
        now,
    )
    .await
    .map_err(|e| ConsoleError::Internal(format!("reconciling enrolments: {e}")))?;
    let report = match billing.settle_month(month, now).await {
        Ok(r) => r,
        Err(e) => {
            shown.error = Some(refusal(e)?);
            return render(&console, &viewer, shown).await;
        }
    };
    let detail = format!(
        "{} settled ({} CNY), {} already settled, {} not yet due, {} in arrears; \
         enrolments: {} confirmed, {} voided",
        report.settled,
        report.total,
        report.already_settled,
        report.not_due,
        report.in_arrears.len(),
        enrolments.confirmed,
        enrolments.voided
    );
    console
        .users
        .audit(user, "settlement.run", &month.to_string(), &detail)
        .await?;
    shown.report = Some(context! {
        settled => report.settled,
        already_settled => report.already_settled,
        not_due => report.not_due,
        total => report.total,
        in_arrears => report.in_arrears,
        enrolments_confirmed => enrolments.confirmed,
        enrolments_voided => enrolments.voided,
        enrolments_failed => enrolments.failed,
    });
    render(&console, &viewer, shown).await
}
