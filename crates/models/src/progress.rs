//! Progress reporting for long operations (downloads, hashing, extraction, import).
//!
//! The crate reports; it never draws. The CLI draws bars, libraries and tests pass
//! [`NoProgress`].

use crate::Pack;

/// The phases of making a pack available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The package client is downloading the archive.
    Download,
    /// Hashing the archive against the pinned SHA-256.
    Verify,
    /// Unpacking the needed files into the cache.
    Extract,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Download => "downloading",
            Phase::Verify => "verifying",
            Phase::Extract => "extracting",
        })
    }
}

/// Receives progress of [`crate::ModelStore::ensure`] (positions are bytes) and of
/// [`crate::ModelStore::export`] (steps).
pub trait Progress: Sync {
    /// A phase starts; `total` is the expected number of bytes when known.
    fn begin(&self, pack: Pack, phase: Phase, total: Option<u64>);
    /// Absolute position within the current phase.
    fn position(&self, bytes: u64);
    /// The current phase ended successfully.
    fn end(&self);
    /// A free-form note (e.g. "already present").
    fn note(&self, _pack: Pack, _message: &str) {}
    /// Step `done` of `total` of a job of several files (an export) starts: `what`.
    fn step(&self, _done: u64, _total: u64, _what: &str) {}
}

/// Reports nothing: for libraries, servers and tests.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn begin(&self, _: Pack, _: Phase, _: Option<u64>) {}
    fn position(&self, _: u64) {}
    fn end(&self) {}
}
