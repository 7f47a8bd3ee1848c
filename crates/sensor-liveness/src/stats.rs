//! The small numerics both checks share: least-squares surfaces, percentiles, correlation,
//! a convex hull and the scoring ramp. Written by hand: each is a few lines, and a linear
//! algebra or geometry crate would be far larger than what is used of it.

/// A least-squares surface over image coordinates: a plane (`value = a + b·x + c·y`) or
/// a quadric (plus `x²`, `x·y`, `y²`). Coordinates are centred on the samples' mean and
/// scaled by their spread, so the normal equations stay well conditioned at any image
/// position and size.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Surface {
    coef: Vec<f64>,
    x0: f64,
    y0: f64,
    scale: f64,
}

impl Surface {
    /// The least-squares plane through `(x, y, value)` samples; `None` when the samples
    /// are too few or lie on one line.
    pub(crate) fn plane(samples: &[(f64, f64, f64)]) -> Option<Surface> {
        Surface::fit(samples, 3)
    }

    /// The least-squares quadric through the samples; `None` when they are too few or
    /// do not determine it.
    pub(crate) fn quadric(samples: &[(f64, f64, f64)]) -> Option<Surface> {
        Surface::fit(samples, 6)
    }

    fn fit(samples: &[(f64, f64, f64)], terms: usize) -> Option<Surface> {
        let n = samples.len();
        if n < terms {
            return None;
        }
        let x0 = samples.iter().map(|s| s.0).sum::<f64>() / n as f64;
        let y0 = samples.iter().map(|s| s.1).sum::<f64>() / n as f64;
        let var = samples
            .iter()
            .map(|s| (s.0 - x0).powi(2) + (s.1 - y0).powi(2))
            .sum::<f64>()
            / n as f64;
        if var.is_nan() || var <= 0.0 {
            return None;
        }
        let mut surface = Surface {
            coef: vec![0.0; terms],
            x0,
            y0,
            scale: var.sqrt(),
        };
        // Normal equations AᵀA·c = Aᵀv, solved by Gaussian elimination with partial
        // pivoting (at most 6 unknowns).
        let mut m = vec![vec![0.0f64; terms + 1]; terms];
        for &(x, y, v) in samples {
            let phi = surface.basis(x, y);
            for i in 0..terms {
                for j in 0..terms {
                    m[i][j] += phi[i] * phi[j];
                }
                m[i][terms] += phi[i] * v;
            }
        }
        let largest = (0..terms).map(|i| m[i][i]).fold(0.0f64, f64::max);
        for col in 0..terms {
            let pivot =
                (col..terms).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
            let size = m[pivot][col].abs();
            if size.is_nan() || size <= 1e-9 * largest {
                return None;
            }
            m.swap(col, pivot);
            let pivot_row = m[col].clone();
            for (row, r) in m.iter_mut().enumerate() {
                if row != col {
                    let f = r[col] / pivot_row[col];
                    for (a, b) in r.iter_mut().zip(&pivot_row).skip(col) {
                        *a -= f * b;
                    }
                }
            }
        }
        for (i, c) in surface.coef.iter_mut().enumerate() {
            *c = m[i][terms] / m[i][i];
        }
        Some(surface)
    }

    fn basis(&self, x: f64, y: f64) -> [f64; 6] {
        let (u, v) = ((x - self.x0) / self.scale, (y - self.y0) / self.scale);
        [1.0, u, v, u * u, u * v, v * v]
    }

    /// The surface's value at a point.
    pub(crate) fn at(&self, x: f64, y: f64) -> f64 {
        let phi = self.basis(x, y);
        self.coef.iter().zip(phi).map(|(c, p)| c * p).sum()
    }
}

/// The `q`-quantile (0-1) of the values by linear interpolation; NaN for none.
pub(crate) fn quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    quantile_sorted(&v, q)
}

/// [`quantile`] of values already sorted.
pub(crate) fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
            let i = pos.floor() as usize;
            let j = (i + 1).min(n - 1);
            sorted[i] + (sorted[j] - sorted[i]) * (pos - i as f64)
        }
    }
}

