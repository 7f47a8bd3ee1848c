//! The consumption rule without a database: records against in-memory counters and packs.

use chrono::{DateTime, Utc};

use super::*;
use crate::catalogue::Item;

const ACCOUNT: i64 = 1;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn us(s: &str) -> i64 {
    to_micros(at(s))
}

fn call(id: &str, when: &str) -> Job {
    Job::Call {
        account: ACCOUNT,
        item: Item::Detect,
        action: "DetectFace".into(),
        request_id: id.into(),
        at: at(when),
        enrolment: false,
    }
}

fn import(id: &str, count: u64, when: &str) -> Job {
    Job::Import {
        account: ACCOUNT,
        item: Item::Detect,
        count,
        at: at(when),
        key: format!("import:{id}"),
    }
}

/// A pack of `size` with `remaining` left, valid in November 2026.
fn pack(id: i64, size: i64, remaining: i64) -> PackState {
    PackState {
        id,
        size,
        purchased_us: us("2026-11-01T00:00:00Z"),
        expires_us: us("2026-12-01T00:00:00Z"),
        remaining,
        low_notified: false,
        exhausted_notified: false,
        dirty: false,
    }
}

/// A counter whose month has used all its free calls.
fn free_used() -> Counter {
    Counter {
        calls: FREE_CALLS_PER_MONTH as i64,
        free: FREE_CALLS_PER_MONTH as i64,
        ..Counter::default()
    }
}

const NOV: &str = "2026-11-20T08:00:00Z";

/// Runs the rule for an active account with no contact details.
fn run<'a>(
    job: &'a Job,
    counter: &mut Counter,
    packs: &mut [PackState],
    effects: &mut Effects<'a>,
) -> Result<Consumption, BillingError> {
    run_as(
        AccountState::Active,
        &Contact::default(),
        job,
        counter,
        packs,
        effects,
    )
}

fn run_as<'a>(
    state: AccountState,
    contact: &Contact,
    job: &'a Job,
    counter: &mut Counter,
    packs: &mut [PackState],
    effects: &mut Effects<'a>,
) -> Result<Consumption, BillingError> {
    consume(job, "2026-11", state, contact, counter, packs, effects)
}

fn split(c: &Consumption) -> (u64, u64, u64) {
    (c.free, c.pack, c.postpaid)
}

fn sources(effects: &Effects, key: &str) -> Vec<(i64, &'static str, i64, Option<i64>)> {
    effects
        .rows
        .iter()
        .filter(|r| r.key == key)
        .map(|r| (r.part, r.source, r.units, r.pack_id))
        .collect()
}

fn notices(effects: &Effects) -> Vec<(i64, NoticeKind)> {
    effects
        .notices
        .iter()
        .map(|n| (n.pack_id, n.kind))
        .collect()
}

