//! Structured-light (3D) liveness: does the depth map show a face's relief, shaped as a
//! face is, where the RGB frame shows a face?
//!
//! The method, for a depth map registered pixel-for-pixel to the RGB frame (millimetres,
//! 0 where the sensor has no reading), the face the engine found there and its face mesh:
//!
//! 1. **Samples.** The face region is the convex hull of the mesh's 468 points, shrunk by
//!    [`REGION_SHRINK`] towards its centre (the hull's rim is the jaw and temples, where
//!    depth falls away steeply and pixels mix face and background). Its valid readings
//!    within [`DEPTH_GATE_MM`] of their median are kept (hair, background seen through
//!    holes and stray readings fall outside). Fewer than [`MIN_REGION_SAMPLES`], or than
//!    [`MIN_REGION_FRACTION`] of the region, is [`LivenessError::TooFewDepthSamples`]:
//!    too little to judge, which is not a verdict.
//! 2. **Relief.** A plane is fitted to the samples by least squares, in inverse depth:
//!    under a pinhole camera a plane's inverse depth is exactly affine in pixel
//!    coordinates, so a plane at any distance and tilt fits with no camera intrinsics.
//!    The relief is the spread of the residuals in millimetres (95th minus 5th
//!    percentile). A photo or a screen, flat or tilted, has only sensor noise; a face
//!    has its nose in front and its cheeks behind: the relief must lie in
//!    [`MIN_RELIEF_MM`]..[`MAX_RELIEF_MM`].
//! 3. **Shape.** Relief alone does not tell a face from a bent sheet of paper. At each
//!    mesh landmark the depth is read (median of a small window) and compared with the
//!    face-shape prior: the mesh's own z at the same landmarks, scaled to millimetres by
//!    the face's size (the mesh's cheek-to-cheek width taken as [`FACE_WIDTH_MM`]). Both
//!    are compared beyond a quadric: a quadric surface (in inverse depth for the
//!    measurement) is fitted to each and removed. That takes away what any gently bent
//!    or tilted sheet has (a sheet of paper bends in one direction at a time, and a
//!    cylinder over a face's width is within a few millimetres of a quadric) and leaves a
//!    face's own structure: the nose in front, the eye sockets and the mouth's corners
//!    behind. Pearson's correlation of what remains must reach
//!    [`MIN_SHAPE_CORRELATION`], and the least-squares gain from prior to measurement
//!    must lie within [`GAIN_RANGE`] (a face's structure several times too deep or too
//!    shallow for the face's size is not that face). Compared after a plane only, paper
//!    cylinders correlated up to 0.86 with the prior and rendered faces 0.97-1.00, too
//!    close to separate: the plane-only correlation is reported
//!    ([`DepthMeasures::plane_correlation`]) but does not decide; beyond a quadric the
//!    same cylinders measure -0.33-0.13 and the faces 0.90-0.99.
//!
//! Each check has a sub-score (0.5 at its threshold); the verdict's score is the weakest
//! one on a 0-100 scale where 50 and above means live.
//!
//! The thresholds were set on synthetic depth maps, not on real captures (none were
//! available): planes, tilted planes and paper cylinders with the sensor's noise, and
//! depth rendered from the fixture photos' face meshes (`docs/sensor-liveness.md`).

use image::{ImageBuffer, Luma};
use vision::mesh::{FaceMesh, MESH_POINTS};
use vision::Face;

use crate::error::{LivenessError, Result};
use crate::stats::{convex_hull, correlation, inside_convex, quantile, ramp, score, Surface};

/// A surface fit over `(x, y, value)` samples.
type Fit = fn(&[(f64, f64, f64)]) -> Option<Surface>;

/// A depth map registered to the RGB frame: millimetres from the camera along its
/// axis, 0 where the sensor has no reading.
pub type DepthMap = ImageBuffer<Luma<u16>, Vec<u16>>;

