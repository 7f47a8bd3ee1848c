//! The licence switches features on: every feature refused without it, expired, wrong
//! device and wrong package refused at opening and at use.

use licensing::Feature;
use sdk::{ErrorCode, FaceSdk, Identity, Sdk};

use crate::support::*;

/// Runs every licensed call once; returns the codes of the calls that were refused.
fn refusals(sdk: &FaceSdk) -> Vec<(&'static str, ErrorCode)> {
    let img = sdk.decode(&photo("obama.jpg")).unwrap();
    let face = server_engine().detect(&img).unwrap().remove(0);
    let d = server_engine()
        .describe(&img, std::slice::from_ref(&face))
        .unwrap()
        .remove(0);
    let calls: Vec<(&'static str, sdk::Result<()>)> = vec![
        ("detect", sdk.detect(&img).map(drop)),
        ("quality", sdk.quality(&img, &face).map(drop)),
        ("descriptor", sdk.descriptor(&img, &face).map(drop)),
        ("compare", sdk.compare(&d.0, &d.0).map(drop)),
        ("liveness", sdk.liveness(&img, &face).map(drop)),
    ];
    calls
        .into_iter()
        .filter_map(|(name, r)| r.err().map(|e| (name, e.code())))
        .collect()
}

#[test]
fn each_sdk_runs_exactly_its_features() {
    for (product, refused) in [
        (Sdk::Detect, vec!["descriptor", "compare", "liveness"]),
        (Sdk::Search, vec!["quality", "liveness"]),
        (Sdk::IrLiveness, vec!["quality", "descriptor", "compare"]),
        (Sdk::Liveness3dSearch, vec!["quality"]),
    ] {
        let (_dir, sdk, _clock) = open_device(product);
        let got = refusals(&sdk);
        let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, refused, "{product:?}");
        assert!(
            got.iter().all(|(_, c)| *c == ErrorCode::FeatureNotLicensed),
            "{product:?}: {got:?}"
        );
    }
}

#[test]
fn a_refused_feature_is_named_in_the_message() {
    let (_dir, sdk, _clock) = open_device(Sdk::Detect);
    let err = sdk.compare(&[0.0; 128], &[0.0; 128]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::FeatureNotLicensed);
    let msg = err.to_string();
    assert!(
        msg.contains("features") && msg.contains("face feature extraction"),
        "{msg}"
    );
}

#[test]
fn an_expired_trial_is_refused_at_opening_and_at_use() {
    // At opening: a trial issued 31 days ago.
    let clock = TestClock::at(T0);
    let (_d, opened) = open(
        trial_licence(Sdk::Search, "dev-A", T0 - 31 * 86_400),
        Identity::DeviceId("dev-A".into()),
        clock,
    );
    let err = opened.unwrap_err();
    assert_eq!(err.code(), ErrorCode::LicenceExpired, "{err}");

    // At use: valid when opened, then the clock passes its end.
    let clock = TestClock::at(T0);
    let (_d, opened) = open(
        trial_licence(Sdk::Search, "dev-A", T0 - 86_400),
        Identity::DeviceId("dev-A".into()),
        clock.clone(),
    );
    let sdk = opened.unwrap();
    let img = sdk.decode(&photo("obama.jpg")).unwrap();
    assert_eq!(sdk.detect(&img).unwrap().len(), 1);
    clock.set(T0 + 30 * 86_400);
    let err = sdk.detect(&img).unwrap_err();
    assert_eq!(err.code(), ErrorCode::LicenceExpired, "{err}");
    // Setting the clock back does not bring it back: the state remembers what it saw.
    clock.set(T0);
    let err = sdk.detect(&img).unwrap_err();
    assert_eq!(err.code(), ErrorCode::LicenceExpired, "{err}");
}

#[test]
fn another_device_is_refused() {
    let (_d, opened) = open(
        device_licence(Sdk::Detect, "dev-A", T0),
        Identity::DeviceId("dev-B".into()),
        TestClock::at(T0),
    );
    assert_eq!(opened.unwrap_err().code(), ErrorCode::LicenceWrongSubject);
}

#[test]
fn platform_licences_check_package_and_certificate() {
    let cert = "ab".repeat(32);
    let licence = platform_licence(Sdk::Detect, "com.acme.gate", Some(&cert), T0);
    let app = |package: &str, certificate: Option<String>| {
        Identity::App(sdk::AppIdentity {
            package: package.into(),
            certificate_sha256: certificate,
        })
    };
    let (_d, ok) = open(
        licence.clone(),
        app("com.acme.gate", Some(cert.clone())),
        TestClock::at(T0 + 60),
    );
    ok.unwrap();
    let (_d, wrong_pkg) = open(
        licence.clone(),
        app("com.evil.gate", Some(cert.clone())),
        TestClock::at(T0 + 60),
    );
    assert_eq!(
        wrong_pkg.unwrap_err().code(),
        ErrorCode::LicenceWrongSubject
    );
    let (_d, wrong_cert) = open(
        licence.clone(),
        app("com.acme.gate", Some("cd".repeat(32))),
        TestClock::at(T0 + 60),
    );
    assert_eq!(
        wrong_cert.unwrap_err().code(),
        ErrorCode::LicenceWrongSubject
    );
    // A year and a day later the platform licence has expired, at use too.
    let clock = TestClock::at(T0 + 60);
    let (_d, opened) = open(licence, app("com.acme.gate", Some(cert)), clock.clone());
    let sdk = opened.unwrap();
    clock.set(T0 + 367 * 86_400);
    assert_eq!(sdk.licence().unwrap_err().code(), ErrorCode::LicenceExpired);
}

#[test]
fn an_altered_or_untrusted_licence_is_refused() {
    let licence = device_licence(Sdk::Detect, "dev-A", T0);
    let altered = licence.replacen('A', "B", 1);
    let (_d, opened) = open(
        altered,
        Identity::DeviceId("dev-A".into()),
        TestClock::at(T0),
    );
    assert_eq!(opened.unwrap_err().code(), ErrorCode::LicenceInvalid);

    let other = licensing::IssuerKey::generate();
    let request = licensing::ActivationRequest::parse(
        &sdk::activation_request(
            tempfile::tempdir().unwrap().path(),
            &Identity::DeviceId("dev-A".into()),
            Sdk::Detect,
            None,
        )
        .unwrap(),
    )
    .unwrap();
    let claims = licensing::Claims::device(
        licensing::LicenceId::new("dev-9-1").unwrap(),
        1,
        &request,
        T0,
    );
    let (_d, opened) = open(
        other.issue(&claims).unwrap(),
        Identity::DeviceId("dev-A".into()),
        TestClock::at(T0),
    );
    assert_eq!(opened.unwrap_err().code(), ErrorCode::LicenceInvalid);
}

#[test]
fn the_licence_summary_names_its_features() {
    let (_dir, sdk, _clock) = open_device(Sdk::IrLivenessSearch);
    let info = sdk.licence().unwrap();
    assert_eq!(info.sdk, Sdk::IrLivenessSearch);
    assert_eq!(
        info.features,
        vec![
            Feature::Detect,
            Feature::IrLiveness,
            Feature::Features,
            Feature::Search
        ]
    );
    assert_eq!(info.expires, None);
}
