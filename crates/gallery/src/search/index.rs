//! One group's faces in memory: contiguous descriptors for exact scans, and an
//! inverted file over them once the group is large.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use super::ann::{Ann, AnnParams};
use super::exact::{self, Hit};
use crate::ids::{FaceId, PersonId};

/// Exact or approximate search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    /// The inverted file when the group has one, else a scan.
    #[default]
    Auto,
    /// Always scan.
    Exact,
}

/// When a group gets an inverted file, and how it is built and searched.
#[derive(Debug, Clone, Copy)]
pub struct IndexConfig {
    /// Groups with at least this many live faces get an inverted file. Below it a scan
    /// is fast enough (about 1 ms per 50,000 128-d faces) and exact.
    pub ann_min_faces: usize,
    pub ann: AnnParams,
}

impl Default for IndexConfig {
    fn default() -> Self {
        Self {
            ann_min_faces: 50_000,
            ann: AnnParams::default(),
        }
    }
}

/// A face found by a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour {
    pub face_id: FaceId,
    pub person_id: PersonId,
    /// Euclidean distance to the probe.
    pub distance: f32,
}

/// Generations are unique across all indexes of the process, so an inverted file built for
/// one index can never be installed into a later one.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// The faces of one group. Slots are append-only; a removed face leaves a dead slot
/// until [`FaceIndex::compact`] renumbers them (which drops the inverted file).
pub struct FaceIndex {
    dim: usize,
    config: IndexConfig,
    vectors: Vec<f32>,
    slots: Vec<(FaceId, PersonId)>,
    alive: Vec<bool>,
    live: usize,
    by_person: HashMap<PersonId, Vec<usize>>,
    ann: Option<Ann>,
    /// Bumped whenever slot numbers change, so an inverted file built in the background for
    /// older slots is thrown away instead of installed.
    generation: u64,
}

impl FaceIndex {
    pub fn new(dim: usize, config: IndexConfig) -> Self {
        Self {
            dim,
            config,
            vectors: Vec::new(),
            slots: Vec::new(),
            alive: Vec::new(),
            live: 0,
            by_person: HashMap::new(),
            ann: None,
            generation: next_generation(),
        }
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Live faces.
    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub fn has_ann(&self) -> bool {
        self.ann.is_some()
    }

    /// Adds a face. A face id already present is replaced (re-adding is idempotent).
    /// Descriptors of another dimension are ignored: the gallery refuses them at
    /// enrolment, so one here can only be a stored row from a different configuration.
    pub fn insert(&mut self, face_id: FaceId, person_id: PersonId, descriptor: &[f32]) {
        if descriptor.len() != self.dim {
            tracing::warn!(face = %face_id, "descriptor of {} components skipped", descriptor.len());
            return;
        }
        if let Some(slots) = self.by_person.get(&person_id) {
            if let Some(&old) = slots.iter().find(|s| self.slots[**s].0 == face_id) {
                self.kill(old);
            }
        }
        let slot = self.slots.len();
        self.vectors.extend_from_slice(descriptor);
        self.slots.push((face_id, person_id.clone()));
        self.alive.push(true);
        self.live += 1;
        self.by_person.entry(person_id).or_default().push(slot);
        if let Some(ann) = &mut self.ann {
            // Keep the index complete: a fresh enrolment must be findable at once.
            let from = ann.covered() * self.dim;
            ann.extend(&self.vectors[from..]);
        }
    }

    fn kill(&mut self, slot: usize) {
        if self.alive[slot] {
            self.alive[slot] = false;
            self.live -= 1;
        }
    }

    /// Removes every face of `person`.
    pub fn remove_person(&mut self, person: &PersonId) {
        if let Some(slots) = self.by_person.remove(person) {
            for s in slots {
                self.kill(s);
            }
        }
    }

    /// True when dead slots make up more than a quarter of all slots.
    pub fn needs_compaction(&self) -> bool {
        let dead = self.slots.len() - self.live;
        dead > 1024 && dead * 4 > self.slots.len()
    }

    /// Renumbers the live faces densely and drops the inverted file (rebuilt by the
    /// caller).
    pub fn compact(&mut self) {
        let mut vectors = Vec::with_capacity(self.live * self.dim);
        let mut slots = Vec::with_capacity(self.live);
        let mut by_person: HashMap<PersonId, Vec<usize>> = HashMap::new();
        for (i, (face, person)) in self.slots.drain(..).enumerate() {
            if self.alive[i] {
                vectors.extend_from_slice(&self.vectors[i * self.dim..(i + 1) * self.dim]);
                by_person
                    .entry(person.clone())
                    .or_default()
                    .push(slots.len());
                slots.push((face, person));
            }
        }
        self.alive = vec![true; slots.len()];
        self.live = slots.len();
        self.vectors = vectors;
        self.slots = slots;
        self.by_person = by_person;
        self.ann = None;
        self.generation = next_generation();
    }

    /// True when the group is large enough for an inverted file and has none.
    pub fn wants_ann(&self) -> bool {
        self.ann.is_none() && self.live >= self.config.ann_min_faces
    }

    /// Builds the inverted file here and now (tests and benchmarks; the gallery
    /// builds in the background, see [`AnnBuilder`]).
    pub fn build_ann(&mut self) {
        let mut ann = AnnBuilder::sample(self).train();
        ann.ann.extend(&self.vectors);
        self.ann = Some(ann.ann);
    }

    /// Lists of the inverted file, when there is one.
    pub fn ann_lists(&self) -> Option<usize> {
        self.ann.as_ref().map(Ann::lists)
    }

    /// The `k` nearest live faces within `max_distance`, nearest first.
    pub fn nearest(
        &self,
        query: &[f32],
        k: usize,
        max_distance: f32,
        strategy: Strategy,
    ) -> Vec<Neighbour> {
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let max_d2 = if max_distance.is_finite() {
            max_distance * max_distance
        } else {
            f32::INFINITY
        };
        let hits: Vec<Hit> = match (&self.ann, strategy) {
            (Some(ann), Strategy::Auto) => ann.nearest(query, &self.alive, k, max_d2),
            _ => exact::nearest(&self.vectors, self.dim, &self.alive, query, k, max_d2),
        };
        hits.into_iter()
            .map(|h| {
                let (face_id, person_id) = &self.slots[h.slot];
                Neighbour {
                    face_id: face_id.clone(),
                    person_id: person_id.clone(),
                    distance: h.d2.sqrt(),
                }
            })
            .collect()
    }
}

/// Builds an inverted file for a [`FaceIndex`] without holding its lock for long: it
/// copies a training sample under a short read, trains outside, copies and assigns
/// batches of descriptors the same way, and installs the index under a short write
/// once it has caught up.
pub(crate) struct AnnBuilder {
    ann: Ann,
    generation: u64,
}

/// What training needs, copied out of the index.
pub(crate) struct TrainingSample {
    sample: Vec<f32>,
    dim: usize,
    expected: usize,
    params: AnnParams,
    generation: u64,
}

impl TrainingSample {
    pub(crate) fn train(self) -> AnnBuilder {
        AnnBuilder {
            ann: Ann::train(&self.sample, self.dim, self.expected, self.params),
            generation: self.generation,
        }
    }
}

/// Descriptors copied per read of the index.
const BUILD_BATCH: usize = 20_000;

impl AnnBuilder {
    pub(crate) fn sample(index: &FaceIndex) -> TrainingSample {
        let n = index.slots.len();
        let want = index.config.ann.train_sample.clamp(1, n.max(1));
        let dim = index.dim;
        let mut sample = Vec::with_capacity(want * dim);
        for i in 0..want {
            let s = i * n / want;
            sample.extend_from_slice(&index.vectors[s * dim..(s + 1) * dim]);
        }
        TrainingSample {
            sample,
            dim,
            expected: index.live,
            params: index.config.ann,
            generation: index.generation,
        }
    }

