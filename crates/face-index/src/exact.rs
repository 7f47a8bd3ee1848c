//! Exact nearest-neighbour search: a scan over contiguous descriptors.
//!
//! The distance kernel keeps eight independent accumulators so the compiler turns it
//! into SIMD lanes; scans call it through `crate::kernels`, which runs a copy compiled
//! for AVX2 where the CPU has it (same sums, same bits). Large scans are split over
//! rayon's threads.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::kernels::squared_l2_rows;

/// Below this many descriptors a scan stays on one thread: splitting costs more.
pub(crate) const PARALLEL_MIN: usize = 32_768;
const PARALLEL_CHUNK: usize = 16_384;

/// Squared Euclidean distance.
#[inline]
pub fn squared_l2(a: &[f32], b: &[f32]) -> f32 {
    squared_l2_inline(a, b)
}

/// The body of [`squared_l2`], always inlined so the batch kernels compiled for wider
/// registers (`crate::kernels`) get it in their own instruction set.
#[inline(always)]
pub(crate) fn squared_l2_inline(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, ra) = a.split_at(a.len() - a.len() % 8);
    let (cb, rb) = b.split_at(ca.len());
    for (x, y) in ca.chunks_exact(8).zip(cb.chunks_exact(8)) {
        for i in 0..8 {
            let d = x[i] - y[i];
            acc[i] += d * d;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        let d = x - y;
        tail += d * d;
    }
    acc.iter().sum::<f32>() + tail
}

/// A candidate: slot number and squared distance, ordered by distance (then slot,
/// so results are deterministic).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Hit {
    pub slot: usize,
    pub d2: f32,
}

impl Eq for Hit {}

impl Ord for Hit {
    fn cmp(&self, other: &Self) -> Ordering {
        self.d2
            .total_cmp(&other.d2)
            .then(self.slot.cmp(&other.slot))
    }
}

impl PartialOrd for Hit {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Keeps the `k` smallest hits seen.
pub(crate) struct TopK {
    k: usize,
    heap: BinaryHeap<Hit>,
}

impl TopK {
    pub(crate) fn new(k: usize) -> Self {
        Self {
            k,
            heap: BinaryHeap::with_capacity(k + 1),
        }
    }

    #[inline]
    pub(crate) fn offer(&mut self, hit: Hit) {
        if self.heap.len() < self.k {
            self.heap.push(hit);
        } else if let Some(worst) = self.heap.peek() {
            if hit < *worst {
                self.heap.pop();
                self.heap.push(hit);
            }
        }
    }

    pub(crate) fn merge(mut self, other: TopK) -> TopK {
        for h in other.heap {
            self.offer(h);
        }
        self
    }

    pub(crate) fn into_sorted(self) -> Vec<Hit> {
        self.heap.into_sorted_vec()
    }
}

fn scan_range(
    vectors: &[f32],
    dim: usize,
    start: usize,
    alive: &[bool],
    query: &[f32],
    k: usize,
    max_d2: f32,
) -> TopK {
    let mut top = TopK::new(k);
    let mut d2s = [0.0f32; SCAN_BLOCK];
    for (b, block) in vectors.chunks(SCAN_BLOCK * dim).enumerate() {
        let d2s = &mut d2s[..block.len() / dim];
        squared_l2_rows(block, dim, query, d2s);
        for (i, &d2) in d2s.iter().enumerate() {
            let slot = start + b * SCAN_BLOCK + i;
            if d2 <= max_d2 && alive[slot] {
                top.offer(Hit { slot, d2 });
            }
        }
    }
    top
}

/// Descriptors whose distances are computed in one call of the batch kernel.
const SCAN_BLOCK: usize = 256;

/// The `k` nearest live descriptors within `max_d2`, nearest first.
/// `vectors` holds `alive.len()` descriptors of `dim` components each.
pub(crate) fn nearest(
    vectors: &[f32],
    dim: usize,
    alive: &[bool],
    query: &[f32],
    k: usize,
    max_d2: f32,
) -> Vec<Hit> {
    if k == 0 || alive.is_empty() {
        return Vec::new();
    }
    if alive.len() < PARALLEL_MIN {
        return scan_range(vectors, dim, 0, alive, query, k, max_d2).into_sorted();
    }
    vectors
        .par_chunks(PARALLEL_CHUNK * dim)
        .enumerate()
        .map(|(c, chunk)| scan_range(chunk, dim, c * PARALLEL_CHUNK, alive, query, k, max_d2))
        .reduce(|| TopK::new(k), TopK::merge)
        .into_sorted()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squared_l2_matches_the_definition_for_odd_lengths() {
        let a: Vec<f32> = (0..13).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..13).map(|i| (i * i) as f32 * 0.1).collect();
        let want: f32 = a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum();
        assert!((squared_l2(&a, &b) - want).abs() < 1e-3 * want);
    }

    #[test]
    fn nearest_skips_dead_slots_and_respects_the_bound() {
        // 1-d points at 0, 1, 2, …; query 2.2.
        let vectors: Vec<f32> = (0..10).map(|i| i as f32).collect();
        let mut alive = vec![true; 10];
        alive[2] = false;
        let hits = nearest(&vectors, 1, &alive, &[2.2], 3, f32::INFINITY);
        let slots: Vec<usize> = hits.iter().map(|h| h.slot).collect();
        assert_eq!(slots, vec![3, 1, 4]);
        let bounded = nearest(&vectors, 1, &alive, &[2.2], 3, 0.7);
        assert_eq!(bounded.iter().map(|h| h.slot).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn parallel_scan_agrees_with_a_single_thread() {
        let dim = 16;
        let n = PARALLEL_MIN * 2 + 17;
        let vectors: Vec<f32> = (0..n * dim)
            .map(|i| ((i * 7919) % 1009) as f32 / 1009.0)
            .collect();
        let alive = vec![true; n];
        let query: Vec<f32> = (0..dim).map(|i| i as f32 / dim as f32).collect();
        let par = nearest(&vectors, dim, &alive, &query, 10, f32::INFINITY);
        let seq = scan_range(&vectors, dim, 0, &alive, &query, 10, f32::INFINITY).into_sorted();
        assert_eq!(par, seq);
        assert_eq!(par.len(), 10);
    }
}
