//! The device state store: persistence, tamper evidence, missing files.

use std::fs;

use licensing::{DeviceState, DeviceStore, Feature, Fingerprint, Sdk, StoreError, Subject};

use crate::support::*;

fn used_store(dir: &std::path::Path) -> DeviceStore {
    let store = DeviceStore::open(dir).expect("store");
    let fp = Fingerprint::linux(Some("m1"), Some("s1"), None, store.device_key());
    let request =
        licensing::ActivationRequest::new(Sdk::Detect, fp.clone(), None).expect("request");
    let text = issue(&licensing::Claims::device(id("seat-9"), 1, &request, T0));
    store
        .check(
            &verifier(),
            &text,
            T0 + DAY,
            &Subject::device(fp),
            &[Feature::Detect],
        )
        .expect("valid");
    store
}

#[test]
fn the_state_persists_across_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = {
        let store = used_store(dir.path());
        store.device_key().clone()
    };
    let again = DeviceStore::open(dir.path()).expect("reopen");
    assert_eq!(again.device_key(), &key);
    let state = again.load().expect("state");
    assert_eq!(state.highest_seen(), T0 + DAY);
    assert_eq!(state.generation(&id("seat-9")), Some(1));
    // Nothing but the two files is left behind (no temporary files).
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["device.key", "licensing.state"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join("device.key"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "device.key readable by others: {mode:o}");
    }
}

#[test]
fn every_flipped_bit_of_the_state_file_is_detected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = used_store(dir.path());
    let path = store.state_path();
    let good = fs::read(&path).expect("state");
    for i in 0..good.len() {
        for bit in [0, 3, 7] {
            let mut bad = good.clone();
            bad[i] ^= 1 << bit;
            fs::write(&path, &bad).expect("write");
            let r = store.load();
            assert!(
                matches!(r, Err(StoreError::Tampered { .. })),
                "byte {i} bit {bit}: {r:?}"
            );
        }
    }
    // A state file is not reset by tampering: every check fails until it is restored.
    let text = issue(&device_claims(Sdk::Detect));
    let r = store.check(
        &verifier(),
        &text,
        T0 + 2 * DAY,
        &Subject::device(device()),
        &[],
    );
    assert!(
        matches!(
            r,
            Err(licensing::CheckError::Store(StoreError::Tampered { .. }))
        ),
        "{r:?}"
    );
    fs::write(&path, &good).expect("restore");
    assert!(store.load().is_ok());
}

#[test]
fn a_state_from_another_device_or_a_forged_one_is_tampered() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let store_a = used_store(a.path());
    let store_b = DeviceStore::open(b.path()).expect("store");
    fs::copy(store_a.state_path(), store_b.state_path()).expect("copy");
    assert!(matches!(store_b.load(), Err(StoreError::Tampered { .. })));
    // A blank state MAC'd with a guessed key.
    let forged = DeviceState::default().encode(&licensing::DeviceKey::from_bytes([0; 32]));
    fs::write(store_a.state_path(), forged).expect("write");
    let err = store_a
        .load()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("the licensing state was altered or damaged (MAC mismatch)"),
        "{err}"
    );
}

#[test]
fn deleting_one_of_the_two_files_is_an_error_not_a_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = used_store(dir.path());
    let state = fs::read(store.state_path()).expect("state");
    fs::remove_file(store.state_path()).expect("rm");
    assert!(matches!(
        DeviceStore::open(dir.path()),
        Err(StoreError::StateMissing { .. })
    ));
    fs::write(store.state_path(), &state).expect("restore");
    fs::remove_file(dir.path().join("device.key")).expect("rm");
    assert!(matches!(
        DeviceStore::open(dir.path()),
        Err(StoreError::KeyMissing { .. })
    ));
    fs::write(dir.path().join("device.key"), "not hex\n").expect("write");
    assert!(matches!(
        DeviceStore::open(dir.path()),
        Err(StoreError::BadKey { .. })
    ));
}

#[test]
fn a_first_open_stopped_between_its_writes_starts_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = DeviceStore::open(dir.path()).expect("store");
    // As if it stopped before writing the key: a blank state without a key.
    fs::remove_file(dir.path().join("device.key")).expect("rm");
    let second = DeviceStore::open(dir.path()).expect("store");
    assert_ne!(second.device_key(), first.device_key());
    assert_eq!(second.load().expect("state"), DeviceState::default());
}

#[test]
fn the_fingerprint_is_collected_with_the_stores_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DeviceStore::open(dir.path()).expect("store");
    let fp = Fingerprint::collect_linux(store.device_key());
    assert_eq!(fp.device_key, Some(store.device_key().component()));
    assert!(!fp.is_empty());
}

#[test]
fn concurrent_checks_never_leave_a_torn_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(used_store(dir.path()));
    let fp = Fingerprint::linux(Some("m1"), Some("s1"), None, store.device_key());
    let request =
        licensing::ActivationRequest::new(Sdk::Detect, fp.clone(), None).expect("request");
    let text = std::sync::Arc::new(issue(&licensing::Claims::device(
        id("seat-9"),
        1,
        &request,
        T0,
    )));
    let threads: Vec<_> = (0..4i64)
        .map(|t| {
            let (store, text, fp) = (store.clone(), text.clone(), fp.clone());
            std::thread::spawn(move || {
                for i in 0..25i64 {
                    let now = T0 + 2 * DAY + (i * 4 + t) * 60;
                    store
                        .check(&verifier(), &text, now, &Subject::device(fp.clone()), &[])
                        .expect("valid");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let state = store.load().expect("an intact state");
    assert!(state.highest_seen() > T0 + 2 * DAY);
    let leftovers = fs::read_dir(dir.path()).expect("dir").count();
    assert_eq!(leftovers, 2, "temporary files left behind");
}
