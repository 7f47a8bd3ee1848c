//! The licence lifecycle on one registry: activation, re-activation, seats, moves,
//! revocation, trials, platform licences and renewal, key rotation.

use licence_registry::{Registry, RegistryConfig, RegistryError};
use licensing::{
    Context, DeviceState, PackageName, PlatformBinding, Sdk, Subject, Verifier, VerifyError,
};

use crate::support::{device, reinstalled, request, TestDb, DAY, T0};

fn verify(
    v: &Verifier,
    text: &str,
    subject: &Subject,
    list: Option<&str>,
    now: i64,
) -> Result<(), VerifyError> {
    let mut state = DeviceState::default();
    if let Some(list) = list {
        let l = v.open_revocation_list(list)?;
        state.accept_revocation_list(&l)?;
    }
    v.verify(
        text,
        &Context {
            now,
            subject,
            features: &[],
            state: &state,
        },
    )
    .map(|_| ())
}

async fn lifecycle(reg: Registry) {
    let ring = reg.ring(T0).await.unwrap();
    let v = ring.verifier();
    reg.register_order(7, 42, Sdk::Search, 3, T0).await.unwrap();
    // Registering again is a no-op; other values are refused.
    reg.register_order(7, 42, Sdk::Search, 3, T0).await.unwrap();
    assert!(matches!(
        reg.register_order(7, 42, Sdk::Search, 4, T0).await,
        Err(RegistryError::OrderMismatch { .. })
    ));

    let a = reg
        .activate(7, 42, &request(Sdk::Search, device("a")), T0)
        .await
        .unwrap();
    assert!(a.created);
    assert_eq!(
        (a.record.id.as_str(), a.record.seat, a.record.generation),
        ("dev-7-1", Some(1), 1)
    );
    verify(
        &v,
        &a.licence,
        &Subject::device(device("a")),
        None,
        T0 + DAY,
    )
    .unwrap();
    // The same device (one component changed) again: the same seat and file.
    let again = reg
        .activate(7, 42, &request(Sdk::Search, reinstalled("a")), T0 + DAY)
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.licence, a.licence);
    // Wrong account, wrong SDK, unknown order.
    assert!(matches!(
        reg.activate(7, 43, &request(Sdk::Search, device("x")), T0)
            .await,
        Err(RegistryError::OrderAccount { .. })
    ));
    assert!(matches!(
        reg.activate(7, 42, &request(Sdk::Detect, device("x")), T0)
            .await,
        Err(RegistryError::WrongSdk { .. })
    ));
    assert!(matches!(
        reg.activate(8, 42, &request(Sdk::Search, device("x")), T0)
            .await,
        Err(RegistryError::UnknownOrder(8))
    ));
    reg.activate(7, 42, &request(Sdk::Search, device("b")), T0)
        .await
        .unwrap();
    reg.activate(7, 42, &request(Sdk::Search, device("c")), T0)
        .await
        .unwrap();
    assert!(matches!(
        reg.activate(7, 42, &request(Sdk::Search, device("d")), T0)
            .await,
        Err(RegistryError::SeatsExhausted { order: 7, seats: 3 })
    ));
    let seats = reg.order_seats(7).await.unwrap().unwrap();
    assert_eq!((seats.seats, seats.used), (3, 3));

    // Move seat 1 from a to d: generation 2, generation 1 revoked.
    let moved = reg
        .move_seat(
            "dev-7-1",
            42,
            &request(Sdk::Search, device("d")),
            T0 + 2 * DAY,
        )
        .await
        .unwrap();
    assert_eq!((moved.record.generation, moved.created), (2, true));
    let (list, signed) = reg.revocation_list(T0 + 2 * DAY).await.unwrap();
    assert_eq!(list.seq, 1);
    assert_eq!(
        serde_json::to_string(&list.revoked).unwrap(),
        r#"[{"id":"dev-7-1","gen":1}]"#
    );
    assert!(matches!(
        verify(
            &v,
            &a.licence,
            &Subject::device(device("a")),
            Some(&signed.list),
            T0 + 3 * DAY
        ),
        Err(VerifyError::Revoked { .. })
    ));
    verify(
        &v,
        &moved.licence,
        &Subject::device(device("d")),
        Some(&signed.list),
        T0 + 3 * DAY,
    )
    .unwrap();
    // Device b holds another seat: it cannot take this one.
    assert!(matches!(
        reg.move_seat("dev-7-1", 42, &request(Sdk::Search, device("b")), T0)
            .await,
        Err(RegistryError::DeviceHasSeat(_))
    ));
    // Three moves in 365 days, the fourth refused, possible again a year after the first.
    for (i, name) in ["e", "f"].iter().enumerate() {
        reg.move_seat(
            "dev-7-1",
            42,
            &request(Sdk::Search, device(name)),
            T0 + (3 + i as i64) * DAY,
        )
        .await
        .unwrap();
    }
    let refused = reg
        .move_seat(
            "dev-7-1",
            42,
            &request(Sdk::Search, device("g")),
            T0 + 10 * DAY,
        )
        .await;
    assert!(
        matches!(refused, Err(RegistryError::MovesExhausted { moves: 3, .. })),
        "{refused:?}"
    );
    let later = reg
        .move_seat(
            "dev-7-1",
            42,
            &request(Sdk::Search, device("g")),
            T0 + 368 * DAY,
        )
        .await
        .unwrap();
    assert_eq!(later.record.generation, 5);
    // The old device asking again is no longer matched to seat 1, and the order is full.
    assert!(matches!(
        reg.activate(7, 42, &request(Sdk::Search, device("a")), T0 + 400 * DAY)
            .await,
        Err(RegistryError::SeatsExhausted { .. })
    ));

    // Revocation: every generation, on the next list; idempotent.
    let r = reg.revoke("dev-7-2", None, T0 + 5 * DAY).await.unwrap();
    assert!(r.revoked_now);
    let again = reg.revoke("dev-7-2", None, T0 + 6 * DAY).await.unwrap();
    assert_eq!((again.seq, again.revoked_now), (r.seq, false));
    let (list, signed) = reg.revocation_list(T0 + 6 * DAY).await.unwrap();
    assert_eq!((r.seq, list.seq), (5, 5));
    let b = reg.licence("dev-7-2", T0).await.unwrap();
    assert!(matches!(
        verify(
            &v,
            &b.licence,
            &Subject::device(device("b")),
            Some(&signed.list),
            T0 + 7 * DAY
        ),
        Err(VerifyError::Revoked { .. })
    ));
    assert!(matches!(
        reg.activate(7, 42, &request(Sdk::Search, device("b")), T0)
            .await,
        Err(RegistryError::Revoked(_))
    ));

    // Device trial: three devices, the same one again, a fourth refused.
    let t = reg
        .trial_devices(
            42,
            Sdk::Detect,
            &[
                request(Sdk::Detect, device("t1")),
                request(Sdk::Detect, device("t2")),
            ],
            T0,
        )
        .await
        .unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0].record.expires, Some(T0 + 30 * DAY));
    let t3 = reg
        .trial_devices(
            42,
            Sdk::Detect,
            &[
                request(Sdk::Detect, device("t1")),
                request(Sdk::Detect, device("t3")),
            ],
            T0 + DAY,
        )
        .await
        .unwrap();
    assert_eq!((t3[0].created, t3[1].created), (false, true));
    assert_eq!(
        t3[1].record.expires,
        Some(T0 + 30 * DAY),
        "devices end with the trial"
    );
    let fourth = reg
        .trial_devices(
            42,
            Sdk::Detect,
            &[request(Sdk::Detect, device("t4"))],
            T0 + DAY,
        )
        .await;
    assert!(
        matches!(
            fourth,
            Err(RegistryError::TrialDevicesExhausted { max: 3, .. })
        ),
        "{fourth:?}"
    );
    // One trial per account and SDK: no platform trial of detect now.
    let pkg = |p: &str| PlatformBinding {
        package: PackageName::new(p).unwrap(),
        certificate: None,
    };
    assert!(matches!(
        reg.trial_platform(42, Sdk::Detect, pkg("com.acme.gate"), T0)
            .await,
        Err(RegistryError::TrialTaken { .. })
    ));
    let pt = reg
        .trial_platform(42, Sdk::Search, pkg("com.acme.gate"), T0)
        .await
        .unwrap();
    assert_eq!(pt.record.kind, "trial-platform");
    let pt2 = reg
        .trial_platform(42, Sdk::Search, pkg("com.acme.gate"), T0 + DAY)
        .await
        .unwrap();
    assert_eq!(pt2.licence, pt.licence);
    assert!(matches!(
        reg.trial_platform(42, Sdk::Search, pkg("com.acme.other"), T0)
            .await,
        Err(RegistryError::TrialPackage { .. })
    ));
    // After the trial, no new device.
    assert!(matches!(
        reg.trial_devices(43, Sdk::Detect, &[request(Sdk::Detect, device("u"))], T0)
            .await
            .map(|_| ()),
        Ok(())
    ));
    assert!(matches!(
        reg.trial_devices(
            43,
            Sdk::Detect,
            &[request(Sdk::Detect, device("v"))],
            T0 + 31 * DAY
        )
        .await,
        Err(RegistryError::TrialOver { .. })
    ));

    // Platform: created from order 9, idempotent on it; renewed a year from its end.
    let p = reg
        .create_platform(9, 42, Sdk::Detect, pkg("com.acme.gate"), 1, T0)
        .await
        .unwrap();
    assert_eq!(p.record.id, "plat-9");
    let end = p.record.expires.unwrap();
    assert_eq!(end, T0 + 365 * DAY);
    let p2 = reg
        .create_platform(9, 42, Sdk::Detect, pkg("com.acme.gate"), 1, T0)
        .await
        .unwrap();
    assert_eq!((p2.created, p2.licence == p.licence), (false, true));
    let app = |p: &str| {
        Subject::app(licensing::App {
            package: PackageName::new(p).unwrap(),
            certificate: None,
        })
    };
    verify(&v, &p.licence, &app("com.acme.gate"), None, T0 + DAY).unwrap();
    assert!(matches!(
        verify(&v, &p.licence, &app("com.acme.other"), None, T0 + DAY),
        Err(VerifyError::WrongPackage { .. })
    ));
    let renewed = reg
        .renew_platform("plat-9", 42, 10, 1, T0 + 100 * DAY)
        .await
        .unwrap();
    assert_eq!(renewed.record.generation, 2);
    assert_eq!(
        renewed.record.expires,
        Some(licensing::time::renewed_end(end, T0 + 100 * DAY))
    );
    let replay = reg
        .renew_platform("plat-9", 42, 10, 1, T0 + 101 * DAY)
        .await
        .unwrap();
    assert_eq!((replay.created, replay.record.generation), (false, 2));
    assert!(matches!(
        reg.renew_platform("plat-9", 43, 11, 1, T0).await,
        Err(RegistryError::LicenceAccount { .. })
    ));
    assert!(matches!(
        reg.renew_platform("dev-7-1", 42, 11, 1, T0).await,
        Err(RegistryError::WrongKind { .. })
    ));
    // Lapsed: a year from the renewal day.
    let lapsed = reg
        .renew_platform("plat-9", 42, 12, 1, T0 + 800 * DAY)
        .await
        .unwrap();
    assert_eq!(
        lapsed.record.expires,
        Some(licensing::time::renewed_end(
            renewed.record.expires.unwrap(),
            T0 + 800 * DAY
        ))
    );
    assert!(lapsed.record.expires.unwrap() >= T0 + 1165 * DAY);

    // Rotation: a new key signs; licences of the old one still verify until retired.
    let keys = reg.rotate(T0 + 10 * DAY).await.unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys[1].current && !keys[0].current);
    let ring2 = reg.ring(T0).await.unwrap();
    let v2 = ring2.verifier();
    let c = reg.licence("dev-7-3", T0).await.unwrap();
    assert!(c.licence.contains(&format!("v1.{}.", keys[1].id)));
    verify(
        &v2,
        &c.licence,
        &Subject::device(device("c")),
        None,
        T0 + 11 * DAY,
    )
    .unwrap();
    verify(&v2, &p.licence, &app("com.acme.gate"), None, T0 + 11 * DAY).unwrap();
    let keys = reg.retire(&keys[0].id, T0 + 11 * DAY).await.unwrap();
    assert!(keys[0].retired.is_some());
    let v3 = reg.ring(T0).await.unwrap().verifier();
    assert!(matches!(
        verify(&v3, &p.licence, &app("com.acme.gate"), None, T0 + 11 * DAY),
        Err(VerifyError::UnknownKey { .. })
    ));
    assert_eq!(reg.licences(42).await.unwrap().len(), 3 + 3 + 1 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_sqlite() {
    let db = TestDb::sqlite().await;
    lifecycle(db.registry(RegistryConfig::default()).await).await;
    db.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_postgres() {
    let db = TestDb::postgres().await;
    lifecycle(db.registry(RegistryConfig::default()).await).await;
    db.close().await;
}
