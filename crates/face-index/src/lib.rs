//! In-memory 1:N search over face descriptors, shared by the server's gallery and the
//! on-device gallery.
//!
//! What it is for: one set of faces (a server group, or a device's whole gallery) held
//! as contiguous descriptors and searched by Euclidean distance, exactly below
//! [`IndexConfig::ann_min_faces`] and through an inverted file of 8-bit codes with
//! exact re-ranking (IVF-SQ8) above it
//! ([`FaceIndex`]); the distance kernel [`squared_l2`]; and synthetic descriptors for
//! tests and benchmarks ([`synthetic`]).
//!
//! What it is not for: storage, ids' syntax, scores. Face and person ids are the
//! caller's types (any `Clone + Eq + Hash` value), so the server keys faces by its
//! IAI strings and the device by its own ids. No database, async runtime or logging:
//! the offline SDK links it.

mod ann;
mod exact;
mod index;
mod kernels;
pub mod synthetic;

pub use ann::AnnParams;
pub use exact::squared_l2;
pub use index::{AnnBuilder, FaceIndex, IndexConfig, Neighbour, Strategy, TrainingSample};
