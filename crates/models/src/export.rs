//! Writing a model directory for a device (`renlian models export --to DIR`): what the
//! offline SDK runs, converted, with a manifest of SHA-256s, made complete or not at
//! all (layout in `docs/models.md`).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::device::{
    DeviceManifest, ExportedFile, Provenance, SourceFile, DEVICE_FORMAT, DEVICE_KIND,
    DEVICE_MANIFEST,
};
use crate::fetch::hex;
use crate::progress::Progress;
use crate::store::graph_stem;
use crate::{DlibModel, GraphConverter, ModelError, ModelStore, Pack, IMPORTER_VERSION};

/// The MMOD detector's options (window, NMS, pyramid) in an export, as JSON: the
/// detector's `.dat` is not exported, its weights are in the ONNX.
pub(crate) const MMOD_OPTIONS: &str = "mmod-detector.options.json";

/// The TensorFlow.js graphs of the `human-models` pack a device runs: static liveness
/// (antispoof, liveness) and the face mesh (facemesh, iris), from whose 90 points the
/// quality score is computed. The attribute graphs (faceres, emotion, gear) are not
/// exported.
pub const DEVICE_GRAPHS: [&str; 4] = [
    "antispoof.json",
    "liveness.json",
    "facemesh.json",
    "iris.json",
];

/// What [`ModelStore::export`] wrote (or found already written).
#[derive(Clone, Debug, Serialize)]
pub struct ExportReport {
    pub dir: PathBuf,
    /// The manifest's entries, in its order.
    pub files: Vec<ExportedFile>,
    /// Bytes of every file, the manifest included: the directory's size.
    pub total_bytes: u64,
    /// The directory already held exactly this export (every byte compared), so
    /// nothing was written.
    pub unchanged: bool,
}

pub(crate) fn onnx_name(stem: &str) -> String {
    format!("{stem}.onnx")
}

pub(crate) fn dat_name(m: DlibModel) -> String {
    format!("{}.dat", m.name())
}

/// One file of the export, in memory (≈ 35 MB in all).
struct Item {
    entry: ExportedFile,
    bytes: Vec<u8>,
}

impl Item {
    fn new(name: String, bytes: Vec<u8>, what: &str, from: Provenance) -> Item {
        Item {
            entry: ExportedFile {
                name,
                bytes: bytes.len() as u64,
                sha256: hex(&Sha256::digest(&bytes)),
                what: what.to_string(),
                from,
            },
            bytes,
        }
    }
}