/// Mean and (population) standard deviation; zeros for none.
pub(crate) fn mean_std(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0);
    for v in values.clone() {
        n += 1;
        sum += v;
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    (mean, var.sqrt())
}

/// Pearson's correlation of two equally long series; 0 when either is constant.
pub(crate) fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    if n < 2 {
        return 0.0;
    }
    let (ma, mb) = (
        a[..n].iter().sum::<f64>() / n as f64,
        b[..n].iter().sum::<f64>() / n as f64,
    );
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a[..n].iter().zip(&b[..n]) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 0.0 || sbb <= 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

/// The convex hull of points, counter-clockwise in a y-up frame (Andrew's monotone
/// chain); fewer than three distinct points give what there is.
pub(crate) fn convex_hull(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut p: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .filter(|q| q.0.is_finite() && q.1.is_finite())
        .collect();
    p.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: (f64, f64), a: (f64, f64), b: (f64, f64)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let chain = |pts: &mut dyn Iterator<Item = (f64, f64)>| {
        let mut c: Vec<(f64, f64)> = Vec::new();
        for q in pts {
            while c.len() >= 2 && cross(c[c.len() - 2], c[c.len() - 1], q) <= 0.0 {
                c.pop();
            }
            c.push(q);
        }
        // The last point of each chain is the first of the other.
        c.pop();
        c
    };
    let mut hull = chain(&mut p.iter().copied());
    hull.extend(chain(&mut p.iter().rev().copied()));
    hull
}

/// True when `q` lies inside (or on) a convex polygon given in either orientation.
pub(crate) fn inside_convex(poly: &[(f64, f64)], q: (f64, f64)) -> bool {
    if poly.len() < 3 {
        return false;
    }
    let mut sign = 0.0f64;
    for i in 0..poly.len() {
        let (a, b) = (poly[i], poly[(i + 1) % poly.len()]);
        let c = (b.0 - a.0) * (q.1 - a.1) - (b.1 - a.1) * (q.0 - a.0);
        if c != 0.0 {
            if sign != 0.0 && c.signum() != sign {
                return false;
            }
            sign = c.signum();
        }
    }
    true
}

/// One check's contribution to a 0-100 score: piecewise linear through 0 at `zero`,
/// 0.5 at `pass` (the check's threshold) and 1 at `full`. Works for checks that pass
/// above their threshold (`zero < pass < full`) and below it (`zero > pass > full`), so
/// a check passes exactly when its sub-score is at least 0.5.
pub(crate) fn ramp(value: f64, zero: f64, pass: f64, full: f64) -> f64 {
    if value.is_nan() {
        return 0.0;
    }
    let passing = (value - pass) * (full - pass) >= 0.0;
    if passing {
        0.5 + 0.5 * ((value - pass) / (full - pass)).clamp(0.0, 1.0)
    } else {
        0.5 * ((value - zero) / (pass - zero)).clamp(0.0, 1.0)
    }
}

