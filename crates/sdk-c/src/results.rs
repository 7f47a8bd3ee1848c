//! The `#[repr(C)]` results the caller's memory receives, and their conversions from and
//! to the SDK's types.

use std::ffi::c_char;

use sdk::{Face, Feature, LicenceInfo, Rect, Status};

use crate::error::{Error, Result};
use crate::ffi::fixed_text;

/// Values in a face descriptor.
pub const RL_DESCRIPTOR_LEN: usize = 128;
/// dlib's 5 landmarks per face.
pub const RL_LANDMARKS: usize = 5;
/// The liveness score at and above which a face is taken as live (the server's
/// recommended threshold).
pub const RL_LIVENESS_THRESHOLD: f64 = 40.0;
/// The comparison score at and above which two faces are the same person.
pub const RL_SAME_PERSON_SCORE: f64 = 50.0;

/// Licence feature bits, in `rl_licence_info.features`.
pub const RL_FEATURE_DETECT: u32 = 1;
pub const RL_FEATURE_TRACKING: u32 = 1 << 1;
pub const RL_FEATURE_QUALITY: u32 = 1 << 2;
pub const RL_FEATURE_IR_LIVENESS: u32 = 1 << 3;
pub const RL_FEATURE_3D_LIVENESS: u32 = 1 << 4;
pub const RL_FEATURE_FEATURES: u32 = 1 << 5;
pub const RL_FEATURE_SEARCH: u32 = 1 << 6;

/// A pixel position.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rl_point {
    pub x: i64,
    pub y: i64,
}

/// A face box with inclusive edges (dlib's convention; it may reach outside the image).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rl_rect {
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
}

/// One detected face. Pass it back unchanged to the calls that take a face.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_face {
    pub rect: rl_rect,
    /// The detector's score (above 0 for every reported face).
    pub confidence: f32,
    /// Outer and inner corner of the right eye, then of the left eye, then the base of the
    /// nose.
    pub landmarks: [rl_point; RL_LANDMARKS],
}

/// A face descriptor: the server's 128 values, so it compares with one the API made.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_descriptor {
    pub values: [f32; RL_DESCRIPTOR_LEN],
}

/// The comparison of two descriptors.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_comparison {
    /// Euclidean distance.
    pub distance: f64,
    /// 0-100 on the API's scale; `RL_SAME_PERSON_SCORE` and above is the same person.
    pub score: f64,
}

/// The server's quality score of a face; each part 0-100.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct rl_quality {
    /// Overall: sharpness × brightness factor × mean completeness.
    pub score: u32,
    pub sharpness: u32,
    /// 0 dark … 100 bright; 30-70 is normal.
    pub brightness: u32,
    /// Completeness per region (100: nothing of it outside the image).
    pub eyebrow: u32,
    pub eye: u32,
    pub nose: u32,
    pub cheek: u32,
    pub mouth: u32,
    pub chin: u32,
}

/// Static single-frame RGB liveness of a face.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct rl_liveness {
    /// 0-100 on the API's scale; live at `RL_LIVENESS_THRESHOLD` and above.
    pub score: f64,
    /// The combined raw value the score table maps.
    pub combined: f64,
    /// The antispoof model's output, averaged over the crops.
    pub antispoof: f32,
    /// The liveness model's output, averaged over the crops.
    pub liveness: f32,
}

/// The licence in force.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rl_licence_info {
    /// The licence id, NUL-terminated.
    pub id: [c_char; 65],
    /// The SDK product ("search", "ir-liveness-search", …), NUL-terminated.
    pub sdk: [c_char; 32],
    /// "device", "platform", "trial-device" or "trial-platform", NUL-terminated.
    pub kind: [c_char; 32],
    /// `RL_FEATURE_*` bits the licence grants.
    pub features: u32,
    /// Expiry in Unix seconds; 0 for a permanent licence.
    pub expires: i64,
    /// Whole days left; -1 for a permanent licence.
    pub days_left: i32,
    /// 1 when the licence expires within 30 days, else 0.
    pub expiring: i32,
}

pub(crate) fn feature_bit(feature: Feature) -> u32 {
    match feature {
        Feature::Detect => RL_FEATURE_DETECT,
        Feature::Tracking => RL_FEATURE_TRACKING,
        Feature::Quality => RL_FEATURE_QUALITY,
        Feature::IrLiveness => RL_FEATURE_IR_LIVENESS,
        Feature::Liveness3d => RL_FEATURE_3D_LIVENESS,
        Feature::Features => RL_FEATURE_FEATURES,
        Feature::Search => RL_FEATURE_SEARCH,
    }
}

