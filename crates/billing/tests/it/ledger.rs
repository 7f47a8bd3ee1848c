//! Billing scenarios with explicit times, each run on SQLite and PostgreSQL.

use billing::{
    AccountState, BillStatus, Billing, BillingError, EnrolmentOutcome, Item, Money, Month,
    NewAccount, NoticeKind, PackSize, Voided,
};
use chrono::{DateTime, Utc};
use sqlx::Row;

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn m(s: &str) -> Month {
    s.parse().unwrap()
}

async fn account(b: &Billing, name: &str) -> i64 {
    b.create_account(
        NewAccount {
            name: name.into(),
            ..Default::default()
        },
        t("2026-01-01T00:00:00Z"),
    )
    .await
    .unwrap()
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

on_both!(
    month_boundary_in_billing_time_zone,
    free_pack_resets_each_month,
    packs_stack_earliest_expiry_first_and_void_at_expiry,
    alerts_fire_exactly_once_per_pack,
    settlement_twice_is_once,
    arrears_refuse_postpaid_until_top_up,
    document_example_two_through_the_ledger,
    replays_never_consume_twice,
    preview_equals_final_bill,
    concurrent_callers_are_each_counted_once,
    pack_purchase_needs_available_balance,
    usage_into_a_settled_month_is_refused,
    expiry_voids_what_late_calls_left,
    client_token_buys_once,
    concurrent_purchases_with_one_token_buy_once,
    top_ups_with_one_token_add_once,
    void_gives_back_each_source_once,
    concurrent_voids_give_back_once,
    pending_enrolments_settle_once,
    other_writers_are_seen_mid_stream,
);

async fn month_boundary_in_billing_time_zone(b: Billing) {
    let a = account(&b, "tz").await;
    let c = b
        .record_call(
            a,
            Item::Detect,
            "DetectFace",
            "r1",
            t("2026-01-31T16:30:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(c.month, "2026-02");
    let c = b
        .record_call(
            a,
            Item::Detect,
            "DetectFace",
            "r2",
            t("2026-01-31T15:59:59Z"),
        )
        .await
        .unwrap();
    assert_eq!(c.month, "2026-01");
    let now = t("2026-03-10T00:00:00Z");
    assert_eq!(
        b.bill(a, m("2026-02"), now).await.unwrap().lines[0].calls,
        1
    );
    assert_eq!(
        b.bill(a, m("2026-01"), now).await.unwrap().lines[0].calls,
        1
    );

    let utc = b
        .create_account(
            NewAccount {
                name: "utc".into(),
                time_zone: Some("UTC".into()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let c = b
        .record_call(
            utc,
            Item::Detect,
            "DetectFace",
            "r3",
            t("2026-01-31T16:30:00Z"),
        )
        .await
        .unwrap();
    assert_eq!(c.month, "2026-01");
}

async fn free_pack_resets_each_month(b: Billing) {
    let a = account(&b, "free").await;
    let c = b
        .import_usage(a, Item::Compare, 10_005, t("2026-01-10T00:00:00Z"), "jan")
        .await
        .unwrap();
    assert_eq!((c.free, c.pack, c.postpaid), (10_000, 0, 5));
    let c = b
        .import_usage(a, Item::Compare, 3, t("2026-02-10T00:00:00Z"), "feb")
        .await
        .unwrap();
    assert_eq!((c.free, c.postpaid), (3, 0));
    // Per item: another item has its own 10,000.
    let c = b
        .import_usage(
            a,
            Item::Verify,
            10_000,
            t("2026-01-11T00:00:00Z"),
            "jan-verify",
        )
        .await
        .unwrap();
    assert_eq!((c.free, c.postpaid), (10_000, 0));
    let bill = b
        .bill(a, m("2026-01"), t("2026-01-20T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(bill.status, BillStatus::Open);
    // 5 × 0.0032 = 0.016 → 0.02
    assert_eq!(bill.total.to_string(), "0.02");
}

async fn packs_stack_earliest_expiry_first_and_void_at_expiry(b: Billing) {
    let a = account(&b, "packs").await;
    b.top_up(a, money("1350"), t("2025-01-01T00:00:00Z"))
        .await
        .unwrap();
    let old = b
        .buy_pack(a, Item::Detect, PackSize::M1, t("2025-03-01T00:00:00Z"))
        .await
        .unwrap();
    let new = b
        .buy_pack(a, Item::Detect, PackSize::M1, t("2025-06-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(old.expires_at, t("2026-03-01T00:00:00Z"));
    // Free pack first, then the pack expiring first.
    let c = b
        .import_usage(
            a,
            Item::Detect,
            1_010_000 + 400_000,
            t("2026-01-05T00:00:00Z"),
            "u1",
        )
        .await
        .unwrap();
    assert_eq!((c.free, c.pack, c.postpaid), (10_000, 1_400_000, 0));
    let packs = b.packs(a).await.unwrap();
    assert_eq!(packs[0].remaining, 0);
    assert_eq!(packs[1].remaining, 600_000);

    // After the first pack expired, only the second counts; a pack not yet bought at the
    // call's time does not.
    let later = b
        .buy_pack(a, Item::Detect, PackSize::M1, t("2026-04-01T00:00:00Z"))
        .await
        .unwrap();
    let c = b
        .import_usage(
            a,
            Item::Detect,
            10_000 + 700_000,
            t("2026-03-15T00:00:00Z"),
            "u2",
        )
        .await
        .unwrap();
    assert_eq!((c.free, c.pack, c.postpaid), (10_000, 600_000, 100_000));
    // The new pack expires 2027-06-01; by then 400,000 are left and are voided.
    b.import_usage(
        a,
        Item::Detect,
        10_000 + 600_000,
        t("2026-04-02T00:00:00Z"),
        "u3",
    )
    .await
    .unwrap();
    assert_eq!(b.expire_packs(t("2026-02-28T23:59:59Z")).await.unwrap(), 0);
    assert_eq!(b.expire_packs(t("2026-03-01T00:00:00Z")).await.unwrap(), 1);
    assert_eq!(b.expire_packs(t("2027-03-31T00:00:00Z")).await.unwrap(), 1);
    assert_eq!(b.expire_packs(t("2027-04-01T00:00:00Z")).await.unwrap(), 1);
    assert_eq!(b.expire_packs(t("2027-04-02T00:00:00Z")).await.unwrap(), 0);
    let packs = b.packs(a).await.unwrap();
    let voided = packs.iter().find(|p| p.id == later.id).unwrap();
    assert_eq!(voided.voided, Some(400_000));
    assert_eq!(
        packs.iter().find(|p| p.id == new.id).unwrap().voided,
        Some(0)
    );
    assert_eq!(
        packs.iter().find(|p| p.id == old.id).unwrap().voided,
        Some(0)
    );
    // A voided pack is never consumed again.
    let c = b
        .import_usage(a, Item::Detect, 10_000 + 5, t("2027-04-02T00:00:00Z"), "u4")
        .await
        .unwrap();
    assert_eq!(c.postpaid, 5);
}

async fn alerts_fire_exactly_once_per_pack(b: Billing) {
    let a = b
        .create_account(
            NewAccount {
                name: "alerts".into(),
                email: Some("ops@example.com".into()),
                phone: Some("+8613800000000".into()),
                ..Default::default()
            },
            t("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    b.top_up(a, money("450"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let p = b
        .buy_pack(a, Item::Detect, PackSize::M1, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let at = t("2026-01-02T00:00:00Z");
    // 150,000 left is exactly 15%: not below yet.
    b.import_usage(a, Item::Detect, 10_000 + 850_000, at, "a1")
        .await
        .unwrap();
    assert!(b.notices(a).await.unwrap().is_empty());
    b.import_usage(a, Item::Detect, 1, at, "a2").await.unwrap();
    for i in 0..20 {
        b.record_call(a, Item::Detect, "DetectFace", &format!("c{i}"), at)
            .await
            .unwrap();
    }
    let notices = b.notices(a).await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, NoticeKind::PackLow);
    assert_eq!(notices[0].pack, p.id);
    let channels: Vec<(&str, &str)> = notices[0]
        .deliveries
        .iter()
        .map(|d| (d.channel.as_str(), d.state.as_str()))
        .collect();
    assert_eq!(
        channels,
        vec![
            ("email", "pending"),
            ("in_app", "delivered"),
            ("sms", "pending")
        ]
    );
    // Exhaust it, then keep going into postpaid: one more notice, no others.
    b.import_usage(a, Item::Detect, 149_979, at, "a3")
        .await
        .unwrap();
    b.import_usage(a, Item::Detect, 100, at, "a4")
        .await
        .unwrap();
    b.import_usage(a, Item::Detect, 100, at, "a4")
        .await
        .unwrap();
    let notices = b.notices(a).await.unwrap();
    let kinds: Vec<NoticeKind> = notices.iter().map(|n| n.kind).collect();
    assert_eq!(kinds, vec![NoticeKind::PackLow, NoticeKind::PackExhausted]);
    assert_eq!(b.packs(a).await.unwrap()[0].remaining, 0);
    // One import crossing both thresholds at once gives both notices.
    b.top_up(a, money("450"), at).await.unwrap();
    b.buy_pack(a, Item::Detect, PackSize::M1, at).await.unwrap();
    b.import_usage(a, Item::Detect, 2_000_000, at, "a5")
        .await
        .unwrap();
    assert_eq!(b.notices(a).await.unwrap().len(), 4);
}

async fn settlement_twice_is_once(b: Billing) {
    let a = account(&b, "twice").await;
    b.top_up(a, money("5000"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.import_usage(
        a,
        Item::Landmarks,
        1_000_000,
        t("2026-01-15T00:00:00Z"),
        "u",
    )
    .await
    .unwrap();
    let early = b
        .settle_month(m("2026-01"), t("2026-01-31T15:59:59Z"))
        .await;
    assert!(
        matches!(early, Err(BillingError::MonthNotOver { .. })),
        "{early:?}"
    );
    let r1 = b
        .settle_month(m("2026-01"), t("2026-02-01T01:00:00Z"))
        .await
        .unwrap();
    assert_eq!((r1.settled, r1.already_settled), (1, 0));
    assert_eq!(r1.total, money("1980"));
    let after_first = b.account(a).await.unwrap();
    let ledger_first = b.ledger(a).await.unwrap().len();
    let r2 = b
        .settle_month(m("2026-01"), t("2026-02-02T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!((r2.settled, r2.already_settled), (0, 1));
    let after_second = b.account(a).await.unwrap();
    assert_eq!(after_first.balance, after_second.balance);
    assert_eq!(after_first.frozen, after_second.frozen);
    assert_eq!(b.ledger(a).await.unwrap().len(), ledger_first);
    // 5000 − 1980; frozen 1.2 × 1980 = 2376
    assert_eq!(after_second.balance, money("3020"));
    assert_eq!(after_second.frozen, money("2376"));
    assert_eq!(after_second.available, money("644"));
    assert_eq!(after_second.state, AccountState::Active);
    let bill = b
        .bill(a, m("2026-01"), t("2026-02-02T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(bill.status, BillStatus::Settled);
    assert_eq!(bill.settlement.unwrap().frozen, money("2376"));

    // February: no usage. Settlement releases January's freeze and freezes nothing.
    b.settle_month(m("2026-02"), t("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let acc = b.account(a).await.unwrap();
    assert_eq!((acc.balance, acc.frozen), (money("3020"), Money::ZERO));
    b.audit_ledger(a).await.unwrap();
}

async fn arrears_refuse_postpaid_until_top_up(b: Billing) {
    let a = account(&b, "arrears").await;
    b.top_up(a, money("450"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.buy_pack(a, Item::Detect, PackSize::M1, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    // 3,510,000 compare calls: V = 3,500,000 at tier 2, 0.003 → 10,500.00
    b.import_usage(
        a,
        Item::Compare,
        3_510_000,
        t("2026-01-20T00:00:00Z"),
        "big",
    )
    .await
    .unwrap();
    let r = b
        .settle_month(m("2026-01"), t("2026-02-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(r.total, money("10500"));
    assert_eq!(r.in_arrears, vec![a]);
    let acc = b.account(a).await.unwrap();
    assert_eq!(acc.balance, money("-10500"));
    assert_eq!(acc.frozen, money("12600"));
    assert_eq!(acc.state, AccountState::Arrears);

    let feb = t("2026-02-03T00:00:00Z");
    // Free and pack-covered calls still work.
    for i in 0..3 {
        let c = b
            .record_call(a, Item::Compare, "CompareFace", &format!("f{i}"), feb)
            .await
            .unwrap();
        assert_eq!(c.free, 1);
    }
    let c = b
        .import_usage(a, Item::Detect, 10_000 + 500, feb, "pack")
        .await
        .unwrap();
    assert_eq!(c.pack, 500);
    // Postpaid-bound: refused, and nothing is recorded.
    b.import_usage(a, Item::Compare, 9_997, feb, "fill")
        .await
        .unwrap();
    let e = b
        .record_call(a, Item::Compare, "CompareFace", "p1", feb)
        .await
        .unwrap_err();
    assert!(
        matches!(e, BillingError::InArrears { account } if account == a),
        "{e:?}"
    );
    let e = b
        .import_usage(a, Item::Detect, 1_000_000, feb, "over")
        .await
        .unwrap_err();
    assert!(matches!(e, BillingError::InArrears { .. }));
    assert_eq!(
        b.bill(a, m("2026-02"), feb).await.unwrap().total,
        Money::ZERO
    );
    // A pack cannot be bought in arrears either.
    assert!(matches!(
        b.buy_pack(a, Item::Compare, PackSize::M1, feb).await,
        Err(BillingError::InsufficientBalance { .. })
    ));

    // Top-up clears arrears at once.
    let acc = b.top_up(a, money("23100"), feb).await.unwrap();
    assert_eq!(acc.available, Money::ZERO);
    assert_eq!(acc.state, AccountState::Active);
    let c = b
        .record_call(a, Item::Compare, "CompareFace", "p1", feb)
        .await
        .unwrap();
    assert_eq!(c.postpaid, 1);
    b.audit_ledger(a).await.unwrap();
}

async fn document_example_two_through_the_ledger(b: Billing) {
    let a = account(&b, "example2").await;
    b.top_up(a, money("142500"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.buy_pack(a, Item::Search, PackSize::M50, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.import_usage(
        a,
        Item::Search,
        52_000_000,
        t("2026-01-20T00:00:00Z"),
        "jan",
    )
    .await
    .unwrap();
    let bill = b
        .bill(a, m("2026-01"), t("2026-02-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(bill.status, BillStatus::Closed);
    let l = &bill.lines[0];
    assert_eq!(
        (l.calls, l.free, l.pack, l.postpaid, l.tier),
        (52_000_000, 10_000, 50_000_000, 1_990_000, 1)
    );
    assert_eq!(bill.total.to_string(), "6368.00");
    assert_eq!(bill.pack_purchases_total.to_string(), "142500.00");
    assert_eq!(
        (bill.total + bill.pack_purchases_total).to_string(),
        "148868.00"
    );

    // Postpaid examples.
    let p = account(&b, "postpaid").await;
    let at = t("2026-01-20T00:00:00Z");
    b.import_usage(p, Item::Landmarks, 1_000_000, at, "l")
        .await
        .unwrap();
    b.import_usage(p, Item::Compare, 3_500_000, at, "c")
        .await
        .unwrap();
    b.import_usage(p, Item::Liveness, 5_000_000, at, "v")
        .await
        .unwrap();
    let bill = b.bill(p, m("2026-01"), at).await.unwrap();
    let amounts: Vec<(Item, String)> = bill
        .lines
        .iter()
        .map(|l| (l.item, l.amount.to_string()))
        .collect();
    assert_eq!(
        amounts,
        vec![
            (Item::Landmarks, "1980.00".to_string()),
            (Item::Compare, "10470.00".to_string()),
            (Item::Liveness, "8483.00".to_string()),
        ]
    );
    assert_eq!(bill.total.to_string(), "20933.00");
}

async fn replays_never_consume_twice(b: Billing) {
    let a = account(&b, "replay").await;
    let at = t("2026-01-05T00:00:00Z");
    let first = b
        .record_call(a, Item::Search, "SearchFaces", "req-1", at)
        .await
        .unwrap();
    assert!(!first.replayed);
    let again = b
        .record_call(a, Item::Search, "SearchFaces", "req-1", at)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.free, 1);
    let imp = b.import_usage(a, Item::Search, 500, at, "i").await.unwrap();
    let imp2 = b.import_usage(a, Item::Search, 500, at, "i").await.unwrap();
    assert!(imp2.replayed);
    assert_eq!((imp2.units, imp2.free), (imp.units, imp.free));
    // Replays inside one batch.
    let futs: Vec<_> = (0..50)
        .map(|_| {
            let b = b.clone();
            async move {
                b.record_call(a, Item::Search, "SearchFaces", "req-2", at)
                    .await
            }
        })
        .collect();
    let results = futures_join_all(futs).await;
    assert_eq!(
        results
            .iter()
            .filter(|r| !r.as_ref().unwrap().replayed)
            .count(),
        1
    );
    let bill = b.bill(a, m("2026-01"), at).await.unwrap();
    assert_eq!(bill.lines[0].calls, 502);
}

async fn futures_join_all<F: std::future::Future + Send + 'static>(futs: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

/// `n` calls of `call` at once, alternating between `b` and a second engine on the same
/// database (two nodes).
async fn at_once_on_two_nodes<F, Fut>(b: &Billing, n: usize, call: F) -> Vec<Fut::Output>
where
    F: Fn(Billing) -> Fut,
    Fut: std::future::Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let nodes = [
        b.clone(),
        Billing::open(b.pool().clone(), b.config().clone())
            .await
            .unwrap(),
    ];
    futures_join_all((0..n).map(|i| call(nodes[i % 2].clone())).collect()).await
}

async fn preview_equals_final_bill(b: Billing) {
    let a = account(&b, "preview").await;
    b.top_up(a, money("100000"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.buy_pack(a, Item::Liveness, PackSize::M1, t("2026-01-02T00:00:00Z"))
        .await
        .unwrap();
    for (i, (item, n)) in [
        (Item::Detect, 3_000_001u64),
        (Item::Liveness, 16_000_000),
        (Item::Person, 12_345),
    ]
    .into_iter()
    .enumerate()
    {
        b.import_usage(a, item, n, t("2026-01-10T00:00:00Z"), &i.to_string())
            .await
            .unwrap();
    }
    let preview = b
        .bill(a, m("2026-01"), t("2026-01-20T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(preview.status, BillStatus::Open);
    b.settle_month(m("2026-01"), t("2026-02-01T00:00:00Z"))
        .await
        .unwrap();
    let fin = b
        .bill(a, m("2026-01"), t("2026-02-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(fin.status, BillStatus::Settled);
    assert_eq!(
        serde_json::to_value(&preview.lines).unwrap(),
        serde_json::to_value(&fin.lines).unwrap()
    );
    assert_eq!(preview.total, fin.total);
    assert_eq!(fin.settlement.unwrap().total, fin.total);
    // detect V = 2,990,001 → tier 1: 1495.0005 → 1495.00; liveness V = 14,990,000 (free and a
    // 1M pack first) → tier 2 × 0.0017 = 25483.00; person V = 2,345 × 0.0032 = 7.504 → 7.50
    let amounts: Vec<String> = fin.lines.iter().map(|l| l.amount.to_string()).collect();
    assert_eq!(amounts, vec!["1495.00", "7.50", "25483.00"]);
    assert_eq!(fin.total.to_string(), "26985.50");
    assert_eq!(fin.pack_purchases.len(), 1);
}

async fn concurrent_callers_are_each_counted_once(b: Billing) {
    let a = account(&b, "concurrent").await;
    let at = t("2026-01-05T00:00:00Z");
    let futs: Vec<_> = (0..2000)
        .map(|i| {
            let b = b.clone();
            async move {
                b.record_call(a, Item::Detect, "DetectFace", &format!("k{}", i % 1500), at)
                    .await
            }
        })
        .collect();
    let results = futures_join_all(futs).await;
    let fresh = results
        .iter()
        .filter(|r| !r.as_ref().unwrap().replayed)
        .count();
    assert_eq!(fresh, 1500);
    let bill = b.bill(a, m("2026-01"), at).await.unwrap();
    assert_eq!(bill.lines[0].calls, 1500);
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM billing_usage")
        .fetch_one(b.pool())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(n, 1500);
}

async fn pack_purchase_needs_available_balance(b: Billing) {
    let a = account(&b, "short").await;
    b.top_up(a, money("449.99"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let e = b
        .buy_pack(a, Item::Detect, PackSize::M1, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap_err();
    assert!(
        matches!(e, BillingError::InsufficientBalance { .. }),
        "{e:?}"
    );
    assert!(b.packs(a).await.unwrap().is_empty());
    b.top_up(a, money("0.01"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.buy_pack(a, Item::Detect, PackSize::M1, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(b.account(a).await.unwrap().balance, Money::ZERO);
    assert!(b
        .top_up(a, money("-1"), t("2026-01-01T00:00:00Z"))
        .await
        .is_err());
    assert!(b
        .top_up(a, money("0.001"), t("2026-01-01T00:00:00Z"))
        .await
        .is_err());
    assert!(matches!(
        b.top_up(999_999, money("1"), t("2026-01-01T00:00:00Z"))
            .await,
        Err(BillingError::UnknownAccount(999_999))
    ));
    assert!(matches!(
        b.record_call(
            999_999,
            Item::Detect,
            "DetectFace",
            "x",
            t("2026-01-01T00:00:00Z")
        )
        .await,
        Err(BillingError::UnknownAccount(999_999))
    ));
}

async fn usage_into_a_settled_month_is_refused(b: Billing) {
    let a = account(&b, "closed").await;
    b.settle_month(m("2026-01"), t("2026-02-01T00:00:00Z"))
        .await
        .unwrap();
    let e = b
        .import_usage(a, Item::Detect, 5, t("2026-01-31T00:00:00Z"), "late")
        .await
        .unwrap_err();
    assert!(matches!(e, BillingError::MonthClosed { .. }), "{e:?}");
    b.import_usage(a, Item::Detect, 5, t("2026-02-01T00:00:00Z"), "ok")
        .await
        .unwrap();
}

/// Late calls (timed before the expiry) racing the voiding of their pack: the remainder
/// written off is exactly what the calls left, never a remainder read while a batch ran.
async fn expiry_voids_what_late_calls_left(b: Billing) {
    let a = account(&b, "late").await;
    b.top_up(a, Money::yuan(450), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let pack = b
        .buy_pack(a, Item::Detect, PackSize::M1, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    // December's free calls used up, so the late calls below draw on the pack.
    b.import_usage(a, Item::Detect, 10_000, t("2026-12-01T00:00:00Z"), "dec")
        .await
        .unwrap();
    let late = t("2026-12-31T23:00:00Z");
    let mut tasks = Vec::new();
    for c in 0..32 {
        let b = b.clone();
        tasks.push(tokio::spawn(async move {
            let mut from_pack = 0;
            for n in 0..40 {
                let r = b
                    .record_call(
                        a,
                        Item::Detect,
                        "DetectFace",
                        &format!("late-{c}-{n}"),
                        late,
                    )
                    .await
                    .unwrap();
                from_pack += r.pack;
            }
            from_pack
        }));
    }
    let mut voided = 0;
    for _ in 0..20 {
        voided += b.expire_packs(t("2027-01-02T00:00:00Z")).await.unwrap();
        tokio::task::yield_now().await;
    }
    let mut from_pack = 0;
    for task in tasks {
        from_pack += task.await.unwrap();
    }
    assert_eq!(voided, 1);
    let p = b.packs(a).await.unwrap().remove(0);
    assert_eq!(p.id, pack.id);
    assert_eq!(p.voided, Some(p.remaining));
    assert_eq!(from_pack, 1_000_000 - p.remaining);
}

/// The pack purchases in an account's ledger.
async fn purchases(b: &Billing, a: i64) -> usize {
    b.ledger(a)
        .await
        .unwrap()
        .iter()
        .filter(|l| l.kind == "pack_purchase")
        .count()
}

async fn client_token_buys_once(b: Billing) {
    let a = account(&b, "token").await;
    let at = t("2026-03-01T00:00:00Z");
    b.top_up(a, money("10000"), at).await.unwrap();
    let first = b
        .buy_pack_with_token(a, Item::Detect, PackSize::M1, at, Some("order-1"))
        .await
        .unwrap();
    assert!(!first.replayed);
    // A retry, even later and through a new engine on the same database (a restart or
    // another node), gets the same pack and pays nothing.
    let restarted = Billing::open(b.pool().clone(), b.config().clone())
        .await
        .unwrap();
    let again = restarted
        .buy_pack_with_token(
            a,
            Item::Detect,
            PackSize::M1,
            t("2026-03-01T00:05:00Z"),
            Some("order-1"),
        )
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.pack.id, first.pack.id);
    assert_eq!(again.pack.purchased_at, at);
    assert_eq!(b.packs(a).await.unwrap().len(), 1);
    assert_eq!(purchases(&b, a).await, 1);
    assert_eq!(b.account(a).await.unwrap().balance, money("9550"));

    // The same token for another size or item is refused, naming both purchases.
    let e = b
        .buy_pack_with_token(a, Item::Detect, PackSize::M10, at, Some("order-1"))
        .await
        .unwrap_err();
    match &e {
        BillingError::ClientTokenConflict {
            token,
            stored,
            asked,
            pack,
        } => {
            assert_eq!(token, "order-1");
            assert_eq!(stored, "detect 1m");
            assert_eq!(asked, "detect 10m");
            assert_eq!(*pack, first.pack.id);
        }
        other => panic!("{other:?}"),
    }
    let e = b
        .buy_pack_with_token(a, Item::Search, PackSize::M1, at, Some("order-1"))
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("search 1m") && e.to_string().contains("detect 1m"),
        "{e}"
    );
    assert_eq!(b.account(a).await.unwrap().balance, money("9550"));

    // Tokens are per account: another account's "order-1" is its own purchase.
    let other = account(&b, "other").await;
    b.top_up(other, money("1000"), at).await.unwrap();
    let theirs = b
        .buy_pack_with_token(other, Item::Detect, PackSize::M1, at, Some("order-1"))
        .await
        .unwrap();
    assert!(!theirs.replayed);
    assert_ne!(theirs.pack.id, first.pack.id);

    // A new token buys a new pack; no token always buys (a retry without one buys twice).
    let second = b
        .buy_pack_with_token(a, Item::Detect, PackSize::M1, at, Some("order-2"))
        .await
        .unwrap();
    assert!(!second.replayed);
    assert_ne!(second.pack.id, first.pack.id);
    b.buy_pack(a, Item::Detect, PackSize::M1, at).await.unwrap();
    b.buy_pack(a, Item::Detect, PackSize::M1, at).await.unwrap();
    assert_eq!(purchases(&b, a).await, 4);
    assert_eq!(b.account(a).await.unwrap().balance, money("8200"));

    // A replay is answered even when the balance could no longer pay for the pack.
    let poor = account(&b, "poor").await;
    b.top_up(poor, money("450"), at).await.unwrap();
    b.buy_pack_with_token(poor, Item::Detect, PackSize::M1, at, Some("x"))
        .await
        .unwrap();
    let again = b
        .buy_pack_with_token(poor, Item::Detect, PackSize::M1, at, Some("x"))
        .await
        .unwrap();
    assert!(again.replayed);

    // Malformed tokens: empty, 65 characters, a space, non-ASCII.
    let long = "a".repeat(65);
    for bad in ["", long.as_str(), "a b", "订单"] {
        let e = b
            .buy_pack_with_token(a, Item::Detect, PackSize::M1, at, Some(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(e, BillingError::InvalidClientToken(_)),
            "{bad:?}: {e:?}"
        );
    }
    let max = "t".repeat(64);
    b.buy_pack_with_token(a, Item::Detect, PackSize::M1, at, Some(&max))
        .await
        .unwrap();
    assert_eq!(purchases(&b, a).await, 5);
    let (balance, frozen) = b.audit_ledger(a).await.unwrap();
    assert_eq!(balance, money("7750"));
    assert_eq!(frozen, Money::ZERO);
}

async fn concurrent_purchases_with_one_token_buy_once(b: Billing) {
    let a = account(&b, "race").await;
    let at = t("2026-03-01T00:00:00Z");
    b.top_up(a, money("100000"), at).await.unwrap();
    // Two engines (two nodes) and several requests each, all with one token at once.
    let results = at_once_on_two_nodes(&b, 8, |node| async move {
        node.buy_pack_with_token(a, Item::Search, PackSize::M10, at, Some("same"))
            .await
    })
    .await;
    let orders: Vec<_> = results.into_iter().map(|r| r.unwrap()).collect();
    assert_eq!(orders.iter().filter(|o| !o.replayed).count(), 1);
    assert!(orders.iter().all(|o| o.pack.id == orders[0].pack.id));
    assert_eq!(b.packs(a).await.unwrap().len(), 1);
    assert_eq!(purchases(&b, a).await, 1);
    // 30,400 yuan, once.
    assert_eq!(b.account(a).await.unwrap().balance, money("69600"));
}

async fn top_ups_with_one_token_add_once(b: Billing) {
    let a = account(&b, "top-up").await;
    let at = t("2026-03-01T00:00:00Z");
    // Eight requests with one token at once through two engines (two nodes): one adds.
    let done: Vec<_> = at_once_on_two_nodes(&b, 8, |node| async move {
        node.top_up_with_token(a, money("250.50"), at, Some("wire-2026-03-01"))
            .await
    })
    .await
    .into_iter()
    .map(|r| r.unwrap())
    .collect();
    assert_eq!(done.iter().filter(|d| !d.replayed).count(), 1);
    assert!(done.iter().all(|d| d.account.balance == money("250.50")));
    // The same token for another amount is refused and adds nothing; a new token adds;
    // no token adds every time; a malformed token is refused.
    assert!(matches!(
        b.top_up_with_token(a, money("1"), at, Some("wire-2026-03-01"))
            .await,
        Err(BillingError::TopUpTokenConflict { .. })
    ));
    let next = b
        .top_up_with_token(a, money("1"), at, Some("wire-2026-03-02"))
        .await
        .unwrap();
    assert!(!next.replayed);
    b.top_up(a, money("1"), at).await.unwrap();
    b.top_up(a, money("1"), at).await.unwrap();
    assert!(matches!(
        b.top_up_with_token(a, money("1"), at, Some("bad token"))
            .await,
        Err(BillingError::InvalidClientToken(_))
    ));
    assert_eq!(b.account(a).await.unwrap().balance, money("253.50"));
    // The ledger agrees with the cached balance, and another account may use the token.
    assert_eq!(b.audit_ledger(a).await.unwrap().0, money("253.50"));
    let other = account(&b, "other").await;
    let theirs = b
        .top_up_with_token(other, money("5"), at, Some("wire-2026-03-01"))
        .await
        .unwrap();
    assert!(!theirs.replayed);
    assert_eq!(theirs.account.balance, money("5"));
}

/// The month's line of `item`, or zeros.
async fn line(b: &Billing, a: i64, item: Item, month: &str) -> (u64, u64, u64, u64) {
    let bill = b
        .bill(a, m(month), t("2026-04-20T00:00:00Z"))
        .await
        .unwrap();
    bill.lines
        .iter()
        .find(|l| l.item == item)
        .map_or((0, 0, 0, 0), |l| (l.calls, l.free, l.pack, l.postpaid))
}

/// Sum of the usage rows of a pack: what was taken from it, net of voids.
async fn taken_from(b: &Billing, pack: i64) -> i64 {
    sqlx::query(
        "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM billing_usage WHERE pack_id = $1",
    )
    .bind(pack)
    .fetch_one(b.pool())
    .await
    .unwrap()
    .try_get(0)
    .unwrap()
}

async fn void_gives_back_each_source_once(b: Billing) {
    let a = account(&b, "void").await;
    let at = t("2026-04-10T00:00:00Z");
    b.top_up(a, money("10000"), at).await.unwrap();

    // From the free pack.
    let c = b
        .record_call(a, Item::Person, "CreatePerson", "v-free", at)
        .await
        .unwrap();
    assert_eq!(c.free, 1);
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (1, 1, 0, 0));
    let v = b.void_call("v-free", at).await.unwrap();
    match &v {
        Voided::Voided(g) => assert_eq!((g.units, g.free, g.pack, g.postpaid), (1, 1, 0, 0)),
        other => panic!("{other:?}"),
    }
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (0, 0, 0, 0));
    // A retried void changes nothing; a key never recorded has nothing to give back.
    assert_eq!(
        b.void_call("v-free", at).await.unwrap(),
        Voided::AlreadyVoided
    );
    assert_eq!(b.void_call("never", at).await.unwrap(), Voided::NotRecorded);
    // Metering the voided RequestId again is a replay of nothing: not counted again.
    let again = b
        .record_call(a, Item::Person, "CreatePerson", "v-free", at)
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.units, 0);
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (0, 0, 0, 0));

    // From a pack, once the free calls are used up: the unit goes back to the pack.
    b.import_usage(a, Item::Person, 10_000, at, "free-person")
        .await
        .unwrap();
    let pack = b.buy_pack(a, Item::Person, PackSize::M1, at).await.unwrap();
    let c = b
        .record_call(a, Item::Person, "CreateFace", "v-pack", at)
        .await
        .unwrap();
    assert_eq!(c.pack, 1);
    assert_eq!(b.packs(a).await.unwrap()[0].remaining, 999_999);
    assert_eq!(
        line(&b, a, Item::Person, "2026-04").await,
        (10_001, 10_000, 1, 0)
    );
    assert!(matches!(b.void_call("v-pack", at).await.unwrap(), Voided::Voided(g) if g.pack == 1));
    assert_eq!(b.packs(a).await.unwrap()[0].remaining, 1_000_000);
    assert_eq!(taken_from(&b, pack.id).await, 0);
    assert_eq!(
        line(&b, a, Item::Person, "2026-04").await,
        (10_000, 10_000, 0, 0)
    );

    // Postpaid.
    b.import_usage(a, Item::Compare, 10_000, at, "free-compare")
        .await
        .unwrap();
    let c = b
        .record_call(a, Item::Compare, "CompareFace", "v-post", at)
        .await
        .unwrap();
    assert_eq!(c.postpaid, 1);
    assert!(
        matches!(b.void_call("v-post", at).await.unwrap(), Voided::Voided(g) if g.postpaid == 1)
    );
    assert_eq!(
        line(&b, a, Item::Compare, "2026-04").await,
        (10_000, 10_000, 0, 0)
    );
    let bill = b.bill(a, m("2026-04"), at).await.unwrap();
    assert_eq!(bill.total, Money::ZERO);

    // The counters are still the sums of the usage rows.
    let sum: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(units), 0) AS BIGINT) FROM billing_usage WHERE account_id = $1",
    )
    .bind(a)
    .fetch_one(b.pool())
    .await
    .unwrap()
    .try_get(0)
    .unwrap();
    assert_eq!(sum, 20_000);

    // A call in a month already settled stays billed.
    let march = t("2026-03-10T00:00:00Z");
    b.record_call(a, Item::Detect, "DetectFace", "v-closed", march)
        .await
        .unwrap();
    b.settle_month(m("2026-03"), t("2026-04-02T00:00:00Z"))
        .await
        .unwrap();
    let e = b.void_call("v-closed", at).await.unwrap_err();
    assert!(matches!(e, BillingError::MonthClosed { .. }), "{e:?}");
    assert_eq!(line(&b, a, Item::Detect, "2026-03").await.0, 1);
    // Imports are not calls.
    assert!(b.void_call("import:free-person", at).await.is_err());
}

async fn concurrent_voids_give_back_once(b: Billing) {
    let a = account(&b, "void race").await;
    let at = t("2026-04-10T00:00:00Z");
    for i in 0..20 {
        b.record_call(a, Item::Person, "CreatePerson", &format!("r{i}"), at)
            .await
            .unwrap();
    }
    // Eight voids of each of ten keys at once, from two engines (two nodes).
    let nodes = [
        b.clone(),
        Billing::open(b.pool().clone(), b.config().clone())
            .await
            .unwrap(),
    ];
    let futs: Vec<_> = (0..80)
        .map(|i| {
            let node = nodes[i % 2].clone();
            async move { node.void_call(&format!("r{}", i % 10), at).await }
        })
        .collect();
    let results = futures_join_all(futs).await;
    let voided = results
        .iter()
        .filter(|r| matches!(r.as_ref().unwrap(), Voided::Voided(_)))
        .count();
    assert_eq!(voided, 10);
    assert!(results.iter().all(|r| matches!(
        r.as_ref().unwrap(),
        Voided::Voided(_) | Voided::AlreadyVoided
    )));
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (10, 10, 0, 0));
}

/// Enrolments metered before their write: pending rows count as used until settled;
/// confirmed ones keep the charge, voided ones give it back; settling twice, or from two
/// nodes at once, settles once; a month settled first keeps the charge.
async fn pending_enrolments_settle_once(b: Billing) {
    let a = account(&b, "enrol").await;
    let at = t("2026-04-10T00:00:00Z");
    for i in 0..6 {
        let c = b
            .record_enrolment(a, Item::Person, "CreatePerson", &format!("e{i}"), at)
            .await
            .unwrap();
        assert_eq!((c.units, c.free, c.replayed), (1, 1, false));
    }
    // A replay adds no second pending row and no second unit.
    let again = b
        .record_enrolment(a, Item::Person, "CreatePerson", "e0", at)
        .await
        .unwrap();
    assert!(again.replayed);
    // The server's own record after the action is a replay too.
    assert!(
        b.record_call(a, Item::Person, "CreatePerson", "e0", at)
            .await
            .unwrap()
            .replayed
    );
    // Pending counts as used.
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (6, 6, 0, 0));
    let pending = b
        .pending_enrolments(t("2026-04-10T00:00:01Z"), 100)
        .await
        .unwrap();
    let keys: Vec<&str> = pending.iter().map(|p| p.request_id.as_str()).collect();
    assert_eq!(keys, ["e0", "e1", "e2", "e3", "e4", "e5"]);
    assert_eq!(pending[0].account, a);
    assert_eq!(pending[0].action, "CreatePerson");
    assert_eq!(pending[0].at, at);
    // Younger than the cut-off: not listed.
    assert!(b.pending_enrolments(at, 100).await.unwrap().is_empty());

    // e0 confirmed by the server; e1 left for the reconciliation, which finds it written.
    assert!(b.confirm_enrolment("e0", at).await.unwrap());
    assert!(!b.confirm_enrolment("e0", at).await.unwrap());
    let later = t("2026-04-10T00:05:00Z");
    assert_eq!(
        b.settle_enrolment("e1", true, later).await.unwrap(),
        EnrolmentOutcome::Confirmed
    );
    // e2 was never written: voided, the unit given back.
    assert_eq!(
        b.settle_enrolment("e2", false, later).await.unwrap(),
        EnrolmentOutcome::Voided
    );
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (5, 5, 0, 0));
    assert_eq!(
        b.settle_enrolment("e2", false, later).await.unwrap(),
        EnrolmentOutcome::AlreadySettled {
            was: "voided".into()
        }
    );
    assert_eq!(
        b.settle_enrolment("e0", true, later).await.unwrap(),
        EnrolmentOutcome::AlreadySettled {
            was: "confirmed".into()
        }
    );
    assert_eq!(
        b.settle_enrolment("nothing", false, later).await.unwrap(),
        EnrolmentOutcome::NotRecorded
    );

    // e3 and e4 settled from two nodes at once, eight times each: voided once.
    let nodes = [
        b.clone(),
        Billing::open(b.pool().clone(), b.config().clone())
            .await
            .unwrap(),
    ];
    let futs: Vec<_> = (0..16)
        .map(|i| {
            let node = nodes[i % 2].clone();
            async move {
                node.settle_enrolment(&format!("e{}", 3 + i % 2), false, later)
                    .await
            }
        })
        .collect();
    let results = futures_join_all(futs).await;
    let voided = results
        .iter()
        .filter(|r| *r.as_ref().unwrap() == EnrolmentOutcome::Voided)
        .count();
    assert_eq!(voided, 2, "{results:?}");
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (3, 3, 0, 0));

    // e5 stays pending across the settlement of April: billed, and the late void
    // leaves the charge ("charged").
    b.settle_month(m("2026-04"), t("2026-05-02T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        b.settle_enrolment("e5", false, t("2026-05-02T00:01:00Z"))
            .await
            .unwrap(),
        EnrolmentOutcome::Charged {
            month: "2026-04".into()
        }
    );
    assert_eq!(line(&b, a, Item::Person, "2026-04").await, (3, 3, 0, 0));
    assert!(b
        .pending_enrolments(t("2027-01-01T00:00:00Z"), 100)
        .await
        .unwrap()
        .is_empty());
}

/// The SQLite writer keeps its accounts' state between batches while no other connection
/// commits. A pack bought and calls voided from other connections while calls keep
/// streaming must be seen by the batches after them: every call sent after the purchase
/// returned takes a pack unit, and the counters the writer writes back keep every void.
async fn other_writers_are_seen_mid_stream(b: Billing) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    use std::sync::{Arc, Mutex};

    let a = account(&b, "stream").await;
    let at = t("2026-03-10T00:00:00Z");
    b.top_up(a, money("1000"), t("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    // The month's free calls used at once: the stream is billed postpaid until the pack.
    b.import_usage(
        a,
        Item::Detect,
        billing::catalogue::FREE_CALLS_PER_MONTH,
        at,
        "free",
    )
    .await
    .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let bought = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let recorded = Arc::new(Mutex::new(Vec::<String>::new()));
    let callers: Vec<_> = (0..64)
        .map(|caller| {
            let (b, stop, bought, sent, recorded) = (
                b.clone(),
                stop.clone(),
                bought.clone(),
                sent.clone(),
                recorded.clone(),
            );
            tokio::spawn(async move {
                let mut out = Vec::new();
                let mut i = 0;
                while !stop.load(SeqCst) {
                    let after_purchase = bought.load(SeqCst);
                    let key = format!("stream-{caller}-{i}");
                    let c = b
                        .record_call(a, Item::Detect, "DetectFace", &key, at)
                        .await
                        .unwrap();
                    recorded.lock().unwrap().push(key);
                    sent.fetch_add(1, SeqCst);
                    out.push((after_purchase, c));
                    i += 1;
                }
                out
            })
        })
        .collect();
    let wait_for = |n: u64| {
        let sent = sent.clone();
        async move {
            while sent.load(SeqCst) < n {
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        }
    };

    wait_for(1_000).await;
    let pack = b
        .buy_pack(a, Item::Detect, PackSize::M1, t("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    bought.store(true, SeqCst);
    let mark = sent.load(SeqCst);
    wait_for(mark + 500).await;
    let voids: Vec<String> = recorded.lock().unwrap()[..40].to_vec();
    for key in &voids {
        let v = b.void_call(key, at).await.unwrap();
        assert!(matches!(v, Voided::Voided(_)), "{key}: {v:?}");
        // Let a batch or two go between the voids.
        tokio::time::sleep(std::time::Duration::from_millis(3)).await;
    }
    wait_for(sent.load(SeqCst) + 500).await;
    stop.store(true, SeqCst);

    let mut after = 0;
    for caller in callers {
        for (after_purchase, c) in caller.await.unwrap() {
            assert!(!c.replayed);
            if after_purchase {
                after += 1;
                assert_eq!(
                    (c.pack, c.postpaid),
                    (1, 0),
                    "a call sent after the purchase"
                );
            }
        }
    }
    assert!(after >= 500, "{after} calls after the purchase");

    // What the writer wrote back agrees with the ledger, voids included.
    let calls = sent.load(SeqCst) as i64;
    let row = sqlx::query(
        "SELECT calls, free_units, pack_units, postpaid_units FROM billing_monthly \
         WHERE account_id = $1 AND month = '2026-03' AND item = 'detect'",
    )
    .bind(a)
    .fetch_one(b.pool())
    .await
    .unwrap();
    let counted: Vec<i64> = (0..4).map(|i| row.try_get(i).unwrap()).collect();
    let sums = crate::support::usage_by_source(b.pool(), a).await;
    let by_source = ["free", "pack", "postpaid"].map(|k| sums.get(k).copied().unwrap_or(0));
    let free = billing::catalogue::FREE_CALLS_PER_MONTH as i64;
    assert_eq!(counted[0], free + calls - voids.len() as i64);
    assert_eq!(counted[1..], by_source[..]);
    assert_eq!(counted[0], by_source.iter().sum::<i64>());
    let pack = b
        .packs(a)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.id == pack.id)
        .unwrap();
    assert_eq!((pack.units - pack.remaining) as i64, by_source[1]);
}
