//! The pages: one module per page or group of pages, each with its `routes()`.

mod accounts;
mod audit;
mod auth;
mod bills;
mod faces;
mod figures;
mod health;
mod keys;
mod notices;
mod overview;
mod packs;
mod quote;
mod sdk;
mod settings;
mod settlement;
mod usage;
mod users;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::Console;

/// Every page's routes, relative to [`crate::BASE`].
pub fn routes() -> Router<Arc<Console>> {
    Router::new()
        .merge(auth::routes())
        .merge(overview::routes())
        .merge(usage::routes())
        .merge(packs::routes())
        .merge(bills::routes())
        .merge(notices::routes())
        .merge(quote::routes())
        .merge(keys::routes())
        .merge(sdk::routes())
        .merge(accounts::routes())
        .merge(settlement::routes())
        .merge(health::routes())
        .merge(users::routes())
        .merge(audit::routes())
        .merge(faces::routes())
        .merge(settings::routes())
}

/// A 303 to `to` (after a form, the browser GETs the result: reloading does not resubmit).
pub fn see_other(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response()
}

/// Percent-encodes a string for a query value.
pub fn url_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A console path to return to after a form, or the console's start: never another site
/// (`//evil`, `https://…`) and never outside the console.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with(&format!("{}/", crate::BASE))
                && !n.starts_with("//")
                && !n.contains('\\')
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => format!("{}/", crate::BASE),
    }
}

/// The client's address, for the sign-in rate limit ("unknown" when the server was not
/// started with connection info).
pub struct ClientAddress(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_in_the_console() {
        assert_eq!(safe_next(Some("/console/a/1/bills")), "/console/a/1/bills");
        assert_eq!(safe_next(Some("//evil.example/console/")), "/console/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/console/");
        assert_eq!(safe_next(Some("/other")), "/console/");
        assert_eq!(safe_next(Some("/console/\\evil")), "/console/");
        assert_eq!(safe_next(None), "/console/");
    }
}
