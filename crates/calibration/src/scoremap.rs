//! The score map: distance → 0-100 score with the IAI API's false-accept meaning,
//! score = 10 − 10·log10(FAR), i.e. 40/50/60 ↔ FAR 1e-3/1e-4/1e-5 (and 30 ↔ 1e-2,
//! 20 ↔ 1e-1, 10 ↔ every impostor pair accepted), fitted on the impostor distances
//! of the population where the descriptor does worst.
//!
//! Where the data resolves a FAR (at least [`MIN_EMPIRICAL`] impostor pairs below the
//! threshold) the knot is the empirical threshold. Below that it is extrapolated, and
//! conservatively: log10 FAR is fitted as a straight line in distance over the
//! impostor tail up to FAR 1e-2 (an exponential tail, heavier than the near-Gaussian
//! tail these distances show, so it places the threshold at a smaller distance than
//! the truth is likely to need), and the knot is the smaller of that fit and whatever
//! the data shows (at worst the closest impostor pair).

use serde::{Deserialize, Serialize};

use crate::distances::{split, PairDistance};
use crate::error::{CalibrationError, Result};
use crate::metrics::at_far;

/// Impostor pairs that must lie below a threshold for it to be taken as measured.
pub const MIN_EMPIRICAL: usize = 10;

/// The score that carries a given FAR.
pub fn score_of_far(far: f64) -> f64 {
    10.0 - 10.0 * far.log10()
}

/// The FAR a score stands for.
pub fn far_of_score(score: f64) -> f64 {
    10f64.powf(-(score - 10.0) / 10.0)
}

/// How a knot was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The empirical threshold, resting on at least [`MIN_EMPIRICAL`] impostor pairs.
    Measured,
    /// The tail fit (or the closest impostors, if smaller): not resolved by the data.
    Extrapolated,
    /// An end of the table, not a FAR.
    End,
}

/// One knot with the FAR it stands for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Knot {
    /// Descriptor distance.
    pub distance: f64,
    /// Score given at that distance.
    pub score: f64,
    /// The FAR the score stands for (absent at the table's ends).
    pub far: Option<f64>,
    /// Impostor pairs of the fitted population below the distance.
    pub impostors_below: usize,
    /// How the distance was obtained.
    pub basis: Basis,
}

/// The fitted table, in the form the engine reads (`crates/vision/calibration/*.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreMap {
    /// The descriptor model.
    pub model: String,
    /// How the table was made, for readers of the JSON.
    pub status: String,
    /// The population whose impostor distances set the table.
    pub fitted_on: String,
    /// Impostor pairs of that population.
    pub impostor_pairs: usize,
    /// The tail fit: log10 FAR = intercept + slope · distance.
    pub tail_fit: TailFit,
    /// The "same person" line: the distance at FAR 1e-4.
    pub match_distance: f64,
    /// Score 50.
    pub match_score: f64,
    /// `(distance, score)`, distances increasing, scores decreasing.
    pub points: Vec<(f64, f64)>,
    /// The same knots with what each stands for.
    pub knots: Vec<Knot>,
}

/// log10 FAR as a line in distance over the impostor tail.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct TailFit {
    /// Intercept.
    pub intercept: f64,
    /// Slope (decades of FAR per unit of distance).
    pub slope: f64,
    /// Impostor pairs used (those up to FAR 1e-2).
    pub points: usize,
}

impl TailFit {
    /// Least squares over the `⌊n/100⌋` closest impostors, each at its empirical FAR.
    pub fn fit(impostor: &[f64]) -> Result<TailFit> {
        let n = impostor.len();
        let m = n / 100;
        if m < MIN_EMPIRICAL {
            return Err(CalibrationError::Fit(format!(
                "{n} impostor pairs are too few to fit the tail (need {})",
                MIN_EMPIRICAL * 100
            )));
        }
        let xs = &impostor[..m];
        let ys: Vec<f64> = (1..=m).map(|j| (j as f64 / n as f64).log10()).collect();
        let (mx, my) = (
            xs.iter().sum::<f64>() / m as f64,
            ys.iter().sum::<f64>() / m as f64,
        );
        let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
        let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
        if sxx <= 0.0 || sxy <= 0.0 {
            return Err(CalibrationError::Fit(
                "the impostor tail does not rise".into(),
            ));
        }
        let slope = sxy / sxx;
        Ok(TailFit {
            intercept: my - slope * mx,
            slope,
            points: m,
        })
    }

    /// The distance at which the fitted FAR is `far`.
    pub fn distance(&self, far: f64) -> f64 {
        (far.log10() - self.intercept) / self.slope
    }
}

/// Knot distances are kept to 4 decimals, rounded down: never more lenient than the data.
fn floor4(d: f64) -> f64 {
    (d * 1e4).floor() / 1e4
}

