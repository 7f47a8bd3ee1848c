//! Descriptor distance → 0-100 similarity score, as data: one calibration table per
//! descriptor model (`calibration/*.json`, embedded at build time), interpolated
//! piecewise linearly. The score falls as the distance grows and carries the IAI API's
//! false-accept meaning, score = 10 − 10·log10(FAR): 40/50/60 ↔ FAR 1e-3/1e-4/1e-5.
//! The tables are fitted by `renlian calibrate` on measured impostor distances of the
//! population where the descriptor does worst (docs/calibration/); score 50, the "same
//! person" line, is the model's match distance. Recalibrating means replacing the
//! table, not editing code.

use serde::Deserialize;

use crate::descriptor::{Descriptor, DescriptorVersion, DESCRIPTOR_LEN};
use crate::error::{Result, VisionError};

const DLIB_RESNET_V1: &str = include_str!("../calibration/dlib_resnet_v1.json");
const DLIB_RESNET_V2: &str = include_str!("../calibration/dlib_resnet_v2.json");

/// A distance-to-score table for one descriptor model.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Calibration {
    /// The descriptor model the table belongs to.
    pub model: String,
    /// Distance at which two faces are taken to be one person.
    pub match_distance: f64,
    /// Score given at `match_distance`.
    pub match_score: f64,
    /// `(distance, score)` knots, distances increasing, scores not increasing.
    pub points: Vec<(f64, f64)>,
}

impl Calibration {
    /// The table for dlib's ResNet descriptor.
    pub fn dlib_resnet_v1() -> Result<Calibration> {
        Calibration::from_json(DLIB_RESNET_V1)
    }

    /// Parses and checks a table.
    pub fn from_json(json: &str) -> Result<Calibration> {
        let c: Calibration =
            serde_json::from_str(json).map_err(|e| VisionError::model("calibration", e))?;
        Calibration::check(&c)?;
        Ok(c)
    }

    /// Checks a table: monotone, scores 0-100, through its match point.
    fn check(c: &Calibration) -> Result<()> {
        let bad = |why: &str| {
            Err(VisionError::model(
                "calibration",
                format!("{}: {why}", c.model),
            ))
        };
        if c.points.len() < 2 {
            return bad("fewer than two knots");
        }
        for w in c.points.windows(2) {
            if w[1].0.partial_cmp(&w[0].0) != Some(std::cmp::Ordering::Greater) || w[1].1 > w[0].1 {
                return bad("knots must have increasing distance and non-increasing score");
            }
        }
        if c.points
            .iter()
            .any(|&(d, s)| !d.is_finite() || !(0.0..=100.0).contains(&s))
        {
            return bad("scores must lie in 0..=100");
        }
        if (c.score(c.match_distance) - c.match_score).abs() > 1e-9 {
            return bad("the table does not pass through its match point");
        }
        Ok(())
    }

    /// The score for a distance, clamped to the table's ends.
    pub fn score(&self, distance: f64) -> f64 {
        let pts = &self.points;
        let (first, last) = (pts[0], pts[pts.len() - 1]);
        if distance.is_nan() {
            return 0.0;
        }
        if distance <= first.0 {
            return first.1;
        }
        if distance >= last.0 {
            return last.1;
        }
        let i = pts.partition_point(|p| p.0 <= distance);
        let (a, b) = (pts[i - 1], pts[i]);
        a.1 + (b.1 - a.1) * (distance - a.0) / (b.0 - a.0)
    }

    /// The distance at which the table gives `score` (the inverse of [`Self::score`]);
    /// scores above the table's top give its first distance, below its bottom its last.
    pub fn distance(&self, score: f64) -> f64 {
        let pts = &self.points;
        let (first, last) = (pts[0], pts[pts.len() - 1]);
        if score.is_nan() || score <= last.1 {
            return last.0;
        }
        if score >= first.1 {
            return first.0;
        }
        // Scores strictly decrease along the table.
        let i = pts.partition_point(|p| p.1 > score);
        let (a, b) = (pts[i - 1], pts[i]);
        a.0 + (b.0 - a.0) * (score - a.1) / (b.1 - a.1)
    }

    /// Whether a score means "the same person" (at or above the match score).
    pub fn is_match(&self, score: f64) -> bool {
        score >= self.match_score
    }