impl From<&LicenceInfo> for rl_licence_info {
    fn from(info: &LicenceInfo) -> rl_licence_info {
        let (days_left, expiring) = match info.status {
            Status::Valid { days_left } => (days_left, false),
            Status::Expiring { days_left } => (Some(days_left), true),
        };
        rl_licence_info {
            id: fixed_text(&info.id),
            sdk: fixed_text(info.sdk.as_str()),
            kind: fixed_text(info.kind.as_str()),
            features: info
                .features
                .iter()
                .map(|f| feature_bit(*f))
                .fold(0, |a, b| a | b),
            expires: info.expires.unwrap_or(0),
            days_left: days_left.map_or(-1, |d| i32::try_from(d).unwrap_or(i32::MAX)),
            expiring: i32::from(expiring),
        }
    }
}

impl rl_face {
    pub(crate) fn from_face(face: &Face) -> Result<rl_face> {
        let points: [(i64, i64); RL_LANDMARKS] =
            face.landmarks.as_slice().try_into().map_err(|_| {
                Error::internal(format!(
                    "the detector gave {} landmarks, not {RL_LANDMARKS}",
                    face.landmarks.len()
                ))
            })?;
        Ok(rl_face {
            rect: rl_rect {
                left: face.rect.left,
                top: face.rect.top,
                right: face.rect.right,
                bottom: face.rect.bottom,
            },
            confidence: face.confidence,
            landmarks: points.map(|(x, y)| rl_point { x, y }),
        })
    }
}

impl From<&rl_face> for Face {
    fn from(face: &rl_face) -> Face {
        Face {
            rect: Rect {
                left: face.rect.left,
                top: face.rect.top,
                right: face.rect.right,
                bottom: face.rect.bottom,
            },
            confidence: face.confidence,
            landmarks: face.landmarks.iter().map(|p| (p.x, p.y)).collect(),
            landmarks_68: None,
        }
    }
}

impl rl_descriptor {
    pub(crate) fn from_values(values: &[f32]) -> Result<rl_descriptor> {
        let values: [f32; RL_DESCRIPTOR_LEN] = values.try_into().map_err(|_| {
            Error::internal(format!(
                "the engine gave {} descriptor values, not {RL_DESCRIPTOR_LEN}",
                values.len()
            ))
        })?;
        Ok(rl_descriptor { values })
    }
}

impl From<&sdk::Quality> for rl_quality {
    fn from(q: &sdk::Quality) -> rl_quality {
        rl_quality {
            score: q.score,
            sharpness: q.sharpness,
            brightness: q.brightness,
            eyebrow: q.completeness.eyebrow,
            eye: q.completeness.eye,
            nose: q.completeness.nose,
            cheek: q.completeness.cheek,
            mouth: q.completeness.mouth,
            chin: q.completeness.chin,
        }
    }
}

impl From<&sdk::Liveness> for rl_liveness {
    fn from(l: &sdk::Liveness) -> rl_liveness {
        rl_liveness {
            score: l.score,
            combined: l.combined,
            antispoof: l.raw.antispoof,
            liveness: l.raw.liveness,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_follow_the_sdk() {
        assert_eq!(RL_DESCRIPTOR_LEN, vision::DESCRIPTOR_LEN);
        assert_eq!(
            RL_LIVENESS_THRESHOLD,
            vision::liveness::RECOMMENDED_THRESHOLD
        );
        let bits: Vec<u32> = Feature::ALL.iter().map(|f| feature_bit(*f)).collect();
        assert_eq!(bits, (0..7).map(|i| 1u32 << i).collect::<Vec<_>>());
    }

    #[test]
    fn a_face_round_trips() {
        let face = Face {
            rect: Rect {
                left: -3,
                top: 4,
                right: 100,
                bottom: 120,
            },
            confidence: 1.25,
            landmarks: vec![(1, 2), (3, 4), (5, 6), (7, 8), (9, 10)],
            landmarks_68: None,
        };
        let c = rl_face::from_face(&face).unwrap();
        assert_eq!(Face::from(&c), face);
        let bad = Face {
            landmarks: vec![(1, 2)],
            ..face
        };
        assert!(rl_face::from_face(&bad).is_err());
    }
}
