//! Approximate search for large groups: an inverted file over 8-bit codes with exact
//! re-ranking (IVF-SQ8 + refine).
//!
//! k-means centroids split the descriptors into lists. Each list holds, per face, its
//! slot and an 8-bit code of its descriptor (128 bytes for dlib's 128 components,
//! against 512 for the f32 descriptor). A search ranks the centroids, scans the codes
//! of the nearest lists (a fixed fraction of them) with an integer kernel, keeps the
//! `k + rerank` nearest codes, and re-ranks those with exact f32 distances read from the
//! index's own descriptors: scores, order and thresholds are those of the exact search
//! for every face the search reaches; only a face in a list it does not scan (or, far
//! more rarely, one whose code ranks it below the short list) can be missed.
//!
//! One search runs on the calling thread: a server request is one search per probe
//! face, and concurrent requests already use every core, so splitting a search over
//! threads would only trade throughput for latency under load.
//!
//! Written here rather than taken from a crate: the HNSW crate we tried first
//! (`hnsw_rs` 0.3) measured slower than our exact scan on 128-d descriptors on this
//! hardware (every hop chases a separately allocated point behind a lock) and builds
//! slowly, while lists of contiguous codes keep the access pattern of a scan, take new
//! faces at once (a face joins its nearest list) and deleted ones as tombstones.

use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::exact::{squared_l2, Hit, TopK};
use crate::kernels::{nearest_rows4, squared_l2_codes, squared_l2_rows};

/// Index and search parameters. The defaults reach a top-1 recall of at least 0.99
/// against exact search at 10^6 synthetic faces, half of the probes strangers
/// (measured by `bench/search`; tested on smaller sets in this crate and the galleries).
#[derive(Debug, Clone, Copy)]
pub struct AnnParams {
    /// Lists per index: `lists_per_sqrt × √n`, at least 16.
    pub lists_per_sqrt: f32,
    /// Fraction of the lists scanned per search (those with the nearest centroids)…
    pub probe_fraction: f32,
    /// …but at least this many lists…
    pub min_probes: usize,
    /// …and at most this many: the lists a search needs for a given recall grow far
    /// more slowly than the index (measured: about 190 at 10^5 faces, 480 at 10^6,
    /// 380 to 630 at 10^7 for a top-1 recall of 0.99 to 0.997).
    pub max_probes: usize,
    /// Candidates re-ranked with exact distances beyond the `k` asked for.
    pub rerank: usize,
    /// Descriptors the centroids are trained on, per list (a stride sample).
    pub train_per_list: usize,
    /// Lloyd iterations.
    pub iterations: usize,
}

impl Default for AnnParams {
    fn default() -> Self {
        Self {
            lists_per_sqrt: 4.0,
            probe_fraction: 0.12,
            min_probes: 192,
            max_probes: 640,
            rerank: 32,
            train_per_list: 32,
            iterations: 8,
        }
    }
}

/// Fewest lists an inverted file has.
const MIN_LISTS: usize = 16;

impl AnnParams {
    /// Lists for an index of `n` descriptors.
    pub fn lists_for(&self, n: usize) -> usize {
        (((n as f32).sqrt() * self.lists_per_sqrt).round() as usize).max(MIN_LISTS)
    }

    /// Descriptors sampled to train an index of `n`.
    pub fn sample_for(&self, n: usize) -> usize {
        (self.lists_for(n) * self.train_per_list.max(1)).min(n)
    }

    /// Lists scanned per search in an index of `lists` lists.
    pub fn probes_for(&self, lists: usize) -> usize {
        ((lists as f32 * self.probe_fraction).ceil() as usize)
            .min(self.max_probes)
            .max(self.min_probes)
            .min(lists)
    }
}

/// Scalar quantiser: component j is stored as `round((x − offset[j]) / step)` clamped
/// to 0..=255. One step for all components makes the squared distance between two
/// codes, times step², an estimate of the squared distance between the descriptors
/// that an integer kernel computes; the offsets centre each component's range.
#[derive(Debug, Clone)]
struct Quantizer {
    offset: Vec<f32>,
    step: f32,
}