    /// The false-accept rate a score stands for, as in the IAI API:
    /// score = 10 − 10·log10(FAR), so 40/50/60 ↔ 1e-3/1e-4/1e-5.
    pub fn far(&self, score: f64) -> f64 {
        10f64.powf(-(score - 10.0) / 10.0)
    }
}

/// A coarse region of descriptor space: the faces whose descriptor lies at or beyond
/// `threshold` along `direction`. The direction is an aggregate (population means of
/// identity means over a covariance), never one person's descriptor.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Region {
    /// What the region stands for (the population it was fitted to hold).
    pub name: String,
    /// 128 values.
    pub direction: Vec<f32>,
    /// Faces with `descriptor · direction >= threshold` lie inside.
    pub threshold: f64,
}

impl Region {
    /// Whether a face lies inside.
    pub fn holds(&self, d: &Descriptor) -> bool {
        d.dot(&self.direction) >= self.threshold
    }
}

/// Version 2's score model: two tables, chosen per pair by where its faces lie. A pair
/// with a face inside the region (the dense one, where impostors lie closest) is scored
/// by the `inside` table; a pair with both faces outside by the `outside` table. Each
/// table was fitted on the impostor pairs of its own kind, so a score keeps its
/// false-accept meaning for both kinds of pair.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct RegionalCalibration {
    /// The descriptor model the tables belong to.
    pub model: String,
    /// The descriptor version (2).
    pub descriptor_version: u32,
    /// The region.
    pub region: Region,
    /// Pairs with a face inside the region.
    pub inside: Calibration,
    /// Pairs with both faces outside.
    pub outside: Calibration,
}

/// Descriptor distance → score, for one descriptor version.
#[derive(Clone, Debug, PartialEq)]
pub enum ScoreModel {
    /// One table for every pair (version 1).
    Table(Calibration),
    /// A table per kind of pair (version 2).
    Regional(RegionalCalibration),
}

impl ScoreModel {
    /// The model for a descriptor version.
    pub fn for_version(version: DescriptorVersion) -> Result<ScoreModel> {
        match version {
            DescriptorVersion::V1 => Ok(ScoreModel::Table(Calibration::dlib_resnet_v1()?)),
            DescriptorVersion::V2 => Ok(ScoreModel::Regional(RegionalCalibration::from_json(
                DLIB_RESNET_V2,
            )?)),
        }
    }

    /// The table that scores the pair `a`, `b`.
    pub fn table(&self, a: &Descriptor, b: &Descriptor) -> &Calibration {
        match self {
            ScoreModel::Table(t) => t,
            ScoreModel::Regional(r) => {
                if r.region.holds(a) || r.region.holds(b) {
                    &r.inside
                } else {
                    &r.outside
                }
            }
        }
    }

    /// The score of a pair whose distance is already known.
    pub fn score_at(&self, a: &Descriptor, b: &Descriptor, distance: f64) -> f64 {
        self.table(a, b).score(distance)
    }

    /// The score of a pair.
    pub fn score(&self, a: &Descriptor, b: &Descriptor) -> f64 {
        self.score_at(a, b, a.distance(b))
    }

    /// The largest distance at which `probe` and some face can still reach `score`: a
    /// search with a score bound may stop there, then keeps what scores high enough.
    pub fn max_distance(&self, probe: &Descriptor, score: f64) -> f64 {
        match self {
            ScoreModel::Table(t) => t.distance(score),
            ScoreModel::Regional(r) => {
                let inside = r.inside.distance(score);
                if r.region.holds(probe) {
                    inside
                } else {
                    inside.max(r.outside.distance(score))
                }
            }
        }
    }

    /// The false-accept rate a score stands for, as in the IAI API.
    pub fn far(&self, score: f64) -> f64 {
        10f64.powf(-(score - 10.0) / 10.0)
    }
}