    /// Copies the next batch of descriptors not yet in the index; None when the index
    /// was renumbered (the build is void) and an empty batch when caught up.
    pub(crate) fn next_batch(&self, index: &FaceIndex) -> Option<Vec<f32>> {
        if index.generation != self.generation {
            return None;
        }
        let from = self.ann.covered();
        let to = (from + BUILD_BATCH).min(index.slots.len());
        Some(index.vectors[from * index.dim..to * index.dim].to_vec())
    }

    pub(crate) fn extend(&mut self, batch: &[f32]) {
        self.ann.extend(batch);
    }

    /// Adds what is left and installs the inverted file; false when the build is void.
    pub(crate) fn install(mut self, index: &mut FaceIndex) -> bool {
        if index.generation != self.generation {
            return false;
        }
        let from = self.ann.covered() * index.dim;
        self.ann.extend(&index.vectors[from..]);
        index.ann = Some(self.ann);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(s: &str) -> PersonId {
        PersonId::new(s).unwrap()
    }

    #[test]
    fn insert_remove_and_compact_keep_search_right() {
        let mut idx = FaceIndex::new(2, IndexConfig::default());
        idx.insert(FaceId::trusted("f1".into()), pid("a"), &[0.0, 0.0]);
        idx.insert(FaceId::trusted("f2".into()), pid("a"), &[1.0, 0.0]);
        idx.insert(FaceId::trusted("f3".into()), pid("b"), &[0.0, 2.0]);
        let hits = idx.nearest(&[0.9, 0.0], 2, f32::INFINITY, Strategy::Auto);
        assert_eq!(hits[0].face_id.as_str(), "f2");
        assert!((hits[0].distance - 0.1).abs() < 1e-6);
        assert_eq!(hits[1].face_id.as_str(), "f1");
        idx.remove_person(&pid("a"));
        assert_eq!(idx.len(), 1);
        let hits = idx.nearest(&[0.9, 0.0], 2, f32::INFINITY, Strategy::Auto);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].person_id.as_str(), "b");
        // Re-inserting a face id replaces it.
        idx.insert(FaceId::trusted("f3".into()), pid("b"), &[5.0, 5.0]);
        assert_eq!(idx.len(), 1);
        idx.compact();
        assert_eq!(idx.slots.len(), 1);
        let hits = idx.nearest(&[5.0, 5.0], 1, 0.5, Strategy::Exact);
        assert_eq!(hits[0].face_id.as_str(), "f3");
        assert!(idx.nearest(&[0.0, 0.0], 1, 0.5, Strategy::Exact).is_empty());
    }
}