impl ModelStore {
    /// Writes to `to` every file the offline SDK needs and nothing else: the MMOD
    /// detector (ONNX and its options as JSON), the 5-point shape predictor (`.dat`),
    /// the ResNet descriptor (ONNX), and the graphs of [`DEVICE_GRAPHS`] as ONNX
    /// (converted by `graphs`), plus `manifest.json` (format, and for each file its
    /// name, size, SHA-256, what it is and where it came from). Not the 68-point
    /// predictor (its training data's creators ask that it not be used commercially)
    /// and not the attribute graphs. Packs are fetched and conversions made first when
    /// needed (reported on `progress`).
    ///
    /// Idempotent: a directory already holding exactly this export is left untouched
    /// (`unchanged`). Otherwise the files are written to a hidden directory beside
    /// `to` and renamed into place, replacing a previous export, so a killed export
    /// never leaves a directory at `to` that looks complete. `to` must be absent,
    /// empty, or an earlier export: anything else is refused.
    pub fn export(
        &self,
        to: &Path,
        graphs: &GraphConverter,
        progress: &dyn Progress,
    ) -> Result<ExportReport, ModelError> {
        if self.is_offline() {
            return Err(ModelError::NotExported {
                dir: self.root().to_path_buf(),
                what: "exporting (export from the model cache)".to_string(),
            });
        }
        for pack in Pack::ALL {
            self.ensure(pack, progress)?;
        }
        let total = 4 + DEVICE_GRAPHS.len() as u64 + 1;
        let mut items = Vec::new();
        let dlib_from = |m: DlibModel, converter: Option<String>| -> Result<_, ModelError> {
            let path = self.dlib_path(m)?;
            let sha256 = file_sha256(&path)?;
            // The pin was checked at extraction; an export never copies a file changed since.
            if sha256 != m.sha256() {
                return Err(ModelError::ChecksumMismatch {
                    pack: Pack::Dlib,
                    file: m.file_name().to_string(),
                    expected: m.sha256().to_string(),
                    actual: sha256,
                });
            }
            Ok(Provenance {
                package: Pack::Dlib.source().to_string(),
                files: vec![SourceFile {
                    name: m.file_name().to_string(),
                    sha256,
                }],
                converter,
            })
        };
        let importer = Some(format!("i{IMPORTER_VERSION}"));

        let mmod = DlibModel::MmodDetector;
        progress.step(1, total, &onnx_name(mmod.name()));
        items.push(Item::new(
            onnx_name(mmod.name()),
            self.onnx(mmod)?,
            "MMOD face detector (dlib), ONNX: input image [1,3,H,W] raw RGB, output the \
             score map [1,1,H',W']; vision::Engine",
            dlib_from(mmod, importer.clone())?,
        ));

        progress.step(2, total, MMOD_OPTIONS);
        let options = self.mmod_options()?;
        let json = serde_json::to_vec_pretty(&options).map_err(|e| ModelError::Convert {
            model: MMOD_OPTIONS.to_string(),
            why: e.to_string(),
        })?;
        // The device must run with exactly these numbers: refuse a lossy float round trip.
        let back: Result<crate::dlib::MmodOptions, _> = serde_json::from_slice(&json);
        if back.ok().as_ref() != Some(&options) {
            return Err(ModelError::Convert {
                model: MMOD_OPTIONS.to_string(),
                why: "the options do not read back equal from their JSON".to_string(),
            });
        }
        items.push(Item::new(
            MMOD_OPTIONS.to_string(),
            json,
            "the MMOD detector's options read from its .dat (windows, NMS, pyramid, means, \
             score-map geometry), JSON; vision::Engine",
            dlib_from(mmod, importer.clone())?,
        ));

        let sp5 = DlibModel::ShapePredictor5;
        progress.step(3, total, &dat_name(sp5));
        let path = self.dlib_path(sp5)?;
        items.push(Item::new(
            dat_name(sp5),
            fs::read(&path).map_err(|e| ModelError::io(&path, e))?,
            "dlib's 5-point shape predictor (eye corners, nose), dlib's .dat as is; \
             vision::Engine",
            dlib_from(sp5, None)?,
        ));

        let resnet = DlibModel::ResnetDescriptor;
        progress.step(4, total, &onnx_name(resnet.name()));
        items.push(Item::new(
            onnx_name(resnet.name()),
            self.onnx(resnet)?,
            "ResNet face descriptor (dlib), ONNX: input image [N,3,150,150] raw RGB face \
             chips, output descriptor [N,128]; vision::Engine",
            dlib_from(resnet, importer)?,
        ));

        for (i, file) in DEVICE_GRAPHS.iter().enumerate() {
            let name = onnx_name(graph_stem(file));
            progress.step(5 + i as u64, total, &name);
            let onnx = self.graph_onnx(file, graphs)?;
            let json = self.human_model_path(file)?;
            let sources = (graphs.sources)(&json).map_err(|why| ModelError::Convert {
                model: file.to_string(),
                why,
            })?;
            let files = sources
                .iter()
                .map(|p| {
                    Ok(SourceFile {
                        name: p
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        sha256: file_sha256(p)?,
                    })
                })
                .collect::<Result<Vec<_>, ModelError>>()?;
            items.push(Item::new(
                name,
                onnx.bytes,
                graph_what(file),
                Provenance {
                    package: Pack::HumanModels.source().to_string(),
                    files,
                    converter: Some(graphs.tag.clone()),
                },
            ));
        }

        let manifest = DeviceManifest {
            format: DEVICE_FORMAT,
            kind: DEVICE_KIND.to_string(),
            files: items.iter().map(|i| i.entry.clone()).collect(),
        };
        let mut manifest_bytes =
            serde_json::to_vec_pretty(&manifest).map_err(|e| ModelError::Convert {
                model: DEVICE_MANIFEST.to_string(),
                why: e.to_string(),
            })?;
        manifest_bytes.push(b'\n');
        let total_bytes =
            manifest_bytes.len() as u64 + items.iter().map(|i| i.entry.bytes).sum::<u64>();

        progress.step(total, total, &format!("writing {}", to.display()));
        let unchanged = write_atomically(to, &items, &manifest_bytes)?;
        Ok(ExportReport {
            dir: to.to_path_buf(),
            files: manifest.files,
            total_bytes,
            unchanged,
        })
    }
}

fn graph_what(file: &str) -> &'static str {
    match file {
        "antispoof.json" => {
            "static liveness, the antispoof graph (Human's), ONNX: input a \
                             [1,128,128,3] face crop, output real; vision::liveness::LivenessNets"
        }
        "liveness.json" => {
            "static liveness, the liveness graph (Human's), ONNX: input a \
                            [1,32,32,3] face crop, output live; vision::liveness::LivenessNets"
        }
        "facemesh.json" => {
            "face mesh (MediaPipe's, from Human), ONNX: input a [1,192,192,3] \
                            face crop, output 468 points and the face flag (IAI's 90 points \
                            and the quality score come from them); vision::mesh::MeshNets"
        }
        "iris.json" => {
            "iris and eyelids (MediaPipe's, from Human), ONNX: input two \
                        [64,64,3] eye crops, output the refined eye points; \
                        vision::mesh::MeshNets"
        }
        _ => "a TensorFlow.js graph converted to ONNX",
    }
}

