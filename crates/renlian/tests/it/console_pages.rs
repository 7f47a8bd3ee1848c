//! The web console on a live `renlian serve`: users from invites, every page for each
//! role, accounts kept apart, the write guard, sessions and the sign-in limit. On SQLite
//! and PostgreSQL.

use reqwest::StatusCode;

use crate::billing_support::{Backend, Env};
use crate::console_support::{account, invite, signed_in, Visitor, PASSWORD};
use crate::serve_support::{small_photo_b64, Client, Serve};

/// Two customers of two accounts and an operator, signed in.
struct World {
    e: Env,
    server: Serve,
    acme: i64,
    other: i64,
    customer: Visitor,
    rival: Visitor,
    operator: Visitor,
}

async fn world(backend: Backend) -> World {
    let e = Env::new(backend).await;
    let acme = account(&e, "acme");
    let other = account(&e, "other");
    let server = Serve::start(&e, 0);
    let customer = signed_in(&e, server.addr, acme, "ann@acme.test", false).await;
    let rival = signed_in(&e, server.addr, other, "bob@other.test", false).await;
    let operator = signed_in(&e, server.addr, acme, "ops@renlian.test", true).await;
    World {
        e,
        server,
        acme,
        other,
        customer,
        rival,
        operator,
    }
}

