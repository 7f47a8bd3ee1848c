//! The licence's claims, their rules, and issuing (signing) a licence file.
//!
//! File format (byte-exact definition in docs/licensing.md):
//!
//! ```text
//! -----BEGIN RENLIAN LICENCE-----
//! v1.<key id: 16 hex>.<base64url(payload JSON)>.<base64url(Ed25519 signature)>
//! -----END RENLIAN LICENCE-----
//! ```
//!
//! The signature is over `"renlian licence v1\n" ‖ key id (16 ASCII hex) ‖ "\n" ‖
//! payload bytes`; the verifier checks it over those exact bytes before it parses the
//! payload.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Feature, Sdk};
use crate::codec::{armour, b64, hex, unb64, unhex};
use crate::fingerprint::{default_required, Fingerprint};
use crate::keys::{IssuerKey, KeyId};
use crate::request::ActivationRequest;
use crate::time::{platform_end, trial_end};

pub(crate) const LICENCE_LABEL: &str = "RENLIAN LICENCE";
pub(crate) const LICENCE_DOMAIN: &[u8] = b"renlian licence v1\n";

/// Claims that cannot go into a licence (or a revocation list, or a request).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssueError {
    #[error("licence id {0:?}: 1 to 64 characters of A-Z a-z 0-9 . _ : -")]
    LicenceId(String),
    #[error("package name {0:?}: an Android application id is two or more dot-separated parts, each a letter then letters, digits or _, at most 255 characters")]
    Package(String),
    #[error("certificate digest {0:?}: 32 bytes (SHA-256) in hex, colons allowed")]
    Certificate(String),
    #[error("a device licence needs a fingerprint with at least one component")]
    EmptyFingerprint,
    #[error(
        "{required} of {components} fingerprint components required: must be 1 to {components}"
    )]
    Required { required: usize, components: usize },
    #[error("a {kind} licence needs a {needs} binding")]
    KindBinding {
        kind: LicenceKind,
        needs: &'static str,
    },
    #[error("a {0} licence needs an expiry")]
    NoExpiry(LicenceKind),
    #[error("expiry {expires} is not after not-before {not_before} and issue {issued}")]
    ExpiryOrder {
        issued: i64,
        not_before: i64,
        expires: i64,
    },
    #[error("a licence grants at least one feature")]
    NoFeatures,
    #[error("feature {0} is listed twice")]
    DuplicateFeature(Feature),
    #[error("generation starts at 1")]
    Generation,
    #[error("label: at most 64 characters, no control characters")]
    Label,
    #[error("could not encode the payload: {0}")]
    Encode(String),
}

/// The licence id: stays the same across renewals and moves (the generation grows).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct LicenceId(String);

impl LicenceId {
    pub fn new(id: impl Into<String>) -> Result<LicenceId, IssueError> {
        let id = id.into();
        let ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
        if ok {
            Ok(LicenceId(id))
        } else {
            Err(IssueError::LicenceId(id))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for LicenceId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        LicenceId::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the licence is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LicenceKind {
    /// A seat of a device order: bound to a fingerprint, permanent.
    #[serde(rename = "device")]
    Device,
    /// Bound to an Android package, one year, renewable.
    #[serde(rename = "platform")]
    Platform,
    /// A 30-day device trial.
    #[serde(rename = "trial-device")]
    TrialDevice,
    /// A 30-day platform trial.
    #[serde(rename = "trial-platform")]
    TrialPlatform,
}

impl LicenceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LicenceKind::Device => "device",
            LicenceKind::Platform => "platform",
            LicenceKind::TrialDevice => "trial-device",
            LicenceKind::TrialPlatform => "trial-platform",
        }
    }

    pub fn is_trial(self) -> bool {
        matches!(self, LicenceKind::TrialDevice | LicenceKind::TrialPlatform)
    }

    pub fn is_device(self) -> bool {
        matches!(self, LicenceKind::Device | LicenceKind::TrialDevice)
    }
}

impl fmt::Display for LicenceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An Android application id (APK 包名), e.g. `com.example.gate`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PackageName(String);

