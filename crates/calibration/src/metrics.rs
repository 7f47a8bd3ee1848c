//! Verification rates of one population from its genuine and impostor distances.
//!
//! Definitions follow the East-Asian set's dlib reference, so the figures compare:
//! - TAR at FAR x: the threshold is the distance of the ⌊x·n⌋-th closest impostor
//!   pair (0-based, over n impostor pairs) and a pair is accepted when its distance is
//!   below it, so ⌊x·n⌋ impostors are accepted. When ⌊x·n⌋ is 0 the set does not
//!   resolve that FAR: the point is still given (no impostor accepted) and marked.
//! - EER: over every observed distance t (accepting ≤ t), the point where FRR and FAR
//!   are closest, given as their mean.
//! - At a fixed distance (e.g. dlib's 0.6) a pair is accepted when its distance ≤ it.
//!
//! Intervals are 95 % Wilson score intervals on the counted proportion.

use serde::{Deserialize, Serialize};

/// The FARs every report gives.
pub const FAR_TARGETS: [f64; 3] = [1e-2, 1e-3, 1e-4];

/// The fixed distances every report gives: dlib's own threshold.
pub const FIXED_DISTANCES: [f64; 1] = [0.6];

/// A proportion with its 95 % Wilson interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rate {
    /// Successes.
    pub count: usize,
    /// Trials.
    pub of: usize,
    /// count / of.
    pub value: f64,
    /// Lower end of the 95 % interval.
    pub low: f64,
    /// Upper end of the 95 % interval.
    pub high: f64,
}

impl Rate {
    /// The proportion `count / of` with its Wilson interval. Written out because it is
    /// three lines; no statistics crate is needed for it.
    pub fn wilson(count: usize, of: usize) -> Rate {
        if of == 0 {
            return Rate {
                count,
                of,
                value: f64::NAN,
                low: 0.0,
                high: 1.0,
            };
        }
        const Z: f64 = 1.959_963_984_540_054;
        let n = of as f64;
        let p = count as f64 / n;
        let z2 = Z * Z;
        let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
        let half = Z / (1.0 + z2 / n) * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        Rate {
            count,
            of,
            value: p,
            // The ends are exact at 0 and n successes; rounding would leave 1e-18.
            low: if count == 0 {
                0.0
            } else {
                (centre - half).max(0.0)
            },
            high: if count >= of {
                1.0
            } else {
                (centre + half).min(1.0)
            },
        }
    }
}

/// TAR at one target FAR.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OperatingPoint {
    /// The FAR asked for.
    pub far_target: f64,
    /// Whether at least one impostor pair lies below the threshold (⌊x·n⌋ ≥ 1).
    pub resolved: bool,
    /// The distance threshold (accept below it).
    pub threshold: f64,
    /// The FAR actually reached, with its interval.
    pub far: Rate,
    /// The TAR at that threshold, with its interval.
    pub tar: Rate,
}

/// Rates at a fixed distance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AtDistance {
    /// The distance (accept at or below it).
    pub distance: f64,
    /// False accepts among impostor pairs.
    pub far: Rate,
    /// True accepts among genuine pairs.
    pub tar: Rate,
}

/// The equal error rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Eer {
    /// (FAR + FRR) / 2 where they are closest.
    pub eer: f64,
    /// The distance at which it is reached (accept at or below it).
    pub threshold: f64,
    /// FAR there.
    pub far: f64,
    /// FRR there.
    pub frr: f64,
}

/// Every figure of one population.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// The population's name.
    pub population: String,
    /// Genuine pairs measured.
    pub genuine_pairs: usize,
    /// Impostor pairs measured.
    pub impostor_pairs: usize,
    /// TAR at each of [`FAR_TARGETS`].
    pub operating_points: Vec<OperatingPoint>,
    /// The equal error rate (absent without both kinds of pair).
    pub eer: Option<Eer>,
    /// Rates at each of [`FIXED_DISTANCES`].
    pub at_distances: Vec<AtDistance>,
    /// Mean genuine distance.
    pub genuine_mean: f64,
    /// Mean impostor distance.
    pub impostor_mean: f64,
    /// The closest impostor pair.
    pub closest_impostor: Option<f64>,
    /// The farthest genuine pair.
    pub farthest_genuine: Option<f64>,
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// How many sorted values are `< t`.
fn below(sorted: &[f64], t: f64) -> usize {
    sorted.partition_point(|&d| d < t)
}

/// How many sorted values are `≤ t`.
fn at_or_below(sorted: &[f64], t: f64) -> usize {
    sorted.partition_point(|&d| d <= t)
}

/// The operating point at a target FAR; `None` without impostor pairs.
pub fn at_far(genuine: &[f64], impostor: &[f64], far_target: f64) -> Option<OperatingPoint> {
    let n = impostor.len();
    let last = *impostor.last()?;
    let k = (far_target * n as f64).floor() as usize;
    let threshold = if k < n { impostor[k] } else { last + 1e-6 };
    Some(OperatingPoint {
        far_target,
        resolved: k >= 1,
        threshold,
        far: Rate::wilson(below(impostor, threshold), n),
        tar: Rate::wilson(below(genuine, threshold), genuine.len()),
    })
}

