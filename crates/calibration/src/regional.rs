//! Version 2's score model: a score that keeps its false-accept meaning for every
//! population, fitted and judged on people the fit never saw.
//!
//! dlib's descriptor packs some populations closer together than others: at one
//! distance, different East-Asian people are confused about a hundred times as often
//! as different people of LFW's mostly Western set. One table must then either be
//! fitted on the dense population (and refuse most genuine pairs of the others) or on
//! the others (and accept far too many East-Asian impostors). Here a *region* of
//! descriptor space stands for the dense population: the faces lying at or beyond a
//! threshold along the direction that best separates that population's identity means
//! from the others' (a linear discriminant over the identity means; an aggregate, no
//! person's descriptor). A pair with a face inside the region is scored by a table
//! fitted on the impostor pairs of that kind, a pair with both faces outside by a table
//! fitted on those: each table holds its meaning for the pairs it scores.
//!
//! [`fit`] fits a model on labelled descriptors of several populations; [`cross_validate`]
//! judges it: identities are split into k folds, and every pair is scored by a model
//! fitted without either of its people (for folds i ≤ j, a model is fitted on the other
//! folds and scores the pairs between i and j), so every genuine and every impostor
//! pair of the set is scored once, by a model that never saw it.

use nalgebra::{DMatrix, DVector};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CalibrationError, Result};
use crate::metrics::Rate;
use crate::scoremap::{score_of_far, TailFit, MIN_EMPIRICAL};

/// One described photo.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    /// The person.
    pub identity: String,
    /// Its descriptor.
    pub descriptor: Vec<f32>,
}

/// The photos of one population.
#[derive(Clone, Debug, PartialEq)]
pub struct Population {
    /// Its name (`east-asian`, `lfw-western`, …).
    pub name: String,
    /// Its photos.
    pub photos: Vec<Labelled>,
}

/// How a model is fitted.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// The share of the region population's photos allowed to fall outside the region
    /// (the threshold is this quantile of their projections).
    pub outside_share: f64,
    /// Each measured knot is placed at this fraction of its nominal FAR in the fitting
    /// data (1e-2 and beyond excepted), because a table fitted on some people meets new
    /// people: measured on held-out identities, knots placed at their nominal FAR
    /// let through up to 1.4 times as many impostors.
    pub margin: f64,
    /// Shrinkage of the identity-mean covariance towards its mean variance.
    pub shrinkage: f64,
    /// Photos per population used for a table's impostor pairs (a deterministic
    /// sample when there are more): all pairs of 4,000 photos are 8 million.
    pub max_photos: usize,
    /// A population takes part in a table's fit only with at least this many impostor
    /// pairs of the table's kind.
    pub min_pairs: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            outside_share: 0.01,
            margin: 0.75,
            shrinkage: 0.1,
            max_photos: 4000,
            min_pairs: 2000,
        }
    }
}

/// A fitted distance → score table, as the engine reads it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Table {
    /// The descriptor model.
    pub model: String,
    /// Distance at score 50.
    pub match_distance: f64,
    /// 50.
    pub match_score: f64,
    /// `(distance, score)` knots.
    pub points: Vec<(f64, f64)>,
    /// Impostor pairs each population contributed to the fit.
    pub impostor_pairs: Vec<(String, usize)>,
}

impl Table {
    /// The score of a distance (piecewise linear between knots, as the engine).
    pub fn score(&self, distance: f64) -> f64 {
        let pts = &self.points;
        if distance <= pts[0].0 {
            return pts[0].1;
        }
        let last = pts[pts.len() - 1];
        if distance >= last.0 {
            return last.1;
        }
        let i = pts.partition_point(|p| p.0 <= distance);
        let (a, b) = (pts[i - 1], pts[i]);
        a.1 + (b.1 - a.1) * (distance - a.0) / (b.0 - a.0)
    }
}

/// The region of the dense population.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// The population it stands for.
    pub name: String,
    /// The discriminant direction (128 values).
    pub direction: Vec<f32>,
    /// Inside when `descriptor · direction >= threshold`.
    pub threshold: f64,
}

impl Region {
    fn holds(&self, d: &[f32]) -> bool {
        dot(d, &self.direction) >= self.threshold
    }
}

