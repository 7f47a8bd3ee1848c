//! A face's thumbnail: the small JPEG the gallery keeps from enrolment, served only to
//! those who may see the account (another account's face is "not found").

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::gallery_account;
use crate::error::ConsoleError;
use crate::session::Viewer;
use crate::Console;

pub fn routes() -> Router<Arc<Console>> {
    Router::new().route("/a/{account}/faces/{file}", get(thumbnail))
}

/// `/a/{account}/faces/{face_id}.jpg`.
async fn thumbnail(
    State(console): State<Arc<Console>>,
    viewer: Viewer,
    Path((account, file)): Path<(i64, String)>,
) -> Result<Response, ConsoleError> {
    let account = viewer.account(&console, account).await?;
    // FaceIds are digits; anything else names no face.
    let Some(face) = file
        .strip_suffix(".jpg")
        .filter(|f| !f.is_empty() && f.len() <= 32 && f.bytes().all(|b| b.is_ascii_digit()))
    else {
        return Err(ConsoleError::NotFound);
    };
    let jpeg = console
        .app
        .gallery
        .thumbnail(
            &gallery_account(account)?,
            &gallery::FaceId::from_request(face),
        )
        .await?
        .ok_or(ConsoleError::NotFound)?;
    let mut r = ([(header::CONTENT_TYPE, "image/jpeg")], jpeg).into_response();
    let h = r.headers_mut();
    // A face is account data: kept by this browser only, never by a shared cache.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(r)
}