/// The face region's hull shrunk towards its centroid by this factor.
pub const REGION_SHRINK: f64 = 0.9;
/// Readings farther than this from the region's median depth are not the face: a head
/// is about 200 mm deep front to back and the face oval about 100 mm of that.
pub const DEPTH_GATE_MM: f64 = 150.0;
/// Least number of valid readings in the face region: a face 20 × 20 depth pixels
/// across, below which the landmarks' windows would overlap.
pub const MIN_REGION_SAMPLES: usize = 400;
/// Least fraction of the face region with valid readings: below it the holes, not the
/// face, decide which parts are measured.
pub const MIN_REGION_FRACTION: f64 = 0.3;
/// Least number of mesh landmarks with a depth reading, of 468.
pub const MIN_LANDMARK_SAMPLES: usize = 150;
/// Radius of the window read around each landmark (5 × 5 pixels); its median resists
/// noise and holes.
pub const LANDMARK_RADIUS: i64 = 2;
/// Least relief (95th minus 5th percentile of the residuals from the plane). Real faces
/// have 15-40 mm from nose tip to cheek, more to the jaw's sides (the rendered fixture
/// faces measure 35-41 mm); a plane measures its sensor noise, 2-8 mm at 0.3-0.8 m with
/// the noise model of the tests.
pub const MIN_RELIEF_MM: f64 = 15.0;
/// Largest relief: a face region spanning more is not one surface (a hand in front of
/// the face, a mask held away from it).
pub const MAX_RELIEF_MM: f64 = 90.0;
/// Least correlation of the measured relief with the mesh's prior beyond a quadric. The
/// rendered fixture faces measure 0.92-0.99 (0.90-0.96 with another person's relief);
/// planes and paper cylinders -0.3-0.2. Set between the two, nearer the spoofs: real
/// sensors' mixed pixels at edges, beards and glasses will lower a real face's value.
pub const MIN_SHAPE_CORRELATION: f64 = 0.6;
/// The gain from prior to measured relief beyond a quadric must lie in this range. The
/// rendered fixture faces measure 0.79-1.02 with the tests' assumed interpupillary
/// distance; faces differ in size from [`FACE_WIDTH_MM`] by about ±15 % and in the depth
/// of their features by more.
pub const GAIN_RANGE: (f64, f64) = (0.5, 2.0);
/// Width of an adult face between the mesh's cheek points 234 and 454 (at the tragi,
/// near the bizygomatic breadth: 130-140 mm in anthropometric surveys, Farkas 1994).
pub const FACE_WIDTH_MM: f64 = 135.0;

/// The mesh's cheek points at the edges of the face (MediaPipe's topology).
const CHEEK_LEFT: usize = 234;
const CHEEK_RIGHT: usize = 454;

/// One reason a depth map was refused, for the SDK's error messages.
#[derive(Clone, Debug, PartialEq)]
pub enum DepthReason {
    /// The face region is flat (a photo or a screen, straight or tilted).
    Flat {
        /// Measured relief in millimetres.
        relief_mm: f64,
    },
    /// The face region's relief is deeper than any face's.
    TooDeep {
        /// Measured relief in millimetres.
        relief_mm: f64,
    },
    /// The relief does not have a face's shape (a bent sheet, a curved screen).
    WrongShape {
        /// Correlation with the mesh's prior beyond a quadric.
        correlation: f64,
    },
    /// The relief has a face's shape but not its size.
    WrongScale {
        /// Gain from prior to measured relief beyond a quadric.
        gain: f64,
    },
}

impl std::fmt::Display for DepthReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DepthReason::Flat { relief_mm } => write!(
                f,
                "the face is flat in depth ({relief_mm:.1} mm of relief, at least {MIN_RELIEF_MM} needed)"
            ),
            DepthReason::TooDeep { relief_mm } => write!(
                f,
                "the face region is deeper than a face ({relief_mm:.1} mm of relief, at most {MAX_RELIEF_MM})"
            ),
            DepthReason::WrongShape { correlation } => write!(
                f,
                "the relief does not have a face's shape (correlation {correlation:.2}, at least {MIN_SHAPE_CORRELATION} needed)"
            ),
            DepthReason::WrongScale { gain } => write!(
                f,
                "the relief is not a face's size (gain {gain:.2}, {}-{} expected)",
                GAIN_RANGE.0, GAIN_RANGE.1
            ),
        }
    }
}

