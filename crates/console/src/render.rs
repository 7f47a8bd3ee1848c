//! Pages from templates embedded in the binary (minijinja), with what every page needs
//! in its context: the catalogue `t`, the language, the signed-in user, the CSRF token,
//! the navigation.

use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse, Response};
use minijinja::{context, Environment, Value};

use crate::error::ConsoleError;
use crate::i18n::{self, Lang};
use crate::session::Viewer;

/// Every template: (name, source). Add a page's template here.
const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../templates/layout.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("login.html", include_str!("../templates/login.html")),
    ("invite.html", include_str!("../templates/invite.html")),
    ("overview.html", include_str!("../templates/overview.html")),
    ("groups.html", include_str!("../templates/groups.html")),
    ("group.html", include_str!("../templates/group.html")),
    ("try.html", include_str!("../templates/try.html")),
    ("settings.html", include_str!("../templates/settings.html")),
    ("usage.html", include_str!("../templates/usage.html")),
    ("packs.html", include_str!("../templates/packs.html")),
    ("bills.html", include_str!("../templates/bills.html")),
    ("bill.html", include_str!("../templates/bill.html")),
    ("notices.html", include_str!("../templates/notices.html")),
    ("quote.html", include_str!("../templates/quote.html")),
    ("keys.html", include_str!("../templates/keys.html")),
    ("sdk.html", include_str!("../templates/sdk.html")),
    ("accounts.html", include_str!("../templates/accounts.html")),
    ("account.html", include_str!("../templates/account.html")),
    (
        "settlement.html",
        include_str!("../templates/settlement.html"),
    ),
    ("health.html", include_str!("../templates/health.html")),
    ("users.html", include_str!("../templates/users.html")),
    ("audit.html", include_str!("../templates/audit.html")),
];

pub fn environment() -> Result<Environment<'static>, ConsoleError> {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    // Every page is HTML: escape everything not marked safe.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_filter("datetime", format_time);
    env.add_filter("date", format_date);
    Ok(env)
}

/// Microseconds since the epoch, as "2026-12-07 04:15 UTC".
fn format_time(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

fn format_date(us: i64) -> String {
    chrono::DateTime::from_timestamp_micros(us)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// One entry of the navigation.
#[derive(serde::Serialize)]
struct NavItem {
    key: &'static str,
    href: String,
}

/// Customer pages, in menu order: (catalogue key under `common.nav`, path under the
/// account).
pub const CUSTOMER_PAGES: &[&str] = &[
    "overview", "usage", "packs", "bills", "notices", "keys", "groups", "try", "sdk", "quote",
];

/// Operator pages, in menu order, under `/operator/`.
pub const OPERATOR_PAGES: &[&str] = &[
    "accounts",
    "settlement",
    "health",
    "users",
    "audit",
    "settings",
];

fn nav(viewer: &Viewer, account: Option<i64>) -> (Vec<NavItem>, Vec<NavItem>) {
    let account = account.unwrap_or(viewer.user().account);
    let customer = CUSTOMER_PAGES
        .iter()
        .map(|key| NavItem {
            key,
            href: format!("{}/a/{account}/{key}", crate::BASE),
        })
        .collect();
    let operator = if viewer.user().operator {
        OPERATOR_PAGES
            .iter()
            .map(|key| NavItem {
                key,
                href: format!("{}/operator/{key}", crate::BASE),
            })
            .collect()
    } else {
        Vec::new()
    };
    (customer, operator)
}

/// Headers every console response carries (pages, errors, downloads): no caching of
/// account data unless the handler chose otherwise, no framing, no scripts from anywhere
/// (the console has none), no inline styles.
pub async fn secure_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    let defaults = [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    ];
    for (name, value) in defaults {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

/// A signed-in page. `page` is its key in the navigation (`overview`, `accounts`…);
/// `account` the account it shows, if any; `ctx` the page's own values.
pub fn page(
    console: &crate::Console,
    viewer: &Viewer,
    template: &str,
    page: &str,
    account: Option<i64>,
    ctx: Value,
) -> Result<Response, ConsoleError> {
    let (customer_nav, operator_nav) = nav(viewer, account);
    let user = viewer.user();
    let base = context! {
        t => i18n::catalogue(viewer.lang),
        lang => viewer.lang.code(),
        html_lang => viewer.lang.html(),
        base => crate::BASE,
        user => context! { email => &user.email, operator => user.operator, account => user.account },
        csrf => viewer.csrf(),
        account => account,
        page => page,
        request_path => &viewer.path,
        customer_nav => customer_nav,
        operator_nav => operator_nav,
    };
    let html = console
        .env
        .get_template(template)?
        .render(context! { ..ctx, ..base })?;
    Ok(Html(html).into_response())
}

/// A page shown before sign-in (login, invite).
pub fn public_page(
    console: &crate::Console,
    lang: Lang,
    template: &str,
    ctx: Value,
) -> Result<Response, ConsoleError> {
    let base = context! {
        t => i18n::catalogue(lang),
        lang => lang.code(),
        html_lang => lang.html(),
        base => crate::BASE,
        request_path => format!("{}/login", crate::BASE),
    };
    let html = console
        .env
        .get_template(template)?
        .render(context! { ..ctx, ..base })?;
    Ok(Html(html).into_response())
}

/// The console's stylesheet, embedded.
pub async fn stylesheet() -> Response {
    let mut r = (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/console.css"),
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}