/// A fitted model, in the form the engine reads (`crates/vision/calibration/dlib_resnet_v2.json`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionalModel {
    /// The descriptor model.
    pub model: String,
    /// The descriptor version the model scores.
    pub descriptor_version: u32,
    /// How it was made, for readers of the JSON.
    pub status: String,
    /// The options it was fitted with.
    pub options: FitOptions,
    /// The region.
    pub region: Region,
    /// The share of each population's photos inside the region.
    pub inside_share: Vec<(String, f64)>,
    /// Pairs with a face inside.
    pub inside: Table,
    /// Pairs with both faces outside.
    pub outside: Table,
}

impl RegionalModel {
    /// The score of a pair.
    pub fn score(&self, a: &[f32], b: &[f32]) -> f64 {
        let d = distance(a, b);
        if self.region.holds(a) || self.region.holds(b) {
            self.inside.score(d)
        } else {
            self.outside.score(d)
        }
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

/// Euclidean distance, accumulated in f64 as the engine does.
pub fn distance(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            let d = f64::from(*x) - f64::from(*y);
            d * d
        })
        .sum::<f64>()
        .sqrt()
}

fn identity_means(photos: &[&Labelled]) -> Vec<Vec<f64>> {
    let mut by_id: std::collections::BTreeMap<&str, (Vec<f64>, usize)> = Default::default();
    for p in photos {
        let e = by_id
            .entry(p.identity.as_str())
            .or_insert_with(|| (vec![0.0; p.descriptor.len()], 0));
        for (s, v) in e.0.iter_mut().zip(&p.descriptor) {
            *s += f64::from(*v);
        }
        e.1 += 1;
    }
    by_id
        .into_values()
        .map(|(s, n)| s.into_iter().map(|v| v / n as f64).collect())
        .collect()
}

/// The discriminant between the region population's identity means and the others':
/// Σ⁻¹ (μ_region − μ_others), Σ the pooled covariance of the centred means, shrunk.
fn direction(inside: &[Vec<f64>], others: &[Vec<f64>], shrinkage: f64) -> Result<Vec<f32>> {
    let dim = inside.first().map(Vec::len).unwrap_or(0);
    let mean = |m: &[Vec<f64>]| -> DVector<f64> {
        let mut v = DVector::zeros(dim);
        for x in m {
            v += DVector::from_column_slice(x);
        }
        v / m.len() as f64
    };
    let (mu_in, mu_out) = (mean(inside), mean(others));
    let mut cov = DMatrix::zeros(dim, dim);
    for (set, mu) in [(inside, &mu_in), (others, &mu_out)] {
        for x in set {
            let c = DVector::from_column_slice(x) - mu;
            cov += &c * c.transpose();
        }
    }
    cov /= (inside.len() + others.len() - 1) as f64;
    let mean_var = cov.trace() / dim as f64;
    let cov = cov * (1.0 - shrinkage) + DMatrix::identity(dim, dim) * (shrinkage * mean_var);
    let w = cov
        .cholesky()
        .ok_or_else(|| CalibrationError::Fit("identity-mean covariance is singular".into()))?
        .solve(&(mu_in - mu_out));
    Ok(w.iter().map(|v| *v as f32).collect())
}

/// A deterministic sample of at most `max` photos (by a hash of their position and
/// identity, so the sample does not follow the manifest's order).
fn sample<'a>(photos: &[&'a Labelled], max: usize) -> Vec<&'a Labelled> {
    if photos.len() <= max {
        return photos.to_vec();
    }
    let mut keyed: Vec<([u8; 32], &Labelled)> = photos
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let h = Sha256::digest(format!("{i}|{}", p.identity).as_bytes());
            (h.into(), *p)
        })
        .collect();
    keyed.sort_by_key(|a| a.0);
    keyed.into_iter().take(max).map(|(_, p)| p).collect()
}

/// Knot distances for FAR 1e-1 … 1e-6 from sorted impostor distances: the empirical
/// threshold where at least [`MIN_EMPIRICAL`] pairs lie below it, else the tail fit
/// (never beyond the closest pairs); FAR 1e-2 and below at `margin` of their FAR.
fn knots(impostor: &[f64], margin: f64) -> Result<[f64; 6]> {
    let n = impostor.len();
    let tail = TailFit::fit(impostor)?;
    let mut out = [0.0; 6];
    for (i, decade) in (1..=6).enumerate() {
        let nominal = 10f64.powi(-decade);
        let far = if decade > 1 {
            nominal * margin
        } else {
            nominal
        };
        let k = (far * n as f64).floor() as usize;
        let d = if k >= MIN_EMPIRICAL {
            impostor[k]
        } else {
            tail.distance(far).min(impostor[k])
        };
        out[i] = (d * 1e4).floor() / 1e4;
    }
    Ok(out)
}

