//! The account's person groups: the list with their counts, creating one, deleting one.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use minijinja::context;
use serde_json::json;

use super::{audit_operator, call, gallery_account};
use crate::error::ConsoleError;
use crate::pages::{see_other, url_encode};
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/a/{account}/groups", get(list).post(create))
        .route(
            "/a/{account}/groups/{group}/delete",
            get(back_to_group).post(delete),
        )
}

/// A GET of the delete form's address (see `group::back_to_group`) shows the group.
async fn back_to_group(Path((account, group)): Path<(i64, String)>) -> Response {
    see_other(&super::group::group_path(account, &group))
}

/// The page shows at most this many groups (GetGroupList's largest page).
const MAX_LISTED: i64 = 1000;

#[derive(serde::Serialize)]
struct GroupRow {
    id: String,
    /// The group page's path (ids may hold `%`, `#`, `&`: encoded here).
    href: String,
    name: String,
    persons: u64,
    faces: u64,
    created_ms: i64,
}

/// A group as a choice in another page's form (moving a person, searching).
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupChoice {
    pub id: String,
    pub name: String,
}

/// The account's groups as choices, oldest first.
pub async fn group_choices(
    console: &Console,
    account: i64,
) -> Result<Vec<GroupChoice>, ConsoleError> {
    let listed = console
        .app
        .gallery
        .list_groups(&gallery_account(account)?, Some(0), Some(MAX_LISTED))
        .await?;
    Ok(listed
        .items
        .into_iter()
        .map(|g| GroupChoice {
            id: g.group_id.as_str().to_owned(),
            name: g.name,
        })
        .collect())
}

#[derive(serde::Deserialize, Default)]
struct Done {
    done: Option<String>,
}

async fn render(
    console: &Console,
    viewer: &Viewer,
    account: i64,
    done: Option<String>,
    error: Option<String>,
    form: (String, String),
) -> Result<Response, ConsoleError> {
    let listed = console
        .app
        .gallery
        .list_groups(&gallery_account(account)?, Some(0), Some(MAX_LISTED))
        .await?;
    let groups: Vec<GroupRow> = listed
        .items
        .into_iter()
        .map(|g| GroupRow {
            href: super::group::group_path(account, g.group_id.as_str()),
            id: g.group_id.as_str().to_owned(),
            name: g.name,
            persons: g.person_count,
            faces: g.face_count,
            created_ms: g.created_ms,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut r = page(
        console,
        viewer,
        "groups.html",
        "groups",
        Some(account),
        context! {
            groups => groups,
            total => listed.total,
            done => done,
            error => error,
            form_id => form.0,
            form_name => form.1,
        },
    )?;
    *r.status_mut() = status;
    Ok(r)
}

async fn list(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Query(q): Query<Done>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    render(&console, &viewer, account, q.done, None, Default::default()).await
}

#[derive(serde::Deserialize)]
struct NewGroup {
    group_id: String,
    group_name: String,
}

/// CreateGroup through the API; its refusal (id taken, bad characters…) re-renders the
/// form with the code and message.
async fn create(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path(account): Path<i64>,
    Form(form): Form<NewGroup>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    let (id, name) = (
        form.group_id.trim().to_owned(),
        form.group_name.trim().to_owned(),
    );
    audit_operator(
        &console,
        &viewer,
        account,
        "groups.create",
        &format!("CreateGroup {id}"),
    )
    .await?;
    let outcome = call(
        &console,
        &viewer,
        account,
        "CreateGroup",
        json!({ "GroupId": id, "GroupName": name }),
    )
    .await;
    if let Some(error) = outcome.error_line() {
        return render(&console, &viewer, account, None, Some(error), (id, name)).await;
    }
    Ok(see_other(&format!(
        "{}/a/{account}/groups/{}?done=created",
        crate::BASE,
        url_encode(&id)
    )))
}

/// DeleteGroup through the API: persons in no other group go with it.
async fn delete(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, group)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    // Another account's (or no) group is "not found", as for every object.
    super::group::find_group(&console, account, &group).await?;
    audit_operator(
        &console,
        &viewer,
        account,
        "groups.delete",
        &format!("DeleteGroup {group}"),
    )
    .await?;
    let outcome = call(
        &console,
        &viewer,
        account,
        "DeleteGroup",
        json!({ "GroupId": group }),
    )
    .await;
    if let Some(error) = outcome.error_line() {
        return render(
            &console,
            &viewer,
            account,
            None,
            Some(error),
            Default::default(),
        )
        .await;
    }
    Ok(see_other(&format!("{}/a/{account}/groups?done=deleted", crate::BASE)).into_response())
}
