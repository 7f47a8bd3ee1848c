//! The console's API-key, offline-SDK and operator pages on a live `renlian serve`: a key
//! made on the page signs API calls and is shown once, rotation and disabling refuse
//! the old key, other accounts' keys are not found, last use is shown; operator top-ups
//! are exact and audited, customers cannot reach operator URLs, the settlement preview
//! writes nothing and equals the run; an SDK trial from the page verifies offline and a
//! double-submitted order buys once; console users from the operator page.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::billing_support::{Backend, Env};
use crate::console_support::{account, between, signed_in, unescape, Page, Visitor, PASSWORD};
use crate::serve_support::{Client, Serve};

/// The pair a keys page shows once after creating or rotating.
fn new_pair(page: &Page) -> (String, String) {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    (
        between(&page.body, "<code id=\"new-secret-id\">", "</code>").to_string(),
        between(&page.body, "<code id=\"new-secret-key\">", "</code>").to_string(),
    )
}

fn client(server: &Serve, (id, key): &(String, String)) -> Client {
    Client {
        http: reqwest::Client::new(),
        addr: server.addr,
        secret_id: id.clone(),
        secret_key: key.clone(),
    }
}

fn error_code(r: &Value) -> String {
    r["Error"]["Code"].as_str().unwrap_or_default().to_string()
}

/// The "last used" cell of a key's row on the keys page.
fn last_used(page: &Page, secret_id: &str) -> String {
    let row = between(
        &page.body,
        &format!("<tr data-secret-id=\"{secret_id}\">"),
        "</tr>",
    );
    between(row, "<td class=\"last-used\">", "</td>").to_string()
}

/// The key's `enabled` flag as `renlian key list` reports it.
fn enabled(e: &Env, account: i64, secret_id: &str) -> bool {
    let list = e.json(&["key", "list", "--account", &account.to_string()]);
    list.as_array()
        .unwrap()
        .iter()
        .find(|k| k["secret_id"] == secret_id)
        .unwrap_or_else(|| panic!("{secret_id} not listed: {list}"))["enabled"]
        .as_bool()
        .unwrap()
}