impl RegionalCalibration {
    /// Parses and checks a model.
    pub fn from_json(json: &str) -> Result<RegionalCalibration> {
        let r: RegionalCalibration =
            serde_json::from_str(json).map_err(|e| VisionError::model("calibration", e))?;
        let bad = |why: String| VisionError::model("calibration", format!("{}: {why}", r.model));
        if r.region.direction.len() != DESCRIPTOR_LEN
            || r.region.direction.iter().any(|v| !v.is_finite())
            || !r.region.threshold.is_finite()
        {
            return Err(bad(format!(
                "the region needs {DESCRIPTOR_LEN} finite values and a finite threshold"
            )));
        }
        for table in [&r.inside, &r.outside] {
            Calibration::check(table).map_err(|e| bad(e.to_string()))?;
        }
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fitted_table_is_monotone_and_stricter_than_dlibs_own_threshold() {
        let c = Calibration::dlib_resnet_v1().unwrap();
        assert!((c.score(c.match_distance) - 50.0).abs() < 1e-12);
        // Fitted on East-Asian faces, where distance 0.6 accepts about a third of all
        // different-person pairs: the same-person line lies well below it.
        assert!(c.match_distance < 0.45, "{}", c.match_distance);
        assert!(c.score(0.6) < 30.0);
        assert_eq!(c.score(0.0), 100.0);
        assert_eq!(c.score(5.0), 0.0);
        let mut prev = f64::INFINITY;
        for i in 0..=300 {
            let s = c.score(i as f64 * 0.005);
            assert!(s <= prev);
            prev = s;
        }
    }

    #[test]
    fn distance_inverts_score_and_far_keeps_the_iai_meaning() {
        let c = Calibration::dlib_resnet_v1().unwrap();
        for i in 0..=1000 {
            let s = i as f64 / 10.0;
            assert!((c.score(c.distance(s)) - s).abs() < 1e-9, "score {s}");
        }
        assert!((c.distance(c.match_score) - c.match_distance).abs() < 1e-12);
        assert!(c.is_match(c.match_score));
        assert!(!c.is_match(c.score(c.match_distance + 0.01)));
        assert!((c.far(40.0) / 1e-3 - 1.0).abs() < 1e-12);
        assert!((c.far(50.0) / 1e-4 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn version_2_scores_dense_region_pairs_more_strictly_and_bounds_searches() {
        let ScoreModel::Regional(r) = ScoreModel::for_version(DescriptorVersion::V2).unwrap()
        else {
            panic!("version 2 is regional");
        };
        assert_eq!(r.descriptor_version, 2);
        // Impostors lie closer inside the region: score 50 needs a smaller distance.
        assert!(r.inside.match_distance < r.outside.match_distance);
        let model = ScoreModel::Regional(r.clone());
        // A face far along the direction lies inside, far against it outside.
        let along = |t: f32| {
            let norm: f32 = r.region.direction.iter().map(|v| v * v).sum::<f32>().sqrt();
            Descriptor(r.region.direction.iter().map(|v| v / norm * t).collect())
        };
        let (inside, outside) = (along(1e3), along(-1e3));
        assert!(r.region.holds(&inside) && !r.region.holds(&outside));
        let d = (r.inside.match_distance + r.outside.match_distance) / 2.0;
        assert!(model.score_at(&outside, &outside, d) > 50.0);
        assert!(model.score_at(&inside, &outside, d) < 50.0);
        assert!(model.score_at(&outside, &inside, d) < 50.0);
        // A search bound never cuts off a pair that reaches the score.
        assert!(model.max_distance(&outside, 50.0) >= r.outside.match_distance);
        assert_eq!(model.max_distance(&inside, 50.0), r.inside.match_distance);
        let bad = r#"{"model":"x","descriptor_version":2,"region":{"name":"r","direction":[1.0],"threshold":0},"inside":{"model":"x","match_distance":0.5,"match_score":50,"points":[[0,100],[0.5,50],[1,0]]},"outside":{"model":"x","match_distance":0.5,"match_score":50,"points":[[0,100],[0.5,50],[1,0]]}}"#;
        assert!(RegionalCalibration::from_json(bad).is_err());
    }

    #[test]
    fn tables_that_are_not_monotone_are_refused() {
        let json = r#"{"model":"x","match_distance":0.5,"match_score":50,"points":[[0,100],[0.5,50],[0.4,60]]}"#;
        assert!(Calibration::from_json(json).is_err());
        let json =
            r#"{"model":"x","match_distance":0.5,"match_score":50,"points":[[0,40],[1,60]]}"#;
        assert!(Calibration::from_json(json).is_err());
    }
}
