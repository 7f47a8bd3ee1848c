//! One set of faces in memory: contiguous descriptors for exact scans, and an
//! inverted file over them once the set is large.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ann::{Ann, AnnParams};
use crate::exact::{self, Hit};

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

/// A face found by a search, with the caller's face and person ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Neighbour<F, P> {
    pub face_id: F,
    pub person_id: P,
    /// Euclidean distance to the probe.
    pub distance: f32,
}

/// Slot numbers the inverted file can hold (it stores them as `u32`).
const MAX_ANN_SLOTS: usize = u32::MAX as usize;

/// An inverted file is retrained once the group has this many times the faces its
/// centroids were trained for.
const RETRAIN_GROWTH: usize = 4;

/// Generations are unique across all indexes of the process, so an inverted file built for
/// one index can never be installed into a later one.
static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    NEXT_GENERATION.fetch_add(1, Ordering::Relaxed)
}

/// One set of faces (a server group, a device gallery), each a face id `F` of a person
/// `P`. Slots are append-only; a removed face leaves a dead slot until
/// [`FaceIndex::compact`] renumbers them.
pub struct FaceIndex<F, P> {
    dim: usize,
    config: IndexConfig,
    vectors: Vec<f32>,
    slots: Vec<(F, P)>,
    alive: Vec<bool>,
    live: usize,
    by_person: HashMap<P, Vec<usize>>,
    ann: Option<Ann>,
    /// Bumped whenever slot numbers change, so an inverted file built in the background for
    /// older slots is thrown away instead of installed.
    generation: u64,
}

impl<F: Clone + PartialEq, P: Clone + Eq + Hash> FaceIndex<F, P> {
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