fn file_sha256(path: &Path) -> Result<String, ModelError> {
    let mut file = File::open(path).map_err(|e| ModelError::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).map_err(|e| ModelError::io(path, e))?;
    Ok(hex(&h.finalize()))
}

/// What is at the destination now.
enum Target {
    Absent,
    Empty,
    Export,
}

fn target_error(to: &Path, why: &str) -> ModelError {
    ModelError::ExportTarget {
        dir: to.to_path_buf(),
        why: why.to_string(),
    }
}

fn classify(to: &Path) -> Result<Target, ModelError> {
    let meta = match fs::symlink_metadata(to) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Target::Absent),
        Err(e) => return Err(ModelError::io(to, e)),
    };
    if !meta.is_dir() {
        return Err(target_error(to, "it exists and is not a directory"));
    }
    let mut entries = fs::read_dir(to).map_err(|e| ModelError::io(to, e))?;
    if entries.next().is_none() {
        return Ok(Target::Empty);
    }
    // Any format of export may be replaced; nothing else is ever deleted.
    let is_export = fs::read(to.join(DEVICE_MANIFEST))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|v| v["kind"] == DEVICE_KIND);
    if is_export {
        Ok(Target::Export)
    } else {
        Err(target_error(
            to,
            "it is not empty and is not a model directory written by `renlian models export`; \
             name a new or empty directory",
        ))
    }
}

/// Whether `to` holds exactly these files and this manifest, and nothing else.
fn holds_exactly(to: &Path, items: &[Item], manifest: &[u8]) -> Result<bool, ModelError> {
    let read = |name: &str| match fs::read(to.join(name)) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ModelError::io(to.join(name), e)),
    };
    if read(DEVICE_MANIFEST)?.as_deref() != Some(manifest) {
        return Ok(false);
    }
    let count = fs::read_dir(to).map_err(|e| ModelError::io(to, e))?.count();
    if count != items.len() + 1 {
        return Ok(false);
    }
    for item in items {
        if read(&item.entry.name)?.as_deref() != Some(&item.bytes[..]) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Removes a directory on drop unless disarmed: the remains of a failed export.
struct RemoveOnDrop(Option<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            // Best effort: the next export to this destination removes it anyway.
            let _ = fs::remove_dir_all(p);
        }
    }
}

/// Writes the export into a hidden directory beside `to` and renames it into place.
/// Returns whether `to` already held exactly this export (then nothing is written).
fn write_atomically(to: &Path, items: &[Item], manifest: &[u8]) -> Result<bool, ModelError> {
    let name = to
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| target_error(to, "it does not end in a directory name"))?
        .to_string();
    let parent = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(|e| ModelError::io(&parent, e))?;
    // Exports beside each other are serialised on their parent directory (a lock on the
    // directory itself, so that nothing is left behind).
    let lock = File::open(&parent).map_err(|e| ModelError::io(&parent, e))?;
    lock.lock().map_err(|e| ModelError::io(&parent, e))?;

    let replacing = match classify(to)? {
        Target::Absent => false,
        Target::Empty => {
            fs::remove_dir(to).map_err(|e| ModelError::io(to, e))?;
            false
        }
        Target::Export => {
            if holds_exactly(to, items, manifest)? {
                return Ok(true);
            }
            true
        }
    };

    // Remains of an export killed before its rename (the lock says none is running).
    let work = parent.join(format!(".{name}.export-new"));
    let old = parent.join(format!(".{name}.export-old"));
    for stale in [&work, &old] {
        match fs::remove_dir_all(stale) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ModelError::io(stale, e)),
        }
    }
    fs::create_dir(&work).map_err(|e| ModelError::io(&work, e))?;
    let mut guard = RemoveOnDrop(Some(work.clone()));
    let write = |name: &str, bytes: &[u8]| -> Result<(), ModelError> {
        let path = work.join(name);
        let mut f = File::create(&path).map_err(|e| ModelError::io(&path, e))?;
        f.write_all(bytes).map_err(|e| ModelError::io(&path, e))?;
        f.sync_all().map_err(|e| ModelError::io(&path, e))
    };
    for item in items {
        write(&item.entry.name, &item.bytes)?;
    }
    // The manifest last: a directory with one is complete.
    write(DEVICE_MANIFEST, manifest)?;
    sync_dir(&work)?;

    if replacing {
        fs::rename(to, &old).map_err(|e| ModelError::io(to, e))?;
        if let Err(e) = fs::rename(&work, to) {
            // Put the previous export back rather than leave nothing.
            let _ = fs::rename(&old, to);
            return Err(ModelError::io(to, e));
        }
        guard.0 = None;
        fs::remove_dir_all(&old).map_err(|e| ModelError::io(&old, e))?;
    } else {
        fs::rename(&work, to).map_err(|e| ModelError::io(to, e))?;
        guard.0 = None;
    }
    sync_dir(&parent)?;
    Ok(false)
}