#[test]
fn free_quota_runs_out_mid_batch() {
    let jobs = [
        import("a", FREE_CALLS_PER_MONTH - 2, NOV),
        import("b", 5, NOV),
        call("c", NOV),
    ];
    let mut counter = Counter::default();
    let mut effects = Effects::default();
    let got: Vec<_> = jobs
        .iter()
        .map(|j| split(&run(j, &mut counter, &mut [], &mut effects).unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![(FREE_CALLS_PER_MONTH - 2, 0, 0), (2, 0, 3), (0, 0, 1)]
    );
    assert_eq!(
        counter,
        Counter {
            calls: FREE_CALLS_PER_MONTH as i64 + 4,
            free: FREE_CALLS_PER_MONTH as i64,
            pack: 0,
            postpaid: 4,
            dirty: true,
        }
    );
    // The record that crossed the line has one row per source, numbered from 0.
    assert_eq!(
        sources(&effects, "import:b"),
        vec![(0, "free", 2, None), (1, "postpaid", 3, None)]
    );
    assert_eq!(sources(&effects, "c"), vec![(0, "postpaid", 1, None)]);
}

#[test]
fn free_then_packs_in_order_then_postpaid() {
    let mut counter = Counter {
        free: FREE_CALLS_PER_MONTH as i64 - 1,
        ..Counter::default()
    };
    let mut packs = [pack(7, 1_000, 2), pack(8, 1_000, 3)];
    packs[0].low_notified = true;
    packs[1].low_notified = true;
    let job = import("all", 10, NOV);
    let mut effects = Effects::default();
    let c = run(&job, &mut counter, &mut packs, &mut effects).unwrap();
    assert_eq!(split(&c), (1, 5, 4));
    assert_eq!(c.units, 10);
    assert_eq!(
        sources(&effects, "import:all"),
        vec![
            (0, "free", 1, None),
            (1, "pack", 2, Some(7)),
            (2, "pack", 3, Some(8)),
            (3, "postpaid", 4, None),
        ]
    );
    assert_eq!((packs[0].remaining, packs[1].remaining), (0, 0));
    assert!(packs.iter().all(|p| p.dirty && p.exhausted_notified));
    assert_eq!(
        notices(&effects),
        vec![
            (7, NoticeKind::PackExhausted),
            (8, NoticeKind::PackExhausted)
        ]
    );
}

#[test]
fn packs_outside_their_validity_are_skipped() {
    let mut expired = pack(1, 1_000, 500);
    expired.expires_us = us(NOV); // expiry is exclusive: gone at that instant
    let mut future = pack(2, 1_000, 500);
    future.purchased_us = us("2026-11-20T08:00:00.000001Z");
    let mut starting = pack(3, 1_000, 500);
    starting.purchased_us = us(NOV); // purchase is inclusive
    let mut packs = [expired, future, starting];
    let mut counter = free_used();
    let mut effects = Effects::default();
    let job = call("r", NOV);
    let c = run(&job, &mut counter, &mut packs, &mut effects).unwrap();
    assert_eq!(split(&c), (0, 1, 0));
    assert_eq!(sources(&effects, "r"), vec![(0, "pack", 1, Some(3))]);
    assert_eq!(
        packs
            .iter()
            .map(|p| (p.remaining, p.dirty))
            .collect::<Vec<_>>(),
        vec![(500, false), (500, false), (499, true)]
    );

    // With only invalid packs left, the call falls through to postpaid.
    let mut packs = [packs[0].clone(), packs[1].clone()];
    let job = call("s", NOV);
    let c = run(&job, &mut counter, &mut packs, &mut effects).unwrap();
    assert_eq!(split(&c), (0, 0, 1));
}

#[test]
fn low_notice_below_fifteen_percent_then_used_up_once_each() {
    let mut packs = [pack(9, 100, 16)];
    let mut counter = free_used();
    let mut effects = Effects::default();
    let jobs = [
        call("r15", NOV), // 15 left: 15% is not below 15%
        call("r14", NOV), // 14 left: below, one notice
        call("r13", NOV), // no second notice
        import("rest", 13, NOV),
        call("after", NOV),
    ];
    let mut after_each = Vec::new();
    for job in &jobs {
        let c = run(job, &mut counter, &mut packs, &mut effects).unwrap();
        after_each.push((split(&c), packs[0].remaining, effects.notices.len()));
    }
    assert_eq!(
        after_each,
        vec![
            ((0, 1, 0), 15, 0),
            ((0, 1, 0), 14, 1),
            ((0, 1, 0), 13, 1),
            ((0, 13, 0), 0, 2),
            ((0, 0, 1), 0, 2),
        ]
    );
    assert_eq!(
        notices(&effects),
        vec![(9, NoticeKind::PackLow), (9, NoticeKind::PackExhausted)]
    );
    assert_eq!(
        effects.notices[0].message,
        "Your detect pack #9 has 14 of 100 calls left, below 15%."
    );
}

#[test]
fn a_pack_emptied_at_once_gets_both_notices() {
    let mut packs = [pack(4, 100, 20)];
    let mut counter = free_used();
    let mut effects = Effects::default();
    let job = import("big", 25, NOV);
    let c = run(&job, &mut counter, &mut packs, &mut effects).unwrap();
    assert_eq!(split(&c), (0, 20, 5));
    assert_eq!(
        notices(&effects),
        vec![(4, NoticeKind::PackLow), (4, NoticeKind::PackExhausted)]
    );
}

#[test]
fn arrears_refuse_only_what_would_be_postpaid_and_change_nothing() {
    let contact = Contact {
        email: Some("ops@example.com".into()),
        phone: None,
    };
    let jobs = [
        call("free", NOV),
        import("part", 3, NOV),
        call("pack1", NOV),
        call("pack2", NOV),
        call("over", NOV),
    ];
    let mut counter = Counter {
        free: FREE_CALLS_PER_MONTH as i64 - 1,
        ..Counter::default()
    };
    let mut packs = [pack(5, 100, 2)];
    let mut effects = Effects::default();
    let mut run = |job| {
        run_as(
            AccountState::Arrears,
            &contact,
            job,
            &mut counter,
            &mut packs,
            &mut effects,
        )
    };
    // Covered by the free quota: accepted.
    assert_eq!(split(&run(&jobs[0]).unwrap()), (1, 0, 0));
    // 3 calls against a pack of 2 would be partly postpaid: refused whole, untouched.
    let refused = run(&jobs[1]);
    assert!(matches!(
        refused,
        Err(BillingError::InArrears { account: ACCOUNT })
    ));
    // Covered by the pack: accepted.
    assert_eq!(split(&run(&jobs[2]).unwrap()), (0, 1, 0));
    assert_eq!(split(&run(&jobs[3]).unwrap()), (0, 1, 0));
    // Nothing left but postpaid: refused.
    assert!(matches!(run(&jobs[4]), Err(BillingError::InArrears { .. })));
    assert_eq!(
        counter,
        Counter {
            calls: 3,
            free: FREE_CALLS_PER_MONTH as i64,
            pack: 2,
            postpaid: 0,
            dirty: true,
        }
    );
    assert_eq!(packs[0].remaining, 0);
    assert_eq!(
        effects.rows.iter().map(|r| r.key).collect::<Vec<_>>(),
        vec!["free", "pack1", "pack2"]
    );
    // The pack's notices go to the account's contacts.
    assert_eq!(
        notices(&effects),
        vec![(5, NoticeKind::PackLow), (5, NoticeKind::PackExhausted)]
    );
    assert!(effects
        .notices
        .iter()
        .all(|n| n.email.as_deref() == Some("ops@example.com") && n.phone.is_none()));
}