    /// Makes room for `additional` more faces at once, so a bulk load holds no growth
    /// slack (a growing vector may hold up to twice the descriptors it has).
    pub fn reserve(&mut self, additional: usize) {
        self.vectors.reserve_exact(additional * self.dim);
        self.slots.reserve_exact(additional);
        self.alive.reserve_exact(additional);
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

    /// Adds a face. A face id already present for the same person is replaced
    /// (re-adding is idempotent). A descriptor of another dimension is skipped and false
    /// returned: callers refuse those on the way in, so one here can only be stored data
    /// from a different configuration, which the caller logs.
    pub fn insert(&mut self, face_id: F, person_id: P, descriptor: &[f32]) -> bool {
        if descriptor.len() != self.dim {
            return false;
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
        if slot >= MAX_ANN_SLOTS {
            // The inverted file numbers slots in 32 bits; a scan serves until a
            // compaction renumbers them.
            self.ann = None;
        }
        if let Some(ann) = &mut self.ann {
            // Keep the index complete: a fresh enrolment must be findable at once.
            let from = ann.covered() * self.dim;
            ann.extend(&self.vectors[from..]);
        }
        true
    }

    fn kill(&mut self, slot: usize) {
        if self.alive[slot] {
            self.alive[slot] = false;
            self.live -= 1;
        }
    }

    /// Removes every face of `person`.
    pub fn remove_person(&mut self, person: &P) {
        if let Some(slots) = self.by_person.remove(person) {
            for s in slots {
                self.kill(s);
            }
        }
    }

    /// Removes one face of `person`; false when it is not there.
    pub fn remove_face(&mut self, person: &P, face: &F) -> bool {
        let Some(slots) = self.by_person.get_mut(person) else {
            return false;
        };
        let Some(i) = slots.iter().position(|s| self.slots[*s].0 == *face) else {
            return false;
        };
        let slot = slots.remove(i);
        if slots.is_empty() {
            self.by_person.remove(person);
        }
        self.kill(slot);
        true
    }

    /// The live faces of `person` with their descriptors, in insertion order.
    pub fn person_faces(&self, person: &P) -> Vec<(&F, &[f32])> {
        self.by_person
            .get(person)
            .map(|slots| {
                slots
                    .iter()
                    .map(|&s| {
                        (
                            &self.slots[s].0,
                            &self.vectors[s * self.dim..(s + 1) * self.dim],
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// True when dead slots make up more than a quarter of all slots.
    pub fn needs_compaction(&self) -> bool {
        let dead = self.slots.len() - self.live;
        dead > 1024 && dead * 4 > self.slots.len()
    }

    /// Renumbers the live faces densely. The inverted file keeps its centroids and
    /// drops its dead entries (no retraining); a background build under way is void.
    pub fn compact(&mut self) {
        let mut vectors = Vec::with_capacity(self.live * self.dim);
        let mut slots = Vec::with_capacity(self.live);
        let mut by_person: HashMap<P, Vec<usize>> = HashMap::new();
        let mut new_slot: Vec<Option<u32>> = Vec::with_capacity(self.slots.len());
        for (i, (face, person)) in self.slots.drain(..).enumerate() {
            new_slot.push(
                self.alive[i]
                    .then(|| u32::try_from(slots.len()).ok())
                    .flatten(),
            );
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
        if self.slots.len() >= MAX_ANN_SLOTS {
            self.ann = None;
        }
        if let Some(ann) = &mut self.ann {
            ann.renumber(&new_slot);
        }
        self.generation = next_generation();
    }

    /// True when the group is large enough for an inverted file and has none, or has
    /// one trained for under a quarter of its faces (its lists have grown long: a new
    /// one built in the background replaces it, searches meanwhile use the old one).
    pub fn wants_ann(&self) -> bool {
        self.live >= self.config.ann_min_faces
            && self.slots.len() < MAX_ANN_SLOTS
            && self
                .ann
                .as_ref()
                .is_none_or(|a| self.live / RETRAIN_GROWTH > a.trained_for())
    }

    /// Builds the inverted file here and now (tests and benchmarks; the galleries
    /// build in the background, see [`AnnBuilder`]).
    pub fn build_ann(&mut self) {
        let mut ann = AnnBuilder::sample(self).train();
        ann.ann.extend(&self.vectors);
        self.ann = Some(ann.ann);
    }

    /// Changes the inverted file's parameters: the search-time ones (`probe_fraction`,
    /// `min_probes`, `rerank`) at once, the others at its next build.
    pub fn set_ann_params(&mut self, params: AnnParams) {
        self.config.ann = params;
        if let Some(ann) = &mut self.ann {
            ann.set_params(params);
        }
    }

    /// Lists of the inverted file, when there is one.
    pub fn ann_lists(&self) -> Option<usize> {
        self.ann.as_ref().map(Ann::lists)
    }

    /// Bytes the inverted file holds (centroids, and per face a slot and an 8-bit
    /// code), when there is one.
    pub fn ann_bytes(&self) -> Option<usize> {
        self.ann.as_ref().map(Ann::heap_bytes)
    }

    /// Bytes of the f32 descriptors (the exact scan's data, and the inverted file's
    /// re-ranking data).
    pub fn descriptor_bytes(&self) -> usize {
        self.vectors.capacity() * std::mem::size_of::<f32>()
    }

    /// The `k` nearest live faces within `max_distance`, nearest first.
    pub fn nearest(
        &self,
        query: &[f32],
        k: usize,
        max_distance: f32,
        strategy: Strategy,
    ) -> Vec<Neighbour<F, P>> {
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let max_d2 = if max_distance.is_finite() {
            max_distance * max_distance
        } else {
            f32::INFINITY
        };
        let hits: Vec<Hit> = match (&self.ann, strategy) {
            (Some(ann), Strategy::Auto) => {
                ann.nearest(query, &self.vectors, &self.alive, k, max_d2)
            }
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

/// Builds an inverted file for a [`FaceIndex`] without holding the caller's lock on it
/// for long: copy a training sample under a short read ([`AnnBuilder::sample`]), train
/// outside any lock, copy and assign batches of descriptors the same way
/// ([`AnnBuilder::next_batch`], [`AnnBuilder::extend`]), and install under a short
/// write once caught up ([`AnnBuilder::install`]).
pub struct AnnBuilder {
    ann: Ann,
    generation: u64,
}

/// What training needs, copied out of the index.
pub struct TrainingSample {
    sample: Vec<f32>,
    dim: usize,
    expected: usize,
    params: AnnParams,
    generation: u64,
}

impl TrainingSample {
    /// Trains the centroids (seconds for large sets: call it outside any lock).
    pub fn train(self) -> AnnBuilder {
        AnnBuilder {
            ann: Ann::train(&self.sample, self.dim, self.expected, self.params),
            generation: self.generation,
        }
    }
}

/// Descriptors copied per read of the index.
const BUILD_BATCH: usize = 20_000;

impl AnnBuilder {
    pub fn sample<F, P>(index: &FaceIndex<F, P>) -> TrainingSample {
        let live = index.live;
        let want = index.config.ann.sample_for(live).min(live);
        let dim = index.dim;
        let mut sample = Vec::with_capacity(want * dim);
        // A stride over the live faces: the i-th sample is live face number
        // i·live/want, in slot order.
        let mut taken = 0;
        let live_slots = index.alive.iter().enumerate().filter(|(_, a)| **a);
        for (rank, (s, _)) in live_slots.enumerate() {
            if taken == want {
                break;
            }
            if rank == taken * live / want {
                sample.extend_from_slice(&index.vectors[s * dim..(s + 1) * dim]);
                taken += 1;
            }
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
    pub fn next_batch<F, P>(&self, index: &FaceIndex<F, P>) -> Option<Vec<f32>> {
        if index.generation != self.generation {
            return None;
        }
        let from = self.ann.covered();
        let to = (from + BUILD_BATCH).min(index.slots.len());
        Some(index.vectors[from * index.dim..to * index.dim].to_vec())
    }

    pub fn extend(&mut self, batch: &[f32]) {
        self.ann.extend(batch);
    }

    /// Adds what is left and installs the inverted file; false when the build is void.
    pub fn install<F, P>(mut self, index: &mut FaceIndex<F, P>) -> bool {
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

    #[test]
    fn insert_remove_and_compact_keep_search_right() {
        let mut idx: FaceIndex<&str, &str> = FaceIndex::new(2, IndexConfig::default());
        assert!(idx.insert("f1", "a", &[0.0, 0.0]));
        assert!(idx.insert("f2", "a", &[1.0, 0.0]));
        assert!(idx.insert("f3", "b", &[0.0, 2.0]));
        assert!(!idx.insert("f9", "b", &[0.0, 2.0, 1.0]));
        let hits = idx.nearest(&[0.9, 0.0], 2, f32::INFINITY, Strategy::Auto);
        assert_eq!(hits[0].face_id, "f2");
        assert!((hits[0].distance - 0.1).abs() < 1e-6);
        assert_eq!(hits[1].face_id, "f1");
        idx.remove_person(&"a");
        assert_eq!(idx.len(), 1);
        let hits = idx.nearest(&[0.9, 0.0], 2, f32::INFINITY, Strategy::Auto);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].person_id, "b");
        // Re-inserting a face id replaces it.
        idx.insert("f3", "b", &[5.0, 5.0]);
        assert_eq!(idx.len(), 1);
        idx.compact();
        assert_eq!(idx.slots.len(), 1);
        let hits = idx.nearest(&[5.0, 5.0], 1, 0.5, Strategy::Exact);
        assert_eq!(hits[0].face_id, "f3");
        assert!(idx.nearest(&[0.0, 0.0], 1, 0.5, Strategy::Exact).is_empty());
    }

    #[test]
    fn one_face_is_removed_and_a_person_lists_its_live_faces() {
        let mut idx: FaceIndex<u64, &str> = FaceIndex::new(2, IndexConfig::default());
        idx.insert(1, "a", &[0.0, 0.0]);
        idx.insert(2, "a", &[1.0, 0.0]);
        idx.insert(3, "b", &[0.0, 2.0]);
        assert!(idx.remove_face(&"a", &1));
        assert!(!idx.remove_face(&"a", &1));
        assert!(!idx.remove_face(&"b", &2));
        assert_eq!(idx.len(), 2);
        assert_eq!(idx.person_faces(&"a"), vec![(&2, &[1.0f32, 0.0][..])]);
        let hits = idx.nearest(&[0.0, 0.0], 3, f32::INFINITY, Strategy::Exact);
        assert_eq!(
            hits.iter().map(|h| h.face_id).collect::<Vec<_>>(),
            vec![2, 3]
        );
        assert!(idx.remove_face(&"a", &2));
        assert!(idx.person_faces(&"a").is_empty());
        idx.compact();
        assert_eq!(idx.person_faces(&"b"), vec![(&3, &[0.0f32, 2.0][..])]);
    }

    use crate::synthetic::Synthetic;

    const DIM: usize = 128;

    /// `identities` identities with `photos` photos each (face id = slot number at
    /// insertion, person id = identity), and probes: a new photo of every tenth
    /// identity, then as many strangers.
    fn fixture(
        identities: usize,
        photos: usize,
        seed: u64,
    ) -> (FaceIndex<u32, u32>, Vec<Vec<f32>>) {
        let mut synth = Synthetic::new(DIM, seed);
        let mut index = FaceIndex::new(DIM, IndexConfig::default());
        let mut probes = Vec::new();
        let mut face = 0;
        for i in 0..identities {
            let id = synth.identity();
            for _ in 0..photos {
                index.insert(face, i as u32, &synth.photo(&id));
                face += 1;
            }
            if i % 10 == 0 {
                probes.push(synth.photo(&id));
            }
        }
        for _ in 0..identities / 10 {
            let stranger = synth.identity();
            probes.push(synth.photo(&stranger));
        }
        (index, probes)
    }

    /// Top-1 agreement of the inverted file with the scan; every face it returns has
    /// its exact distance, in order, within the bound.
    fn recall_against_exact(index: &FaceIndex<u32, u32>, probes: &[Vec<f32>], k: usize) -> f64 {
        let mut agree = 0;
        for p in probes {
            let exact = index.nearest(p, k, f32::INFINITY, Strategy::Exact);
            let got = index.nearest(p, k, f32::INFINITY, Strategy::Auto);
            assert_eq!(got.len(), exact.len());
            assert!(got.windows(2).all(|w| w[0].distance <= w[1].distance));
            for h in &got {
                let faces = index.person_faces(&h.person_id);
                let (_, v) = faces.iter().find(|(f, _)| **f == h.face_id).unwrap();
                assert_eq!(h.distance.to_bits(), squared_l2(v, p).sqrt().to_bits());
            }
            if got[0].face_id == exact[0].face_id {
                agree += 1;
            }
            let bound = exact[0].distance * 1.2;
            let within = index.nearest(p, k, bound, Strategy::Auto);
            assert!(within.iter().all(|h| h.distance <= bound));
        }
        agree as f64 / probes.len() as f64
    }

    use crate::squared_l2;

    #[test]
    fn the_inverted_file_agrees_with_the_scan_on_synthetic_faces() {
        let (mut index, probes) = fixture(2_500, 4, 21);
        assert_eq!(index.len(), 10_000);
        index.build_ann();
        assert!(index.has_ann());
        let recall = recall_against_exact(&index, &probes, 1);
        assert!(recall >= 0.99, "top-1 recall {recall}");
        // k = 25, what a server search asks of a group.
        let recall = recall_against_exact(&index, &probes[..100], 25);
        assert!(recall >= 0.99, "top-1 recall at k = 25: {recall}");
        // Exact stays exact: forcing a scan ignores the inverted file.
        let p = &probes[0];
        let scan = index.nearest(p, 5, f32::INFINITY, Strategy::Exact);
        let mut brute: Vec<(f32, u32)> = (0..index.slots.len())
            .map(|s| {
                (
                    squared_l2(&index.vectors[s * DIM..(s + 1) * DIM], p),
                    s as u32,
                )
            })
            .collect();
        brute.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let want: Vec<u32> = brute[..5].iter().map(|b| b.1).collect();
        assert_eq!(scan.iter().map(|h| h.face_id).collect::<Vec<_>>(), want);
    }

    #[test]
    fn the_inverted_file_follows_inserts_deletes_and_compaction() {
        let (mut index, probes) = fixture(1_500, 2, 22);
        index.build_ann();
        let lists = index.ann_lists();
        let mut synth = Synthetic::new(DIM, 23);
        // Enrolments join their list at once.
        let fresh: Vec<Vec<f32>> = (0..50).map(|_| synth.identity()).collect();
        for (j, id) in fresh.iter().enumerate() {
            index.insert(10_000 + j as u32, 10_000 + j as u32, &synth.photo(id));
        }
        for (j, id) in fresh.iter().enumerate() {
            let hits = index.nearest(&synth.photo(id), 1, f32::INFINITY, Strategy::Auto);
            assert_eq!(hits[0].face_id, 10_000 + j as u32);
        }
        // Deleted persons are never returned, even as the nearest.
        for j in 0..25 {
            index.remove_person(&(10_000 + j));
        }
        for id in &fresh[..25] {
            let hits = index.nearest(&synth.photo(id), 10, f32::INFINITY, Strategy::Auto);
            assert!(hits
                .iter()
                .all(|h| h.person_id >= 10_025 || h.person_id < 10_000));
        }
        // Half the original persons gone: compaction renumbers, keeps the centroids,
        // and the answers still match the scan's.
        for person in (0..1_500).step_by(2) {
            index.remove_person(&person);
        }
        assert!(index.needs_compaction());
        index.compact();
        assert!(index.has_ann());
        assert_eq!(index.ann_lists(), lists);
        assert_eq!(index.slots.len(), index.len());
        let recall = recall_against_exact(&index, &probes, 3);
        assert!(recall >= 0.99, "top-1 recall after compaction {recall}");
        for (j, id) in fresh.iter().enumerate().skip(25) {
            let hits = index.nearest(&synth.photo(id), 1, f32::INFINITY, Strategy::Auto);
            assert_eq!(hits[0].face_id, 10_000 + j as u32);
        }
    }

    #[test]
    fn an_inverted_file_built_on_an_empty_index_still_finds_later_faces() {
        let mut index: FaceIndex<u32, u32> = FaceIndex::new(DIM, IndexConfig::default());
        index.build_ann();
        assert!(index
            .nearest(&[0.0; DIM], 1, f32::INFINITY, Strategy::Auto)
            .is_empty());
        let mut synth = Synthetic::new(DIM, 25);
        let ids: Vec<Vec<f32>> = (0..20).map(|_| synth.identity()).collect();
        for (i, id) in ids.iter().enumerate() {
            index.insert(i as u32, i as u32, &synth.photo(id));
        }
        for (i, id) in ids.iter().enumerate() {
            let hits = index.nearest(&synth.photo(id), 1, f32::INFINITY, Strategy::Auto);
            assert_eq!(hits[0].face_id, i as u32);
        }
    }

    #[test]
    fn a_grown_index_asks_for_a_new_inverted_file_and_keeps_searching_meanwhile() {
        let config = IndexConfig {
            ann_min_faces: 500,
            ..IndexConfig::default()
        };
        let mut synth = Synthetic::new(DIM, 24);
        let mut index: FaceIndex<u32, u32> = FaceIndex::new(DIM, config);
        let ids: Vec<Vec<f32>> = (0..2_100).map(|_| synth.identity()).collect();
        for (i, id) in ids.iter().take(500).enumerate() {
            index.insert(i as u32, i as u32, &synth.photo(id));
        }
        assert!(index.wants_ann());
        let builder = AnnBuilder::sample(&index).train();
        assert!(builder.install(&mut index));
        assert!(!index.wants_ann());
        let small = index.ann_lists();
        for (i, id) in ids.iter().enumerate().skip(500) {
            index.insert(i as u32, i as u32, &synth.photo(id));
        }
        // Four times the faces it was trained for: a new one is wanted; the old one
        // still answers (with every face) until it is installed.
        assert!(index.wants_ann());
        assert!(index.has_ann());
        let hits = index.nearest(&synth.photo(&ids[2_050]), 1, f32::INFINITY, Strategy::Auto);
        assert_eq!(hits[0].face_id, 2_050);
        let mut builder = AnnBuilder::sample(&index).train();
        while let Some(batch) = builder.next_batch(&index) {
            if batch.is_empty() {
                break;
            }
            builder.extend(&batch);
        }
        assert!(builder.install(&mut index));
        assert!(!index.wants_ann());
        assert!(index.ann_lists() > small);
        let hits = index.nearest(&synth.photo(&ids[7]), 1, f32::INFINITY, Strategy::Auto);
        assert_eq!(hits[0].face_id, 7);
        // A build started before a compaction is void.
        let builder = AnnBuilder::sample(&index).train();
        index.remove_person(&3);
        index.compact();
        assert!(!builder.install(&mut index));
    }
}