impl Quantizer {
    /// Fits the widest component's range in the sample, with 10% spare, into 256 steps.
    fn train(sample: &[f32], dim: usize) -> Self {
        let mut lo = vec![f32::INFINITY; dim];
        let mut hi = vec![f32::NEG_INFINITY; dim];
        for v in sample.chunks_exact(dim) {
            for j in 0..dim {
                lo[j] = lo[j].min(v[j]);
                hi[j] = hi[j].max(v[j]);
            }
        }
        let widest = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| h - l)
            .filter(|r| r.is_finite())
            .fold(0.0f32, f32::max);
        let step = if widest > 0.0 {
            widest * 1.1 / 255.0
        } else {
            1.0
        };
        let offset = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| {
                let centre = if l.is_finite() && h.is_finite() {
                    (l + h) / 2.0
                } else {
                    0.0
                };
                centre - 127.5 * step
            })
            .collect();
        Self { offset, step }
    }

    fn encode_into(&self, v: &[f32], out: &mut Vec<u8>) {
        let inv = 1.0 / self.step;
        out.extend(
            v.iter()
                .zip(&self.offset)
                .map(|(x, o)| ((x - o) * inv).round().clamp(0.0, 255.0) as u8),
        );
    }
}

struct List {
    slots: Vec<u32>,
    codes: Vec<u8>,
}

/// An inverted file over slots of a [`crate::FaceIndex`]. Slots are stored as `u32`:
/// the index drops its inverted file before a slot number could exceed that.
pub(crate) struct Ann {
    dim: usize,
    centroids: Vec<f32>,
    lists: Vec<List>,
    quantizer: Quantizer,
    /// Slots below this number are in the lists.
    covered: usize,
    /// The size the centroids were trained for.
    trained_for: usize,
    params: AnnParams,
}

/// Nearest centroid of each descriptor, four at a time, on rayon's threads for large
/// batches.
fn assign(centroids: &[f32], dim: usize, vectors: &[f32]) -> Vec<usize> {
    if vectors.len() == dim {
        // One enrolment: no block to share loads with.
        let mut d2 = vec![0.0; centroids.len() / dim];
        squared_l2_rows(centroids, dim, vectors, &mut d2);
        let mut best = (0, f32::INFINITY);
        for (i, &d) in d2.iter().enumerate() {
            if d < best.1 {
                best = (i, d);
            }
        }
        return vec![best.0];
    }
    let norms: Vec<f32> = centroids
        .chunks_exact(dim)
        .map(|c| c.iter().map(|x| x * x).sum())
        .collect();
    let block = |vs: &[f32]| -> Vec<usize> {
        let n = vs.len() / dim;
        let mut out = Vec::with_capacity(n);
        for i in (0..n).step_by(4) {
            // A short last block repeats its last vector.
            let x = |j: usize| {
                let j = (i + j).min(n - 1);
                &vs[j * dim..(j + 1) * dim]
            };
            let best = nearest_rows4(centroids, &norms, dim, [x(0), x(1), x(2), x(3)]);
            out.extend_from_slice(&best[..(n - i).min(4)]);
        }
        out
    };
    if vectors.len() / dim.max(1) < 256 {
        return block(vectors);
    }
    vectors
        .par_chunks(64 * dim)
        .map(block)
        .collect::<Vec<_>>()
        .concat()
}

