//! Time: expiry, expiring, not yet valid, clock before issue, clock set back.

use licensing::{CheckError, Claims, DeviceStore, Feature, Sdk, Status, Subject, VerifyError};

use crate::support::*;

#[test]
fn a_platform_licence_runs_a_year_and_warns_the_last_30_days() {
    let claims = platform_claims(Sdk::Search, None);
    let text = issue(&claims);
    let exp = claims.expires.expect("platform licences expire");
    let subject = Subject::app(app());
    let s = |now| check(&text, now, &subject, &[Feature::Search]).map(|v| v.status());
    assert_eq!(
        s(T0 + DAY),
        Ok(Status::Valid {
            days_left: Some(364)
        })
    );
    assert_eq!(
        s(exp - 31 * DAY),
        Ok(Status::Valid {
            days_left: Some(31)
        })
    );
    assert_eq!(s(exp - 30 * DAY), Ok(Status::Expiring { days_left: 30 }));
    assert_eq!(
        s(exp - 10 * DAY + 1),
        Ok(Status::Expiring { days_left: 10 })
    );
    assert_eq!(s(exp - 1), Ok(Status::Expiring { days_left: 1 }));
    assert_eq!(s(exp), Err(VerifyError::Expired { expired: exp }));
    assert_eq!(
        s(exp + 100 * DAY).map_err(|e| e.to_string()),
        Err("licence expired at 2027-11-25 08:00:00 UTC".into())
    );
}

#[test]
fn not_yet_valid() {
    let mut claims = device_claims(Sdk::Detect);
    claims.not_before = T0 + 5 * DAY;
    let text = issue(&claims);
    let subject = Subject::device(device());
    assert_eq!(
        check(&text, T0 + DAY, &subject, &[]).err(),
        Some(VerifyError::NotYetValid {
            not_before: T0 + 5 * DAY
        })
    );
    // Within the 48 h clock tolerance of not-before it is accepted.
    assert!(check(&text, T0 + 3 * DAY, &subject, &[]).is_ok());
    assert!(check(&text, T0 + 3 * DAY - 1, &subject, &[]).is_err());
}

#[test]
fn a_clock_before_the_issue_time_is_told_to_be_set() {
    let text = issue(&device_claims(Sdk::Detect));
    let subject = Subject::device(device());
    let err = check(&text, T0 - 3 * DAY, &subject, &[]).err();
    assert_eq!(
        err,
        Some(VerifyError::ClockBeforeIssue {
            now: T0 - 3 * DAY,
            issued: T0
        })
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("device clock reads 2026-11-22 08:00:00 UTC, before the licence was issued (2026-11-25 08:00:00 UTC): set the clock")
    );
    // A clock a little slow (less than the 48 h tolerance) is fine.
    assert!(check(&text, T0 - 47 * HOUR, &subject, &[]).is_ok());
}

#[test]
fn a_clock_set_back_is_refused_and_does_not_revive_a_trial() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DeviceStore::open(dir.path()).expect("store");
    let fp = licensing::Fingerprint::linux(
        Some("4f5e0c3bd1a54b1c9c4e1f0d2a3b4c5d"),
        Some("PF2XK0Q1"),
        None,
        store.device_key(),
    );
    let request =
        licensing::ActivationRequest::new(Sdk::Detect, fp.clone(), None).expect("request");
    let trial = issue(&Claims::trial_device(id("trial-1"), 42, &request, T0));
    let subject = Subject::device(fp);
    let run = |now| store.check(&verifier(), &trial, now, &subject, &[Feature::Detect]);
    assert_eq!(
        run(T0 + 20 * DAY).expect("valid").status(),
        Status::Expiring { days_left: 10 }
    );
    // Day 31: expired, and the device remembers seeing day 31.
    assert!(matches!(
        run(T0 + 31 * DAY),
        Err(CheckError::Licence(VerifyError::Expired { .. }))
    ));
    assert_eq!(store.load().expect("state").highest_seen(), T0 + 31 * DAY);
    // Clock set back to day 10: refused as a clock set back.
    let back = run(T0 + 10 * DAY).err();
    assert!(
        matches!(back, Some(CheckError::Licence(VerifyError::ClockRolledBack { now, highest_seen })) if now == T0 + 10 * DAY && highest_seen == T0 + 31 * DAY),
        "{back:?}"
    );
    // Back by less than the tolerance: the clock passes, but expiry is checked against
    // the highest time seen, so the trial stays expired.
    assert!(matches!(
        run(T0 + 31 * DAY - 40 * HOUR),
        Err(CheckError::Licence(VerifyError::Expired { .. }))
    ));
    assert_eq!(store.load().expect("state").highest_seen(), T0 + 31 * DAY);
    let msg = VerifyError::ClockRolledBack {
        now: T0,
        highest_seen: T0 + 3 * DAY,
    }
    .to_string();
    assert!(
        msg.contains("more than 48 hours before the latest time this device has seen"),
        "{msg}"
    );
}

#[test]
fn a_permanent_device_licence_never_expires() {
    let text = issue(&device_claims(Sdk::Search));
    let later = T0 + 40 * 365 * DAY;
    let v = check(&text, later, &Subject::device(device()), &[]).expect("valid");
    assert_eq!(v.status(), Status::Valid { days_left: None });
}