/// What was measured, whatever the verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthMeasures {
    /// Valid readings used in the face region.
    pub region_samples: usize,
    /// Pixels of the face region.
    pub region_pixels: usize,
    /// Landmarks with a depth reading.
    pub landmark_samples: usize,
    /// Median depth of the face region, millimetres.
    pub distance_mm: f64,
    /// Relief of the face region (residual spread from its plane), millimetres.
    pub relief_mm: f64,
    /// The prior's relief from its plane at the measured landmarks, millimetres.
    pub prior_relief_mm: f64,
    /// Correlation of measured and prior relief beyond a quadric at the landmarks (the
    /// shape check).
    pub correlation: f64,
    /// Least-squares gain from prior to measured relief beyond a quadric (the scale
    /// check).
    pub gain: f64,
    /// Correlation of measured and prior relief from a plane only: not used in the
    /// verdict (a bent sheet scores high on it), reported for comparison.
    pub plane_correlation: f64,
}

/// The depth verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct DepthVerdict {
    /// 0-100; 50 and above means live (the weakest check decides).
    pub score: u8,
    /// Every check passed.
    pub is_live: bool,
    /// The checks that failed; empty when live.
    pub reasons: Vec<DepthReason>,
    /// The measurements behind the verdict.
    pub measures: DepthMeasures,
}