/// Makes a directory's entries durable (the renames and new files in it).
fn sync_dir(dir: &Path) -> Result<(), ModelError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| ModelError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, bytes: &[u8]) -> Item {
        Item::new(
            name.to_string(),
            bytes.to_vec(),
            "test",
            Provenance {
                package: "p==1".into(),
                files: Vec::new(),
                converter: None,
            },
        )
    }

    fn manifest(items: &[Item]) -> Vec<u8> {
        serde_json::to_vec(&DeviceManifest {
            format: DEVICE_FORMAT,
            kind: DEVICE_KIND.to_string(),
            files: items.iter().map(|i| i.entry.clone()).collect(),
        })
        .unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut n: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        n.sort();
        n
    }

    #[test]
    fn writes_replaces_and_leaves_an_identical_export_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let to = tmp.path().join("device");
        let v1 = [item("a.onnx", b"one"), item("b.dat", b"two")];
        assert!(!write_atomically(&to, &v1, &manifest(&v1)).unwrap());
        assert_eq!(names(&to), ["a.onnx", "b.dat", "manifest.json"]);
        // Nothing hidden is left beside it.
        assert_eq!(names(tmp.path()), ["device"]);

        assert!(write_atomically(&to, &v1, &manifest(&v1)).unwrap());

        // A damaged file makes the next export rewrite the directory.
        fs::write(to.join("b.dat"), b"twO").unwrap();
        assert!(!write_atomically(&to, &v1, &manifest(&v1)).unwrap());
        assert_eq!(fs::read(to.join("b.dat")).unwrap(), b"two");

        // A new export replaces the old one entirely.
        let v2 = [item("c.onnx", b"three")];
        assert!(!write_atomically(&to, &v2, &manifest(&v2)).unwrap());
        assert_eq!(names(&to), ["c.onnx", "manifest.json"]);
        assert_eq!(names(tmp.path()), ["device"]);
    }

    #[test]
    fn remains_of_a_killed_export_are_removed_and_never_at_the_destination() {
        let tmp = tempfile::tempdir().unwrap();
        let to = tmp.path().join("device");
        // What a kill after writing every file, before the rename, leaves.
        let work = tmp.path().join(".device.export-new");
        fs::create_dir(&work).unwrap();
        fs::write(work.join("manifest.json"), b"{}").unwrap();
        assert!(!to.exists());
        let v1 = [item("a.onnx", b"one")];
        write_atomically(&to, &v1, &manifest(&v1)).unwrap();
        assert_eq!(names(tmp.path()), ["device"]);
    }

    #[test]
    fn other_directories_and_files_are_never_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let v1 = [item("a.onnx", b"one")];
        let busy = tmp.path().join("busy");
        fs::create_dir(&busy).unwrap();
        fs::write(busy.join("notes.txt"), b"mine").unwrap();
        let err = write_atomically(&busy, &v1, &manifest(&v1)).unwrap_err();
        assert!(matches!(err, ModelError::ExportTarget { .. }), "{err}");
        assert_eq!(names(&busy), ["notes.txt"]);
        // A pack directory of the cache has a manifest.json too, of another kind.
        fs::write(
            busy.join("manifest.json"),
            br#"{"source":"p==1","files":[]}"#,
        )
        .unwrap();
        let err = write_atomically(&busy, &v1, &manifest(&v1)).unwrap_err();
        assert!(matches!(err, ModelError::ExportTarget { .. }), "{err}");
        let file = tmp.path().join("file");
        fs::write(&file, b"x").unwrap();
        let err = write_atomically(&file, &v1, &manifest(&v1)).unwrap_err();
        assert!(matches!(err, ModelError::ExportTarget { .. }), "{err}");
        // An empty directory is used.
        let empty = tmp.path().join("empty");
        fs::create_dir(&empty).unwrap();
        write_atomically(&empty, &v1, &manifest(&v1)).unwrap();
        assert_eq!(names(&empty), ["a.onnx", "manifest.json"]);
    }
}