impl PackageName {
    pub fn new(name: impl Into<String>) -> Result<PackageName, IssueError> {
        let name = name.into();
        let part_ok = |p: &str| {
            let mut b = p.bytes();
            b.next().is_some_and(|c| c.is_ascii_alphabetic())
                && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        };
        let ok = name.len() <= 255 && name.split('.').count() >= 2 && name.split('.').all(part_ok);
        if ok {
            Ok(PackageName(name))
        } else {
            Err(IssueError::Package(name))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PackageName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        PackageName::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// SHA-256 of an app's signing certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CertDigest(#[serde(with = "crate::codec::b64_32")] pub [u8; 32]);

impl CertDigest {
    /// The form `apksigner`/`keytool` print: hex pairs, upper or lower case, colons
    /// optional.
    pub fn to_colon_hex(&self) -> String {
        hex(&self.0)
            .to_uppercase()
            .as_bytes()
            .chunks(2)
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .collect::<Vec<_>>()
            .join(":")
    }
}

impl FromStr for CertDigest {
    type Err = IssueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let plain: String = s.trim().chars().filter(|&c| c != ':').collect();
        unhex::<32>(&plain)
            .map(CertDigest)
            .ok_or_else(|| IssueError::Certificate(s.to_owned()))
    }
}

impl fmt::Display for CertDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_colon_hex())
    }
}

impl fmt::Debug for CertDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertDigest({})", self.to_colon_hex())
    }
}

/// A device binding: the fingerprint hashes and how many must agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceBinding {
    #[serde(rename = "fp")]
    pub fingerprint: Fingerprint,
    #[serde(rename = "k")]
    pub required: usize,
}

impl DeviceBinding {
    /// Bound to `fingerprint` with [`default_required`] components to agree.
    pub fn new(fingerprint: Fingerprint) -> DeviceBinding {
        let required = default_required(fingerprint.len());
        DeviceBinding {
            fingerprint,
            required,
        }
    }
}

/// A platform binding: the app's package name and, when given, its signing
/// certificate's SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformBinding {
    #[serde(rename = "pkg")]
    pub package: PackageName,
    #[serde(rename = "cert", default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<CertDigest>,
}

/// What a licence is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Binding {
    Device(DeviceBinding),
    Platform(PlatformBinding),
}

/// Everything a licence says. Times are Unix seconds, UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claims {
    /// Stays the same across renewals and moves.
    #[serde(rename = "id")]
    pub id: LicenceId,
    #[serde(rename = "acct")]
    pub account: i64,
    #[serde(rename = "sdk")]
    pub sdk: Sdk,
    /// What the SDK may do under this licence (usually `sdk.features()`).
    /// On reading, names this SDK build does not know are skipped: a newer server may
    /// grant features an older SDK never asks for.
    #[serde(rename = "feat", deserialize_with = "known_features")]
    pub features: Vec<Feature>,
    #[serde(rename = "kind")]
    pub kind: LicenceKind,
    #[serde(rename = "bind")]
    pub binding: Binding,
    #[serde(rename = "iat")]
    pub issued: i64,
    #[serde(rename = "nbf")]
    pub not_before: i64,
    /// `None`: permanent (device licences only).
    #[serde(rename = "exp", default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<i64>,
    /// 1 for a new licence; a renewed or moved licence has a higher one and supersedes
    /// every lower generation of the same id.
    #[serde(rename = "gen")]
    pub generation: u32,
}

fn known_features<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Feature>, D::Error> {
    let names = Vec::<std::borrow::Cow<'de, str>>::deserialize(d)?;
    Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
}

/// A licence whose signature has been checked: its claims and the key that signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub claims: Claims,
    pub key_id: KeyId,
}

impl Claims {
    /// A permanent device licence (a seat) for the device that sent `request`,
    /// generation 1, valid from `issued`.
    pub fn device(id: LicenceId, account: i64, request: &ActivationRequest, issued: i64) -> Claims {
        Claims::for_device(id, account, request, issued, LicenceKind::Device, None)
    }

    /// A 30-day device trial for the device that sent `request`.
    pub fn trial_device(
        id: LicenceId,
        account: i64,
        request: &ActivationRequest,
        issued: i64,
    ) -> Claims {
        let end = trial_end(issued);
        Claims::for_device(
            id,
            account,
            request,
            issued,
            LicenceKind::TrialDevice,
            Some(end),
        )
    }

    fn for_device(
        id: LicenceId,
        account: i64,
        request: &ActivationRequest,
        issued: i64,
        kind: LicenceKind,
        expires: Option<i64>,
    ) -> Claims {
        Claims {
            id,
            account,
            sdk: request.sdk,
            features: request.sdk.features().to_vec(),
            kind,
            binding: Binding::Device(DeviceBinding::new(request.fingerprint.clone())),
            issued,
            not_before: issued,
            expires,
            generation: 1,
        }
    }

    /// A one-year platform licence from `issued` (use [`crate::time::renewed_end`] and a
    /// higher generation for a renewal).
    pub fn platform(
        id: LicenceId,
        account: i64,
        sdk: Sdk,
        binding: PlatformBinding,
        issued: i64,
    ) -> Claims {
        Claims::for_platform(
            id,
            account,
            sdk,
            binding,
            issued,
            LicenceKind::Platform,
            platform_end(issued),
        )
    }