fn table(model: &str, impostors: Vec<(String, Vec<f64>)>, opts: &FitOptions) -> Result<Table> {
    let mut used = Vec::new();
    let mut per = Vec::new();
    let mut farthest: f64 = 0.0;
    for (name, mut d) in impostors {
        if d.len() < opts.min_pairs {
            continue;
        }
        d.sort_by(f64::total_cmp);
        per.push(knots(&d, opts.margin)?);
        farthest = farthest.max(d[d.len() - 1]);
        used.push((name, d.len()));
    }
    if per.is_empty() {
        return Err(CalibrationError::Fit(format!(
            "no population has {} impostor pairs of this kind",
            opts.min_pairs
        )));
    }
    let mut points = vec![(0.0, 100.0)];
    for i in (0..6).rev() {
        let d = per.iter().map(|k| k[i]).fold(f64::INFINITY, f64::min);
        if d > 0.05 && d > points[points.len() - 1].0 {
            points.push((d, score_of_far(10f64.powi(-(i as i32 + 1)))));
        }
    }
    let end = (farthest * 1e4).floor() / 1e4 + 1e-4;
    if end > points[points.len() - 1].0 {
        points.push((end, 10.0));
    }
    points.push((((farthest + 0.1).max(1.5) * 1e4).floor() / 1e4, 0.0));
    let match_distance = points
        .iter()
        .find(|p| p.1 == 50.0)
        .map(|p| p.0)
        .ok_or_else(|| CalibrationError::Fit("no knot at score 50".into()))?;
    Ok(Table {
        model: model.to_string(),
        match_distance,
        match_score: 50.0,
        points,
        impostor_pairs: used,
    })
}

/// Fits a model on the populations; `region` names the dense one.
pub fn fit(
    model: &str,
    populations: &[Population],
    region: &str,
    opts: &FitOptions,
) -> Result<RegionalModel> {
    let all: Vec<Vec<&Labelled>> = populations
        .iter()
        .map(|p| p.photos.iter().collect())
        .collect();
    fit_on(model, populations, &all, region, opts)
}

fn fit_on(
    model: &str,
    populations: &[Population],
    photos: &[Vec<&Labelled>],
    region: &str,
    opts: &FitOptions,
) -> Result<RegionalModel> {
    let r = populations
        .iter()
        .position(|p| p.name == region)
        .ok_or_else(|| CalibrationError::InvalidSet(format!("no population named {region}")))?;
    let inside_means = identity_means(&photos[r]);
    let other_means: Vec<Vec<f64>> = photos
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != r)
        .flat_map(|(_, p)| identity_means(p))
        .collect();
    if inside_means.len() < 20 || other_means.len() < 20 {
        return Err(CalibrationError::InvalidSet(
            "a region needs at least 20 people on each side".into(),
        ));
    }
    let direction = direction(&inside_means, &other_means, opts.shrinkage)?;
    let mut proj: Vec<f64> = photos[r]
        .iter()
        .map(|p| dot(&p.descriptor, &direction))
        .collect();
    proj.sort_by(f64::total_cmp);
    let threshold =
        proj[((opts.outside_share * proj.len() as f64).floor() as usize).min(proj.len() - 1)];
    let region = Region {
        name: region.to_string(),
        direction,
        threshold,
    };
    let mut inside_imp = Vec::new();
    let mut outside_imp = Vec::new();
    let mut inside_share = Vec::new();
    for (pop, p) in populations.iter().zip(photos) {
        let s = sample(p, opts.max_photos);
        let held: Vec<bool> = s.iter().map(|x| region.holds(&x.descriptor)).collect();
        inside_share.push((
            pop.name.clone(),
            p.iter().filter(|x| region.holds(&x.descriptor)).count() as f64 / p.len() as f64,
        ));
        let (ins, outs): (Vec<Vec<f64>>, Vec<Vec<f64>>) = (0..s.len())
            .into_par_iter()
            .map(|i| {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                for j in i + 1..s.len() {
                    if s[i].identity == s[j].identity {
                        continue;
                    }
                    let d = distance(&s[i].descriptor, &s[j].descriptor);
                    if held[i] || held[j] {
                        a.push(d);
                    } else {
                        b.push(d);
                    }
                }
                (a, b)
            })
            .unzip();
        inside_imp.push((pop.name.clone(), ins.concat()));
        outside_imp.push((pop.name.clone(), outs.concat()));
    }
    Ok(RegionalModel {
        model: model.to_string(),
        descriptor_version: 2,
        status: format!(
            "fitted by `renlian calibrate --descriptor-version 2` on {}: score = 10 - 10*log10(FAR), one table for pairs with a face in the {} region, one for pairs with both faces outside",
            populations
                .iter()
                .zip(photos)
                .map(|(p, ph)| format!("{} ({} photos)", p.name, ph.len()))
                .collect::<Vec<_>>()
                .join(", "),
            region.name
        ),
        options: *opts,
        inside: table(model, inside_imp, opts)?,
        outside: table(model, outside_imp, opts)?,
        region,
        inside_share,
    })
}

