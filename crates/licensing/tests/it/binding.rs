//! Bindings: a device's fingerprint k of n, an app's package and certificate.

use licensing::{App, DeviceKey, Fingerprint, PackageName, Sdk, Subject, VerifyError};

use crate::support::*;

const MACHINE: &str = "4f5e0c3bd1a54b1c9c4e1f0d2a3b4c5d";
const SERIAL: &str = "PF2XK0Q1";

fn on(fp: Fingerprint) -> Result<licensing::Verified, VerifyError> {
    check(
        &issue(&device_claims(Sdk::Search)),
        T0,
        &Subject::device(fp),
        &[],
    )
}

#[test]
fn one_changed_component_is_accepted() {
    let other_key = DeviceKey::from_bytes([0x22; 32]);
    // Reinstalled OS, new board, wiped data directory: each alone is fine.
    assert!(on(Fingerprint::linux(
        Some("0a0b0c"),
        Some(SERIAL),
        None,
        &device_key()
    ))
    .is_ok());
    assert!(on(Fingerprint::linux(
        Some(MACHINE),
        Some("NEWBOARD"),
        None,
        &device_key()
    ))
    .is_ok());
    assert!(on(Fingerprint::linux(
        Some(MACHINE),
        Some(SERIAL),
        None,
        &other_key
    ))
    .is_ok());
    // So is a component that can no longer be read (the board serial needs root).
    assert!(on(Fingerprint::linux(Some(MACHINE), None, None, &device_key())).is_ok());
}

#[test]
fn two_changed_components_are_refused() {
    let other_key = DeviceKey::from_bytes([0x22; 32]);
    let cases = [
        Fingerprint::linux(Some("0a0b0c"), Some("NEWBOARD"), None, &device_key()),
        Fingerprint::linux(Some("0a0b0c"), Some(SERIAL), None, &other_key),
        Fingerprint::linux(Some(MACHINE), Some("NEWBOARD"), None, &other_key),
        Fingerprint::linux(None, None, None, &device_key()),
    ];
    for fp in cases {
        assert_eq!(
            on(fp).err(),
            Some(VerifyError::WrongDevice {
                matched: 1,
                components: 3,
                required: 2
            })
        );
    }
    let stranger = Fingerprint::linux(Some("x1"), Some("y1"), None, &other_key);
    let err = on(stranger).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("licence is bound to another device: 0 of its 3 fingerprint components match this device, 2 needed")
    );
    // An Android device never matches a Linux licence (component names differ).
    assert!(on(Fingerprint::android(
        Some(MACHINE),
        Some(SERIAL),
        &device_key()
    ))
    .is_err());
}

#[test]
fn a_device_licence_needs_a_device() {
    let text = issue(&device_claims(Sdk::Detect));
    assert_eq!(
        check(&text, T0, &Subject::app(app()), &[]).err(),
        Some(VerifyError::NothingToBindTo {
            needs: "a device fingerprint"
        })
    );
}

#[test]
fn wrong_package_is_refused() {
    let text = issue(&platform_claims(Sdk::Detect, Some(cert())));
    let other = App {
        package: PackageName::new("com.example.other").expect("package"),
        certificate: Some(cert()),
    };
    let err = check(&text, T0, &Subject::app(other), &[]).err();
    assert!(
        matches!(err, Some(VerifyError::WrongPackage { .. })),
        "{err:?}"
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("licence is for app package com.example.gate, not com.example.other")
    );
    assert_eq!(
        check(&text, T0, &Subject::device(device()), &[]).err(),
        Some(VerifyError::NothingToBindTo {
            needs: "an app package"
        })
    );
    // An Android SDK passes both; the platform licence looks at the app.
    let both = Subject {
        device: Some(device()),
        app: Some(app()),
    };
    assert!(check(&text, T0, &both, &[]).is_ok());
}

#[test]
fn wrong_certificate_is_refused() {
    let text = issue(&platform_claims(Sdk::Detect, Some(cert())));
    let resigned = App {
        package: package(),
        certificate: Some(licensing::CertDigest([0x01; 32])),
    };
    let err = check(&text, T0, &Subject::app(resigned), &[]).err();
    assert!(
        matches!(
            err,
            Some(VerifyError::WrongCertificate { found: Some(_), .. })
        ),
        "{err:?}"
    );
    let unknown = App {
        package: package(),
        certificate: None,
    };
    let err = check(&text, T0, &Subject::app(unknown), &[]).err();
    assert!(
        matches!(err, Some(VerifyError::WrongCertificate { found: None, .. })),
        "{err:?}"
    );
    assert!(err
        .map(|e| e.to_string())
        .is_some_and(|m| m.ends_with("this app's certificate is unknown")));
    // Without a certificate in the licence, any signer of the package is accepted.
    let any = issue(&platform_claims(Sdk::Detect, None));
    let resigned = App {
        package: package(),
        certificate: Some(licensing::CertDigest([0x01; 32])),
    };
    assert!(check(&any, T0, &Subject::app(resigned), &[]).is_ok());
}
