//! One descriptor per labelled photo: the largest face the engine finds, as the API
//! compares the largest face of each image. Photos without a face (or that fail to
//! decode) are kept as outcomes, reported and left out of every pair.
//!
//! Descriptors can be cached in a JSON file keyed by the photo's SHA-256 and the
//! detector's minimum face size, so a set is described once and re-measured freely.
//! The cache holds descriptors of photos that are not ours: keep it outside the
//! repository (e.g. under ~/.cache/renlian).

use std::collections::BTreeMap;
use std::path::Path;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vision::{Descriptor, DescriptorVersion, Engine};

use crate::error::{CalibrationError, Result};
use crate::manifest::Manifest;

/// What the engine made of one photo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// At least one face: the largest one's descriptor.
    Described {
        /// How many faces were found.
        faces: usize,
        /// The largest face's descriptor (version 1).
        descriptor: Vec<f32>,
        /// Its version-2 descriptor (absent in caches written before version 2; such
        /// entries are described again).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        descriptor_v2: Option<Vec<f32>>,
    },
    /// The detector found no face.
    NoFace,
    /// The photo could not be read or decoded.
    Failed {
        /// Why.
        reason: String,
    },
}

impl Outcome {
    /// The descriptor, when there is one.
    pub fn descriptor(&self) -> Option<Descriptor> {
        match self {
            Outcome::Described { descriptor, .. } => Some(Descriptor(descriptor.clone())),
            _ => None,
        }
    }

    /// The descriptor of a version, when there is one.
    pub fn descriptor_of(&self, version: DescriptorVersion) -> Option<Descriptor> {
        match (self, version) {
            (Outcome::Described { descriptor, .. }, DescriptorVersion::V1) => {
                Some(Descriptor(descriptor.clone()))
            }
            (
                Outcome::Described {
                    descriptor_v2: Some(d),
                    ..
                },
                DescriptorVersion::V2,
            ) => Some(Descriptor(d.clone())),
            _ => None,
        }
    }

    /// Whether a cached outcome lacks what this version of the tool records.
    fn is_stale(&self) -> bool {
        matches!(
            self,
            Outcome::Described {
                descriptor_v2: None,
                ..
            }
        )
    }
}

#[derive(Default, Serialize, Deserialize)]
struct Cache {
    /// `"<sha256>/<min_face_size>"` → outcome.
    images: BTreeMap<String, Outcome>,
}

fn describe_one(engine: &Engine, bytes: &[u8]) -> Outcome {
    let described = engine.decode(bytes).and_then(|img| {
        let mut faces = engine.detect(&img)?;
        faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
        let largest = engine.describe_versions(&img, &faces[..faces.len().min(1)])?;
        Ok((faces.len(), largest))
    });
    match described {
        Ok((faces, largest)) => match largest.into_iter().next() {
            Some(d) => Outcome::Described {
                faces,
                descriptor: d.v1.0,
                descriptor_v2: Some(d.v2.0),
            },
            None => Outcome::NoFace,
        },
        Err(e) => Outcome::Failed {
            reason: e.to_string(),
        },
    }
}

/// Describes every photo of the manifest on all cores, reading and updating `cache`
/// when given. Outcomes are in manifest order.
pub fn describe_all(
    engine: &Engine,
    manifest: &Manifest,
    cache: Option<&Path>,
) -> Result<Vec<Outcome>> {
    describe_all_with_progress(engine, manifest, cache, &|| {})
}

/// [`describe_all`], calling `photo_done` once per photo (from the worker threads), for
/// a progress bar.
pub fn describe_all_with_progress(
    engine: &Engine,
    manifest: &Manifest,
    cache: Option<&Path>,
    photo_done: &(dyn Fn() + Sync),
) -> Result<Vec<Outcome>> {
    let mut stored: Cache = match cache {
        Some(p) if p.exists() => {
            let bytes = std::fs::read(p).map_err(CalibrationError::io(p))?;
            serde_json::from_slice(&bytes).map_err(|source| CalibrationError::Json {
                path: p.to_path_buf(),
                source,
            })?
        }
        _ => Cache::default(),
    };
    let min_face = engine.config().detect.min_face_size;
    let results: Vec<(String, Outcome)> = (0..manifest.entries.len())
        .into_par_iter()
        .map(|i| {
            let path = manifest.path(i);
            let described = match std::fs::read(&path) {
                Ok(bytes) => {
                    let key = format!("{:x}/{min_face}", Sha256::digest(&bytes));
                    let outcome = match stored.images.get(&key) {
                        Some(o) if !o.is_stale() => o.clone(),
                        _ => describe_one(engine, &bytes),
                    };
                    (key, outcome)
                }
                Err(e) => (
                    String::new(),
                    Outcome::Failed {
                        reason: format!("{}: {e}", path.display()),
                    },
                ),
            };
            photo_done();
            described
        })
        .collect();
    if let Some(p) = cache {
        for (key, outcome) in &results {
            if !key.is_empty() {
                stored.images.insert(key.clone(), outcome.clone());
            }
        }
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(CalibrationError::io(dir))?;
        }
        let json = serde_json::to_vec(&stored).map_err(|source| CalibrationError::Json {
            path: p.to_path_buf(),
            source,
        })?;
        std::fs::write(p, json).map_err(CalibrationError::io(p))?;
    }
    Ok(results.into_iter().map(|(_, o)| o).collect())
}