/// One table for every pair, fitted on the impostor pairs of every population (each
/// knot the strictest of theirs): what the regional model is judged against.
pub fn fit_one_table(
    model: &str,
    populations: &[Population],
    photos: &[Vec<&Labelled>],
    opts: &FitOptions,
) -> Result<Table> {
    let impostors = populations
        .iter()
        .zip(photos)
        .map(|(pop, p)| {
            let s = sample(p, opts.max_photos);
            let d: Vec<Vec<f64>> = (0..s.len())
                .into_par_iter()
                .map(|i| {
                    s[i + 1..]
                        .iter()
                        .filter(|y| y.identity != s[i].identity)
                        .map(|y| distance(&s[i].descriptor, &y.descriptor))
                        .collect()
                })
                .collect();
            (pop.name.clone(), d.concat())
        })
        .collect();
    table(model, impostors, opts)
}

/// The judgements as a Markdown table: per population and score, the FAR observed
/// (must not exceed the score's meaning) and the TAR, with 95 % Wilson intervals.
pub fn judged_markdown(rows: &[(&str, &[Judged])]) -> String {
    let mut md = String::from(
        "| model | population | genuine / impostor pairs | score | FAR observed (meaning) | TAR |\n|---|---|---|---|---|---|\n",
    );
    for (name, judged) in rows {
        for j in judged.iter() {
            for (score, far, tar) in &j.at {
                md.push_str(&format!(
                    "| {name} | {} | {} / {} | {score:.0} | {:.1e} ({} pairs; ≤ {:.0e}) [{:.1e}, {:.1e}] | {:.1} % [{:.1}, {:.1}] |\n",
                    j.population,
                    j.genuine,
                    j.impostor,
                    far.value,
                    far.count,
                    crate::scoremap::far_of_score(*score),
                    far.low,
                    far.high,
                    100.0 * tar.value,
                    100.0 * tar.low,
                    100.0 * tar.high,
                ));
            }
        }
    }
    md
}

/// Counts at the scores 40, 50 and 60 for one population.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Judged {
    /// The population.
    pub population: String,
    /// Genuine pairs scored.
    pub genuine: usize,
    /// Impostor pairs scored.
    pub impostor: usize,
    /// `(score, FAR observed, TAR observed)` at 40, 50 and 60.
    pub at: Vec<(f64, Rate, Rate)>,
    /// Per genuine pair, in a fixed order, whether it reached 40, 50 and 60: two ways
    /// of scoring the same photos compare pair by pair ([`paired_gain`]).
    #[serde(skip)]
    pub genuine_passed: Vec<[bool; 3]>,
}

