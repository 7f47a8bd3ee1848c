//! The billing CLI over a database, on SQLite and PostgreSQL.

use crate::billing_support;

use billing_support::{Backend, Env};

async fn flow(e: Env) {
    let id = e.json(&["account", "create", "acme"])["id"]
        .as_i64()
        .unwrap();
    let ids = id.to_string();
    let acc = e.json(&["account", "show", &ids]);
    assert_eq!(acc["balance"], "0.00");
    assert_eq!(acc["state"], "active");

    let err = e.fails(&[
        "pack",
        "buy",
        "--account",
        &ids,
        "--item",
        "search",
        "--size",
        "50m",
    ]);
    assert!(err.contains("insufficient available balance"), "{err}");
    let acc = e.json(&[
        "account",
        "topup",
        &ids,
        "150000",
        "--at",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(acc["balance"], "150000.00");
    let pack = e.json(&[
        "pack",
        "buy",
        "--account",
        &ids,
        "--item",
        "search",
        "--size",
        "50m",
        "--at",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(pack["price"], "142500.00");
    assert_eq!(pack["expires_at"], "2027-01-01T00:00:00Z");

    let rec = |calls: &str, at: &str, import: &str| {
        e.json(&[
            "usage",
            "record",
            "--account",
            &ids,
            "--item",
            "search",
            "--calls",
            calls,
            "--at",
            at,
            "--import-id",
            import,
        ])
    };
    let c = rec("52000000", "2026-01-20T00:00:00Z", "jan-1");
    assert_eq!(
        (c["free"].as_u64(), c["pack"].as_u64()),
        (Some(10_000), Some(50_000_000))
    );
    assert_eq!(c["postpaid"], 1_990_000);
    let again = rec("52000000", "2026-01-20T00:00:00Z", "jan-1");
    assert_eq!(again["replayed"], true);
    // A call at 2026-01-31T16:30Z is February in Asia/Shanghai.
    let c = rec("1", "2026-01-31T16:30:00Z", "feb-1");
    assert_eq!(c["month"], "2026-02");

    let bill = e.json(&[
        "bill",
        "--account",
        &ids,
        "--month",
        "2026-01",
        "--at",
        "2026-01-25T00:00:00Z",
    ]);
    assert_eq!(bill["status"], "open");
    assert_eq!(bill["total"], "6368.00");
    assert_eq!(bill["pack_purchases_total"], "142500.00");
    let line = &bill["lines"][0];
    assert_eq!(line["item"], "search");
    assert_eq!(line["calls"], 52_000_000);
    assert_eq!(line["tier"], 1);
    assert_eq!(line["unit_price"], "0.0032");
    assert_eq!(line["amount"], "6368.00");

    let csv = e.run(&["bill", "--account", &ids, "--month", "2026-01", "--csv"]);
    assert!(csv.status.success());
    assert_eq!(
        String::from_utf8(csv.stdout).unwrap(),
        "item,calls,free,pack,postpaid,tier,unit_price,amount\n\
         search,52000000,10000,50000000,1990000,1,0.0032,6368.00\n\
         total,,,,,,,6368.00\n"
    );

    let err = e.fails(&[
        "settle",
        "--month",
        "2026-01",
        "--at",
        "2026-01-31T12:00:00Z",
    ]);
    assert!(err.contains("cannot be settled before"), "{err}");
    let r = e.json(&[
        "settle",
        "--month",
        "2026-01",
        "--at",
        "2026-02-01T00:00:00Z",
    ]);
    assert_eq!(r["settled"], 1);
    assert_eq!(r["total"], "6368.00");
    let r = e.json(&[
        "settle",
        "--month",
        "2026-01",
        "--at",
        "2026-02-01T00:00:00Z",
    ]);
    assert_eq!(
        (r["settled"].as_u64(), r["already_settled"].as_u64()),
        (Some(0), Some(1))
    );
    // 150000 − 142500 − 6368 = 1132; frozen 1.2 × 6368 = 7641.60 → arrears
    let acc = e.json(&["account", "show", &ids]);
    assert_eq!(acc["balance"], "1132.00");
    assert_eq!(acc["frozen"], "7641.60");
    assert_eq!(acc["available"], "-6509.60");
    assert_eq!(acc["state"], "arrears");

    // In arrears: postpaid-bound usage is refused (the 50M pack still has none left).
    rec("9999", "2026-02-02T00:00:00Z", "feb-free");
    let err = e.fails(&[
        "usage",
        "record",
        "--account",
        &ids,
        "--item",
        "search",
        "--calls",
        "1",
        "--at",
        "2026-02-02T00:00:00Z",
        "--import-id",
        "feb-2",
    ]);
    assert!(err.contains("arrears"), "{err}");
    let acc = e.json(&["account", "topup", &ids, "6509.60"]);
    assert_eq!(acc["state"], "active");
    rec("1", "2026-02-02T00:00:00Z", "feb-2");

    let notices = e.json(&["notices", "--account", &ids]);
    let kinds: Vec<&str> = notices
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["pack_low", "pack_exhausted"]);

    let err = e.fails(&["account", "show", "424242"]);
    assert!(err.contains("no account with id 424242"), "{err}");
    let err = e.fails(&["bill", "--account", &ids, "--month", "2026-13"]);
    assert!(err.contains("not a valid month"), "{err}");
    let err = e.fails(&[
        "usage",
        "record",
        "--account",
        &ids,
        "--item",
        "search",
        "--calls",
        "0",
        "--at",
        "2026-02-02T00:00:00Z",
    ]);
    assert!(err.contains("between 1 and"), "{err}");
    let err = e.fails(&[
        "usage",
        "record",
        "--account",
        &ids,
        "--item",
        "search",
        "--calls",
        "1",
        "--at",
        "yesterday",
    ]);
    assert!(err.contains("RFC 3339"), "{err}");
    let err = e.fails(&["account", "create", "x", "--tz", "Mars/Olympus"]);
    assert!(err.contains("unknown time zone"), "{err}");
    e.close().await;
}

/// `pack buy --client-token` buys once; `usage void` gives back a recorded call once.
async fn token_and_void(e: Env) {
    let ids = e.json(&["account", "create", "acme"])["id"]
        .as_i64()
        .unwrap()
        .to_string();
    e.json(&["account", "topup", &ids, "1000"]);
    let buy = [
        "pack",
        "buy",
        "--account",
        &ids,
        "--item",
        "detect",
        "--size",
        "1m",
        "--client-token",
        "cli-order-1",
    ];
    let first = e.json(&buy);
    let again = e.json(&buy);
    assert_eq!(first["id"], again["id"]);
    assert_eq!(e.json(&["account", "show", &ids])["balance"], "550.00");
    let mut other = buy;
    other[7] = "10m";
    let err = e.fails(&other);
    assert!(
        err.contains("cli-order-1") && err.contains("detect 1m"),
        "{err}"
    );

    let out = e.run(&[
        "usage",
        "load",
        "--account",
        &ids,
        "--item",
        "person",
        "--prefix",
        "cli",
        "--count",
        "1",
    ]);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "cli-0");
    let v = e.json(&["usage", "void", "cli-0"]);
    assert_eq!(v["outcome"], "voided", "{v}");
    assert_eq!(v["free"], 1, "{v}");
    assert_eq!(
        e.json(&["usage", "void", "cli-0"])["outcome"],
        "already_voided"
    );
    assert_eq!(
        e.json(&["usage", "void", "nothing"])["outcome"],
        "not_recorded"
    );
    e.close().await;
}

#[tokio::test]
async fn token_and_void_sqlite() {
    token_and_void(Env::new(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn token_and_void_postgres() {
    token_and_void(Env::new(Backend::Postgres).await).await;
}

#[tokio::test]
async fn cli_flow_sqlite() {
    flow(Env::new(Backend::Sqlite).await).await;
}

#[tokio::test]
async fn cli_flow_postgres() {
    flow(Env::new(Backend::Postgres).await).await;
}
