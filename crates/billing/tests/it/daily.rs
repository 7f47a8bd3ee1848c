//! `billing_daily`: per account, day (in the account's time zone) and item, kept with the
//! monthly counters in the same transactions; filled once from `billing_usage` on
//! databases migrated from version 2. On SQLite and PostgreSQL.

use std::collections::BTreeMap;

use crate::support::{self, account, m, t};

use billing::{Billing, BillingConfig, DailyUsage, Item, PackSize};
use chrono::NaiveDate;
use sqlx::{AnyPool, Row};

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn usage(d: &str, item: Item, free: u64, pack: u64, postpaid: u64) -> DailyUsage {
    DailyUsage {
        day: day(d),
        item,
        calls: free + pack + postpaid,
        free,
        pack,
        postpaid,
    }
}

type Counters = BTreeMap<(i64, String, String), [i64; 4]>;

/// Every `billing_monthly` row, and the sums of `billing_daily` per account, month and
/// item, read straight from the tables.
async fn monthly_and_daily_sums(pool: &AnyPool) -> (Counters, Counters) {
    let mut monthly = Counters::new();
    for r in sqlx::query(
        "SELECT account_id, month, item, calls, free_units, pack_units, postpaid_units \
         FROM billing_monthly",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        monthly.insert(
            (r.get(0), r.get(1), r.get(2)),
            [r.get(3), r.get(4), r.get(5), r.get(6)],
        );
    }
    let mut daily = Counters::new();
    for r in sqlx::query(
        "SELECT account_id, day, item, calls, free_units, pack_units, postpaid_units \
         FROM billing_daily",
    )
    .fetch_all(pool)
    .await
    .unwrap()
    {
        let d: String = r.get(1);
        let sums = daily
            .entry((r.get(0), d[..7].to_string(), r.get(2)))
            .or_default();
        for (i, s) in sums.iter_mut().enumerate() {
            *s += r.get::<i64, _>(3 + i);
        }
    }
    (monthly, daily)
}

async fn assert_daily_adds_up(b: &Billing) {
    let (monthly, daily) = monthly_and_daily_sums(b.pool()).await;
    assert!(!monthly.is_empty());
    assert_eq!(daily, monthly);
}

on_both!(days_follow_the_account_time_zone, daily_sums_equal_monthly,);