/// The change in TAR from `before` to `after` on the same genuine pairs, at each score:
/// `(score, gain, low, high)`, a 95 % interval for a paired difference of proportions
/// (pairs that pass only after, minus pairs that pass only before).
pub fn paired_gain(before: &Judged, after: &Judged) -> Vec<(f64, f64, f64, f64)> {
    let n = before.genuine_passed.len().min(after.genuine_passed.len());
    JUDGED_SCORES
        .iter()
        .enumerate()
        .map(|(t, score)| {
            let (mut only_after, mut only_before) = (0f64, 0f64);
            for (b, a) in before.genuine_passed.iter().zip(&after.genuine_passed) {
                match (b[t], a[t]) {
                    (false, true) => only_after += 1.0,
                    (true, false) => only_before += 1.0,
                    _ => {}
                }
            }
            let n = n.max(1) as f64;
            let gain = (only_after - only_before) / n;
            let se = ((only_after + only_before) - n * gain * gain)
                .max(0.0)
                .sqrt()
                / n;
            (*score, gain, gain - 1.96 * se, gain + 1.96 * se)
        })
        .collect()
}

/// The scores every judgement reports.
pub const JUDGED_SCORES: [f64; 3] = [40.0, 50.0, 60.0];

/// Which fold (of `k`) a person is in: a hash of the identity, so folds do not follow
/// the manifest's order and a person is never in two.
pub fn fold_of(identity: &str, k: usize) -> usize {
    let h = Sha256::digest(format!("renlian-kfold|{identity}").as_bytes());
    let mut top = [0u8; 8];
    top.copy_from_slice(&h[..8]);
    (u64::from_be_bytes(top) % k as u64) as usize
}

/// Scores every pair of every population with `score` and counts what passes 40/50/60.
type Counts = ([[usize; 3]; 2], Vec<[bool; 3]>);

fn add_counts(into: &mut [[usize; 3]; 2], from: &[[usize; 3]; 2]) {
    for (row, add) in into.iter_mut().zip(from) {
        for (x, y) in row.iter_mut().zip(add) {
            *x += y;
        }
    }
}

fn count_pairs(
    photos_a: &[&Labelled],
    photos_b: &[&Labelled],
    same_block: bool,
    score: &(dyn Fn(&[f32], &[f32]) -> f64 + Sync),
) -> Counts {
    let per_row: Vec<Counts> = (0..photos_a.len())
        .into_par_iter()
        .map(|i| {
            let mut c = [[0usize; 3]; 2];
            let mut genuine = Vec::new();
            let start = if same_block { i + 1 } else { 0 };
            for b in &photos_b[start..] {
                let a = photos_a[i];
                let s = score(&a.descriptor, &b.descriptor);
                let kind = usize::from(a.identity != b.identity);
                let passed = JUDGED_SCORES.map(|t| s >= t);
                for (t, p) in passed.iter().enumerate() {
                    c[kind][t] += usize::from(*p);
                }
                if kind == 0 {
                    genuine.push(passed);
                }
            }
            (c, genuine)
        })
        .collect();
    let mut total = [[0usize; 3]; 2];
    let mut genuine = Vec::new();
    for (c, g) in per_row {
        add_counts(&mut total, &c);
        genuine.extend(g);
    }
    (total, genuine)
}

fn pair_totals(a: &[&Labelled], b: &[&Labelled], same_block: bool) -> (usize, usize) {
    let mut genuine = 0;
    let mut total = 0;
    for (i, x) in a.iter().enumerate() {
        let rest = if same_block { &b[i + 1..] } else { b };
        total += rest.len();
        genuine += rest.iter().filter(|y| y.identity == x.identity).count();
    }
    (genuine, total - genuine)
}

