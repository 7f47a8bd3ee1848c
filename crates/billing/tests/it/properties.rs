//! Property tests over random sequences of top-ups, pack purchases, calls, imports, replays
//! and settlements: units metered = free + pack + postpaid, money is conserved, replays
//! never consume twice. On SQLite and PostgreSQL (fewer cases there: each is a schema).

use crate::support;

use std::collections::HashMap;

use billing::{Billing, BillingError, Consumption, Item, Money, Month, NewAccount, PackSize};
use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use sqlx::Row;

#[derive(Clone, Debug)]
enum Op {
    TopUp(u32),
    Buy {
        item: usize,
        month: u32,
        day: u32,
    },
    Call {
        item: usize,
        key: u8,
        month: u32,
        day: u32,
    },
    Import {
        item: usize,
        key: u8,
        count: u32,
        month: u32,
        day: u32,
    },
    Settle(u32),
}

const ITEMS: [Item; 2] = [Item::Detect, Item::Compare];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u32..3000).prop_map(Op::TopUp),
        (0..2usize, 0..3u32, 1..28u32).prop_map(|(item, month, day)| Op::Buy { item, month, day }),
        (0..2usize, 0..12u8, 0..3u32, 1..28u32).prop_map(|(item, key, month, day)| Op::Call {
            item,
            key,
            month,
            day
        }),
        (0..2usize, 0..8u8, 1..1_500_000u32, 0..3u32, 1..28u32).prop_map(
            |(item, key, count, month, day)| Op::Import {
                item,
                key,
                count,
                month,
                day
            }
        ),
        (0..3u32).prop_map(Op::Settle),
    ]
}

fn at(month: u32, day: u32) -> DateTime<Utc> {
    format!("2026-{:02}-{:02}T06:00:00Z", month + 1, day)
        .parse()
        .unwrap()
}

fn allowed(e: &BillingError) -> bool {
    matches!(
        e,
        BillingError::InArrears { .. }
            | BillingError::MonthClosed { .. }
            | BillingError::InsufficientBalance { .. }
    )
}

async fn check(b: Billing, ops: Vec<Op>) {
    let a = b
        .create_account(
            NewAccount {
                name: "p".into(),
                ..Default::default()
            },
            at(0, 1),
        )
        .await
        .unwrap();
    let mut first: HashMap<String, Consumption> = HashMap::new();
    let mut units: u64 = 0;
    let (mut topups, mut packs_paid, mut settled) = (Money::ZERO, Money::ZERO, Money::ZERO);
    for op in ops {
        match op {
            Op::TopUp(y) => {
                b.top_up(a, Money::yuan(y.into()), at(0, 1)).await.unwrap();
                topups += Money::yuan(y.into());
            }
            Op::Buy { item, month, day } => {
                match b
                    .buy_pack(a, ITEMS[item], PackSize::M1, at(month, day))
                    .await
                {
                    Ok(p) => packs_paid += p.price,
                    Err(e) => assert!(allowed(&e), "{e:?}"),
                }
            }
            Op::Settle(month) => {
                let m = Month::new(2026, month + 1).unwrap();
                let when = b.settlement_due(m, b.config().default_time_zone) + Duration::hours(1);
                let r = b.settle_month(m, when).await.unwrap();
                settled += r.total;
            }
            Op::Call {
                item,
                key,
                month,
                day,
            }
            | Op::Import {
                item,
                key,
                month,
                day,
                ..
            } => {
                let (result, id) = match op {
                    Op::Import { count, .. } => {
                        let id = format!("i{key}");
                        let r = b
                            .import_usage(a, ITEMS[item], count.into(), at(month, day), &id)
                            .await;
                        (r, format!("import:{id}"))
                    }
                    _ => {
                        let id = format!("c{key}");
                        (
                            b.record_call(a, ITEMS[item], "X", &id, at(month, day))
                                .await,
                            id,
                        )
                    }
                };
                match result {
                    Ok(c) => {
                        assert_eq!(c.units, c.free + c.pack + c.postpaid);
                        if let Some(prev) = first.get(&id) {
                            assert!(c.replayed, "{id} consumed twice");
                            assert_eq!(
                                (c.units, c.free, c.pack, c.postpaid, &c.month),
                                (prev.units, prev.free, prev.pack, prev.postpaid, &prev.month)
                            );
                        } else {
                            assert!(!c.replayed);
                            units += c.units;
                            first.insert(id, c);
                        }
                    }
                    Err(e) => assert!(allowed(&e), "{e:?}"),
                }
            }
        }
    }

    let pool = b.pool();
    let rows = sqlx::query(
        "SELECT calls, free_units, pack_units, postpaid_units FROM billing_monthly WHERE account_id = $1",
    )
    .bind(a)
    .fetch_all(pool)
    .await
    .unwrap();
    let mut counted = [0i64; 4];
    for r in &rows {
        let v: Vec<i64> = (0..4).map(|i| r.try_get(i).unwrap()).collect();
        assert_eq!(v[0], v[1] + v[2] + v[3], "calls = free + pack + postpaid");
        for i in 0..4 {
            counted[i] += v[i];
        }
    }
    assert_eq!(counted[0] as u64, units, "every fresh record counted once");
    let by_source = support::usage_by_source(pool, a).await;
    assert_eq!(by_source.get("free").copied().unwrap_or(0), counted[1]);
    assert_eq!(by_source.get("pack").copied().unwrap_or(0), counted[2]);
    assert_eq!(by_source.get("postpaid").copied().unwrap_or(0), counted[3]);
    for p in b.packs(a).await.unwrap() {
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM billing_usage WHERE pack_id = $1",
        )
        .bind(p.id)
        .fetch_one(pool)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert_eq!(p.units - p.remaining, used as u64, "pack {} units", p.id);
    }
    let (balance, _frozen) = b.audit_ledger(a).await.unwrap();
    assert_eq!(balance, topups - packs_paid - settled, "money conserved");
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariants_sqlite(ops in proptest::collection::vec(op(), 1..30)) {
        runtime().block_on(async {
            let db = support::sqlite().await;
            check(db.billing().await, ops).await;
            db.close().await;
        });
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn ledger_invariants_postgres(ops in proptest::collection::vec(op(), 1..30)) {
        runtime().block_on(async {
            let db = support::postgres().await;
            check(db.billing().await, ops).await;
            db.close().await;
        });
    }
}