/// Judges the depth map `depth`, registered pixel-for-pixel to the RGB frame in which
/// the engine found `face` and the mesh nets placed `mesh`. See the module documentation
/// for the method.
pub fn assess(depth: &DepthMap, face: &Face, mesh: &FaceMesh) -> Result<DepthVerdict> {
    if depth.width() == 0 || depth.height() == 0 {
        return Err(LivenessError::InvalidArgument(
            "the depth map has no pixels".into(),
        ));
    }
    if mesh.points.len() != MESH_POINTS {
        return Err(LivenessError::InvalidArgument(format!(
            "the face mesh has {} points, expected {MESH_POINTS}",
            mesh.points.len()
        )));
    }
    check_mesh_on_face(face, mesh)?;
    let xy: Vec<(f64, f64)> = mesh
        .points
        .iter()
        .map(|p| (f64::from(p[0]), f64::from(p[1])))
        .collect();
    let region = shrink(&convex_hull(&xy), REGION_SHRINK);

    // 1. Samples.
    let (raw, region_pixels) = region_readings(depth, &region);
    let distance_mm = quantile(&raw.iter().map(|s| s.2).collect::<Vec<_>>(), 0.5);
    let samples: Vec<(f64, f64, f64)> = raw
        .into_iter()
        .filter(|s| (s.2 - distance_mm).abs() <= DEPTH_GATE_MM)
        .collect();
    let needed =
        MIN_REGION_SAMPLES.max((MIN_REGION_FRACTION * region_pixels as f64).ceil() as usize);
    if samples.len() < needed {
        return Err(LivenessError::TooFewDepthSamples {
            place: "face region",
            valid: samples.len(),
            needed,
        });
    }

    // 2. Relief from the region's plane.
    let residuals = plane_residuals(&samples)?;
    let relief_mm = spread(&residuals);

    // 3. Shape against the mesh's prior.
    let mut at_landmarks = Vec::new();
    let mut prior_at = Vec::new();
    for p in &mesh.points {
        let (x, y) = (f64::from(p[0]), f64::from(p[1]));
        if let Some(z) = landmark_depth(depth, x, y, distance_mm) {
            at_landmarks.push((x, y, z));
            prior_at.push((x, y, f64::from(p[2])));
        }
    }
    if at_landmarks.len() < MIN_LANDMARK_SAMPLES {
        return Err(LivenessError::TooFewDepthSamples {
            place: "mesh landmarks",
            valid: at_landmarks.len(),
            needed: MIN_LANDMARK_SAMPLES,
        });
    }
    let mm_per_px = FACE_WIDTH_MM / mesh_width(mesh)?;
    let prior_plane = prior_residuals(&prior_at, mm_per_px, Surface::plane)?;
    let prior_relief_mm = spread(&prior_plane);
    let plane_correlation = correlation(&plane_residuals(&at_landmarks)?, &prior_plane);
    let measured = inverse_residuals(&at_landmarks, Surface::quadric)?;
    let prior = prior_residuals(&prior_at, mm_per_px, Surface::quadric)?;
    let shape_correlation = correlation(&measured, &prior);
    let gain = least_squares_gain(&measured, &prior);

    let mut reasons = Vec::new();
    let mut sub = Vec::new();
    if relief_mm < MIN_RELIEF_MM {
        reasons.push(DepthReason::Flat { relief_mm });
    } else if relief_mm > MAX_RELIEF_MM {
        reasons.push(DepthReason::TooDeep { relief_mm });
    }
    sub.push(ramp(relief_mm, 0.0, MIN_RELIEF_MM, 1.5 * MIN_RELIEF_MM));
    sub.push(ramp(
        relief_mm,
        1.5 * MAX_RELIEF_MM,
        MAX_RELIEF_MM,
        0.75 * MAX_RELIEF_MM,
    ));
    if shape_correlation < MIN_SHAPE_CORRELATION {
        reasons.push(DepthReason::WrongShape {
            correlation: shape_correlation,
        });
    }
    sub.push(ramp(
        shape_correlation,
        0.0,
        MIN_SHAPE_CORRELATION,
        (1.0 + MIN_SHAPE_CORRELATION) / 2.0,
    ));
    if !(GAIN_RANGE.0..=GAIN_RANGE.1).contains(&gain) {
        reasons.push(DepthReason::WrongScale { gain });
    }
    // Symmetric on a log scale: as far from 1 below as above.
    let log_gain = if gain > 0.0 {
        gain.ln().abs()
    } else {
        f64::INFINITY
    };
    let log_limit = if gain < 1.0 {
        -GAIN_RANGE.0.ln()
    } else {
        GAIN_RANGE.1.ln()
    };
    sub.push(ramp(log_gain, 2.0 * log_limit, log_limit, 0.0));

    let is_live = reasons.is_empty();
    Ok(DepthVerdict {
        score: score(&sub, is_live),
        is_live,
        reasons,
        measures: DepthMeasures {
            region_samples: samples.len(),
            region_pixels,
            landmark_samples: at_landmarks.len(),
            distance_mm,
            relief_mm,
            prior_relief_mm,
            correlation: shape_correlation,
            gain,
            plane_correlation,
        },
    })
}

fn degenerate() -> LivenessError {
    LivenessError::InvalidArgument("the depth samples lie on one line".into())
}

/// The mesh must be the face's: its centroid within the face box grown by half.
fn check_mesh_on_face(face: &Face, mesh: &FaceMesh) -> Result<()> {
    let n = mesh.points.len() as f64;
    let cx = mesh.points.iter().map(|p| f64::from(p[0])).sum::<f64>() / n;
    let cy = mesh.points.iter().map(|p| f64::from(p[1])).sum::<f64>() / n;
    let r = &face.rect;
    let (gw, gh) = (r.width() as f64 / 2.0, r.height() as f64 / 2.0);
    let inside = cx >= r.left as f64 - gw
        && cx <= r.right as f64 + gw
        && cy >= r.top as f64 - gh
        && cy <= r.bottom as f64 + gh;
    if inside && cx.is_finite() && cy.is_finite() {
        Ok(())
    } else {
        Err(LivenessError::InvalidArgument(format!(
            "the face mesh (centre {cx:.0}, {cy:.0}) is not on the face box {:?}",
            face.rect
        )))
    }
}