/// Rates when accepting distances at or below `distance`.
pub fn at_distance(genuine: &[f64], impostor: &[f64], distance: f64) -> AtDistance {
    AtDistance {
        distance,
        far: Rate::wilson(at_or_below(impostor, distance), impostor.len()),
        tar: Rate::wilson(at_or_below(genuine, distance), genuine.len()),
    }
}

/// The equal error rate over every observed distance.
pub fn eer(genuine: &[f64], impostor: &[f64]) -> Option<Eer> {
    if genuine.is_empty() || impostor.is_empty() {
        return None;
    }
    let mut ts: Vec<f64> = genuine.iter().chain(impostor).copied().collect();
    ts.sort_by(f64::total_cmp);
    ts.dedup();
    let (g, i) = (genuine.len() as f64, impostor.len() as f64);
    let mut best: Option<Eer> = None;
    let mut best_gap = f64::INFINITY;
    for t in ts {
        let frr = 1.0 - at_or_below(genuine, t) as f64 / g;
        let far = at_or_below(impostor, t) as f64 / i;
        if (frr - far).abs() < best_gap {
            best_gap = (frr - far).abs();
            best = Some(Eer {
                eer: (frr + far) / 2.0,
                threshold: t,
                far,
                frr,
            });
        }
    }
    best
}

/// Every figure of one population; both slices sorted ascending.
pub fn metrics(population: &str, genuine: &[f64], impostor: &[f64]) -> Metrics {
    Metrics {
        population: population.to_string(),
        genuine_pairs: genuine.len(),
        impostor_pairs: impostor.len(),
        operating_points: FAR_TARGETS
            .iter()
            .filter_map(|&x| at_far(genuine, impostor, x))
            .collect(),
        eer: eer(genuine, impostor),
        at_distances: FIXED_DISTANCES
            .iter()
            .map(|&d| at_distance(genuine, impostor, d))
            .collect(),
        genuine_mean: mean(genuine),
        impostor_mean: mean(impostor),
        closest_impostor: impostor.first().copied(),
        farthest_genuine: genuine.last().copied(),
    }
}

/// ROC points (FAR, TAR) at every impostor distance, for plots.
pub fn roc(genuine: &[f64], impostor: &[f64]) -> Vec<(f64, f64)> {
    let (g, n) = (genuine.len() as f64, impostor.len() as f64);
    if g == 0.0 || n == 0.0 {
        return Vec::new();
    }
    let mut out: Vec<(f64, f64)> = impostor
        .iter()
        .enumerate()
        .map(|(k, &t)| ((k as f64 + 1.0) / n, at_or_below(genuine, t) as f64 / g))
        .collect();
    out.dedup_by(|b, a| a.0 == b.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_a_textbook_value() {
        // 81 of 263: the worked example of Wilson's interval, 0.2553 .. 0.3662.
        let r = Rate::wilson(81, 263);
        assert!(
            (r.low - 0.2553).abs() < 5e-4 && (r.high - 0.3662).abs() < 5e-4,
            "{r:?}"
        );
        let zero = Rate::wilson(0, 100);
        assert_eq!(zero.low, 0.0);
        assert!((zero.high - 0.0370).abs() < 5e-4, "{zero:?}");
    }

    #[test]
    fn far_threshold_accepts_floor_x_n_impostors() {
        let impostor: Vec<f64> = (0..1000).map(|i| 0.3 + i as f64 * 0.001).collect();
        let genuine = [0.1, 0.2, 0.305, 0.4];
        let p = at_far(&genuine, &impostor, 1e-2).unwrap();
        assert!(p.resolved);
        assert_eq!(p.far.count, 10);
        assert_eq!(p.threshold, impostor[10]);
        assert_eq!(p.tar.count, 3);
        let p = at_far(&genuine, &impostor, 1e-4).unwrap();
        assert!(!p.resolved);
        assert_eq!(p.far.count, 0);
        assert_eq!(p.tar.count, 2);
    }

    #[test]
    fn eer_of_separable_sets_is_zero_and_of_overlapping_ones_is_found() {
        let e = eer(&[0.1, 0.2], &[0.5, 0.6]).unwrap();
        assert_eq!(e.eer, 0.0);
        assert_eq!(e.threshold, 0.2);
        // Genuine 0.1..0.5, impostor 0.4..0.8 on a grid: they cross in the overlap.
        let g: Vec<f64> = (0..=40).map(|i| 0.1 + i as f64 * 0.01).collect();
        let i: Vec<f64> = (0..=40).map(|i| 0.4 + i as f64 * 0.01).collect();
        let e = eer(&g, &i).unwrap();
        assert!((e.threshold - 0.45).abs() < 0.011, "{e:?}");
        assert!(e.eer > 0.05 && e.eer < 0.2, "{e:?}");
    }
}