/// Shanghai (UTC+8): 23:59 and 00:01 local are different days, and the last minute of
/// March and the first of April different months, whatever the UTC date says.
async fn days_follow_the_account_time_zone(b: Billing) {
    let a = account(&b, "sh", "Asia/Shanghai").await;
    // 9,999 free calls on March 30th (local), then the last free call and a postpaid one
    // at 23:59 on the 31st (15:59 UTC), two at 00:01 on April 1st (16:01 UTC, still March
    // 31st in UTC): April's free calls start again.
    b.import_usage(a, Item::Detect, 9_999, t("2026-03-30T04:00:00Z"), "i1")
        .await
        .unwrap();
    for (i, at) in [
        "2026-03-31T15:59:00Z",
        "2026-03-31T15:59:30Z",
        "2026-03-31T16:01:00Z",
        "2026-03-31T16:01:30Z",
        "2026-04-01T16:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        b.record_call(a, Item::Detect, "DetectFace", &format!("r{i}"), t(at))
            .await
            .unwrap();
    }
    b.record_call(
        a,
        Item::Compare,
        "CompareFace",
        "c1",
        t("2026-03-31T16:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        b.daily_usage(a, m("2026-03")).await.unwrap(),
        vec![
            usage("2026-03-30", Item::Detect, 9_999, 0, 0),
            usage("2026-03-31", Item::Detect, 1, 0, 1),
        ]
    );
    assert_eq!(
        b.daily_usage(a, m("2026-04")).await.unwrap(),
        vec![
            usage("2026-04-01", Item::Detect, 2, 0, 0),
            usage("2026-04-01", Item::Compare, 1, 0, 0),
            usage("2026-04-02", Item::Detect, 1, 0, 0),
        ]
    );
    assert!(b.daily_usage(a, m("2026-05")).await.unwrap().is_empty());
    // A void on another day (and month) takes the call off its own day.
    b.void_call("r1", t("2026-04-03T00:00:00Z")).await.unwrap();
    assert_eq!(
        b.daily_usage(a, m("2026-03")).await.unwrap(),
        vec![
            usage("2026-03-30", Item::Detect, 9_999, 0, 0),
            usage("2026-03-31", Item::Detect, 1, 0, 0),
        ]
    );
    assert_daily_adds_up(&b).await;
    assert!(matches!(
        b.daily_usage(a + 100, m("2026-03")).await,
        Err(billing::BillingError::UnknownAccount(_))
    ));
}

/// Many concurrent calls of two accounts in two time zones, two items, packs, an import,
/// enrolments voided and confirmed, voids of calls: the daily rows add up to the monthly
/// counters for every account, month and item.
async fn daily_sums_equal_monthly(b: Billing) {
    let sh = account(&b, "sh", "Asia/Shanghai").await;
    let ny = account(&b, "ny", "America/New_York").await;
    for a in [sh, ny] {
        b.top_up(a, "5000".parse().unwrap(), t("2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        b.buy_pack(a, Item::Search, PackSize::M1, t("2026-01-01T00:00:00Z"))
            .await
            .unwrap();
        b.import_usage(a, Item::Detect, 9_990, t("2026-01-31T03:00:00Z"), "imp")
            .await
            .unwrap();
    }
    // Calls every 7 minutes from Jan 31st 12:00 UTC to Feb 1st 06:00 UTC: Shanghai's and
    // New York's day and month boundaries both fall inside.
    let mut tasks = Vec::new();
    for i in 0..160i64 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let at = t("2026-01-31T12:00:00Z") + chrono::Duration::minutes(7 * i);
            let (a, item) = match i % 4 {
                0 => (sh, Item::Detect),
                1 => (sh, Item::Search),
                2 => (ny, Item::Detect),
                _ => (ny, Item::Search),
            };
            let key = format!("call-{i}");
            if i % 10 == 3 {
                b.record_enrolment(a, item, "CreatePerson", &key, at)
                    .await
                    .unwrap();
            } else {
                b.record_call(a, item, "Search", &key, at).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // Half the enrolments are voided (nothing was written), the others confirmed; a few
    // ordinary calls are voided too, a day or more later.
    for i in (3..160).step_by(10) {
        let outcome = b
            .settle_enrolment(&format!("call-{i}"), i % 20 == 3, t("2026-02-02T00:00:00Z"))
            .await
            .unwrap();
        assert!(matches!(
            outcome,
            billing::EnrolmentOutcome::Voided | billing::EnrolmentOutcome::Confirmed
        ));
    }
    for i in [0, 5, 50, 101, 150] {
        b.void_call(&format!("call-{i}"), t("2026-02-03T00:00:00Z"))
            .await
            .unwrap();
    }
    assert_daily_adds_up(&b).await;
    // And through the API: each month's days add up to its bill's lines.
    for a in [sh, ny] {
        for month in ["2026-01", "2026-02"] {
            let mut sums: BTreeMap<Item, [u64; 4]> = BTreeMap::new();
            for u in b.daily_usage(a, m(month)).await.unwrap() {
                let s = sums.entry(u.item).or_default();
                for (x, y) in s.iter_mut().zip([u.calls, u.free, u.pack, u.postpaid]) {
                    *x += y;
                }
            }
            let bill = b
                .bill(a, m(month), t("2026-03-01T00:00:00Z"))
                .await
                .unwrap();
            let lines: BTreeMap<Item, [u64; 4]> = bill
                .lines
                .iter()
                .map(|l| (l.item, [l.calls, l.free, l.pack, l.postpaid]))
                .collect();
            assert_eq!(sums, lines, "account {a}, {month}");
        }
    }
    // Both zones' days: Shanghai's Feb 1st began at 16:00 UTC, New York's Jan 31st ended
    // at 05:00 UTC on Feb 1st.
    let sh_days: Vec<NaiveDate> = b
        .daily_usage(sh, m("2026-02"))
        .await
        .unwrap()
        .iter()
        .map(|u| u.day)
        .collect();
    assert!(sh_days.contains(&day("2026-02-01")));
    let ny_days: Vec<NaiveDate> = b
        .daily_usage(ny, m("2026-02"))
        .await
        .unwrap()
        .iter()
        .map(|u| u.day)
        .collect();
    assert_eq!(ny_days.first(), Some(&day("2026-02-01")));
}

async fn versions(pool: &AnyPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM billing_schema ORDER BY version")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// A database at version 2 with usage in it (written as version 2's code wrote it:
/// usage rows and monthly counters) is filled in once when version 3 comes.
async fn backfill(pool: AnyPool) {
    billing::schema::migrate_to(&pool, 2).await.unwrap();
    assert_eq!(versions(&pool).await, vec![1, 2]);
    let account: i64 = sqlx::query(
        "INSERT INTO billing_accounts (name, tz, email, phone, created_us) \
         VALUES ('old', 'Asia/Shanghai', NULL, NULL, 0) RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap()
    .get(0);
    sqlx::query(
        "INSERT INTO billing_balances (account_id, balance, frozen, seq) VALUES ($1, '0', '0', 0)",
    )
    .bind(account)
    .execute(&pool)
    .await
    .unwrap();
    // (key, part, item, month, time, units, source): an import split free / postpaid at
    // 23:30 local on Jan 31st, single calls at 23:59 and 00:01 local, one of them voided
    // two days later (the compensating row's time is the void's), and a call of Feb 1st.
    let rows: &[(&str, i64, &str, &str, &str, i64, &str)] = &[
        (
            "import:x",
            0,
            "detect",
            "2026-01",
            "2026-01-31T15:30:00Z",
            10_000,
            "free",
        ),
        (
            "import:x",
            1,
            "detect",
            "2026-01",
            "2026-01-31T15:30:00Z",
            5,
            "postpaid",
        ),
        (
            "r1",
            0,
            "detect",
            "2026-01",
            "2026-01-31T15:59:00Z",
            1,
            "postpaid",
        ),
        (
            "r2",
            0,
            "detect",
            "2026-02",
            "2026-01-31T16:01:00Z",
            1,
            "free",
        ),
        (
            "r3",
            0,
            "compare",
            "2026-02",
            "2026-02-01T03:00:00Z",
            1,
            "free",
        ),
        (
            "r3",
            -1,
            "compare",
            "2026-02",
            "2026-02-03T03:00:00Z",
            -1,
            "free",
        ),
        (
            "r4",
            0,
            "detect",
            "2026-02",
            "2026-02-01T15:59:59Z",
            1,
            "free",
        ),
    ];
    for (key, part, item, month, at, units, source) in rows {
        sqlx::query(
            "INSERT INTO billing_usage (usage_key, part, account_id, item, action, month, at_us, \
             units, source, pack_id) VALUES ($1, $2, $3, $4, 'x', $5, $6, $7, $8, NULL)",
        )
        .bind(*key)
        .bind(*part)
        .bind(account)
        .bind(*item)
        .bind(*month)
        .bind(t(at).timestamp_micros())
        .bind(*units)
        .bind(*source)
        .execute(&pool)
        .await
        .unwrap();
    }
    for (month, item, calls, free, postpaid) in [
        ("2026-01", "detect", 10_006, 10_000, 6),
        ("2026-02", "detect", 2, 2, 0),
        ("2026-02", "compare", 0, 0, 0),
    ] {
        sqlx::query(
            "INSERT INTO billing_monthly (account_id, month, item, calls, free_units, \
             pack_units, postpaid_units) VALUES ($1, $2, $3, $4, $5, 0, $6)",
        )
        .bind(account)
        .bind(month)
        .bind(item)
        .bind(calls)
        .bind(free)
        .bind(postpaid)
        .execute(&pool)
        .await
        .unwrap();
    }

    let b = Billing::open(pool.clone(), BillingConfig::default())
        .await
        .unwrap();
    assert_eq!(versions(&pool).await, vec![1, 2, 3, 4]);
    assert_eq!(
        b.daily_usage(account, m("2026-01")).await.unwrap(),
        vec![usage("2026-01-31", Item::Detect, 10_000, 0, 6)]
    );
    assert_eq!(
        b.daily_usage(account, m("2026-02")).await.unwrap(),
        vec![usage("2026-02-01", Item::Detect, 2, 0, 0),]
    );
    assert_daily_adds_up(&b).await;
    // The voided call's day row is there, at zero.
    let zero: i64 = sqlx::query_scalar(
        "SELECT calls FROM billing_daily WHERE account_id = $1 AND day = '2026-02-01' \
         AND item = 'compare'",
    )
    .bind(account)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(zero, 0);

    // New calls go on top; a restart does not fill it again.
    b.record_call(
        account,
        Item::Detect,
        "DetectFace",
        "new",
        t("2026-02-01T05:00:00Z"),
    )
    .await
    .unwrap();
    drop(b);
    let b = Billing::open(pool.clone(), BillingConfig::default())
        .await
        .unwrap();
    assert_eq!(versions(&pool).await, vec![1, 2, 3, 4]);
    assert_eq!(
        b.daily_usage(account, m("2026-02")).await.unwrap(),
        vec![usage("2026-02-01", Item::Detect, 3, 0, 0)]
    );
    assert_daily_adds_up(&b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_from_version_2_sqlite() {
    let db = support::sqlite().await;
    backfill(db.pool.clone()).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backfill_from_version_2_postgres() {
    let db = support::postgres().await;
    backfill(db.pool.clone()).await;
    db.close().await;
}