/// A polygon scaled by `factor` towards its vertices' centroid.
fn shrink(poly: &[(f64, f64)], factor: f64) -> Vec<(f64, f64)> {
    let n = poly.len().max(1) as f64;
    let cx = poly.iter().map(|p| p.0).sum::<f64>() / n;
    let cy = poly.iter().map(|p| p.1).sum::<f64>() / n;
    poly.iter()
        .map(|&(x, y)| (cx + (x - cx) * factor, cy + (y - cy) * factor))
        .collect()
}

/// Every valid reading `(x, y, mm)` of the pixels inside the polygon, and the number of
/// those pixels (valid or not) within the map.
fn region_readings(depth: &DepthMap, poly: &[(f64, f64)]) -> (Vec<(f64, f64, f64)>, usize) {
    let (w, h) = (i64::from(depth.width()), i64::from(depth.height()));
    let bound = |f: fn(f64, f64) -> f64, init: f64, pick: fn(&(f64, f64)) -> f64| {
        poly.iter().map(pick).fold(init, f)
    };
    let x0 = (bound(f64::min, f64::INFINITY, |p| p.0).floor() as i64).max(0);
    let x1 = (bound(f64::max, f64::NEG_INFINITY, |p| p.0).ceil() as i64).min(w - 1);
    let y0 = (bound(f64::min, f64::INFINITY, |p| p.1).floor() as i64).max(0);
    let y1 = (bound(f64::max, f64::NEG_INFINITY, |p| p.1).ceil() as i64).min(h - 1);
    let mut out = Vec::new();
    let mut pixels = 0;
    for y in y0..=y1 {
        for x in x0..=x1 {
            // Mesh coordinates put pixel k's centre at k, as the map's indices do.
            if !inside_convex(poly, (x as f64, y as f64)) {
                continue;
            }
            pixels += 1;
            let v = depth.get_pixel(x as u32, y as u32).0[0];
            if v > 0 {
                out.push((x as f64, y as f64, f64::from(v)));
            }
        }
    }
    (out, pixels)
}

/// Residuals in millimetres (positive behind the plane) of samples `(x, y, mm)` from
/// their least-squares plane, fitted in inverse depth.
fn plane_residuals(samples: &[(f64, f64, f64)]) -> Result<Vec<f64>> {
    inverse_residuals(samples, Surface::plane)
}

/// Residuals in millimetres of samples `(x, y, mm)` from a surface fitted to their
/// inverse depth.
fn inverse_residuals(samples: &[(f64, f64, f64)], fit: Fit) -> Result<Vec<f64>> {
    // Inverse metres keep the values near 1.
    let inverse: Vec<(f64, f64, f64)> = samples
        .iter()
        .map(|&(x, y, z)| (x, y, 1000.0 / z))
        .collect();
    let surface = fit(&inverse).ok_or_else(degenerate)?;
    Ok(samples
        .iter()
        .map(|&(x, y, z)| z - 1000.0 / surface.at(x, y))
        .collect())
}

/// The mesh's z at the landmarks less a fitted surface, in millimetres.
fn prior_residuals(prior_at: &[(f64, f64, f64)], mm_per_px: f64, fit: Fit) -> Result<Vec<f64>> {
    let surface = fit(prior_at).ok_or_else(degenerate)?;
    Ok(prior_at
        .iter()
        .map(|&(x, y, z)| (z - surface.at(x, y)) * mm_per_px)
        .collect())
}

/// The least-squares gain `g` minimising `Σ (measured - g·prior)²`.
fn least_squares_gain(measured: &[f64], prior: &[f64]) -> f64 {
    let pp: f64 = prior.iter().map(|p| p * p).sum();
    if pp > 0.0 {
        measured.iter().zip(prior).map(|(m, p)| m * p).sum::<f64>() / pp
    } else {
        0.0
    }
}

