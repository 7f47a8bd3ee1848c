//! The console's billing pages on a live `renlian serve`: buying packs through the form
//! (once per ClientToken, refused on a short balance), usage and its CSV from real API
//! calls, bills and their CSV equal to `renlian bill`, notices, and the quote calculator
//! equal to `renlian quote`. Pack purchases on SQLite and PostgreSQL; the rest on SQLite.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::billing_support::{Backend, Env};
use crate::console_support::{signed_in, unescape, Page, Visitor};
use crate::serve_support::{small_photo_b64, Client, Serve};

/// The value of the hidden input `name` in a page.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in: {body}"));
    let rest = &body[at + marker.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// The rows (`<tr …>…</tr>`) of the body of the table with id `id`.
fn rows(body: &str, id: &str) -> Vec<String> {
    let start = body
        .find(&format!("<table id=\"{id}\""))
        .unwrap_or_else(|| panic!("no table #{id} in: {body}"));
    let table = &body[start..start + body[start..].find("</table>").unwrap()];
    let tbody = &table[table.find("<tbody>").unwrap()..table.find("</tbody>").unwrap()];
    tbody
        .split("<tr")
        .skip(1)
        .map(|r| r[..r.find("</tr>").unwrap()].to_string())
        .collect()
}

/// The value of attribute `name` in the first tag of `html` that has it.
fn attr(html: &str, name: &str) -> Option<String> {
    let marker = format!("{name}=\"");
    let at = html.find(&marker)?;
    let rest = &html[at + marker.len()..];
    Some(unescape(&rest[..rest.find('"')?]))
}

/// The text of the first element of `html` whose class list holds `class`.
fn cell(html: &str, class: &str) -> String {
    let mut rest = html;
    while let Some(at) = rest.find("class=\"") {
        rest = &rest[at + 7..];
        let end = rest.find('"').unwrap();
        if rest[..end].split_whitespace().any(|c| c == class) {
            let text = &rest[rest.find('>').unwrap() + 1..];
            return unescape(text[..text.find('<').unwrap()].trim());
        }
    }
    panic!("no .{class} in {html}")
}

/// The text of the element with id `id`.
fn by_id(body: &str, id: &str) -> String {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let text = &body[at + body[at..].find('>').unwrap() + 1..];
    unescape(text[..text.find('<').unwrap()].trim())
}

fn money(v: &Value) -> String {
    v.as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string())
}

