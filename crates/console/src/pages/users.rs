//! Operator: console users. The list (account, e-mail, operator, invited or active), a
//! new user, and a fresh invite for an existing one. The one-time invite link is shown
//! in the answer to the POST that made it, like a new API key, and not kept anywhere
//! (the database has only its hash). Every write is audited.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;

use crate::error::ConsoleError;
use crate::render::page;
use crate::session::{is_https, Viewer};
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/operator/users", get(list).post(create))
        .route("/operator/users/{id}/invite", post(reinvite))
}

/// The invite link for this server as the browser reached it (its Host header, https
/// when the proxy says so).
fn invite_link(headers: &HeaderMap, token: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = if is_https(headers) { "https" } else { "http" };
    format!("{scheme}://{host}{}/invite/{token}", crate::BASE)
}

#[derive(Default)]
struct Shown {
    /// (e-mail, link) of an invite just made.
    invite: Option<(String, String)>,
    error: Option<String>,
    form: Option<CreateForm>,
}

async fn render(console: &Console, viewer: &Viewer, s: Shown) -> Result<Response, ConsoleError> {
    let users = console.users.list(None).await?;
    let failed = s.error.is_some();
    let (invite_email, invite_link) = s.invite.unzip();
    let mut r = page(
        console,
        viewer,
        "users.html",
        "users",
        None,
        context! {
            users => users,
            invite_email => invite_email,
            invite_link => invite_link,
            error => s.error,
            form_account => s.form.as_ref().map(|f| f.account.clone()),
            form_email => s.form.as_ref().map(|f| f.email.clone()),
            form_operator => s.form.as_ref().is_some_and(|f| f.operator.is_some()),
        },
    )?;
    if failed {
        *r.status_mut() = StatusCode::BAD_REQUEST;
    }
    Ok(r)
}

async fn list(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
) -> Result<Response, ConsoleError> {
    viewer.operator()?;
    render(&console, &viewer, Shown::default()).await
}

#[derive(serde::Deserialize, Clone)]
struct CreateForm {
    account: String,
    email: String,
    /// Present (any value) when the box is ticked.
    operator: Option<String>,
}

async fn create(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(f): Form<CreateForm>,
) -> Result<Response, ConsoleError> {
    let user = viewer.operator()?;
    let refuse = |message: String, f: CreateForm| Shown {
        error: Some(message),
        form: Some(f),
        ..Default::default()
    };
    let Ok(account) = f.account.trim().parse::<i64>() else {
        let msg = format!("{:?} is not an account number", f.account);
        return render(&console, &viewer, refuse(msg, f)).await;
    };
    match console.app.billing.account(account).await {
        Ok(_) => {}
        Err(billing::BillingError::UnknownAccount(_)) => {
            let msg = format!("there is no account {account}");
            return render(&console, &viewer, refuse(msg, f)).await;
        }
        Err(e) => return Err(e.into()),
    }
    let operator = f.operator.is_some();
    let (created, token) = match console.users.create(account, &f.email, operator).await {
        Ok(x) => x,
        Err(ConsoleError::Invalid(msg)) => return render(&console, &viewer, refuse(msg, f)).await,
        Err(e) => return Err(e),
    };
    let detail = format!(
        "account {account}{}",
        if operator { ", operator" } else { "" }
    );
    console
        .users
        .audit(user, "user.create", &created.email, &detail)
        .await?;
    let shown = Shown {
        invite: Some((created.email, invite_link(&headers, &token))),
        ..Default::default()
    };
    render(&console, &viewer, shown).await
}

async fn reinvite(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ConsoleError> {
    let user = viewer.operator()?;
    let target = console
        .users
        .user(id)
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let token = console.users.invite(target.id).await?;
    console
        .users
        .audit(
            user,
            "user.invite",
            &target.email,
            "a fresh invite; earlier ones stop working",
        )
        .await?;
    let shown = Shown {
        invite: Some((target.email, invite_link(&headers, &token))),
        ..Default::default()
    };
    render(&console, &viewer, shown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_links_name_the_host_and_scheme_asked() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "console.example:8600".parse().unwrap());
        assert_eq!(
            invite_link(&h, "abc"),
            "http://console.example:8600/console/invite/abc"
        );
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert_eq!(
            invite_link(&h, "abc"),
            "https://console.example:8600/console/invite/abc"
        );
    }
}
