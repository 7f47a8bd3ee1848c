//! Shared fixtures: a fixed issuer key, devices, apps and licences.

use licensing::{
    ActivationRequest, App, CertDigest, Claims, Context, DeviceKey, DeviceState, Feature,
    Fingerprint, IssuerKey, LicenceId, PackageName, PlatformBinding, Sdk, Subject, Verified,
    Verifier, VerifyError,
};

/// 2026-11-25 08:00:00 UTC.
pub const T0: i64 = 1_795_593_600;
pub const DAY: i64 = 86_400;
pub const HOUR: i64 = 3_600;

pub fn issuer() -> IssuerKey {
    IssuerKey::from_secret_bytes(&[0x5a; 32])
}

pub fn verifier() -> Verifier {
    Verifier::new([issuer().public()])
}

pub fn id(s: &str) -> LicenceId {
    LicenceId::new(s).expect("licence id")
}

pub fn device_key() -> DeviceKey {
    DeviceKey::from_bytes([0x11; 32])
}

/// The device the fixtures' licences are bound to: machine-id, board serial, device key.
pub fn device() -> Fingerprint {
    Fingerprint::linux(
        Some("4f5e0c3bd1a54b1c9c4e1f0d2a3b4c5d"),
        Some("PF2XK0Q1"),
        None,
        &device_key(),
    )
}

pub fn request(sdk: Sdk) -> ActivationRequest {
    ActivationRequest::new(sdk, device(), Some("gate 3".into())).expect("request")
}

pub fn package() -> PackageName {
    PackageName::new("com.example.gate").expect("package")
}

pub fn cert() -> CertDigest {
    CertDigest([0xc3; 32])
}

pub fn app() -> App {
    App {
        package: package(),
        certificate: Some(cert()),
    }
}

pub fn device_claims(sdk: Sdk) -> Claims {
    Claims::device(id("seat-1"), 42, &request(sdk), T0)
}

pub fn platform_claims(sdk: Sdk, certificate: Option<CertDigest>) -> Claims {
    let binding = PlatformBinding {
        package: package(),
        certificate,
    };
    Claims::platform(id("plat-1"), 42, sdk, binding, T0)
}

pub fn issue(claims: &Claims) -> String {
    issuer().issue(claims).expect("issue")
}

/// Verifies `text` for `subject` at `now` with a blank state, needing `features`.
pub fn check(
    text: &str,
    now: i64,
    subject: &Subject,
    features: &[Feature],
) -> Result<Verified, VerifyError> {
    check_with(text, now, subject, features, &DeviceState::default())
}

pub fn check_with(
    text: &str,
    now: i64,
    subject: &Subject,
    features: &[Feature],
    state: &DeviceState,
) -> Result<Verified, VerifyError> {
    verifier().verify(
        text,
        &Context {
            now,
            subject,
            features,
            state,
        },
    )
}

/// The armoured body of a block, and the block rebuilt around another body.
pub fn body(text: &str) -> String {
    text.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

pub fn rearmour(text: &str, body: &str) -> String {
    let first = text.lines().next().unwrap_or_default();
    let last = text.lines().last().unwrap_or_default();
    format!("{first}\n{body}\n{last}\n")
}
