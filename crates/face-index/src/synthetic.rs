//! Synthetic face descriptors for tests and benchmarks (no real faces involved).
//!
//! Identity centres are Gaussian with a decaying spectrum: component i has variance
//! proportional to exp(-i/16), so about 48 of 128 components carry 95% of the
//! variance, as principal-component analyses of real face embeddings find (they are
//! far from isotropic; isotropic 128-d Gaussians are the worst case for every ANN index
//! and unlike any embedding). The scale puts two identities about 1.0 apart; each
//! "photo" adds isotropic N(0, 0.02²) noise, so two photos of one identity lie about
//! 0.3 apart, as with dlib's descriptors (same person under 0.6). Good enough to
//! exercise search and ANN recall; it says nothing about recognition accuracy.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Components over which the identity variance falls by a factor e.
pub const SPECTRUM_DECAY: f32 = 16.0;
/// Mean squared distance between two identity centres.
pub const IDENTITY_SPREAD: f32 = 1.0;
/// Per-component spread of photos around their identity.
pub const PHOTO_SIGMA: f32 = 0.02;

/// A seeded source of identities and photos.
pub struct Synthetic {
    rng: StdRng,
    /// Standard deviation of each component of an identity centre.
    sigma: Vec<f32>,
}

impl Synthetic {
    pub fn new(dim: usize, seed: u64) -> Self {
        let weights: Vec<f32> = (0..dim)
            .map(|i| (-(i as f32) / SPECTRUM_DECAY).exp())
            .collect();
        // E|c1 - c2|² = 2 Σ variance.
        let scale = IDENTITY_SPREAD / (2.0 * weights.iter().sum::<f32>());
        Self {
            rng: StdRng::seed_from_u64(seed),
            sigma: weights.iter().map(|w| (w * scale).sqrt()).collect(),
        }
    }

    /// One standard normal sample (Box–Muller; pulling in a distributions crate for
    /// this one line is not worth it).
    fn normal(&mut self) -> f32 {
        let u1: f32 = self.rng.random_range(f32::EPSILON..1.0);
        let u2: f32 = self.rng.random();
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }

    /// A new identity centre.
    pub fn identity(&mut self) -> Vec<f32> {
        let sigma = self.sigma.clone();
        sigma.iter().map(|s| self.normal() * s).collect()
    }

    /// A photo of `identity`.
    pub fn photo(&mut self, identity: &[f32]) -> Vec<f32> {
        identity
            .iter()
            .map(|c| c + self.normal() * PHOTO_SIGMA)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(a: &[f32], b: &[f32]) -> f32 {
        crate::squared_l2(a, b).sqrt()
    }

    #[test]
    fn identities_are_about_one_apart_and_photos_about_a_third() {
        let mut s = Synthetic::new(128, 1);
        let ids: Vec<Vec<f32>> = (0..200).map(|_| s.identity()).collect();
        let between: f32 = ids.windows(2).map(|w| dist(&w[0], &w[1])).sum::<f32>() / 199.0;
        let within: f32 = ids
            .iter()
            .map(|id| dist(&s.photo(id), &s.photo(id)))
            .sum::<f32>()
            / 200.0;
        assert!((0.85..1.15).contains(&between), "{between}");
        assert!((0.25..0.4).contains(&within), "{within}");
    }
}
