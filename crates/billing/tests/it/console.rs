//! The read APIs the console uses: monthly spend, settlements, the settlement dry run,
//! metering health, the account list and contacts. On SQLite and PostgreSQL.

use billing::{Billing, Item, Money, Month, NewAccount, PackSize, Senders};
use chrono::Duration;
use sqlx::Row;

use crate::support::{account, m, t};

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

on_both!(
    monthly_spend_mixes_settled_and_preview,
    preview_settlement_is_what_settlement_writes,
    metering_health_counts_what_waits,
    accounts_page_and_contacts,
);

async fn monthly_spend_mixes_settled_and_preview(b: Billing) {
    let a = account(&b, "spend", "Asia/Shanghai").await;
    b.top_up(a, money("1000"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    // January: 10,000 free + 100,000 postpaid detect; February: 30,000 postpaid compare.
    b.import_usage(a, Item::Detect, 110_000, t("2026-01-10T00:00:00Z"), "jan")
        .await
        .unwrap();
    b.import_usage(a, Item::Compare, 40_000, t("2026-02-10T00:00:00Z"), "feb")
        .await
        .unwrap();
    b.settle_month(m("2026-01"), t("2026-02-01T00:00:00Z"))
        .await
        .unwrap();
    let now = t("2026-02-20T00:00:00Z");
    let jan = b.bill(a, m("2026-01"), now).await.unwrap();
    let feb = b.bill(a, m("2026-02"), now).await.unwrap();
    assert!(!jan.total.is_zero() && !feb.total.is_zero());
    assert_ne!(jan.total, feb.total);
    let spend = b.monthly_spend(a, 2026).await.unwrap();
    assert_eq!(spend.len(), 2);
    assert_eq!(
        (spend[0].month, spend[0].total, spend[0].settled),
        (m("2026-01"), jan.total, true)
    );
    assert_eq!(spend[0].settled_at, jan.settlement.as_ref().map(|s| s.at));
    assert_eq!(
        (
            spend[1].month,
            spend[1].total,
            spend[1].settled,
            spend[1].settled_at
        ),
        (m("2026-02"), feb.total, false, None)
    );
    assert!(b.monthly_spend(a, 2025).await.unwrap().is_empty());
    // Newest first once February is settled too.
    b.settle_month(m("2026-02"), t("2026-03-01T00:00:00Z"))
        .await
        .unwrap();
    let settled = b.settlements(a).await.unwrap();
    let months: Vec<Month> = settled.iter().map(|s| s.month).collect();
    assert_eq!(months, vec![m("2026-02"), m("2026-01")]);
    assert_eq!(settled[0].total, feb.total);
    assert_eq!(
        settled[0].released,
        jan.total.times("1.2".parse().unwrap()).round_fen()
    );
    assert_eq!(
        settled[0].frozen,
        feb.total.times("1.2".parse().unwrap()).round_fen()
    );
    assert_eq!(settled[1].at, t("2026-02-01T00:00:00Z"));
    let spend = b.monthly_spend(a, 2026).await.unwrap();
    assert!(spend.iter().all(|s| s.settled));
}

/// Rows of every table settlement writes, and the balances' lock counters.
async fn footprint(b: &Billing) -> Vec<i64> {
    let mut out = Vec::new();
    for q in [
        "SELECT COUNT(*) FROM billing_settlements",
        "SELECT COUNT(*) FROM billing_ledger",
        "SELECT CAST(COALESCE(SUM(seq), 0) AS BIGINT) FROM billing_balances",
        "SELECT COUNT(*) FROM billing_packs WHERE voided_us IS NOT NULL",
    ] {
        out.push(
            sqlx::query(q)
                .fetch_one(b.pool())
                .await
                .unwrap()
                .get::<i64, _>(0),
        );
    }
    out
}

async fn preview_settlement_is_what_settlement_writes(b: Billing) {
    // Three accounts due at Feb 1st 00:00 Shanghai, one in Los Angeles not yet due, one
    // settled before.
    let sh = account(&b, "sh", "Asia/Shanghai").await;
    let poor = account(&b, "poor", "Asia/Shanghai").await;
    let idle = account(&b, "idle", "Asia/Shanghai").await;
    let la = account(&b, "la", "America/Los_Angeles").await;
    b.top_up(sh, money("5000"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.top_up(poor, money("10"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    for (a, n) in [(sh, 310_000), (poor, 60_000), (la, 20_000)] {
        b.import_usage(
            a,
            Item::Detect,
            n,
            t("2026-01-15T00:00:00Z"),
            &format!("jan-{a}"),
        )
        .await
        .unwrap();
    }
    b.import_usage(sh, Item::Search, 20_000, t("2026-01-16T00:00:00Z"), "jan-s")
        .await
        .unwrap();
    // December, settled with a freeze that January's settlement will release.
    b.import_usage(sh, Item::Detect, 50_000, t("2025-12-15T00:00:00Z"), "dec")
        .await
        .unwrap();
    b.settle_month(m("2025-12"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    let at = t("2026-01-31T16:00:00Z");
    assert!(matches!(
        b.preview_settlement(m("2026-01"), at - Duration::seconds(1))
            .await,
        Err(billing::BillingError::MonthNotOver { .. })
    ));

    let before = footprint(&b).await;
    let preview = b.preview_settlement(m("2026-01"), at).await.unwrap();
    assert_eq!(footprint(&b).await, before, "the preview wrote something");
    let planned: Vec<i64> = preview.accounts.iter().map(|p| p.account).collect();
    assert_eq!(planned, vec![sh, poor, idle]);
    assert_eq!(preview.report.not_due, 1);
    assert_eq!(preview.report.in_arrears, vec![poor]);
    let p_sh = &preview.accounts[0];
    assert!(!p_sh.released.is_zero());
    assert_eq!(p_sh.lines.len(), 2);
    assert_eq!(
        p_sh.total,
        b.bill(sh, m("2026-01"), at).await.unwrap().total
    );

    let report = b.settle_month(m("2026-01"), at).await.unwrap();
    assert_eq!(report.settled, preview.report.settled);
    assert_eq!(report.total, preview.report.total);
    assert_eq!(report.not_due, preview.report.not_due);
    assert_eq!(report.in_arrears, preview.report.in_arrears);
    for p in &preview.accounts {
        let s = &b.settlements(p.account).await.unwrap()[0];
        assert_eq!(s.month, m("2026-01"));
        assert_eq!(
            (s.total, s.released, s.frozen),
            (p.total, p.released, p.frozen)
        );
        let view = b.account(p.account).await.unwrap();
        assert_eq!((view.balance, view.frozen), (p.balance_after, p.frozen));
        assert_eq!(view.available, p.available_after);
    }
    // Settled now: a second dry run plans nothing.
    let again = b.preview_settlement(m("2026-01"), at).await.unwrap();
    assert!(again.accounts.is_empty());
    assert_eq!(again.report.already_settled, 3);
}

async fn metering_health_counts_what_waits(b: Billing) {
    let now = t("2026-03-10T12:00:00Z");
    let a = b
        .create_account(
            NewAccount {
                name: "health".into(),
                email: Some("ops@example.com".into()),
                ..Default::default()
            },
            t("2026-01-01T00:00:00Z"),
        )
        .await
        .unwrap();
    let h = b.metering_health(now).await.unwrap();
    assert_eq!(
        (
            h.calls_last_minute,
            h.pending_enrolments,
            h.notices_pending,
            h.notices_failing
        ),
        (0, 0, 0, 0)
    );
    // Five calls in the last minute, one call before it, one after `now`.
    for i in 0..5 {
        b.record_call(
            a,
            Item::Detect,
            "DetectFace",
            &format!("c{i}"),
            now - Duration::seconds(10 * i + 1),
        )
        .await
        .unwrap();
    }
    b.record_call(
        a,
        Item::Detect,
        "DetectFace",
        "old",
        now - Duration::seconds(61),
    )
    .await
    .unwrap();
    b.record_call(
        a,
        Item::Detect,
        "DetectFace",
        "later",
        now + Duration::seconds(1),
    )
    .await
    .unwrap();
    // Three enrolments, one confirmed: two pending, the oldest at now - 50 s.
    for i in 0..3 {
        b.record_enrolment(
            a,
            Item::Detect,
            "CreatePerson",
            &format!("e{i}"),
            now - Duration::seconds(50 - i),
        )
        .await
        .unwrap();
    }
    b.confirm_enrolment("e0", now).await.unwrap();
    // A pack run low by an import: its e-mail notice waits, in-app is delivered.
    b.top_up(a, money("1000"), now - Duration::days(1))
        .await
        .unwrap();
    b.buy_pack(a, Item::Detect, PackSize::M1, now - Duration::days(1))
        .await
        .unwrap();
    b.import_usage(a, Item::Detect, 900_000, now - Duration::seconds(5), "big")
        .await
        .unwrap();
    let h = b.metering_health(now).await.unwrap();
    // The five calls, the three enrolments and the import: once each.
    assert_eq!(h.calls_last_minute, 5 + 3 + 1);
    assert!((h.calls_per_second - 9.0 / 60.0).abs() < 1e-9);
    assert_eq!(h.pending_enrolments, 2);
    assert_eq!(
        h.oldest_pending_enrolment,
        Some(now - Duration::seconds(49))
    );
    assert_eq!((h.notices_pending, h.notices_failing), (1, 0));
    // No SMTP sender: the delivery fails and is retried later.
    let round = b.deliver_notices(&Senders::default(), now).await.unwrap();
    assert_eq!(round.failed, 1);
    let h = b.metering_health(now).await.unwrap();
    assert_eq!((h.notices_pending, h.notices_failing), (1, 1));
    b.settle_enrolment("e1", false, now).await.unwrap();
    assert_eq!(b.metering_health(now).await.unwrap().pending_enrolments, 1);
}

async fn accounts_page_and_contacts(b: Billing) {
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(account(&b, &format!("acct{i}"), "Asia/Shanghai").await);
    }
    assert_eq!(b.account_count().await.unwrap(), 5);
    let page: Vec<i64> = b
        .accounts(0, 2)
        .await
        .unwrap()
        .iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(page, ids[..2]);
    let page = b.accounts(3, 10).await.unwrap();
    assert_eq!(page.iter().map(|a| a.id).collect::<Vec<_>>(), ids[3..]);
    assert_eq!(page[0].name, "acct3");
    assert!(b.accounts(5, 10).await.unwrap().is_empty());

    // The metering writer has seen the account (no contact) before the contact is set;
    // the notice raised after goes to the new address and phone.
    let a = ids[0];
    b.top_up(a, money("1000"), t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.buy_pack(a, Item::Detect, PackSize::M1, t("2026-01-01T00:00:00Z"))
        .await
        .unwrap();
    b.record_call(
        a,
        Item::Detect,
        "DetectFace",
        "first",
        t("2026-01-02T00:00:00Z"),
    )
    .await
    .unwrap();
    let view = b
        .set_contact(
            a,
            Some("billing@example.com".into()),
            Some("+8613800000000".into()),
        )
        .await
        .unwrap();
    assert_eq!(view.email.as_deref(), Some("billing@example.com"));
    assert_eq!(
        b.account(a).await.unwrap().phone.as_deref(),
        Some("+8613800000000")
    );
    b.import_usage(a, Item::Detect, 900_000, t("2026-01-02T00:00:00Z"), "big")
        .await
        .unwrap();
    let notices = b.notices(a).await.unwrap();
    assert_eq!(notices.len(), 1);
    let targets: Vec<(&str, &str)> = notices[0]
        .deliveries
        .iter()
        .map(|d| (d.channel.as_str(), d.target.as_str()))
        .collect();
    assert_eq!(
        targets,
        vec![
            ("email", "billing@example.com"),
            ("in_app", ""),
            ("sms", "+8613800000000")
        ]
    );
    // Cleared: no e-mail any more; a bad address is refused.
    let view = b
        .set_contact(a, None, Some("+8613800000000".into()))
        .await
        .unwrap();
    assert_eq!(view.email, None);
    assert!(b.set_contact(a, Some("  ".into()), None).await.is_err());
    assert!(matches!(
        b.set_contact(ids[4] + 1, None, None).await,
        Err(billing::BillingError::UnknownAccount(_))
    ));
}