    /// A 30-day platform trial.
    pub fn trial_platform(
        id: LicenceId,
        account: i64,
        sdk: Sdk,
        binding: PlatformBinding,
        issued: i64,
    ) -> Claims {
        Claims::for_platform(
            id,
            account,
            sdk,
            binding,
            issued,
            LicenceKind::TrialPlatform,
            trial_end(issued),
        )
    }

    fn for_platform(
        id: LicenceId,
        account: i64,
        sdk: Sdk,
        binding: PlatformBinding,
        issued: i64,
        kind: LicenceKind,
        expires: i64,
    ) -> Claims {
        Claims {
            id,
            account,
            sdk,
            features: sdk.features().to_vec(),
            kind,
            binding: Binding::Platform(binding),
            issued,
            not_before: issued,
            expires: Some(expires),
            generation: 1,
        }
    }

    /// The rules every licence keeps; checked when issuing and again when reading.
    pub fn check(&self) -> Result<(), IssueError> {
        match (&self.binding, self.kind.is_device()) {
            (Binding::Device(d), true) => {
                let n = d.fingerprint.len();
                if n == 0 {
                    return Err(IssueError::EmptyFingerprint);
                }
                if d.required == 0 || d.required > n {
                    return Err(IssueError::Required {
                        required: d.required,
                        components: n,
                    });
                }
            }
            (Binding::Platform(_), false) => {}
            (_, device) => {
                return Err(IssueError::KindBinding {
                    kind: self.kind,
                    needs: if device { "device" } else { "platform" },
                })
            }
        }
        match self.expires {
            None if self.kind != LicenceKind::Device => {
                return Err(IssueError::NoExpiry(self.kind))
            }
            Some(exp) if exp <= self.not_before || exp <= self.issued => {
                return Err(IssueError::ExpiryOrder {
                    issued: self.issued,
                    not_before: self.not_before,
                    expires: exp,
                })
            }
            _ => {}
        }
        if self.features.is_empty() {
            return Err(IssueError::NoFeatures);
        }
        for (i, f) in self.features.iter().enumerate() {
            if self.features[..i].contains(f) {
                return Err(IssueError::DuplicateFeature(*f));
            }
        }
        if self.generation == 0 {
            return Err(IssueError::Generation);
        }
        Ok(())
    }

    pub fn has(&self, feature: Feature) -> bool {
        self.features.contains(&feature)
    }
}

/// The bytes a signature covers: domain ‖ key id hex ‖ `\n` ‖ payload.
pub(crate) fn signed_message(domain: &[u8], key_id: KeyId, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(domain.len() + 17 + payload.len());
    m.extend_from_slice(domain);
    m.extend_from_slice(key_id.to_hex().as_bytes());
    m.push(b'\n');
    m.extend_from_slice(payload);
    m
}

/// Signs `payload` as an armoured `label` block.
pub(crate) fn seal(key: &IssuerKey, label: &str, domain: &[u8], payload: &[u8]) -> String {
    let sig = key.sign(&signed_message(domain, key.id(), payload));
    let body = format!("v1.{}.{}.{}", key.id(), b64(payload), b64(&sig));
    armour(label, &body)
}

/// The parts of a signed body, undecoded signature check left to the caller.
pub(crate) struct Envelope {
    pub key_id: KeyId,
    pub payload: Vec<u8>,
    pub signature: [u8; 64],
}

/// Why an envelope could not be read (the signature is not checked yet).
pub(crate) enum EnvelopeError {
    Malformed(String),
    Version(String),
}

pub(crate) fn split_envelope(label: &str, text: &str) -> Result<Envelope, EnvelopeError> {
    let body = crate::codec::unarmour(label, text).map_err(EnvelopeError::Malformed)?;
    let parts: Vec<&str> = body.split('.').collect();
    match crate::codec::check_version(parts[0]) {
        Ok(()) => {}
        Err(Some(v)) => return Err(EnvelopeError::Version(v)),
        Err(None) => {
            return Err(EnvelopeError::Malformed(
                "does not start with a format version (v1.)".into(),
            ))
        }
    }
    let [_, kid, payload, sig] = parts[..] else {
        return Err(EnvelopeError::Malformed(format!(
            "{} dot-separated parts, 4 expected",
            parts.len()
        )));
    };
    let key_id = kid.parse::<KeyId>().map_err(|_| {
        EnvelopeError::Malformed("the key id is not 16 lowercase hex digits".into())
    })?;
    let payload = unb64(payload)
        .filter(|p| !p.is_empty())
        .ok_or_else(|| EnvelopeError::Malformed("the payload is not base64url".into()))?;
    let signature = unb64(sig)
        .and_then(|s| <[u8; 64]>::try_from(s).ok())
        .ok_or_else(|| {
            EnvelopeError::Malformed("the signature is not 64 bytes of base64url".into())
        })?;
    Ok(Envelope {
        key_id,
        payload,
        signature,
    })
}