/// The 95th minus the 5th percentile.
fn spread(values: &[f64]) -> f64 {
    quantile(values, 0.95) - quantile(values, 0.05)
}

/// The median valid reading in the window around a landmark, among those within the
/// gate of the region's median; `None` when fewer than a third of the window has one.
fn landmark_depth(depth: &DepthMap, x: f64, y: f64, median: f64) -> Option<f64> {
    let (cx, cy) = (x.round() as i64, y.round() as i64);
    let (w, h) = (i64::from(depth.width()), i64::from(depth.height()));
    let mut v = Vec::new();
    for yy in cy - LANDMARK_RADIUS..=cy + LANDMARK_RADIUS {
        for xx in cx - LANDMARK_RADIUS..=cx + LANDMARK_RADIUS {
            if xx < 0 || yy < 0 || xx >= w || yy >= h {
                continue;
            }
            let d = f64::from(depth.get_pixel(xx as u32, yy as u32).0[0]);
            if d > 0.0 && (d - median).abs() <= DEPTH_GATE_MM {
                v.push(d);
            }
        }
    }
    let window = (2 * LANDMARK_RADIUS + 1).pow(2) as usize;
    if v.len() * 3 < window {
        return None;
    }
    Some(quantile(&v, 0.5))
}

/// The mesh's cheek-to-cheek width in pixels (3-D: a turned face's is not foreshortened).
fn mesh_width(mesh: &FaceMesh) -> Result<f64> {
    let (a, b) = (mesh.points[CHEEK_LEFT], mesh.points[CHEEK_RIGHT]);
    let d = a
        .iter()
        .zip(&b)
        .map(|(p, q)| f64::from(p - q).powi(2))
        .sum::<f64>()
        .sqrt();
    if d.is_finite() && d >= 1.0 {
        Ok(d)
    } else {
        Err(LivenessError::InvalidArgument(format!(
            "the face mesh is {d} px wide"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilted_plane_has_no_residual_in_inverse_depth() {
        // A plane seen by a pinhole camera (f = 500 px): Z = d / (n · ray).
        let (f, n, d) = (500.0, [0.3f64, -0.2, 0.93], 600.0);
        let samples: Vec<_> = (0..40)
            .flat_map(|i| (0..40).map(move |j| (200.0 + 3.0 * i as f64, 150.0 + 3.0 * j as f64)))
            .map(|(x, y)| {
                let ray = [(x - 320.0) / f, (y - 240.0) / f, 1.0];
                let z = d / (n[0] * ray[0] + n[1] * ray[1] + n[2] * ray[2]);
                (x, y, z)
            })
            .collect();
        let r = plane_residuals(&samples).unwrap();
        assert!(r.iter().all(|v| v.abs() < 1e-6), "{:?}", spread(&r));
        // The same depths fitted as a plane in depth itself leave a residual.
        let direct = Surface::plane(&samples).unwrap();
        let worst = samples
            .iter()
            .map(|&(x, y, z)| (z - direct.at(x, y)).abs())
            .fold(0.0, f64::max);
        assert!(worst > 1.0, "{worst}");
    }

    #[test]
    fn landmark_windows_need_a_third_of_their_pixels() {
        let mut map = DepthMap::new(20, 20);
        for (i, p) in map.pixels_mut().enumerate() {
            p.0[0] = if i % 5 == 0 { 500 } else { 0 };
        }
        // One column in five is valid: too few.
        assert_eq!(landmark_depth(&map, 10.0, 10.0, 500.0), None);
        let full = DepthMap::from_pixel(20, 20, Luma([700]));
        assert_eq!(landmark_depth(&full, 10.0, 10.0, 700.0), Some(700.0));
        // Outside the gate of the region's median: not the face.
        assert_eq!(landmark_depth(&full, 10.0, 10.0, 400.0), None);
    }
}
