//! Key rotation: a new key signs, older keys verify until retired.

use licensing::{KeyRing, Sdk, Subject, Verifier, VerifyError};

use crate::support::*;

#[test]
fn rotation_and_retirement() {
    let mut ring = KeyRing::generate(T0);
    let old_id = ring.current().id();
    let old = ring
        .current()
        .issue(&device_claims(Sdk::Detect))
        .expect("issue");
    ring.rotate(T0 + 100 * DAY);
    let new = ring
        .current()
        .issue(&device_claims(Sdk::Detect))
        .expect("issue");
    assert_ne!(ring.current().id(), old_id);
    let subject = Subject::device(device());
    let state = licensing::DeviceState::default();
    let cx = licensing::Context {
        now: T0 + 101 * DAY,
        subject: &subject,
        features: &[],
        state: &state,
    };

    // An SDK that trusts the ring's keys verifies licences from both.
    let sdk = ring.verifier();
    assert!(sdk.verify(&old, &cx).is_ok());
    assert!(sdk.verify(&new, &cx).is_ok());
    // An SDK built before the rotation does not know the new key.
    let before = Verifier::from_hex(&[ring.keys()[0].key.public().to_hex()]).expect("keys");
    assert!(matches!(
        before.verify(&new, &cx),
        Err(VerifyError::UnknownKey { .. })
    ));

    // Retired: SDKs built from the ring no longer trust the old key.
    ring.retire(old_id, T0 + 400 * DAY).expect("retire");
    let after = Verifier::from_hex(
        &ring
            .trusted()
            .iter()
            .map(|k| k.to_hex())
            .collect::<Vec<_>>(),
    )
    .expect("keys");
    assert_eq!(
        after.verify(&old, &cx).err(),
        Some(VerifyError::UnknownKey {
            what: "licence",
            key_id: old_id
        })
    );
    assert!(after.verify(&new, &cx).is_ok());
    let msg = after
        .verify(&old, &cx)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.contains("which this SDK does not trust (an unknown or retired key)"),
        "{msg}"
    );

    // The ring survives storage.
    let back = KeyRing::from_bytes(&ring.to_bytes()).expect("ring");
    assert_eq!(back.current().id(), ring.current().id());
    assert_eq!(back.trusted(), ring.trusted());
}
