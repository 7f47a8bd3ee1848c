//! Raw liveness scores → the API's 0-100 `Score`, as data (`calibration/liveness_v1.json`,
//! embedded at build time): which crops of the face box are averaged, how the two
//! models' outputs are combined into one number, and a piecewise-linear table from that
//! number to the score. How the table was chosen and what it is worth (false rejects
//! of genuine photos per threshold, the few attack samples there are) is in
//! `docs/liveness.md`. Recalibrating means replacing the table, not editing code.

use serde::Deserialize;

use crate::error::{Result, VisionError};
use crate::liveness::LivenessScores;

const LIVENESS_V1: &str = include_str!("../calibration/liveness_v1.json");

/// The thresholds the IAI API names for DetectLiveFaceAccurate's score.
pub const THRESHOLDS: [f64; 5] = [5.0, 10.0, 40.0, 70.0, 90.0];

/// The threshold the IAI API recommends (40); DetectLiveFace's `IsLiveness` is the score
/// at or above it.
pub const RECOMMENDED_THRESHOLD: f64 = 40.0;

/// One crop of the face box the score averages over.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct CropSpec {
    /// The box grown by this factor about its centre (1.0: the detector's box).
    pub scale: f64,
    /// Mirrored left-right.
    pub mirror: bool,
}

/// The scoring of one pair of liveness models.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct LivenessCalibration {
    /// The models the table belongs to.
    pub model: String,
    /// Crops whose raw scores are averaged (each model separately).
    pub crops: Vec<CropSpec>,
    /// Weight of the antispoof score in the combined value; the liveness score gets the
    /// rest: `combined = w·antispoof + (1 − w)·liveness`.
    pub antispoof_weight: f64,
    /// `(combined, score)` knots, both increasing.
    pub points: Vec<(f64, f64)>,
}

/// One face's liveness.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Liveness {
    /// The raw scores, averaged over the crops.
    pub raw: LivenessScores,
    /// The combined raw value the table maps.
    pub combined: f64,
    /// The API's score, 0-100 (higher: more likely a live face).
    pub score: f64,
}

impl LivenessCalibration {
    /// The table for the `human-models` antispoof and liveness models.
    pub fn v1() -> Result<LivenessCalibration> {
        LivenessCalibration::from_json(LIVENESS_V1)
    }

    /// Parses and checks a table.
    pub fn from_json(json: &str) -> Result<LivenessCalibration> {
        let c: LivenessCalibration = serde_json::from_str(json)
            .map_err(|e| VisionError::model("liveness calibration", e))?;
        let bad = |why: &str| {
            Err(VisionError::model(
                "liveness calibration",
                format!("{}: {why}", c.model),
            ))
        };
        if c.crops.is_empty()
            || c.crops
                .iter()
                .any(|k| !(k.scale.is_finite() && k.scale > 0.0))
        {
            return bad("needs at least one crop, each with a positive scale");
        }
        if !(0.0..=1.0).contains(&c.antispoof_weight) {
            return bad("antispoof_weight must lie in 0..=1");
        }
        if c.points.len() < 2 {
            return bad("fewer than two knots");
        }
        if c.points
            .iter()
            .any(|&(x, s)| !x.is_finite() || !(0.0..=100.0).contains(&s))
        {
            return bad("knots must be finite with scores in 0..=100");
        }
        for w in c.points.windows(2) {
            if w[1].0 <= w[0].0 || w[1].1 < w[0].1 {
                return bad("knots must have increasing values and non-decreasing scores");
            }
        }
        Ok(c)
    }

    /// The combined raw value of averaged scores.
    pub fn combine(&self, raw: LivenessScores) -> f64 {
        let w = self.antispoof_weight;
        w * f64::from(raw.antispoof) + (1.0 - w) * f64::from(raw.liveness)
    }

    /// The 0-100 score of a combined value, clamped to the table's ends.
    pub fn score(&self, combined: f64) -> f64 {
        let pts = &self.points;
        let (first, last) = (pts[0], pts[pts.len() - 1]);
        if combined.is_nan() || combined <= first.0 {
            return first.1;
        }
        if combined >= last.0 {
            return last.1;
        }
        let i = pts.partition_point(|p| p.0 <= combined);
        let (a, b) = (pts[i - 1], pts[i]);
        a.1 + (b.1 - a.1) * (combined - a.0) / (b.0 - a.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fitted_table_is_monotone_and_passes_the_api_thresholds_in_order() {
        let c = LivenessCalibration::v1().unwrap();
        assert_eq!(c.crops.len(), 6);
        assert_eq!(c.score(0.0), 0.0);
        assert_eq!(c.score(1.0), 100.0);
        assert_eq!(c.score(f64::NAN), 0.0);
        let mut prev = -1.0;
        for i in 0..=1000 {
            let s = c.score(f64::from(i) / 1000.0);
            assert!(s >= prev && (0.0..=100.0).contains(&s));
            prev = s;
        }
        // Every API threshold is a knot, reached in the order of the thresholds.
        let at: Vec<f64> = THRESHOLDS
            .iter()
            .map(|t| c.points.iter().find(|p| p.1 == *t).unwrap().0)
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{at:?}");
        let raw = LivenessScores {
            antispoof: 0.6,
            liveness: 1.0,
        };
        assert!((c.combine(raw) - 0.8).abs() < 1e-6);
    }

    #[test]
    fn bad_tables_are_refused() {
        let ok = r#"{"model":"m","crops":[{"scale":1.0,"mirror":false}],"antispoof_weight":0.5,"points":[[0,0],[1,100]]}"#;
        assert!(LivenessCalibration::from_json(ok).is_ok());
        for bad in [
            ok.replace("[[0,0],[1,100]]", "[[0,0]]"),
            ok.replace("[[0,0],[1,100]]", "[[0,50],[1,10]]"),
            ok.replace("[[0,0],[1,100]]", "[[0,0],[1,101]]"),
            ok.replace("\"antispoof_weight\":0.5", "\"antispoof_weight\":1.5"),
            ok.replace("[{\"scale\":1.0,\"mirror\":false}]", "[]"),
            ok.replace("\"scale\":1.0", "\"scale\":0.0"),
        ] {
            assert!(LivenessCalibration::from_json(&bad).is_err(), "{bad}");
        }
    }
}