/// The verdict's score from its checks' sub-scores: the weakest check decides, on the
/// scale where 50 and above means live. The rounding is kept on the side of the
/// verdict, so a failed check never shows 50 nor a passed one 49.
pub(crate) fn score(subscores: &[f64], is_live: bool) -> u8 {
    let weakest = subscores.iter().copied().fold(1.0f64, f64::min);
    let s = (100.0 * weakest).round().clamp(0.0, 100.0) as u8;
    if is_live {
        s.max(50)
    } else {
        s.min(49)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plane_fit_recovers_a_known_plane() {
        let samples: Vec<_> = (0..20)
            .flat_map(|i| (0..15).map(move |j| (i as f64 + 300.0, j as f64 * 2.0 + 100.0)))
            .map(|(x, y)| (x, y, 0.3 * x - 1.5 * y + 7.0))
            .collect();
        let p = Surface::plane(&samples).unwrap();
        for &(x, y, v) in &samples {
            assert!((p.at(x, y) - v).abs() < 1e-9);
        }
        assert!((p.at(0.0, 0.0) - 7.0).abs() < 1e-6);
    }

    #[test]
    fn quadric_fit_recovers_a_known_quadric_and_a_plane_does_not() {
        let f =
            |x: f64, y: f64| 2.0 + 0.1 * x - 0.2 * y + 0.01 * x * x - 0.02 * x * y + 0.005 * y * y;
        let samples: Vec<_> = (0..20)
            .flat_map(|i| (0..15).map(move |j| (i as f64 * 3.0 + 500.0, j as f64 * 4.0 + 50.0)))
            .map(|(x, y)| (x, y, f(x, y)))
            .collect();
        let q = Surface::quadric(&samples).unwrap();
        let p = Surface::plane(&samples).unwrap();
        let worst = |s: &Surface| {
            samples
                .iter()
                .map(|&(x, y, v)| (s.at(x, y) - v).abs())
                .fold(0.0, f64::max)
        };
        assert!(worst(&q) < 1e-6, "{}", worst(&q));
        assert!(worst(&p) > 1.0, "{}", worst(&p));
    }

    #[test]
    fn fits_refuse_degenerate_samples() {
        let line: Vec<_> = (0..10).map(|i| (i as f64, 2.0 * i as f64, 1.0)).collect();
        assert_eq!(Surface::plane(&line), None);
        assert_eq!(Surface::quadric(&line), None);
        assert_eq!(Surface::plane(&line[..2]), None);
        let same: Vec<_> = (0..10).map(|_| (3.0, 4.0, 1.0)).collect();
        assert_eq!(Surface::plane(&same), None);
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 1.0), 5.0);
        assert!((quantile(&v, 0.1) - 1.4).abs() < 1e-12);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn correlation_of_linear_series() {
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!((correlation(&a, &[2.0, 4.0, 6.0, 8.0]) - 1.0).abs() < 1e-12);
        assert!((correlation(&a, &[8.0, 6.0, 4.0, 2.0]) + 1.0).abs() < 1e-12);
        assert_eq!(correlation(&a, &[1.0; 4]), 0.0);
    }

    #[test]
    fn hull_of_a_square_with_inner_points() {
        let pts = [
            (0.0, 0.0),
            (2.0, 0.0),
            (1.0, 1.0),
            (2.0, 2.0),
            (0.0, 2.0),
            (0.5, 1.5),
        ];
        let hull = convex_hull(&pts);
        assert_eq!(hull.len(), 4);
        assert!(inside_convex(&hull, (1.0, 1.0)));
        assert!(inside_convex(&hull, (2.0, 1.0)));
        assert!(!inside_convex(&hull, (2.1, 1.0)));
        let mut rev = hull.clone();
        rev.reverse();
        assert!(inside_convex(&rev, (0.2, 1.9)));
    }

    #[test]
    fn ramp_is_one_half_at_the_threshold_both_ways() {
        assert_eq!(ramp(10.0, 0.0, 10.0, 20.0), 0.5);
        assert_eq!(ramp(5.0, 0.0, 10.0, 20.0), 0.25);
        assert_eq!(ramp(30.0, 0.0, 10.0, 20.0), 1.0);
        assert_eq!(ramp(-3.0, 0.0, 10.0, 20.0), 0.0);
        // Passing below the threshold (a fraction that must stay small).
        assert_eq!(ramp(0.2, 0.5, 0.2, 0.0), 0.5);
        assert_eq!(ramp(0.0, 0.5, 0.2, 0.0), 1.0);
        assert!((ramp(0.35, 0.5, 0.2, 0.0) - 0.25).abs() < 1e-12);
        assert_eq!(ramp(f64::NAN, 0.0, 1.0, 2.0), 0.0);
    }

    #[test]
    fn score_keeps_to_the_verdict() {
        assert_eq!(score(&[0.9, 0.499], false), 49);
        assert_eq!(score(&[0.9, 0.7], true), 70);
        assert_eq!(score(&[0.5], true), 50);
        assert_eq!(score(&[0.1, 0.8], false), 10);
    }
}