/// A page in Chinese: the language cookie beside the session, as the switch sets it.
async fn page_zh(v: &Visitor, path: &str) -> String {
    let cookie = format!(
        "renlian_session={}; renlian_lang=zh",
        v.cookie.as_deref().unwrap()
    );
    let r = reqwest::Client::new()
        .get(v.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let body = r.text().await.unwrap();
    assert!(body.contains("lang=\"zh-CN\""), "{path}");
    body
}

fn available(e: &Env, account: i64) -> String {
    money(&e.json(&["account", "show", &account.to_string()])["available"])
}

fn packs(e: &Env, account: i64) -> Vec<Value> {
    e.json(&["pack", "list", "--account", &account.to_string()])
        .as_array()
        .unwrap()
        .clone()
}

/// The buy form as the page at `path` would post it: its token, its ClientToken.
fn buy_fields(page: &Page, item: &str, size: &str) -> Vec<(String, String)> {
    vec![
        ("item".into(), item.into()),
        ("size".into(), size.into()),
        ("client_token".into(), hidden(&page.body, "client_token")),
        ("_csrf".into(), page.csrf()),
    ]
}

async fn post(v: &mut Visitor, path: &str, fields: &[(String, String)]) -> Page {
    let origin = format!("http://{}", v.addr);
    let f: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    v.post_raw(path, &f, Some(&origin)).await
}

async fn buying_packs(backend: Backend) {
    let e = Env::new(backend).await;
    let acme = crate::console_support::account(&e, "acme");
    let other = crate::console_support::account(&e, "other");
    e.json(&["account", "topup", &acme.to_string(), "1000"]);
    let server = Serve::start(&e, 0);
    let mut ann = signed_in(&e, server.addr, acme, "ann@acme.test", false).await;
    let mut bob = signed_in(&e, server.addr, other, "bob@other.test", false).await;
    let path = format!("/console/a/{acme}/packs");

    let page = ann.page(&path).await;
    for id in [
        "buy-pack",
        "pack-item",
        "pack-size",
        "buy-pack-submit",
        "own-packs",
        "pack-prices",
    ] {
        assert!(page.body.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    // The price table is the catalogue's.
    let prices = rows(&page.body, "pack-prices");
    assert_eq!(prices.len(), 7);
    assert!(prices[0].contains("data-item=\"detect\"") && prices[0].contains("¥450.00"));
    assert!(prices[0].contains("¥25000.00"), "{}", prices[0]);
    // A second rendering carries another ClientToken.
    let token = hidden(&page.body, "client_token");
    assert_ne!(token, hidden(&ann.page(&path).await.body, "client_token"));

    // Buy a detect 1m pack (450.00).
    let fields = buy_fields(&page, "detect", "1m");
    let done = post(&mut ann, &path, &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), format!("{path}?done=bought"));
    assert_eq!(available(&e, acme), "550.00");
    let after = ann.page(done.location()).await;
    assert!(after.body.contains("id=\"buy-done\""));
    let own = rows(&after.body, "own-packs");
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(attr(&own[0], "data-item").as_deref(), Some("detect"));
    assert_eq!(attr(&own[0], "data-remaining").as_deref(), Some("1000000"));
    assert!(!own[0].contains("low-marker"));

    // The same form posted again (a resubmission): the same pack, no second charge.
    let again = post(&mut ann, &path, &fields).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    assert_eq!(packs(&e, acme).len(), 1);
    assert_eq!(available(&e, acme), "550.00");

    // A double click: two posts of one page at once buy one pack.
    let page = ann.page(&path).await;
    let fields = buy_fields(&page, "detect", "1m");
    let mut second = Visitor::new(server.addr);
    second.cookie = ann.cookie.clone();
    let (a, b) = tokio::join!(
        post(&mut ann, &path, &fields),
        post(&mut second, &path, &fields)
    );
    assert_eq!(
        (a.status, b.status),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    assert_eq!(packs(&e, acme).len(), 2);
    assert_eq!(available(&e, acme), "100.00");

    // Too little left: the page says so, nothing is bought or charged.
    let page = ann.page(&path).await;
    let refused = post(&mut ann, &path, &buy_fields(&page, "detect", "1m")).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""));
    let message = by_id(&refused.body, "buy-error");
    assert!(
        message.contains("¥100.00") && message.contains("¥450.00"),
        "{message}"
    );
    assert_eq!(packs(&e, acme).len(), 2);
    assert_eq!(available(&e, acme), "100.00");

    // A value the form does not offer.
    let page = ann.page(&path).await;
    let bad = post(&mut ann, &path, &buy_fields(&page, "faces", "1m")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("id=\"buy-error\""));

    // Another account's customer cannot buy for acme, nor see its packs.
    let page = bob.page(&format!("/console/a/{other}/packs")).await;
    let theirs = post(&mut bob, &path, &buy_fields(&page, "detect", "1m")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(bob.get(&path).await.status, StatusCode::NOT_FOUND);
    assert_eq!(packs(&e, acme).len(), 2);
    assert_eq!(packs(&e, other).len(), 0);

    // 870,000 detect calls: 10,000 free, 860,000 from the first pack (140,000 left, under
    // the 15 % line), the second untouched.
    let now = chrono::Utc::now().to_rfc3339();
    e.json(&[
        "usage",
        "record",
        "--account",
        &acme.to_string(),
        "--item",
        "detect",
        "--calls",
        "870000",
        "--at",
        &now,
    ]);
    let mut ops = signed_in(&e, server.addr, acme, "ops@renlian.test", true).await;
    for v in [&mut ann, &mut ops] {
        let own = rows(&v.page(&path).await.body, "own-packs");
        assert_eq!(own.len(), 2);
        assert_eq!(attr(&own[0], "data-remaining").as_deref(), Some("140000"));
        assert!(own[0].contains("low-marker"), "{}", own[0]);
        assert!(!own[1].contains("low-marker"), "{}", own[1]);
    }
    // An operator buys for the account (and it is charged to the account).
    e.json(&["account", "topup", &acme.to_string(), "400"]);
    let page = ops.page(&path).await;
    let done = post(&mut ops, &path, &buy_fields(&page, "detect", "1m")).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(packs(&e, acme).len(), 3);
    assert_eq!(available(&e, acme), "50.00");
    server.kill();
    e.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_billing_packs_sqlite() {
    buying_packs(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_billing_packs_postgres() {
    buying_packs(Backend::Postgres).await;
}

/// The CSV's lines, split on commas (the billing CSVs hold no quoted fields).
fn csv_lines(body: &str) -> Vec<Vec<String>> {
    body.lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_billing_usage_bills_notices_quote_sqlite() {
    let e = Env::new(Backend::Sqlite).await;
    let acme = e.json(&["account", "create", "acme", "--email", "bills@acme.test"])["id"]
        .as_i64()
        .unwrap();
    let other = crate::console_support::account(&e, "other");
    let id = acme.to_string();
    e.json(&["account", "topup", &id, "100000"]);
    let tz = billing::time::parse_tz("Asia/Shanghai").unwrap();
    let now = chrono::Utc::now();
    let current = billing::Month::of(now, tz).to_string();
    let today = now.with_timezone(&tz).format("%Y-%m-%d").to_string();
    // Two months back: usage, then that month settled.
    let earlier_at = now - chrono::Duration::days(62);
    let earlier = billing::Month::of(earlier_at, tz).to_string();
    e.json(&[
        "usage",
        "record",
        "--account",
        &id,
        "--item",
        "detect",
        "--calls",
        "20000",
        "--at",
        &earlier_at.to_rfc3339(),
    ]);
    e.json(&["settle", "--month", &earlier]);
    // This month: compare calls into tier 2, a liveness pack run below 15 %, API calls.
    let at = now.to_rfc3339();
    e.json(&[
        "usage",
        "record",
        "--account",
        &id,
        "--item",
        "compare",
        "--calls",
        "3500000",
        "--at",
        &at,
    ]);
    e.json(&[
        "pack",
        "buy",
        "--account",
        &id,
        "--item",
        "liveness",
        "--size",
        "1m",
    ]);
    e.json(&[
        "usage",
        "record",
        "--account",
        &id,
        "--item",
        "liveness",
        "--calls",
        "900000",
        "--at",
        &chrono::Utc::now().to_rfc3339(),
    ]);
    let server = Serve::start(&e, 0);
    let client = Client::for_account(&e, server.addr, acme);
    let image = small_photo_b64();
    for _ in 0..3 {
        client.ok("DetectFace", json!({ "Image": image })).await;
    }
    let mut ann = signed_in(&e, server.addr, acme, "ann@acme.test", false).await;
    let mut bob = signed_in(&e, server.addr, other, "bob@other.test", false).await;
    let mut ops = signed_in(&e, server.addr, other, "ops@renlian.test", true).await;

    // Usage: the API's three DetectFace calls today, all free.
    let usage = ann.page(&format!("/console/a/{acme}/usage")).await;
    let csv_href = attr(
        &usage.body[usage.body.find("id=\"usage-csv\"").unwrap()..],
        "href",
    )
    .unwrap();
    assert_eq!(
        csv_href,
        format!("/console/a/{acme}/usage.csv?month={current}")
    );
    let detect: Vec<String> = rows(&usage.body, "usage-rows")
        .into_iter()
        .filter(|r| attr(r, "data-item").as_deref() == Some("detect"))
        .collect();
    let calls: u64 = detect
        .iter()
        .map(|r| cell(r, "calls").parse::<u64>().unwrap())
        .sum();
    assert_eq!(calls, 3, "{detect:?}");
    let csv = ann.get(&csv_href).await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
    assert!(csv.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename="));
    let lines = csv_lines(&csv.body);
    assert_eq!(
        lines[0],
        ["day", "item", "calls", "free", "pack", "postpaid"]
    );
    let sum = |item: &str, col: usize| -> u64 {
        lines[1..]
            .iter()
            .filter(|l| l[1] == item)
            .map(|l| l[col].parse::<u64>().unwrap())
            .sum()
    };
    assert_eq!((sum("detect", 2), sum("detect", 3)), (3, 3));
    assert!(
        lines.iter().any(|l| l[0] == today && l[1] == "detect"),
        "{lines:?}"
    );
    assert_eq!(
        (sum("compare", 2), sum("compare", 3), sum("compare", 5)),
        (3_500_000, 10_000, 3_490_000)
    );
    assert_eq!((sum("liveness", 4), sum("liveness", 3)), (890_000, 10_000));
    // An earlier month, and a value that is not a month.
    let old = ann
        .page(&format!("/console/a/{acme}/usage?month={earlier}"))
        .await;
    let old_rows = rows(&old.body, "usage-rows");
    assert_eq!(old_rows.len(), 1, "{old_rows:?}");
    assert_eq!(cell(&old_rows[0], "calls"), "20000");
    let bad = ann
        .get(&format!("/console/a/{acme}/usage?month=soon"))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("role=\"alert\""));

    // Bills: the current month (open) and the settled one, each with its CSV link.
    let list = ann.page(&format!("/console/a/{acme}/bills")).await;
    let months = rows(&list.body, "bill-months");
    let status = |m: &str| {
        months
            .iter()
            .find(|r| attr(r, "data-month").as_deref() == Some(m))
            .and_then(|r| attr(r, "data-status"))
    };
    assert_eq!(status(&current).as_deref(), Some("open"));
    assert_eq!(status(&earlier).as_deref(), Some("settled"));
    for m in [&current, &earlier] {
        assert!(
            unescape(&list.body).contains(&format!(
                "id=\"bill-csv-{m}\" href=\"/console/a/{acme}/bills/{m}.csv\""
            )),
            "{m}"
        );
    }
    // The month page has the lines of `renlian bill`.
    for month in [&current, &earlier] {
        let cli = e.json(&["bill", "--account", &id, "--month", month]);
        let page = ann.page(&format!("/console/a/{acme}/bills/{month}")).await;
        let lines = rows(&page.body, "bill-lines");
        let want = cli["lines"].as_array().unwrap();
        assert_eq!(lines.len(), want.len(), "{month}");
        for (got, want) in lines.iter().zip(want) {
            assert_eq!(attr(got, "data-item").as_deref(), want["item"].as_str());
            for (class, field) in [
                ("calls", "calls"),
                ("free", "free"),
                ("pack", "pack"),
                ("postpaid", "postpaid"),
                ("tier", "tier"),
                ("unit-price", "unit_price"),
                ("amount", "amount"),
            ] {
                assert_eq!(cell(got, class), money(&want[field]), "{month} {field}");
            }
        }
        assert_eq!(by_id(&page.body, "lines-total"), money(&cli["total"]));
        assert_eq!(
            attr(
                &page.body[page.body.find("id=\"bill-status\"").unwrap()..],
                "data-status"
            ),
            cli["status"].as_str().map(str::to_owned)
        );
        // The CSV is `renlian bill --csv`, byte for byte, and adds up.
        let csv = ann
            .get(&format!("/console/a/{acme}/bills/{month}.csv"))
            .await;
        assert_eq!(csv.status, StatusCode::OK);
        assert_eq!(csv.headers["content-type"], "text/csv; charset=utf-8");
        let out = e.run(&["bill", "--account", &id, "--month", month, "--csv"]);
        assert_eq!(csv.body, String::from_utf8(out.stdout).unwrap());
        let parsed = csv_lines(&csv.body);
        let last = parsed.last().unwrap();
        assert_eq!(last[0], "total");
        assert_eq!(last[7], money(&cli["total"]));
        let amounts: billing::Money = parsed[1..parsed.len() - 1]
            .iter()
            .map(|l| l[7].parse::<billing::Money>().unwrap())
            .sum();
        assert_eq!(amounts.to_string(), money(&cli["total"]));
    }
    let this = e.json(&["bill", "--account", &id, "--month", &current]);
    assert_eq!(this["lines"].as_array().unwrap().len(), 3, "{this}");
    let page = ann
        .page(&format!("/console/a/{acme}/bills/{current}"))
        .await;
    assert_eq!(rows(&page.body, "bill-packs").len(), 1);
    assert_eq!(
        by_id(&page.body, "packs-total"),
        money(&this["pack_purchases_total"])
    );
    let settled = ann
        .page(&format!("/console/a/{acme}/bills/{earlier}"))
        .await;
    assert!(settled.body.contains("id=\"settlement\""));
    // Another account's bill is not found, as is a month that is not one.
    for path in [
        format!("/console/a/{acme}/bills/{current}.csv"),
        format!("/console/a/{acme}/bills/{current}"),
        format!("/console/a/{acme}/usage.csv?month={current}"),
    ] {
        assert_eq!(bob.get(&path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(
        ann.get(&format!("/console/a/{acme}/bills/2026-13"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Notices: the liveness pack below 15 %, in the console, e-mail pending (no SMTP
    // configured), no phone for SMS.
    let notices = ann.page(&format!("/console/a/{acme}/notices")).await;
    let list = rows(&notices.body, "notices");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(attr(&list[0], "data-kind").as_deref(), Some("pack_low"));
    for (channel, state) in [
        ("in_app", "delivered"),
        ("email", "pending"),
        ("sms", "none"),
    ] {
        assert!(
            list[0].contains(&format!(
                "data-channel=\"{channel}\" data-state=\"{state}\""
            )),
            "{channel}: {}",
            list[0]
        );
    }
    let cli = e.json(&["notices", "--account", &id]);
    assert_eq!(
        cell(&list[0], "message"),
        cli[0]["message"].as_str().unwrap()
    );

    // The quote calculator gives what `renlian quote` gives.
    let cases: [(&str, Vec<&str>); 6] = [
        (
            "kind=postpaid&item=compare&calls=3500000",
            vec!["postpaid", "--item", "compare", "--calls", "3500000"],
        ),
        (
            "kind=prepaid&item=search&calls=52000000&pack_50m=1&pack_1m=2",
            vec![
                "prepaid", "--item", "search", "--calls", "52000000", "--pack", "50m", "--pack",
                "1m", "--pack", "1m",
            ],
        ),
        (
            "kind=prepaid-year&item=compare&calls=30000000",
            vec!["prepaid-year", "--item", "compare", "--calls", "30000000"],
        ),
        (
            "kind=prepaid-year&item=liveness&calls=1234567890",
            vec![
                "prepaid-year",
                "--item",
                "liveness",
                "--calls",
                "1234567890",
            ],
        ),
        (
            "kind=sdk-device&sdk=search&devices=4000",
            vec!["sdk-device", "--sdk", "search", "--devices", "4000"],
        ),
        (
            "kind=sdk-platform&sdk=3d-liveness-search&years=3",
            vec![
                "sdk-platform",
                "--sdk",
                "3d-liveness-search",
                "--years",
                "3",
            ],
        ),
    ];
    for (query, args) in cases {
        let mut all = vec!["quote"];
        all.extend(args);
        let cli = e.json(&all);
        let page = ops.page(&format!("/console/a/{acme}/quote?{query}")).await;
        assert_eq!(
            by_id(&page.body, "quote-lines-total"),
            money(&cli["total"]),
            "{query}"
        );
        let lines = rows(&page.body, "quote-lines");
        let want = cli["lines"].as_array().unwrap();
        assert_eq!(lines.len(), want.len(), "{query}");
        for (got, want) in lines.iter().zip(want) {
            assert_eq!(
                cell(got, "quantity"),
                want["quantity"].to_string(),
                "{query}"
            );
            assert_eq!(
                cell(got, "unit-price"),
                money(&want["unit_price"]),
                "{query}"
            );
            assert_eq!(cell(got, "amount"), money(&want["amount"]), "{query}");
        }
        if let Some(alt) = cli.get("postpaid_alternative") {
            assert_eq!(
                by_id(&page.body, "quote-alternative-total"),
                money(&alt["total"]),
                "{query}"
            );
            assert_eq!(rows(&page.body, "quote-alternative").len(), 12);
        }
    }
    let refused = ann
        .get(&format!(
            "/console/a/{acme}/quote?kind=sdk-device&sdk=search&devices=49"
        ))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("id=\"quote-error\""));

    // An operator sees every one of these pages of the account; each renders in Chinese.
    let bill_page = format!("bills/{earlier}");
    for page in [
        "usage",
        "packs",
        "bills",
        "notices",
        "quote",
        bill_page.as_str(),
    ] {
        let path = format!("/console/a/{acme}/{page}");
        ops.page(&path).await;
        page_zh(&ann, &path).await;
    }
    let zh = page_zh(
        &ann,
        &format!("/console/a/{acme}/quote?kind=prepaid-year&item=compare&calls=30000000"),
    )
    .await;
    assert!(zh.contains("全年资源包"), "{zh}");
    server.kill();
    e.close().await;
}
