//! Entry points shared by the `cargo fuzz` targets (`crates/licensing/fuzz`) and the
//! property tests: every parser and the whole verification on arbitrary input. They
//! must never panic. The key here is a fixed test key that nothing trusts.

use std::path::Path;

use crate::licence::{seal, LICENCE_DOMAIN, LICENCE_LABEL};
use crate::revocation::{REVOCATION_DOMAIN, REVOCATION_LABEL};
use crate::{
    ActivationRequest, App, CertDigest, Claims, Context, DeviceKey, DeviceState, Feature,
    Fingerprint, IssuerKey, LicenceId, PackageName, PlatformBinding, RevocationList, Revoked, Sdk,
    Subject, Verifier,
};

const NOW: i64 = 1_800_000_000;

/// The fixed fuzzing key.
pub fn key() -> IssuerKey {
    IssuerKey::from_secret_bytes(&[0x42; 32])
}

fn device_key() -> DeviceKey {
    DeviceKey::from_bytes([0x17; 32])
}

fn fingerprint() -> Fingerprint {
    Fingerprint::linux(Some("f00d"), Some("SERIAL-1"), None, &device_key())
}

fn subject() -> Subject {
    Subject {
        device: Some(fingerprint()),
        app: PackageName::new("com.example.gate")
            .ok()
            .map(|package| App {
                package,
                certificate: Some(CertDigest([7; 32])),
            }),
    }
}

/// Valid inputs to start mutating from: a device licence, a platform licence, a
/// revocation list, an activation request and a state file.
pub fn seeds() -> Vec<Vec<u8>> {
    let key = key();
    let mut out = Vec::new();
    let id = |s: &str| LicenceId::new(s).ok();
    if let (Ok(request), Some(l1)) = (
        ActivationRequest::new(Sdk::Search, fingerprint(), Some("gate".into())),
        id("L1"),
    ) {
        out.push(request.to_text().into_bytes());
        if let Ok(text) = key.issue(&Claims::device(l1, 1, &request, NOW - 1_000)) {
            out.push(text.into_bytes());
        }
    }
    if let (Ok(package), Some(p1)) = (PackageName::new("com.example.gate"), id("P1")) {
        let binding = PlatformBinding {
            package,
            certificate: Some(CertDigest([7; 32])),
        };
        if let Ok(text) = key.issue(&Claims::platform(p1, 1, Sdk::Detect, binding, NOW - 1_000)) {
            out.push(text.into_bytes());
        }
    }
    if let Some(l2) = id("L2") {
        let list = RevocationList {
            seq: 4,
            issued: NOW - 10,
            revoked: vec![Revoked::up_to(l2, 1)],
        };
        if let Ok(text) = key.sign_revocation_list(&list) {
            out.push(text.into_bytes());
        }
    }
    out.push(DeviceState::default().encode(&device_key()));
    out
}

/// Parses and verifies `data` as every kind of text this crate reads.
pub fn parse_and_verify(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let verifier = Verifier::new([key().public()]);
    let state = DeviceState::decode(data, &device_key(), Path::new("fuzz")).unwrap_or_default();
    let subject = subject();
    let features = [Feature::Detect, Feature::Search];
    let cx = Context {
        now: NOW,
        subject: &subject,
        features: &features,
        state: &state,
    };
    let _ = verifier.verify(&text, &cx);
    let _ = verifier.open(&text);
    if let Ok(list) = verifier.open_revocation_list(&text) {
        let mut state = state.clone();
        let _ = state.accept_revocation_list(&list);
        let _ = state.accept_revocation_list(&list);
    }
    let _ = ActivationRequest::parse(&text);
}

/// Signs `data` as the payload of a licence and of a revocation list with the fuzzing
/// key and verifies both: reaches the claims parser and every check behind the
/// signature.
pub fn signed_payload(data: &[u8]) {
    let key = key();
    let verifier = Verifier::new([key.public()]);
    let subject = subject();
    let features = [Feature::Detect];
    let mut state = DeviceState::default();
    let licence = seal(&key, LICENCE_LABEL, LICENCE_DOMAIN, data);
    if let Ok(list) =
        verifier.open_revocation_list(&seal(&key, REVOCATION_LABEL, REVOCATION_DOMAIN, data))
    {
        let _ = state.accept_revocation_list(&list);
    }
    for now in [NOW, i64::MIN, i64::MAX, 0] {
        let cx = Context {
            now,
            subject: &subject,
            features: &features,
            state: &state,
        };
        if let Ok(verified) = verifier.verify(&licence, &cx) {
            let mut after = state.clone();
            after.record(&verified);
            let _ = after.encode(&device_key());
        }
    }
}
