//! Approximate search for large groups: an HNSW graph from the `hnsw_rs` crate.
//!
//! hnsw_rs inserts one point at a time (also in parallel) and searches with a filter,
//! which is what a gallery that grows by enrolment and shrinks by deletion needs:
//! deleted faces stay in the graph as tombstones, filtered out at search time, until
//! the index is rebuilt. (`instant-distance` only builds from a complete batch.)

use hnsw_rs::prelude::{DistL2, Hnsw};

use super::exact::Hit;

/// Graph and search parameters. The defaults reach a top-1 recall above 0.99 against
/// exact search on 128-d face descriptors (tested in `tests/search.rs`, measured in
/// `benches/search.rs`).
#[derive(Debug, Clone, Copy)]
pub struct AnnParams {
    /// Neighbours kept per node (M).
    pub max_connections: usize,
    /// Candidate list size while building.
    pub ef_construction: usize,
    /// Candidate list size while searching (raised to k when k is larger).
    pub ef_search: usize,
}

impl Default for AnnParams {
    fn default() -> Self {
        Self {
            max_connections: 24,
            ef_construction: 200,
            ef_search: 96,
        }
    }
}

/// An HNSW graph over slots of a [`super::FaceIndex`]; the point id is the slot.
pub(crate) struct Ann {
    graph: Hnsw<'static, f32, DistL2>,
    /// Slots below this number are in the graph.
    covered: usize,
    params: AnnParams,
}

impl Ann {
    pub(crate) fn new(capacity: usize, params: AnnParams) -> Self {
        Self {
            graph: Hnsw::new(
                params.max_connections,
                capacity.max(1024),
                16,
                params.ef_construction,
                DistL2 {},
            ),
            covered: 0,
            params,
        }
    }

    /// Inserts the consecutive slots starting at `self.covered()`, `dim` components
    /// each, on rayon's threads.
    pub(crate) fn extend(&mut self, vectors: &[f32], dim: usize) {
        let start = self.covered;
        let batch: Vec<(&[f32], usize)> = vectors
            .chunks_exact(dim)
            .enumerate()
            .map(|(i, v)| (v, start + i))
            .collect();
        if batch.len() >= 256 {
            self.graph.parallel_insert_slice(&batch);
        } else {
            for item in &batch {
                self.graph.insert_slice(*item);
            }
        }
        self.covered += batch.len();
    }

    pub(crate) fn covered(&self) -> usize {
        self.covered
    }

    /// The `k` nearest live slots within `max_d2`, nearest first.
    pub(crate) fn nearest(&self, query: &[f32], alive: &[bool], k: usize, max_d2: f32) -> Vec<Hit> {
        let filter = |id: &usize| alive.get(*id).copied().unwrap_or(false);
        let ef = self.params.ef_search.max(k);
        let mut hits: Vec<Hit> = self
            .graph
            .search_filter(query, k, ef, Some(&filter))
            .into_iter()
            .map(|n| Hit {
                slot: n.d_id,
                // DistL2 is the root of the sum of squares.
                d2: n.distance * n.distance,
            })
            .filter(|h| h.d2 <= max_d2)
            .collect();
        hits.sort();
        hits
    }
}
