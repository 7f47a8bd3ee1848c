//! Operator: the billing accounts. A page of accounts with their money and state, a new
//! account, and per account its top-ups and notice contacts. Every write is audited.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use billing::{Money, NewAccount};
use minijinja::context;

use crate::error::ConsoleError;
use crate::pages::see_other;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/operator/accounts", get(list).post(create))
        .route("/operator/accounts/{id}", get(one))
        .route("/operator/accounts/{id}/top-up", post(top_up))
        .route("/operator/accounts/{id}/contact", post(contact))
}

/// Accounts per page of the list.
const PAGE_SIZE: u32 = 100;

#[derive(serde::Deserialize, Default)]
struct ListQuery {
    page: Option<u64>,
}

/// A page with a refusal shown in it answers 400.
fn with_status(mut r: Response, error: bool) -> Response {
    if error {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    r
}

async fn render_list(
    console: &Console,
    viewer: &Viewer,
    page_no: u64,
    error: Option<String>,
    form: Option<&CreateForm>,
) -> Result<Response, ConsoleError> {
    let billing = &console.app.billing;
    let total = billing.account_count().await?;
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let page_no = page_no.clamp(1, pages);
    let accounts = billing
        .accounts((page_no - 1) * u64::from(PAGE_SIZE), PAGE_SIZE)
        .await?;
    let failed = error.is_some();
    let r = page(
        console,
        viewer,
        "accounts.html",
        "accounts",
        None,
        context! {
            accounts => accounts,
            total => total,
            page_no => page_no,
            pages => pages,
            error => error,
            form_name => form.map(|f| f.name.clone()),
            form_tz => form.and_then(|f| f.time_zone.clone()),
            default_tz => billing.config().default_time_zone.name(),
        },
    )?;
    Ok(with_status(r, failed))
}

async fn list(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> Result<Response, ConsoleError> {
    viewer.operator()?;
    render_list(&console, &viewer, q.page.unwrap_or(1), None, None).await
}

#[derive(serde::Deserialize)]
struct CreateForm {
    name: String,
    time_zone: Option<String>,
}

async fn create(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Form(f): Form<CreateForm>,
) -> Result<Response, ConsoleError> {
    let user = viewer.operator()?;
    let time_zone = f
        .time_zone
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    let new = NewAccount {
        name: f.name.trim().to_owned(),
        time_zone: time_zone.clone(),
        ..Default::default()
    };
    match console
        .app
        .billing
        .create_account(new, chrono::Utc::now())
        .await
    {
        Ok(id) => {
            let detail = format!(
                "name {:?}, time zone {}",
                f.name.trim(),
                time_zone.as_deref().unwrap_or("(default)")
            );
            console
                .users
                .audit(user, "account.create", &format!("account {id}"), &detail)
                .await?;
            Ok(see_other(&format!(
                "{}/operator/accounts/{id}?done=created",
                crate::BASE
            )))
        }
        Err(e) if is_refusal(&e) => {
            render_list(&console, &viewer, 1, Some(e.to_string()), Some(&f)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// A refusal of what was asked (shown on the page), not a failure of the server: the
/// same split as [`ConsoleError::status`] makes.
fn is_refusal(e: &billing::BillingError) -> bool {
    use billing::BillingError as E;
    !matches!(
        e,
        E::Database(_) | E::Corrupt(_) | E::WriterGone | E::Storage(_) | E::Delivery(_)
    )
}

#[derive(serde::Deserialize, Default)]
struct OneQuery {
    done: Option<String>,
}

async fn render_one(
    console: &Console,
    viewer: &Viewer,
    id: i64,
    done: Option<&str>,
    error: Option<String>,
) -> Result<Response, ConsoleError> {
    let view = match console.app.billing.account(id).await {
        Ok(v) => v,
        Err(billing::BillingError::UnknownAccount(_)) => return Err(ConsoleError::NotFound),
        Err(e) => return Err(e.into()),
    };
    let failed = error.is_some();
    let r = page(
        console,
        viewer,
        "account.html",
        "accounts",
        None,
        context! {
            view => view, done => done, error => error,
            client_token => super::packs::client_token(),
        },
    )?;
    Ok(with_status(r, failed))
}

async fn one(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<OneQuery>,
) -> Result<Response, ConsoleError> {
    viewer.operator()?;
    let done = q.done.as_deref().and_then(|d| {
        ["created", "topped-up", "contact"]
            .into_iter()
            .find(|k| *k == d)
    });
    render_one(&console, &viewer, id, done, None).await
}

#[derive(serde::Deserialize)]
struct TopUpForm {
    amount: String,
    /// One per rendering of the form: a double submission tops up once.
    client_token: String,
}

async fn top_up(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<TopUpForm>,
) -> Result<Response, ConsoleError> {
    let user = viewer.operator()?;
    let amount: Money = match f.amount.trim().parse() {
        Ok(m) => m,
        Err(_) => {
            let msg = format!(
                "{:?} is not an amount in yuan (e.g. 100 or 99.50)",
                f.amount
            );
            return render_one(&console, &viewer, id, None, Some(msg)).await;
        }
    };
    match console
        .app
        .billing
        .top_up_with_token(id, amount, chrono::Utc::now(), Some(f.client_token.trim()))
        .await
    {
        Ok(done) if done.replayed => Ok(see_other(&format!(
            "{}/operator/accounts/{id}?done=topped-up",
            crate::BASE
        ))),
        Ok(done) => {
            let detail = format!("+{amount} CNY, balance {}", done.account.balance);
            console
                .users
                .audit(user, "account.top-up", &format!("account {id}"), &detail)
                .await?;
            Ok(see_other(&format!(
                "{}/operator/accounts/{id}?done=topped-up",
                crate::BASE
            )))
        }
        Err(billing::BillingError::UnknownAccount(_)) => Err(ConsoleError::NotFound),
        Err(e) if is_refusal(&e) => {
            render_one(&console, &viewer, id, None, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(serde::Deserialize)]
struct ContactForm {
    email: Option<String>,
    phone: Option<String>,
}

/// An empty field clears that channel.
fn field(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

async fn contact(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(f): Form<ContactForm>,
) -> Result<Response, ConsoleError> {
    let user = viewer.operator()?;
    let (email, phone) = (field(f.email), field(f.phone));
    match console
        .app
        .billing
        .set_contact(id, email.clone(), phone.clone())
        .await
    {
        Ok(_) => {
            let detail = format!(
                "e-mail {}, phone {}",
                email.as_deref().unwrap_or("(none)"),
                phone.as_deref().unwrap_or("(none)")
            );
            console
                .users
                .audit(user, "account.contact", &format!("account {id}"), &detail)
                .await?;
            Ok(see_other(&format!(
                "{}/operator/accounts/{id}?done=contact",
                crate::BASE
            )))
        }
        Err(billing::BillingError::UnknownAccount(_)) => Err(ConsoleError::NotFound),
        Err(e) if is_refusal(&e) => {
            render_one(&console, &viewer, id, None, Some(e.to_string())).await
        }
        Err(e) => Err(e.into()),
    }
}