async fn every_page_renders_for_each_role(backend: Backend) {
    let mut w = world(backend).await;
    // `/console/` and `/console` both lead to the user's overview.
    let slash = w.customer.get("/console/").await;
    assert_eq!(slash.status, StatusCode::SEE_OTHER);
    assert_eq!(slash.location(), "/console");
    let start = w.customer.get("/console").await;
    assert_eq!(start.status, StatusCode::SEE_OTHER);
    assert_eq!(start.location(), format!("/console/a/{}/overview", w.acme));
    for key in console::render::CUSTOMER_PAGES {
        for lang in ["en", "zh"] {
            let path = format!("/console/a/{}/{key}", w.acme);
            let origin = format!("http://{}", w.server.addr);
            let switched = w
                .customer
                .post_raw(
                    "/console/lang",
                    &[("lang", lang), ("next", &path)],
                    Some(&origin),
                )
                .await;
            assert_eq!(switched.status, StatusCode::SEE_OTHER);
            let lang_cookie = switched
                .headers
                .get("set-cookie")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            assert!(
                lang_cookie.starts_with(&format!("renlian_lang={lang}")),
                "{lang_cookie}"
            );
        }
        let path = format!("/console/a/{}/{key}", w.acme);
        let page = w.customer.page(&path).await;
        assert!(page.body.contains("<h1"), "{path}: {}", page.body);
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert_eq!(page.headers["cache-control"], "no-store", "{path}");
        assert!(page.body.contains("ann@acme.test"), "{path}");
        // An operator sees any account's pages.
        w.operator
            .page(&format!("/console/a/{}/{key}", w.other))
            .await;
        // Another account's page is not found, not forbidden.
        let other = w
            .customer
            .get(&format!("/console/a/{}/{key}", w.other))
            .await;
        assert_eq!(
            other.status,
            StatusCode::NOT_FOUND,
            "{key} of another account"
        );
        let missing = w.operator.get(&format!("/console/a/999999/{key}")).await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{key} of no account");
    }
    for key in console::render::OPERATOR_PAGES {
        let path = format!("/console/operator/{key}");
        let page = w.operator.page(&path).await;
        assert!(page.body.contains("<h1"), "{path}");
        assert_eq!(
            w.customer.get(&path).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // An unknown console path is the console's 404 page, with the same headers.
    let nowhere = w.customer.get("/console/no/such/page").await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    assert!(nowhere.body.contains("<h1>404"), "{}", nowhere.body);
    assert!(nowhere.headers.contains_key("content-security-policy"));
    // Signed out, every page sends the browser to sign in and back.
    let mut stranger = Visitor::new(w.server.addr);
    let p = stranger
        .get(&format!("/console/a/{}/overview", w.acme))
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(
        p.location(),
        format!("/console/login?next=%2Fconsole%2Fa%2F{}%2Foverview", w.acme)
    );
    w.server.kill();
    w.e.close().await;
}

async fn writes_need_the_token_and_the_origin(backend: Backend) {
    let mut w = world(backend).await;
    let origin = format!("http://{}", w.server.addr);
    let from = format!("/console/a/{}/overview", w.acme);
    let token = w.customer.page(&from).await.csrf();
    // No token.
    let p = w
        .customer
        .post_raw("/console/logout", &[], Some(&origin))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Another session's token.
    let rival_token = w
        .rival
        .page(&format!("/console/a/{}/overview", w.other))
        .await
        .csrf();
    assert_ne!(rival_token, token);
    let p = w
        .customer
        .post_raw("/console/logout", &[("_csrf", &rival_token)], Some(&origin))
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // The right token from another site, or with no origin at all.
    let p = w
        .customer
        .post_raw(
            "/console/logout",
            &[("_csrf", &token)],
            Some("http://evil.test"),
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = w
        .customer
        .post_raw("/console/logout", &[("_csrf", &token)], None)
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Still signed in after all that.
    w.customer.page(&from).await;
    // The real thing signs out, and the old cookie no longer works.
    let cookie = w.customer.cookie.clone();
    let p = w.customer.post(&from, "/console/logout", &[]).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let mut replay = Visitor::new(w.server.addr);
    replay.cookie = cookie;
    assert_eq!(replay.get(&from).await.status, StatusCode::SEE_OTHER);
    w.server.kill();
    w.e.close().await;
}

async fn sessions_and_sign_in_limit(backend: Backend) {
    let mut w = world(backend).await;
    let origin = format!("http://{}", w.server.addr);
    let from = format!("/console/a/{}/overview", w.acme);
    // A second browser of the same user, then "sign out everywhere" from the first.
    let mut second = Visitor::new(w.server.addr);
    let p = second
        .post_raw(
            "/console/login",
            &[
                ("email", "Ann@Acme.test "),
                ("password", PASSWORD),
                ("next", &from),
            ],
            Some(&origin),
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location(), from);
    let cookie = p
        .headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    second.page(&from).await;
    let p = w
        .customer
        .post(&from, "/console/logout-everywhere", &[])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    assert_eq!(second.get(&from).await.status, StatusCode::SEE_OTHER);
    // A login form naming another site as `next` stays in the console.
    let mut third = Visitor::new(w.server.addr);
    let p = third
        .post_raw(
            "/console/login",
            &[
                ("email", "ann@acme.test"),
                ("password", PASSWORD),
                ("next", "//evil.test/"),
            ],
            Some(&origin),
        )
        .await;
    assert_eq!(p.location(), "/console/");
    // Five wrong passwords lock the address out for a while, even with the right one.
    let mut guesser = Visitor::new(w.server.addr);
    for _ in 0..5 {
        let p = guesser
            .post_raw(
                "/console/login",
                &[("email", "bob@other.test"), ("password", "wrong password")],
                Some(&origin),
            )
            .await;
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
    }
    let p = guesser
        .post_raw(
            "/console/login",
            &[("email", "bob@other.test"), ("password", PASSWORD)],
            Some(&origin),
        )
        .await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(guesser.cookie.is_none());
    // An invite works once.
    let link = invite(&w.e, w.server.addr, w.other, "cat@other.test", false);
    let mut cat = Visitor::new(w.server.addr);
    cat.accept_invite(&link, PASSWORD).await;
    let path = link
        .split_once(&w.server.addr.to_string())
        .unwrap()
        .1
        .to_string();
    assert_eq!(
        Visitor::new(w.server.addr).get(&path).await.status,
        StatusCode::NOT_FOUND
    );
    w.server.kill();
    w.e.close().await;
}

/// The overview's calls-per-day table (the daily roll-up) counts API calls as they are
/// made, on the account's today.
async fn overview_counts_todays_calls(backend: Backend) {
    let mut w = world(backend).await;
    let path = format!("/console/a/{}/overview", w.acme);
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let calls_today = |body: &str| -> u64 {
        let marker = format!("<tr data-day=\"{today}\">");
        let row = &body[body
            .find(&marker)
            .unwrap_or_else(|| panic!("no row for {today}: {body}"))..];
        let open = "class=\"num calls\">";
        let cell = &row[row.find(open).unwrap() + open.len()..];
        cell[..cell.find('<').unwrap()].parse().unwrap()
    };
    let before = calls_today(&w.customer.page(&path).await.body);
    assert_eq!(before, 0);
    assert!(w
        .customer
        .page(&path)
        .await
        .body
        .contains("id=\"calls-per-day\""));
    let client = Client::for_account(&w.e, w.server.addr, w.acme);
    let image = small_photo_b64();
    for _ in 0..2 {
        client
            .ok("DetectFace", serde_json::json!({ "Image": image }))
            .await;
    }
    assert_eq!(calls_today(&w.customer.page(&path).await.body), 2);
    // The other account's overview did not move.
    let other = format!("/console/a/{}/overview", w.other);
    assert_eq!(calls_today(&w.rival.page(&other).await.body), 0);
    w.server.kill();
    w.e.close().await;
}

#[tokio::test]
async fn console_overview_counts_calls_sqlite() {
    overview_counts_todays_calls(Backend::Sqlite).await;
}

#[tokio::test]
async fn console_overview_counts_calls_postgres() {
    overview_counts_todays_calls(Backend::Postgres).await;
}

#[tokio::test]
async fn console_pages_sqlite() {
    every_page_renders_for_each_role(Backend::Sqlite).await;
}

#[tokio::test]
async fn console_pages_postgres() {
    every_page_renders_for_each_role(Backend::Postgres).await;
}

#[tokio::test]
async fn console_write_guard_sqlite() {
    writes_need_the_token_and_the_origin(Backend::Sqlite).await;
}

#[tokio::test]
async fn console_write_guard_postgres() {
    writes_need_the_token_and_the_origin(Backend::Postgres).await;
}

#[tokio::test]
async fn console_sessions_sqlite() {
    sessions_and_sign_in_limit(Backend::Sqlite).await;
}

#[tokio::test]
async fn console_sessions_postgres() {
    sessions_and_sign_in_limit(Backend::Postgres).await;
}