async fn keys_on_the_page(backend: Backend) {
    let e = Env::new(backend).await;
    let acme = account(&e, "acme");
    let other = account(&e, "other");
    let server = Serve::start(&e, 0);
    let mut ann = signed_in(&e, server.addr, acme, "ann@acme.test", false).await;
    let mut bob = signed_in(&e, server.addr, other, "bob@other.test", false).await;
    let keys = format!("/console/a/{acme}/keys");

    // Created on the page: the SecretKey appears once, and signs calls.
    let created = ann.post(&keys, &keys, &[]).await;
    let pair = new_pair(&created);
    assert!(pair.0.starts_with("AKID") && pair.1.len() >= 32, "{pair:?}");
    assert_eq!(created.body.matches(&pair.1).count(), 1);
    assert!(!created.headers.contains_key("location"));
    let first = client(&server, &pair);
    first.ok("GetGroupList", json!({})).await;

    // Listed afterwards without its SecretKey; last use appears (written off the
    // request's path, so give it a moment).
    let mut listed = ann.page(&keys).await;
    assert!(
        !listed.body.contains(&pair.1),
        "the SecretKey is shown again"
    );
    assert!(listed
        .body
        .contains(&format!("<tr data-secret-id=\"{}\">", pair.0)));
    for _ in 0..50 {
        if last_used(&listed, &pair.0).contains("UTC") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        listed = ann.page(&keys).await;
    }
    let used = last_used(&listed, &pair.0);
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(used.contains(&today) && used.contains("UTC"), "{used}");

    // Another account's key id, on that account's own URLs or on the key's: not found,
    // and nothing changes.
    let bob_keys = format!("/console/a/{other}/keys");
    for action in ["disable", "rotate"] {
        let r = bob
            .post(&bob_keys, &format!("{bob_keys}/{}/{action}", pair.0), &[])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}: {}", r.body);
        let r = bob
            .post(&bob_keys, &format!("{keys}/{}/{action}", pair.0), &[])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{action}: {}", r.body);
    }
    assert!(enabled(&e, acme, &pair.0));
    assert!(!bob.page(&bob_keys).await.body.contains(&pair.0));
    first.ok("GetGroupList", json!({})).await;

    // Rotated: the new pair is shown once, the old key is refused, the new one works.
    let rotated = ann
        .post(&keys, &format!("{keys}/{}/rotate", pair.0), &[])
        .await;
    let new = new_pair(&rotated);
    assert_ne!(new.0, pair.0);
    let refused = first.call("GetGroupList", &json!({})).await.unwrap();
    assert!(error_code(&refused).starts_with("AuthFailure"), "{refused}");
    let second = client(&server, &new);
    second.ok("GetGroupList", json!({})).await;
    assert!(!enabled(&e, acme, &pair.0));
    assert!(!ann.page(&keys).await.body.contains(&new.1));

    // Disabled: refused from then on.
    let done = ann
        .post(&keys, &format!("{keys}/{}/disable", new.0), &[])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{keys}?done=disabled"));
    let refused = second.call("GetGroupList", &json!({})).await.unwrap();
    assert!(error_code(&refused).starts_with("AuthFailure"), "{refused}");
    assert!(!enabled(&e, acme, &new.0));

    server.kill();
    e.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_on_the_page_sqlite() {
    keys_on_the_page(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_on_the_page_postgres() {
    keys_on_the_page(Backend::Postgres).await;
}

/// Money and state of an account, as `renlian account show` gives them.
fn money(e: &Env, account: i64) -> (String, String) {
    let v = e.json(&["account", "show", &account.to_string()]);
    (
        v["balance"].as_str().unwrap().to_string(),
        v["frozen"].as_str().unwrap().to_string(),
    )
}

fn bill(e: &Env, account: i64, month: &str) -> Value {
    e.json(&["bill", "--account", &account.to_string(), "--month", month])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_pages() {
    let e = Env::new(Backend::Sqlite).await;
    let acme = account(&e, "acme");
    let other = account(&e, "other");
    // Usage in a month long over, to settle from the console.
    e.json(&[
        "usage",
        "record",
        "--account",
        &acme.to_string(),
        "--item",
        "detect",
        "--calls",
        "250000",
        "--at",
        "2026-10-15T04:00:00Z",
    ]);
    let server = Serve::start(&e, 0);
    let mut ann = signed_in(&e, server.addr, acme, "ann@acme.test", false).await;
    let mut ops = signed_in(&e, server.addr, acme, "ops@renlian.test", true).await;
    let account_page = format!("/console/operator/accounts/{acme}");
    let top_up = format!("{account_page}/top-up");

    // A customer reaches no operator page or action.
    let keys = format!("/console/a/{acme}/keys");
    for path in [
        "/console/operator/accounts",
        "/console/operator/settlement",
        "/console/operator/health",
        "/console/operator/users",
        "/console/operator/audit",
        account_page.as_str(),
    ] {
        assert_eq!(ann.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let r = ann
        .post(
            &keys,
            &top_up,
            &[("amount", "5"), ("client_token", "t-ann")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = ann
        .post(
            &keys,
            "/console/operator/settlement",
            &[("month", "2026-10")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(money(&e, acme), ("0.00".into(), "0.00".into()));

    // Top-ups: exactly the amount, refused when not a positive amount in fen.
    let list = ops.page("/console/operator/accounts").await;
    assert!(unescape(&list.body).contains(&format!("href=\"/console/a/{acme}/overview\"")));
    assert!(list.body.contains(&format!("data-account-id=\"{other}\"")));
    for bad in ["-5", "0", "1.001", "ten"] {
        let r = ops
            .post(
                &account_page,
                &top_up,
                &[("amount", bad), ("client_token", "t-bad")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
        assert!(r.body.contains("role=\"alert\""), "{bad}");
    }
    assert_eq!(money(&e, acme), ("0.00".into(), "0.00".into()));
    // The form carries a ClientToken per rendering: the same form sent twice (a double
    // click, a resend after a timeout) tops up once; another amount under its token is
    // refused; a fresh rendering has a fresh token.
    let form = ops.page(&account_page).await;
    let token = between(&form.body, "name=\"client_token\" value=\"", "\"").to_string();
    assert_ne!(
        token,
        between(
            &ops.page(&account_page).await.body,
            "name=\"client_token\" value=\"",
            "\""
        )
    );
    for _ in 0..2 {
        let r = ops
            .post(
                &account_page,
                &top_up,
                &[("amount", "20000.07"), ("client_token", token.as_str())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(money(&e, acme), ("20000.07".into(), "0.00".into()));
    }
    let r = ops
        .post(
            &account_page,
            &top_up,
            &[("amount", "1.00"), ("client_token", token.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("already used for a top-up"), "{}", r.body);
    assert_eq!(money(&e, acme), ("20000.07".into(), "0.00".into()));
    let shown = ops.page(&account_page).await;
    assert!(shown
        .body
        .contains("<dd id=\"account-balance\">¥20000.07</dd>"));

    // Contacts for notices.
    let r = ops
        .post(
            &account_page,
            &format!("{account_page}/contact"),
            &[("email", "billing@acme.test"), ("phone", "+8613800000000")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v = e.json(&["account", "show", &acme.to_string()]);
    assert_eq!(
        (v["email"].as_str(), v["phone"].as_str()),
        (Some("billing@acme.test"), Some("+8613800000000"))
    );

    // The audit page shows the operator's writes, newest first.
    let audit = ops.page("/console/operator/audit").await;
    let top = audit.body.find("account.top-up").expect("top-up audited");
    let contact = audit.body.find("account.contact").expect("contact audited");
    assert!(contact < top, "newest first");
    assert!(audit.body.contains("+20000.07 CNY"));
    assert!(audit.body.contains("ops@renlian.test"));

    // Settlement: the preview writes nothing and equals what the run settles.
    let before = (money(&e, acme), bill(&e, acme, "2026-10"));
    assert_eq!(before.1["status"], "closed");
    let preview = ops.page("/console/operator/settlement?month=2026-10").await;
    let preview_total = between(&preview.body, "<dd id=\"preview-total\">", "</dd>");
    let preview_settled = between(&preview.body, "<dd id=\"preview-settled\">", "</dd>");
    assert_eq!(preview_settled, "2");
    assert_eq!(
        preview_total,
        format!("¥{}", before.1["total"].as_str().unwrap())
    );
    assert_ne!(preview_total, "¥0.00");
    assert_eq!((money(&e, acme), bill(&e, acme, "2026-10")).0, before.0);
    assert_eq!(bill(&e, acme, "2026-10")["status"], "closed");
    let run = ops
        .post(
            "/console/operator/settlement?month=2026-10",
            "/console/operator/settlement",
            &[("month", "2026-10")],
        )
        .await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.body);
    assert_eq!(
        between(&run.body, "<dd id=\"run-total\">", "</dd>"),
        preview_total
    );
    assert_eq!(
        between(&run.body, "<dd id=\"run-settled\">", "</dd>"),
        preview_settled
    );
    let settled = bill(&e, acme, "2026-10");
    assert_eq!(settled["status"], "settled");
    assert_eq!(
        format!("¥{}", settled["total"].as_str().unwrap()),
        preview_total
    );
    assert!(ops
        .page("/console/operator/audit")
        .await
        .body
        .contains("settlement.run"));
    // The month still running cannot be settled: billing's refusal, shown.
    let tz = billing::time::parse_tz("Asia/Shanghai").unwrap();
    let this_month = billing::Month::of(chrono::Utc::now(), tz).to_string();
    let early = ops
        .post(
            "/console/operator/settlement",
            "/console/operator/settlement",
            &[("month", &this_month)],
        )
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST, "{}", early.body);
    assert!(
        early.body.contains("cannot be settled before"),
        "{}",
        early.body
    );

    // The customer pages of this change render for an operator on any account, in
    // both languages.
    let session = ops.cookie.clone().unwrap();
    for (lang, html_lang) in [("zh", "zh-CN"), ("en", "en")] {
        for key in ["keys", "sdk"] {
            let page = reqwest::Client::new()
                .get(ops.url(&format!("/console/a/{other}/{key}")))
                .header(
                    "cookie",
                    format!("renlian_session={session}; renlian_lang={lang}"),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(page.status(), StatusCode::OK, "{key} in {lang}");
            let body = page.text().await.unwrap();
            assert!(
                body.contains(&format!("<html lang=\"{html_lang}\">")),
                "{key}"
            );
            assert!(body.contains("<h1>"), "{key}");
        }
    }

    // An operator's trial on a customer's behalf is audited.
    let other_sdk = format!("/console/a/{other}/sdk");
    let r = ops
        .post(
            &other_sdk,
            &format!("{other_sdk}/trial"),
            &[("sdk", "search"), ("package", "com.other.app")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let audit = ops.page("/console/operator/audit").await;
    assert!(audit.body.contains("sdk.trial"));
    assert!(audit.body.contains(&format!("account {other}")));

    // Health renders its figures.
    let health = ops.page("/console/operator/health").await;
    assert!(health.body.contains("id=\"calls-per-second\""));
    assert!(health.body.contains("<dd id=\"pending-enrolments\">0</dd>"));

    // Console users: the invite link shown once works, and the write is audited.
    let users = "/console/operator/users";
    let made = ops
        .post(
            users,
            users,
            &[("account", &other.to_string()), ("email", "cy@other.test")],
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let link = unescape(between(&made.body, "<code id=\"invite-link\">", "</code>"));
    assert!(
        link.starts_with(&format!("http://{}/console/invite/", server.addr)),
        "{link}"
    );
    let mut cy = Visitor::new(server.addr);
    cy.accept_invite(&link, PASSWORD).await;
    cy.page(&format!("/console/a/{other}/overview")).await;
    assert!(!unescape(&ops.page(users).await.body).contains(&link));
    assert!(ops
        .page("/console/operator/audit")
        .await
        .body
        .contains("user.create"));

    // A fresh invite replaces the first one; the operator box makes an operator.
    let made = ops
        .post(
            users,
            users,
            &[
                ("account", &other.to_string()),
                ("email", "dee@other.test"),
                ("operator", "1"),
            ],
        )
        .await;
    let first = unescape(between(&made.body, "<code id=\"invite-link\">", "</code>"));
    let list = ops.page(users).await;
    let row = list.body.find(">dee@other.test<").unwrap();
    let marker = "<tr data-user-id=\"";
    let at = list.body[..row].rfind(marker).unwrap() + marker.len();
    let uid = &list.body[at..at + list.body[at..].find('"').unwrap()];
    let again = ops
        .post(users, &format!("/console/operator/users/{uid}/invite"), &[])
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    let second = unescape(between(&again.body, "<code id=\"invite-link\">", "</code>"));
    assert_ne!(first, second);
    let old_path = first.split_once(&server.addr.to_string()).unwrap().1;
    assert_eq!(ops.get(old_path).await.status, StatusCode::NOT_FOUND);
    let mut dee = Visitor::new(server.addr);
    dee.accept_invite(&second, PASSWORD).await;
    let audit = dee.page("/console/operator/audit").await;
    assert!(audit.body.contains("user.invite"));

    server.kill();
    e.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_sdk_page() {
    let e = Env::new(Backend::Sqlite).await;
    let acme = account(&e, "acme");
    let other = account(&e, "other");
    e.json(&["account", "topup", &acme.to_string(), "20000"]);
    let server = Serve::start(&e, 0);
    let mut ann = signed_in(&e, server.addr, acme, "ann@acme.test", false).await;
    let mut bob = signed_in(&e, server.addr, other, "bob@other.test", false).await;
    let sdk = format!("/console/a/{acme}/sdk");

    // The tiered price of a quantity, before buying.
    let quote = ann.page(&format!("{sdk}?sdk=detect&devices=1200")).await;
    assert!(quote.body.contains("id=\"sdk-quote\""), "{}", quote.body);
    assert!(quote.body.contains("¥285600.00"), "1200 × 238");

    // A platform trial: its licence file downloads and verifies offline.
    let r = ann
        .post(
            &sdk,
            &format!("{sdk}/trial"),
            &[
                ("sdk", "detect"),
                ("package", "com.acme.gate"),
                ("requests", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("{sdk}?done=trial"));
    let id = format!("trial-{acme}-detect");
    let page = ann.page(&sdk).await;
    assert!(page.body.contains(&format!("data-licence-id=\"{id}\"")));
    let file = ann.get(&format!("{sdk}/licences/{id}.lic")).await;
    assert_eq!(file.status, StatusCode::OK);
    assert!(file
        .headers
        .get("content-disposition")
        .unwrap()
        .to_str()
        .unwrap()
        .contains(&format!("{id}.lic")));
    assert!(file.body.contains("BEGIN RENLIAN LICENCE"), "{}", file.body);
    let path = e.dir.path().join("trial.lic");
    std::fs::write(&path, &file.body).unwrap();
    let path = path.to_str().unwrap();
    e.json(&["license", "verify", path, "--package", "com.acme.gate"]);
    let wrong = e.fails(&["license", "verify", path, "--package", "com.other.app"]);
    assert!(!wrong.is_empty());
    // Another account's licence is not found, on its URL or the owner's.
    let theirs = bob
        .get(&format!("/console/a/{other}/sdk/licences/{id}.lic"))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        bob.get(&format!("{sdk}/licences/{id}.lic")).await.status,
        StatusCode::NOT_FOUND
    );

    // A device order submitted twice (the same page's ClientToken) is bought once.
    let page = ann.page(&sdk).await;
    let token = between(&page.body, "name=\"client_token\" value=\"", "\"").to_string();
    let csrf = page.csrf();
    let origin = format!("http://{}", server.addr);
    let fields = [
        ("sdk", "detect"),
        ("devices", "50"),
        ("client_token", token.as_str()),
        ("_csrf", csrf.as_str()),
    ];
    for _ in 0..2 {
        let r = ann
            .post_raw(&format!("{sdk}/orders"), &fields, Some(&origin))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    // 50 × 288 = 14400, charged once.
    assert_eq!(money(&e, acme).0, "5600.00");
    let page = ann.page(&sdk).await;
    assert_eq!(page.body.matches("<tr data-order-id=").count(), 1);
    // A device of that order, activated from the page: listed with its label, and its
    // licence file verifies on that device.
    let request = e.dir.path().join("gate.req");
    let state = e.dir.path().join("gate-state");
    let (request, state) = (request.to_str().unwrap(), state.to_str().unwrap());
    e.json(&[
        "license",
        "request",
        "--sdk",
        "detect",
        "--label",
        "gate-1",
        "--state-dir",
        state,
        "--out",
        request,
    ]);
    let order = between(&page.body, "<tr data-order-id=\"", "\"").to_string();
    let text = std::fs::read_to_string(request).unwrap();
    let r = ann
        .post(
            &sdk,
            &format!("{sdk}/activate"),
            &[("order", order.as_str()), ("request", text.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("{sdk}?done=activated"));
    let device = format!("dev-{order}-1");
    let page = ann.page(&sdk).await;
    let row = between(
        &page.body,
        &format!("<tr data-licence-id=\"{device}\">"),
        "</tr>",
    );
    assert!(row.contains("gate-1"), "{row}");
    let file = ann.get(&format!("{sdk}/licences/{device}.lic")).await;
    assert_eq!(file.status, StatusCode::OK);
    let path = e.dir.path().join("gate.lic");
    std::fs::write(&path, &file.body).unwrap();
    e.json(&[
        "license",
        "verify",
        path.to_str().unwrap(),
        "--request",
        request,
    ]);

    // Below the minimum: billing's refusal on the page, nothing charged.
    let r = ann
        .post(
            &sdk,
            &format!("{sdk}/orders"),
            &[("sdk", "detect"), ("devices", "10")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("minimum"), "{}", r.body);
    assert_eq!(money(&e, acme).0, "5600.00");

    server.kill();
    e.close().await;
}