/// Judges a way of scoring pairs on held-out people. `make` gets the photos to fit on
/// (per population, in order) and returns the pair scorer fitted on them.
pub fn cross_validate<F>(populations: &[Population], k: usize, make: F) -> Result<Vec<Judged>>
where
    F: Fn(&[Vec<&Labelled>]) -> Result<Box<dyn Fn(&[f32], &[f32]) -> f64 + Sync>>,
{
    let folds: Vec<Vec<usize>> = populations
        .iter()
        .map(|p| p.photos.iter().map(|x| fold_of(&x.identity, k)).collect())
        .collect();
    let mut counts = vec![([[0usize; 3]; 2], 0usize, 0usize, Vec::new()); populations.len()];
    for i in 0..k {
        for j in i..k {
            let train: Vec<Vec<&Labelled>> = populations
                .iter()
                .zip(&folds)
                .map(|(p, f)| {
                    p.photos
                        .iter()
                        .zip(f)
                        .filter(|(_, fold)| **fold != i && **fold != j)
                        .map(|(x, _)| x)
                        .collect()
                })
                .collect();
            let score = make(&train)?;
            for (pi, (p, f)) in populations.iter().zip(&folds).enumerate() {
                let of = |want: usize| -> Vec<&Labelled> {
                    p.photos
                        .iter()
                        .zip(f)
                        .filter(|(_, fold)| **fold == want)
                        .map(|(x, _)| x)
                        .collect()
                };
                let (a, b) = (of(i), of(j));
                let (c, passed) = count_pairs(&a, &b, i == j, score.as_ref());
                let (g, imp) = pair_totals(&a, &b, i == j);
                let e = &mut counts[pi];
                e.3.extend(passed);
                add_counts(&mut e.0, &c);
                e.1 += g;
                e.2 += imp;
            }
        }
    }
    Ok(populations
        .iter()
        .zip(counts)
        .map(|(p, (c, g, imp, passed))| Judged {
            population: p.name.clone(),
            genuine: g,
            impostor: imp,
            at: JUDGED_SCORES
                .iter()
                .enumerate()
                .map(|(t, s)| (*s, Rate::wilson(c[1][t], imp), Rate::wilson(c[0][t], g)))
                .collect(),
            genuine_passed: passed,
        })
        .collect())
}

/// Judges the regional model as [`fit`] makes it.
pub fn cross_validate_regional(
    model: &str,
    populations: &[Population],
    region: &str,
    opts: &FitOptions,
    k: usize,
) -> Result<Vec<Judged>> {
    cross_validate(populations, k, |train| {
        let m = fit_on(model, populations, train, region, opts)?;
        Ok(Box::new(move |a: &[f32], b: &[f32]| m.score(a, b)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two synthetic populations, one packed four times as tightly as the other.
    fn populations() -> Vec<Population> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut gauss = move || {
            // Box-Muller over a xorshift generator: enough for a fixture.
            let mut u = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state >> 11) as f64 / (1u64 << 53) as f64
            };
            let (a, b) = (u().max(1e-12), u());
            (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
        };
        let mut out = Vec::new();
        for (name, spread, offset) in [("dense", 0.25, 0.5), ("sparse", 1.0, -0.5)] {
            let mut photos = Vec::new();
            for person in 0..120 {
                let centre: Vec<f64> = (0..8).map(|_| gauss() * spread / 8f64.sqrt()).collect();
                for _ in 0..3 {
                    let mut d: Vec<f32> =
                        centre.iter().map(|c| (c + gauss() * 0.05) as f32).collect();
                    d[0] += offset as f32;
                    photos.push(Labelled {
                        identity: format!("{name}{person}"),
                        descriptor: d,
                    });
                }
            }
            out.push(Population {
                name: name.into(),
                photos,
            });
        }
        out
    }

    #[test]
    fn the_region_holds_the_dense_population_and_its_table_is_stricter() {
        let pops = populations();
        let opts = FitOptions {
            min_pairs: 1000,
            ..FitOptions::default()
        };
        let m = fit("test", &pops, "dense", &opts).unwrap();
        let share: std::collections::HashMap<_, _> = m.inside_share.iter().cloned().collect();
        assert!(share["dense"] >= 0.99, "{share:?}");
        assert!(share["sparse"] < 0.05, "{share:?}");
        // Dense impostors lie closer: the same score needs a smaller distance there.
        assert!(
            m.inside.match_distance < m.outside.match_distance * 0.6,
            "{m:?}"
        );
        let judged = cross_validate_regional("test", &pops, "dense", &opts, 4).unwrap();
        for j in &judged {
            // every pair once: 360 photos, 120 people of 3
            assert_eq!(j.genuine, 360);
            assert_eq!(j.genuine_passed.len(), 360);
            assert_eq!(j.genuine + j.impostor, 360 * 359 / 2);
        }
    }

    #[test]
    fn folds_split_people_not_photos() {
        for id in ["a", "b", "Hu_Jintao", "lfw:George_W_Bush"] {
            assert_eq!(fold_of(id, 5), fold_of(id, 5));
            assert!(fold_of(id, 5) < 5);
        }
        let spread: std::collections::HashSet<_> =
            (0..100).map(|i| fold_of(&format!("p{i}"), 5)).collect();
        assert_eq!(spread.len(), 5);
    }
}
