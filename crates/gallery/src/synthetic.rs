//! Synthetic face descriptors for tests and benchmarks (no real faces involved).
//!
//! Each identity is a centre drawn from N(0, 0.065²) per component, so two identities
//! lie about 1.0 apart; each "photo" adds N(0, 0.02²) noise, so two photos of one
//! identity lie about 0.3 apart. That mirrors the spread of 128-d dlib descriptors
//! (same person under 0.6, different persons above it) closely enough to exercise
//! search and HNSW recall; it says nothing about recognition accuracy.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Per-component spread of identity centres.
pub const IDENTITY_SIGMA: f32 = 0.065;
/// Per-component spread of photos around their identity.
pub const PHOTO_SIGMA: f32 = 0.02;

/// A seeded source of identities and photos.
pub struct Synthetic {
    rng: StdRng,
    dim: usize,
}

impl Synthetic {
    pub fn new(dim: usize, seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            dim,
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
        (0..self.dim)
            .map(|_| self.normal() * IDENTITY_SIGMA)
            .collect()
    }

    /// A photo of `identity`.
    pub fn photo(&mut self, identity: &[f32]) -> Vec<f32> {
        identity
            .iter()
            .map(|c| c + self.normal() * PHOTO_SIGMA)
            .collect()
    }
}
