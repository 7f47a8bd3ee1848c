//! Offline-SDK purchases on SQLite and PostgreSQL: tier prices, the minimum order, a short
//! balance refused with nothing charged, ClientToken replays (also concurrent, from two
//! engines) charging once, conflicts, ledger lines, and the bill's SDK lines.

use billing::{Billing, BillingError, Money, Month, NewAccount, Sdk, SdkOrderKind};
use chrono::{DateTime, Utc};

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

on_both!(
    sdk_orders_are_charged_once,
    concurrent_sdk_orders_with_one_token
);

async fn account(b: &Billing, topup: &str) -> i64 {
    let a = b
        .create_account(
            NewAccount {
                name: "sdk".into(),
                ..Default::default()
            },
            t("2027-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    b.top_up(a, money(topup), t("2027-01-01T00:00:00Z"))
        .await
        .unwrap();
    a
}

async fn sdk_orders_are_charged_once(b: Billing) {
    let a = account(&b, "1500000").await;
    let at = t("2027-01-10T00:00:00Z");
    assert!(matches!(
        b.order_sdk_devices(a, Sdk::Detect, 49, None, at).await,
        Err(BillingError::BelowMinimumOrder {
            quantity: 49,
            minimum: 50
        })
    ));
    let o = b
        .order_sdk_devices(a, Sdk::Detect, 500, Some("po-1"), at)
        .await
        .unwrap();
    assert_eq!(
        (o.total, o.tier, o.kind),
        (money("144000.00"), Some(1), SdkOrderKind::Devices)
    );
    let replay = b
        .order_sdk_devices(a, Sdk::Detect, 500, Some("po-1"), at)
        .await
        .unwrap();
    assert_eq!((replay.id, replay.replayed), (o.id, true));
    assert!(matches!(
        b.order_sdk_devices(a, Sdk::Detect, 501, Some("po-1"), at).await,
        Err(BillingError::SdkClientTokenConflict { order, .. }) if order == o.id
    ));
    let big = b
        .order_sdk_devices(a, Sdk::Search, 4000, None, at)
        .await
        .unwrap();
    assert_eq!((big.total, big.tier), (money("1232000.00"), Some(2)));
    // 1,500,000 − 144,000 − 1,232,000 = 124,000: a platform year (300,000) is short.
    let short = b
        .charge_sdk_platform(a, Sdk::Detect, "com.acme.gate", 1, None, at)
        .await;
    assert!(
        matches!(short, Err(BillingError::InsufficientBalance { .. })),
        "{short:?}"
    );
    assert_eq!(b.account(a).await.unwrap().balance, money("124000.00"));
    b.top_up(a, money("500000"), at).await.unwrap();
    let p = b
        .charge_sdk_platform(a, Sdk::Detect, "com.acme.gate", 1, Some("plat"), at)
        .await
        .unwrap();
    assert_eq!(
        (p.total, p.kind, p.package.as_deref()),
        (
            money("300000.00"),
            SdkOrderKind::Platform,
            Some("com.acme.gate")
        )
    );
    assert!(matches!(
        b.charge_sdk_platform(a, Sdk::Detect, "com.acme.gate", 11, None, at)
            .await,
        Err(BillingError::OutOfRange(_))
    ));
    // The ledger: one line per purchase, of its own kind; the balances agree with it.
    let kinds: Vec<String> = b
        .ledger(a)
        .await
        .unwrap()
        .into_iter()
        .map(|l| l.kind)
        .filter(|k| k.starts_with("sdk_"))
        .collect();
    assert_eq!(kinds, vec!["sdk_devices", "sdk_devices", "sdk_platform"]);
    let (balance, _) = b.audit_ledger(a).await.unwrap();
    assert_eq!(balance, money("324000.00"));
    assert_eq!(b.account(a).await.unwrap().balance, balance);
    // The bill: January has the three purchases, February none.
    let bill = b
        .bill(a, "2027-01".parse::<Month>().unwrap(), at)
        .await
        .unwrap();
    let lines: Vec<(i64, Money)> = bill
        .sdk_purchases
        .iter()
        .map(|p| (p.order, p.total))
        .collect();
    assert_eq!(
        lines,
        vec![(o.id, o.total), (big.id, big.total), (p.id, p.total)]
    );
    assert_eq!(bill.sdk_purchases_total, money("1676000.00"));
    assert_eq!(bill.total, Money::ZERO);
    let feb = b
        .bill(a, "2027-02".parse::<Month>().unwrap(), at)
        .await
        .unwrap();
    assert!(feb.sdk_purchases.is_empty());
    assert_eq!(b.sdk_orders(a).await.unwrap().len(), 3);
    assert_eq!(
        b.sdk_order(p.id).await.unwrap().unwrap().package.as_deref(),
        Some("com.acme.gate")
    );
}

async fn concurrent_sdk_orders_with_one_token(b: Billing) {
    let a = account(&b, "20000").await;
    let at = t("2027-01-10T00:00:00Z");
    let nodes = [
        b.clone(),
        Billing::open(b.pool().clone(), b.config().clone())
            .await
            .unwrap(),
    ];
    let mut tasks = Vec::new();
    for i in 0..8 {
        let node = nodes[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            node.order_sdk_devices(a, Sdk::Detect, 50, Some("same"), at)
                .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut fresh = 0;
    for task in tasks {
        let o = task.await.unwrap().unwrap();
        ids.insert(o.id);
        fresh += usize::from(!o.replayed);
    }
    assert_eq!((ids.len(), fresh), (1, 1));
    // 50 × 288 = 14,400 charged once.
    assert_eq!(b.account(a).await.unwrap().balance, money("5600.00"));
}
