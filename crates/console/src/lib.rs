//! The Renlian web console: pages for customers (usage, bills, packs, keys, person
//! groups, trying the API) and operators (accounts, settlement, health, users, audit),
//! served by `renlian serve` under [`BASE`] beside the API.
//!
//! What it is for: server-rendered HTML from templates embedded in the binary
//! (`templates/`, minijinja), English and Chinese catalogues (`i18n/`), console users
//! with argon2 passwords and database-backed sessions ([`users`]), the write guard (same
//! origin and a per-session CSRF token, [`session`]), and charts drawn as SVG
//! ([`chart`]). Every action works without JavaScript; the pages carry none.
//!
//! What it is not for: any rule of billing, the gallery or the API. Pages read and act
//! through `billing::Billing`, `gallery::Gallery` and the API's own action path (a call
//! tried from the console is metered like any other), never through their tables.

pub mod chart;
pub mod error;
pub mod i18n;
pub mod pages;
pub mod password;
pub mod render;
mod schema;
pub mod session;
pub mod users;

use std::sync::Arc;

use api::AppState;
use axum::routing::get;
use axum::Router;

pub use error::ConsoleError;
pub use users::{User, Users};

/// Where the console lives on the server.
pub const BASE: &str = "/console";

/// The console's state: the API's state (billing, gallery, keys, engines), its own
/// store, and the compiled templates.
pub struct Console {
    pub app: Arc<AppState>,
    pub users: Users,
    env: minijinja::Environment<'static>,
}

impl Console {
    /// Migrates the console's tables and compiles the templates.
    pub async fn open(app: Arc<AppState>) -> Result<Arc<Console>, ConsoleError> {
        let users = Users::open(app.pool.clone()).await?;
        Ok(Arc::new(Console {
            app,
            users,
            env: render::environment()?,
        }))
    }
}

/// The console's routes, all under [`BASE`], every write behind the guard.
pub fn router(console: Arc<Console>) -> Router {
    let pages = pages::routes()
        .route("/assets/console.css", get(render::stylesheet))
        .fallback(|| async { ConsoleError::NotFound })
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            session::guard_writes,
        ))
        .layer(axum::middleware::map_response(render::secure_headers))
        .with_state(console);
    Router::new()
        // `nest` matches `/console` but not `/console/`, which links and redirects (after
        // an invite, the default `next`) name: send it to the nested start page.
        .route(
            &format!("{BASE}/"),
            get(|| async { pages::see_other(BASE) }),
        )
        .nest(BASE, pages)
}