impl Ann {
    /// Trains centroids and the quantiser for an index of about `expected`
    /// descriptors on `sample` (`dim` components each).
    pub(crate) fn train(sample: &[f32], dim: usize, expected: usize, params: AnnParams) -> Self {
        let n = sample.len() / dim;
        let k = params.lists_for(expected).min(n.max(1));
        // Initial centroids: evenly strided sample points (the sample is itself a
        // stride over enrolment order, so this is as good as random and reproducible);
        // with no sample at all, one list around the origin.
        let mut centroids: Vec<f32> = if n == 0 {
            vec![0.0; dim]
        } else {
            (0..k)
                .flat_map(|i| sample[(i * n / k) * dim..(i * n / k + 1) * dim].to_vec())
                .collect()
        };
        for _ in 0..params.iterations {
            let assignment = assign(&centroids, dim, sample);
            let mut sums = vec![0.0f64; k * dim];
            let mut counts = vec![0usize; k];
            for (v, &c) in sample.chunks_exact(dim).zip(&assignment) {
                counts[c] += 1;
                for (s, x) in sums[c * dim..(c + 1) * dim].iter_mut().zip(v) {
                    *s += f64::from(*x);
                }
            }
            for c in 0..k {
                if counts[c] == 0 {
                    // An empty cluster keeps its centroid; with strided seeds this is
                    // rare and harmless (the list just stays small).
                    continue;
                }
                for j in 0..dim {
                    centroids[c * dim + j] = (sums[c * dim + j] / counts[c] as f64) as f32;
                }
            }
        }
        Self {
            dim,
            lists: (0..k)
                .map(|_| List {
                    slots: Vec::new(),
                    codes: Vec::new(),
                })
                .collect(),
            centroids,
            quantizer: Quantizer::train(sample, dim),
            covered: 0,
            trained_for: expected,
            params,
        }
    }

    /// Adds the consecutive slots starting at `self.covered()`.
    pub(crate) fn extend(&mut self, vectors: &[f32]) {
        let dim = self.dim;
        let assignment = assign(&self.centroids, dim, vectors);
        // Reserve exactly what a batch adds, so a freshly built index carries no slack.
        let mut added = vec![0usize; self.lists.len()];
        for &c in &assignment {
            added[c] += 1;
        }
        for (list, &a) in self.lists.iter_mut().zip(&added) {
            if a > 1 {
                list.slots.reserve_exact(a);
                list.codes.reserve_exact(a * dim);
            }
        }
        for (i, (v, &c)) in vectors.chunks_exact(dim).zip(&assignment).enumerate() {
            let list = &mut self.lists[c];
            // The caller drops the inverted file before slots outgrow u32.
            list.slots.push((self.covered + i) as u32);
            self.quantizer.encode_into(v, &mut list.codes);
        }
        self.covered += assignment.len();
    }

    pub(crate) fn set_params(&mut self, params: AnnParams) {
        self.params = params;
    }

    pub(crate) fn covered(&self) -> usize {
        self.covered
    }

    pub(crate) fn trained_for(&self) -> usize {
        self.trained_for
    }

    pub(crate) fn lists(&self) -> usize {
        self.lists.len()
    }

    /// Bytes held on the heap: centroids, quantiser, and per face its slot and code.
    pub(crate) fn heap_bytes(&self) -> usize {
        let lists: usize = self
            .lists
            .iter()
            .map(|l| l.slots.capacity() * 4 + l.codes.capacity() + std::mem::size_of::<List>())
            .sum();
        self.centroids.capacity() * 4 + self.quantizer.offset.capacity() * 4 + lists
    }

    /// Renumbers slots after the index dropped its dead ones: `new_slot[old]` is the
    /// new number of a live slot, None for a dead one (whose entry is dropped). The
    /// centroids stay: no retraining.
    pub(crate) fn renumber(&mut self, new_slot: &[Option<u32>]) {
        let dim = self.dim;
        for list in &mut self.lists {
            let mut slots = Vec::new();
            let mut codes = Vec::new();
            for (&s, code) in list.slots.iter().zip(list.codes.chunks_exact(dim)) {
                if let Some(Some(n)) = new_slot.get(s as usize) {
                    slots.push(*n);
                    codes.extend_from_slice(code);
                }
            }
            list.slots = slots;
            list.codes = codes;
        }
        self.covered = new_slot.iter().flatten().count();
    }

