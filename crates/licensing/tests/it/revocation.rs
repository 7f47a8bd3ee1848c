//! Revocation lists and generations.

use licensing::{
    CheckError, DeviceState, DeviceStore, Fingerprint, RevocationList, RevocationUpdate, Revoked,
    Sdk, Subject, VerifyError,
};

use crate::support::*;

fn list(seq: u64, revoked: Vec<Revoked>) -> String {
    issuer()
        .sign_revocation_list(&RevocationList {
            seq,
            issued: T0 + seq as i64 * HOUR,
            revoked,
        })
        .expect("list")
}

fn state_with(lists: &[String]) -> DeviceState {
    let mut state = DeviceState::default();
    for l in lists {
        let v = verifier().open_revocation_list(l).expect("verified list");
        state.accept_revocation_list(&v).expect("accepted");
    }
    state
}

#[test]
fn a_licence_on_the_newest_list_is_refused() {
    let text = issue(&device_claims(Sdk::Detect));
    let subject = Subject::device(device());
    let state = state_with(&[
        list(3, vec![Revoked::all(id("other"))]),
        list(7, vec![Revoked::all(id("seat-1"))]),
    ]);
    let err = check_with(&text, T0 + DAY, &subject, &[], &state).err();
    assert_eq!(
        err,
        Some(VerifyError::Revoked {
            id: id("seat-1"),
            generation: 1,
            seq: 7
        })
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("licence seat-1 (generation 1) is revoked by revocation list 7")
    );
    // Only the newest list counts: one that no longer lists it lets it through.
    let unrevoked = state_with(&[list(7, vec![Revoked::all(id("seat-1"))]), list(8, vec![])]);
    assert!(check_with(&text, T0 + DAY, &subject, &[], &unrevoked).is_ok());
}

#[test]
fn an_older_list_is_refused_and_the_same_list_is_a_no_op() {
    let mut state = state_with(&[list(5, vec![Revoked::all(id("seat-1"))])]);
    let v = verifier();
    let old = v.open_revocation_list(&list(4, vec![])).expect("list");
    assert_eq!(
        state.accept_revocation_list(&old),
        Err(VerifyError::RevocationListOutdated { seq: 4, seen: 5 })
    );
    let same = v
        .open_revocation_list(&list(5, vec![Revoked::all(id("seat-1"))]))
        .expect("list");
    assert_eq!(
        state.accept_revocation_list(&same),
        Ok(RevocationUpdate::Unchanged { seq: 5 })
    );
    let forked = v.open_revocation_list(&list(5, vec![])).expect("list");
    assert_eq!(
        state.accept_revocation_list(&forked),
        Err(VerifyError::RevocationListConflict { seq: 5 })
    );
    assert_eq!(state.revocation_seq(), Some(5));
    // An accepted list's issue time counts as a time seen.
    assert_eq!(state.highest_seen(), T0 + 5 * HOUR);
}

#[test]
fn lists_are_verified_like_licences() {
    let text = list(2, vec![]);
    let other = licensing::IssuerKey::from_secret_bytes(&[9; 32]);
    let foreign = other
        .sign_revocation_list(&RevocationList {
            seq: 99,
            issued: T0,
            revoked: vec![],
        })
        .expect("list");
    assert_eq!(
        verifier().open_revocation_list(&foreign).err(),
        Some(VerifyError::UnknownKey {
            what: "revocation list",
            key_id: other.id()
        })
    );
    // One payload character changed.
    let mut b: Vec<char> = body(&text).chars().collect();
    let i = 3 + 17 + 5;
    b[i] = if b[i] == 'A' { 'B' } else { 'A' };
    let tampered = rearmour(&text, &b.into_iter().collect::<String>());
    assert_eq!(
        verifier().open_revocation_list(&tampered).err(),
        Some(VerifyError::BadSignature {
            what: "revocation list"
        })
    );
    assert_eq!(
        verifier()
            .open_revocation_list(&text)
            .expect("list")
            .list()
            .seq,
        2
    );
}

#[test]
fn a_moved_seat_revokes_the_old_generation_only() {
    // Seat moved from device A (generation 1) to device B (generation 2), same id.
    let on_a = issue(&device_claims(Sdk::Search));
    let b_key = licensing::DeviceKey::from_bytes([0x33; 32]);
    let device_b = Fingerprint::linux(Some("bbbb"), Some("B-SERIAL"), None, &b_key);
    let mut moved = device_claims(Sdk::Search);
    moved.binding = licensing::Binding::Device(licensing::DeviceBinding::new(device_b.clone()));
    moved.generation = 2;
    let on_b = issue(&moved);
    let state = state_with(&[list(1, vec![Revoked::up_to(id("seat-1"), 1)])]);
    assert!(matches!(
        check_with(&on_a, T0 + DAY, &Subject::device(device()), &[], &state),
        Err(VerifyError::Revoked { generation: 1, .. })
    ));
    assert!(check_with(&on_b, T0 + DAY, &Subject::device(device_b), &[], &state).is_ok());
}

#[test]
fn a_renewed_licence_supersedes_the_old_file_which_cannot_be_put_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DeviceStore::open(dir.path()).expect("store");
    let subject = Subject::app(app());
    let first = platform_claims(Sdk::Detect, None);
    let mut renewed = first.clone();
    renewed.generation = 2;
    renewed.issued = T0 + 300 * DAY;
    renewed.not_before = renewed.issued;
    renewed.expires = Some(licensing::time::renewed_end(
        first.expires.expect("end"),
        renewed.issued,
    ));
    let (old, new) = (issue(&first), issue(&renewed));
    let v = verifier();
    assert!(store.check(&v, &old, T0 + 299 * DAY, &subject, &[]).is_ok());
    assert!(store.check(&v, &new, T0 + 301 * DAY, &subject, &[]).is_ok());
    let err = store.check(&v, &old, T0 + 302 * DAY, &subject, &[]).err();
    assert!(
        matches!(
            &err,
            Some(CheckError::Licence(VerifyError::Superseded {
                generation: 1,
                newest: 2,
                ..
            }))
        ),
        "{err:?}"
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("licence plat-1 generation 1 is superseded: this device has seen generation 2")
    );
    assert!(store.check(&v, &new, T0 + 303 * DAY, &subject, &[]).is_ok());
    assert_eq!(
        store.load().expect("state").generation(&id("plat-1")),
        Some(2)
    );
}

#[test]
fn the_store_keeps_the_newest_list() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = DeviceStore::open(dir.path()).expect("store");
    let v = verifier();
    assert_eq!(
        store.accept_revocation_list(&v, &list(2, vec![])).ok(),
        Some(RevocationUpdate::Updated { seq: 2 })
    );
    assert!(matches!(
        store.accept_revocation_list(&v, &list(1, vec![])),
        Err(CheckError::Licence(VerifyError::RevocationListOutdated {
            seq: 1,
            seen: 2
        }))
    ));
    let reopened = DeviceStore::open(dir.path()).expect("store");
    assert_eq!(reopened.load().expect("state").revocation_seq(), Some(2));
}
