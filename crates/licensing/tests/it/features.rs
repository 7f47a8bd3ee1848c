//! Features: each SDK's licence grants its set and nothing else.

use licensing::{Feature, Sdk, Subject, VerifyError};

use crate::support::*;

#[test]
fn a_missing_feature_is_named() {
    let text = issue(&device_claims(Sdk::IrLiveness));
    let subject = Subject::device(device());
    assert!(check(&text, T0, &subject, &[Feature::Detect, Feature::IrLiveness]).is_ok());
    let err = check(&text, T0, &subject, &[Feature::Detect, Feature::Search]).err();
    assert_eq!(
        err,
        Some(VerifyError::MissingFeature {
            feature: Feature::Search
        })
    );
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("licence does not include feature search (1:N face search)")
    );
}

#[test]
fn every_sdk_grants_exactly_its_features() {
    let subject = Subject::device(device());
    for sdk in Sdk::ALL {
        let text = issue(&device_claims(sdk));
        for f in Feature::ALL {
            let r = check(&text, T0, &subject, &[f]);
            assert_eq!(r.is_ok(), sdk.has(f), "{sdk} {f}: {r:?}");
        }
    }
}
