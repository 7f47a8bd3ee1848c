//! The activation request: what a device sends (online through the API, or offline as a
//! file or QR code carried to a connected machine) to be issued a licence.
//!
//! ```text
//! -----BEGIN RENLIAN ACTIVATION REQUEST-----
//! v1.<base64url(payload JSON)>.<base64url(check: 4 bytes)>
//! -----END RENLIAN ACTIVATION REQUEST-----
//! ```
//!
//! Payload: `{"sdk":…,"fp":{"os":…,"hw":…,"dk":…},"label":…}` (`label` optional).
//! Check: the first 4 bytes of SHA-256(`"renlian activation request v1\n"` ‖ payload),
//! to catch a damaged or mistyped copy. It is not a signature: the device has no key
//! the server knows, and the server authenticates the account that hands the request
//! in.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalogue::Sdk;
use crate::codec::{armour, b64, check_version, unarmour, unb64};
use crate::fingerprint::Fingerprint;
use crate::licence::IssueError;

const LABEL: &str = "RENLIAN ACTIVATION REQUEST";
const DOMAIN: &[u8] = b"renlian activation request v1\n";

/// An activation request that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("activation request is malformed: {0}")]
    Malformed(String),
    #[error("activation request format {0} is not supported (v1 is): update the server")]
    UnsupportedVersion(String),
    #[error("activation request is damaged (its check does not match): copy it again")]
    Damaged,
}

/// What the device asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationRequest {
    pub sdk: Sdk,
    #[serde(rename = "fp")]
    pub fingerprint: Fingerprint,
    /// Chosen by the account to tell its devices apart (e.g. `gate-3`), at most 64
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

fn label_ok(label: &str) -> bool {
    label.chars().count() <= 64 && !label.chars().any(char::is_control)
}

fn check(payload: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(DOMAIN);
    h.update(payload);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

impl ActivationRequest {
    pub fn new(
        sdk: Sdk,
        fingerprint: Fingerprint,
        label: Option<String>,
    ) -> Result<ActivationRequest, IssueError> {
        if fingerprint.is_empty() {
            return Err(IssueError::EmptyFingerprint);
        }
        if label.as_deref().is_some_and(|l| !label_ok(l)) {
            return Err(IssueError::Label);
        }
        Ok(ActivationRequest {
            sdk,
            fingerprint,
            label,
        })
    }

    /// The armoured request (under 400 bytes with a short label: fits a QR code).
    pub fn to_text(&self) -> String {
        let payload = serde_json::to_vec(self).unwrap_or_default();
        armour(
            LABEL,
            &format!("v1.{}.{}", b64(&payload), b64(&check(&payload))),
        )
    }

    /// Reads a request (armour optional, any line wrapping).
    pub fn parse(text: &str) -> Result<ActivationRequest, RequestError> {
        let body = unarmour(LABEL, text).map_err(RequestError::Malformed)?;
        let parts: Vec<&str> = body.split('.').collect();
        match check_version(parts[0]) {
            Ok(()) => {}
            Err(Some(v)) => return Err(RequestError::UnsupportedVersion(v)),
            Err(None) => return Err(RequestError::Malformed("does not start with v1.".into())),
        }
        let [_, payload, sum] = parts[..] else {
            return Err(RequestError::Malformed(format!(
                "{} dot-separated parts, 3 expected",
                parts.len()
            )));
        };
        let payload = unb64(payload)
            .ok_or_else(|| RequestError::Malformed("payload is not base64url".into()))?;
        let sum =
            unb64(sum).ok_or_else(|| RequestError::Malformed("check is not base64url".into()))?;
        if sum != check(&payload) {
            return Err(RequestError::Damaged);
        }
        let request: ActivationRequest = serde_json::from_slice(&payload)
            .map_err(|e| RequestError::Malformed(format!("payload: {e}")))?;
        ActivationRequest::new(request.sdk, request.fingerprint, request.label)
            .map_err(|e| RequestError::Malformed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fingerprint::DeviceKey;

    fn req() -> ActivationRequest {
        let fp = Fingerprint::linux(
            Some("4f5e0c3bd1a54b1c9c4e1f0d2a3b4c5d"),
            Some("PF2XK0Q1"),
            None,
            &DeviceKey::from_bytes([9; 32]),
        );
        ActivationRequest::new(Sdk::IrLivenessSearch, fp, Some("闸机-3 (gate 3)".into()))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_and_size() {
        let r = req();
        let text = r.to_text();
        assert_eq!(ActivationRequest::parse(&text), Ok(r.clone()));
        assert!(text.len() < 400, "{} bytes:\n{text}", text.len());
        println!("activation request {} bytes\n{text}", text.len());
        let bare = text
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>();
        assert_eq!(ActivationRequest::parse(&bare), Ok(r));
    }

    #[test]
    fn a_damaged_copy_is_told_apart() {
        let text = req().to_text();
        let line = text.lines().nth(1).unwrap_or_default();
        // Swap two neighbouring payload characters (a typical transcription slip).
        let mut chars: Vec<char> = line.chars().collect();
        let i = chars
            .iter()
            .position(|&c| c != chars[10])
            .unwrap_or(0)
            .max(11);
        chars.swap(10, i);
        let swapped: String = chars.into_iter().collect();
        let damaged = text.replacen(line, &swapped, 1);
        assert!(matches!(
            ActivationRequest::parse(&damaged),
            Err(RequestError::Damaged | RequestError::Malformed(_))
        ));
        assert_eq!(
            ActivationRequest::parse("v2.abc.def"),
            Err(RequestError::UnsupportedVersion("v2".into()))
        );
    }

    #[test]
    fn labels_are_bounded() {
        let fp = req().fingerprint;
        assert_eq!(
            ActivationRequest::new(Sdk::Detect, fp.clone(), Some("a\nb".into())),
            Err(IssueError::Label)
        );
        assert_eq!(
            ActivationRequest::new(Sdk::Detect, fp, Some("x".repeat(65))),
            Err(IssueError::Label)
        );
        assert_eq!(
            ActivationRequest::new(Sdk::Detect, Fingerprint::default(), None),
            Err(IssueError::EmptyFingerprint)
        );
    }
}
