//! The face shapes the API reports: IAI's 90-point `FaceShape` (AnalyzeFace) and its
//! dense `DenseFaceShape` (AnalyzeDenseLandmarks), in image pixel coordinates.
//!
//! These are plain data: `crate::mesh` derives them from the 468-point face mesh and
//! the iris points; `crate::quality` reads their regions. Which mesh point goes where,
//! and in which order, is documented beside that mapping.

use serde::Serialize;

/// A point in image pixel coordinates (x to the right, y down).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub fn new(x: f32, y: f32) -> Point {
        Point { x, y }
    }
}

/// Point counts of the 90-point shape, in field order; they sum to 90.
pub const SHAPE90_COUNTS: [(&str, usize); 9] = [
    ("FaceProfile", 21),
    ("LeftEye", 8),
    ("RightEye", 8),
    ("LeftEyeBrow", 8),
    ("RightEyeBrow", 8),
    ("Mouth", 22),
    ("Nose", 13),
    ("LeftPupil", 1),
    ("RightPupil", 1),
];

/// IAI's 90 facial landmarks of one face. "Left" and "right" follow the IAI
/// documentation's convention, stated where the mapping is built.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaceShape90 {
    /// 21 points of the face outline.
    pub face_profile: Vec<Point>,
    /// 8 points of each eye's outline.
    pub left_eye: Vec<Point>,
    pub right_eye: Vec<Point>,
    /// 8 points of each eyebrow's outline.
    pub left_eye_brow: Vec<Point>,
    pub right_eye_brow: Vec<Point>,
    /// 22 points of the lips (outer and inner outline).
    pub mouth: Vec<Point>,
    /// 13 points of the nose.
    pub nose: Vec<Point>,
    /// The centre of each pupil.
    pub left_pupil: Point,
    pub right_pupil: Point,
}

/// The dense landmarks of AnalyzeDenseLandmarks: the same regions with more points,
/// plus the central axis, chin, eye bags and forehead.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DenseShape {
    pub left_eye: Vec<Point>,
    pub right_eye: Vec<Point>,
    pub left_eye_brow: Vec<Point>,
    pub right_eye_brow: Vec<Point>,
    pub mouth_outside: Vec<Point>,
    pub mouth_inside: Vec<Point>,
    pub nose: Vec<Point>,
    pub left_pupil: Vec<Point>,
    pub right_pupil: Vec<Point>,
    pub central_axis: Vec<Point>,
    pub chin: Vec<Point>,
    pub left_eye_bags: Vec<Point>,
    pub right_eye_bags: Vec<Point>,
    pub forehead: Vec<Point>,
}

/// Head pose in degrees: pitch (positive = looking down), yaw (positive = turned to
/// the image's right), roll (positive = clockwise in the image).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HeadPose {
    pub pitch: f32,
    pub yaw: f32,
    pub roll: f32,
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_counts_make_ninety() {
        assert_eq!(super::SHAPE90_COUNTS.iter().map(|c| c.1).sum::<usize>(), 90);
    }
}