    /// The `k` nearest live slots within `max_d2`, nearest first, with exact distances
    /// from `vectors` (the index's descriptors, `dim` components per slot).
    pub(crate) fn nearest(
        &self,
        query: &[f32],
        vectors: &[f32],
        alive: &[bool],
        k: usize,
        max_d2: f32,
    ) -> Vec<Hit> {
        let dim = self.dim;
        // The lists with the nearest centroids, nearest first (their codes then fill the
        // short list with good candidates early, and later ones rarely enter it).
        let mut d2 = vec![0.0f32; self.lists.len()];
        squared_l2_rows(&self.centroids, dim, query, &mut d2);
        let mut order: Vec<(f32, u32)> =
            d2.iter().enumerate().map(|(i, &d)| (d, i as u32)).collect();
        let probes = self.params.probes_for(order.len());
        if probes < order.len() {
            order.select_nth_unstable_by(probes, |a, b| a.0.total_cmp(&b.0));
            order.truncate(probes);
        }
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));

        let mut code = Vec::with_capacity(dim);
        self.quantizer.encode_into(query, &mut code);
        let short = k.saturating_add(self.params.rerank);
        // Max-heap of (code distance, slot): the `short` nearest codes seen.
        let mut heap: BinaryHeap<(u32, u32)> = BinaryHeap::with_capacity(short + 1);
        let mut dists: Vec<u32> = Vec::new();
        for &(_, l) in &order {
            let list = &self.lists[l as usize];
            dists.resize(list.slots.len(), 0);
            squared_l2_codes(&list.codes, dim, &code, &mut dists);
            let mut worst = if heap.len() < short {
                u32::MAX
            } else {
                heap.peek().map_or(u32::MAX, |h| h.0)
            };
            for (&d, &slot) in dists.iter().zip(&list.slots) {
                if d >= worst || !alive.get(slot as usize).copied().unwrap_or(false) {
                    continue;
                }
                heap.push((d, slot));
                if heap.len() > short {
                    heap.pop();
                }
                if heap.len() >= short {
                    worst = heap.peek().map_or(u32::MAX, |h| h.0);
                }
            }
        }
        // Exact re-ranking.
        let mut top = TopK::new(k);
        for (_, slot) in heap {
            let slot = slot as usize;
            let d2 = squared_l2(&vectors[slot * dim..(slot + 1) * dim], query);
            if d2 <= max_d2 {
                top.offer(Hit { slot, d2 });
            }
        }
        top.into_sorted()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quantiser_keeps_every_component_within_half_a_step() {
        let dim = 4;
        let sample: Vec<f32> = (0..400)
            .map(|i| ((i * 37 % 101) as f32 / 101.0 - 0.5) * (1 + i % dim) as f32)
            .collect();
        let q = Quantizer::train(&sample, dim);
        for v in sample.chunks_exact(dim) {
            let mut code = Vec::new();
            q.encode_into(v, &mut code);
            for j in 0..dim {
                let back = q.offset[j] + f32::from(code[j]) * q.step;
                assert!((back - v[j]).abs() <= q.step * 0.5001, "{back} vs {}", v[j]);
            }
        }
        // Out of range clamps instead of wrapping.
        let mut code = Vec::new();
        q.encode_into(&[1e9, -1e9, 0.0, f32::NAN], &mut code);
        assert_eq!(&code[..2], &[255, 0]);
    }

    #[test]
    fn probes_follow_the_fraction_within_bounds() {
        let p = AnnParams::default();
        assert_eq!(p.lists_for(4), MIN_LISTS);
        assert_eq!(p.lists_for(1_000_000), 4000);
        assert_eq!(p.probes_for(4000), 480);
        assert_eq!(p.probes_for(12_649), 640);
        assert_eq!(p.probes_for(1000), 192);
        assert_eq!(p.probes_for(100), 100);
    }
}