/// Fits the map on one population's impostor distances (sorted ascending).
pub fn fit(model: &str, population: &str, impostor: &[f64]) -> Result<ScoreMap> {
    let n = impostor.len();
    let tail = TailFit::fit(impostor)?;
    let count_below = |d: f64| impostor.partition_point(|&x| x < d);
    let mut knots = vec![Knot {
        distance: 0.0,
        score: 100.0,
        far: None,
        impostors_below: 0,
        basis: Basis::End,
    }];
    for decade in (1..=6).rev() {
        let far = 10f64.powi(-decade);
        let k = (far * n as f64).floor() as usize;
        let (distance, basis) = if k >= MIN_EMPIRICAL {
            (impostor[k], Basis::Measured)
        } else {
            (tail.distance(far).min(impostor[k]), Basis::Extrapolated)
        };
        let distance = floor4(distance);
        // Far below the data even the fit means little; the table then runs straight
        // from the last meaningful knot to score 100 at distance 0.
        if distance <= 0.05 {
            continue;
        }
        knots.push(Knot {
            distance,
            score: score_of_far(far),
            far: Some(far),
            impostors_below: count_below(distance),
            basis,
        });
    }
    let farthest = impostor[n - 1];
    knots.push(Knot {
        distance: floor4(farthest) + 0.0001,
        score: 10.0,
        far: Some(1.0),
        impostors_below: n,
        basis: Basis::Measured,
    });
    knots.push(Knot {
        distance: floor4((farthest + 0.1).max(1.5)),
        score: 0.0,
        far: None,
        impostors_below: n,
        basis: Basis::End,
    });
    for w in knots.windows(2) {
        if w[1].distance <= w[0].distance || w[1].score >= w[0].score {
            return Err(CalibrationError::Fit(format!(
                "knots out of order: {:?} then {:?}",
                w[0], w[1]
            )));
        }
    }
    let match_distance = knots
        .iter()
        .find(|k| k.score == 50.0)
        .map(|k| k.distance)
        .ok_or_else(|| CalibrationError::Fit("no knot at score 50".into()))?;
    Ok(ScoreMap {
        model: model.to_string(),
        status: format!(
            "fitted by `renlian calibrate` on {n} impostor pairs of the {population} set: score = 10 - 10*log10(FAR); \
             knots marked extrapolated lie beyond what the data resolves (fewer than {MIN_EMPIRICAL} impostor pairs \
             below them) and come from a conservative exponential fit of the impostor-distance tail"
        ),
        fitted_on: population.to_string(),
        impostor_pairs: n,
        tail_fit: tail,
        match_distance,
        match_score: 50.0,
        points: knots.iter().map(|k| (k.distance, k.score)).collect(),
        knots,
    })
}

/// Fits the map on the population where the descriptor does worst: among those that
/// resolve FAR 1e-3 with at least [`MIN_EMPIRICAL`] pairs, the one whose threshold
/// there is the smallest distance.
pub fn fit_worst(model: &str, rows: &[PairDistance], populations: &[String]) -> Result<ScoreMap> {
    let mut worst: Option<(f64, &str, Vec<f64>)> = None;
    for p in populations {
        let (genuine, impostor) = split(rows, p);
        if ((impostor.len() as f64) * 1e-3).floor() < MIN_EMPIRICAL as f64 {
            continue;
        }
        if let Some(op) = at_far(&genuine, &impostor, 1e-3) {
            if worst.as_ref().is_none_or(|w| op.threshold < w.0) {
                worst = Some((op.threshold, p, impostor));
            }
        }
    }
    let (_, population, impostor) = worst.ok_or_else(|| {
        CalibrationError::Fit(format!(
            "no population has the {} impostor pairs needed to resolve FAR 1e-3",
            MIN_EMPIRICAL * 1000
        ))
    })?;
    fit(model, population, &impostor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_and_far_are_inverse_and_keep_the_iai_meaning() {
        assert!((score_of_far(1e-3) - 40.0).abs() < 1e-9);
        assert!((score_of_far(1e-4) - 50.0).abs() < 1e-9);
        assert!((score_of_far(1e-5) - 60.0).abs() < 1e-9);
        for s in [10.0, 33.3, 50.0, 71.0] {
            assert!((score_of_far(far_of_score(s)) - s).abs() < 1e-9);
        }
    }

    #[test]
    fn an_exponential_tail_is_recovered_and_extrapolated() {
        // Impostor distances whose CDF is exactly 10^(20·d − 12) below d = 0.5.
        let n = 100_000;
        let impostor: Vec<f64> = (1..=n)
            .map(|j| {
                let f = j as f64 / n as f64;
                if f <= 1e-2 {
                    (f.log10() + 12.0) / 20.0
                } else {
                    0.5 + f
                }
            })
            .collect();
        let t = TailFit::fit(&impostor).unwrap();
        assert!((t.slope - 20.0).abs() < 0.01, "{t:?}");
        let m = fit("x", "synthetic", &impostor).unwrap();
        let at = |s: f64| m.knots.iter().find(|k| k.score == s).unwrap().clone();
        // A measured knot is the (⌊x·n⌋+1)-th closest impostor, whose CDF is (⌊x·n⌋+1)/n.
        let quantile = |f: f64| (f.log10() + 12.0) / 20.0;
        assert_eq!(at(40.0).basis, Basis::Measured);
        assert!((at(40.0).distance - quantile(101e-5)).abs() < 2e-4);
        assert_eq!(at(50.0).basis, Basis::Measured);
        assert!((m.match_distance - quantile(11e-5)).abs() < 2e-4);
        // 1e-5 rests on one pair: the fit (0.35) is below it and wins.
        assert_eq!(at(60.0).basis, Basis::Extrapolated);
        assert!((at(60.0).distance - 0.35).abs() < 2e-4);
    }
}