impl IssuerKey {
    /// The armoured licence file for `claims`, signed with this key.
    pub fn issue(&self, claims: &Claims) -> Result<String, IssueError> {
        claims.check()?;
        let payload = serde_json::to_vec(claims).map_err(|e| IssueError::Encode(e.to_string()))?;
        Ok(seal(self, LICENCE_LABEL, LICENCE_DOMAIN, &payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::DeviceKey;

    fn request() -> ActivationRequest {
        let fp = Fingerprint::linux(Some("m"), Some("s"), None, &DeviceKey::from_bytes([4; 32]));
        ActivationRequest::new(Sdk::Search, fp, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn id(s: &str) -> LicenceId {
        LicenceId::new(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn ids_packages_and_digests() {
        assert!(LicenceId::new("seat-000123:g").is_ok());
        assert!(LicenceId::new("").is_err());
        assert!(LicenceId::new("a b").is_err());
        assert!(LicenceId::new("x".repeat(65)).is_err());
        assert!(PackageName::new("com.example.gate_2").is_ok());
        for bad in ["com", "com.", "1com.x", "com.ex-ample", ".com.x", "com..x"] {
            assert!(PackageName::new(bad).is_err(), "{bad}");
        }
        let d: CertDigest = "AB:"
            .repeat(31)
            .chars()
            .chain("CD".chars())
            .collect::<String>()
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.to_colon_hex(), format!("{}CD", "AB:".repeat(31)));
        assert_eq!(hex(&d.0).parse::<CertDigest>(), Ok(d));
        assert!("AB:CD".parse::<CertDigest>().is_err());
    }

    #[test]
    fn claims_rules() {
        let mut c = Claims::device(id("L1"), 7, &request(), 1_000);
        assert_eq!(c.check(), Ok(()));
        assert_eq!(c.features, Sdk::Search.features());
        assert_eq!(c.expires, None);
        if let Binding::Device(d) = &mut c.binding {
            assert_eq!(d.required, 2);
            d.required = 4;
        }
        assert!(matches!(
            c.check(),
            Err(IssueError::Required {
                required: 4,
                components: 3
            })
        ));
        let mut t = Claims::trial_device(id("T1"), 7, &request(), 1_000);
        assert_eq!(t.expires, Some(1_000 + 30 * 86_400));
        t.expires = None;
        assert_eq!(
            t.check(),
            Err(IssueError::NoExpiry(LicenceKind::TrialDevice))
        );
        t.expires = Some(1_000);
        assert!(matches!(t.check(), Err(IssueError::ExpiryOrder { .. })));
        let pkg = PlatformBinding {
            package: PackageName::new("com.a.b").unwrap_or_else(|e| panic!("{e}")),
            certificate: None,
        };
        let mut p = Claims::platform(id("P1"), 7, Sdk::Detect, pkg, 1_000);
        assert_eq!(p.check(), Ok(()));
        p.kind = LicenceKind::Device;
        assert!(matches!(
            p.check(),
            Err(IssueError::KindBinding {
                needs: "device",
                ..
            })
        ));
        p.kind = LicenceKind::Platform;
        p.features.push(Feature::Detect);
        assert_eq!(
            p.check(),
            Err(IssueError::DuplicateFeature(Feature::Detect))
        );
        p.features.clear();
        assert_eq!(p.check(), Err(IssueError::NoFeatures));
        p.features.push(Feature::Detect);
        p.generation = 0;
        assert_eq!(p.check(), Err(IssueError::Generation));
    }

    #[test]
    fn payload_uses_the_short_names() {
        let c = Claims::device(id("L1"), 7, &request(), 1_000);
        let json = serde_json::to_string(&c).unwrap_or_default();
        assert!(json.starts_with(r#"{"id":"L1","acct":7,"sdk":"search","feat":["detect","features","search"],"kind":"device","bind":{"fp":{"os":"#), "{json}");
        assert!(
            json.ends_with(r#""k":2},"iat":1000,"nbf":1000,"gen":1}"#),
            "{json}"
        );
        let back: Claims = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, c);
    }
}
