//! The account's API keys: list (with when each was last used), create, disable, rotate.
//!
//! A new SecretKey is shown once, in the answer to the POST that made it: it is never
//! put in a URL (a redirect would need one, or would have to keep the secret somewhere
//! to show it after the redirect), never stored in clear and never logged. Reloading
//! that answer asks the browser to post again, which makes another key; the page says
//! so. Keys are looked up within the account: another account's SecretId is not found.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use minijinja::context;

use crate::error::ConsoleError;
use crate::pages::see_other;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/a/{account}/keys", get(keys_page).post(create))
        .route("/a/{account}/keys/{secret_id}/disable", post(disable))
        .route("/a/{account}/keys/{secret_id}/rotate", post(rotate))
}

#[derive(serde::Deserialize)]
struct Done {
    done: Option<String>,
}

/// Renders the keys page, with a freshly made pair when there is one.
async fn render(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    new_key: Option<api::NewKey>,
    replaced: Option<&str>,
    done: Option<&str>,
) -> Result<Response, ConsoleError> {
    let keys = console.app.auth.keys.list(Some(account)).await?;
    page(
        console,
        viewer,
        "keys.html",
        "keys",
        Some(account),
        context! {
            keys => keys,
            new_key => new_key,
            replaced => replaced,
            done => done,
        },
    )
}

async fn keys_page(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Query(q): Query<Done>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let done = q.done.filter(|d| d == "disabled");
    render(&console, &viewer, account, None, None, done.as_deref()).await
}

/// An operator acting on an account's keys leaves a line in the audit log.
async fn audit(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    action: &str,
    secret_id: &str,
) -> Result<(), ConsoleError> {
    if viewer.user().operator {
        let target = format!("account {account}");
        console
            .users
            .audit(viewer.user(), action, &target, secret_id)
            .await?;
    }
    Ok(())
}

async fn create(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let key = console.app.auth.keys.create(account).await?;
    audit(&console, &viewer, account, "key.create", &key.secret_id).await?;
    render(&console, &viewer, account, Some(key), None, None).await
}

/// The key, if it is one of `account`'s; otherwise not found (whoever's it is).
async fn own_key(
    console: &Console,
    account: i64,
    secret_id: &str,
) -> Result<api::KeyInfo, ConsoleError> {
    console
        .app
        .auth
        .keys
        .list(Some(account))
        .await?
        .into_iter()
        .find(|k| k.secret_id == secret_id)
        .ok_or(ConsoleError::NotFound)
}

async fn disable(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, secret_id)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let key = own_key(&console, account, &secret_id).await?;
    console.app.auth.keys.disable(&key.secret_id).await?;
    audit(&console, &viewer, account, "key.disable", &key.secret_id).await?;
    Ok(see_other(&format!(
        "{}/a/{account}/keys?done=disabled",
        crate::BASE
    )))
}

async fn rotate(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, secret_id)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let old = own_key(&console, account, &secret_id).await?;
    if !old.enabled {
        return Err(ConsoleError::Invalid(format!(
            "{} is disabled already; create a new key instead",
            old.secret_id
        )));
    }
    let key = console.app.auth.keys.rotate(&old.secret_id).await?;
    let detail = format!("{} → {}", old.secret_id, key.secret_id);
    audit(&console, &viewer, account, "key.rotate", &detail).await?;
    render(
        &console,
        &viewer,
        account,
        Some(key),
        Some(&old.secret_id),
        None,
    )
    .await
}
