//! The operator's settings: whether the gallery stores a small JPEG of each enrolled face
//! (the thumbnails the group pages show). Every change is audited.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;

use super::see_other;
use crate::error::ConsoleError;
use crate::render::page;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .route("/operator/settings", get(show))
        .route("/operator/settings/thumbnails", post(set_thumbnails))
}

#[derive(serde::Deserialize, Default)]
struct Done {
    done: Option<String>,
}

async fn show(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Query(q): Query<Done>,
) -> Result<Response, ConsoleError> {
    viewer.operator()?;
    let thumbnails = console.app.gallery.stores_thumbnails().await?;
    page(
        &console,
        &viewer,
        "settings.html",
        "settings",
        None,
        context! { thumbnails => thumbnails, done => q.done },
    )
}

#[derive(serde::Deserialize)]
struct ThumbnailsForm {
    /// "on" or "off".
    store: String,
}

async fn set_thumbnails(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Form(form): Form<ThumbnailsForm>,
) -> Result<Response, ConsoleError> {
    let user = viewer.operator()?;
    let on = match form.store.as_str() {
        "on" => true,
        "off" => false,
        other => {
            return Err(ConsoleError::Invalid(format!(
                "store must be \"on\" or \"off\", got {other:?}"
            )))
        }
    };
    let before = console.app.gallery.stores_thumbnails().await?;
    console.app.gallery.set_store_thumbnails(on).await?;
    console
        .users
        .audit(
            user,
            "settings.thumbnails",
            "gallery",
            &format!("store face thumbnails: {} → {}", onoff(before), onoff(on)),
        )
        .await?;
    Ok(see_other(&format!(
        "{}/operator/settings?done=saved",
        crate::BASE
    )))
}

fn onoff(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}
