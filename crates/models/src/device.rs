//! A model directory exported for a device (`renlian models export --to DIR`): the
//! files the offline SDK runs and a manifest naming each with its SHA-256. Read with no
//! network and no writes; every file is hashed against the manifest when it is loaded.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fetch::hex;
use crate::ModelError;

/// The manifest's file name inside an exported directory.
pub const DEVICE_MANIFEST: &str = "manifest.json";

/// The manifest format this build writes and reads. Bumped when a field's meaning
/// changes, so that an older SDK refuses a directory it would misread.
pub const DEVICE_FORMAT: u32 = 1;

/// Marks a manifest as an export's: a pack directory in the cache has a
/// `manifest.json` too, and an export must never be mistaken for one (or the reverse).
pub(crate) const DEVICE_KIND: &str = "renlian-device-models";

/// `manifest.json` of an exported directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeviceManifest {
    /// [`DEVICE_FORMAT`] when written.
    pub format: u32,
    /// Always `renlian-device-models`.
    pub kind: String,
    /// Every file of the directory but the manifest, in load order.
    pub files: Vec<ExportedFile>,
}

/// One file of an exported directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedFile {
    /// Plain file name inside the directory (`resnet-descriptor.onnx`).
    pub name: String,
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
    /// What it is and what loads it.
    pub what: String,
    /// Where it came from.
    pub from: Provenance,
}

/// The package files an exported file was made from, and by what.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The source package as its client spells the requirement
    /// (`face-recognition-models==0.3.0`).
    pub package: String,
    /// The package's files it was made from, with their SHA-256.
    pub files: Vec<SourceFile>,
    /// The converter tag (`i1`: this crate's dlib importer, `tfjs-c1`: the `tfjs`
    /// crate), or `None` for a file copied as is.
    pub converter: Option<String>,
}

/// A file of a source package.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceFile {
    pub name: String,
    pub sha256: String,
}

impl DeviceManifest {
    /// Parses and checks a manifest's bytes (format, kind, plain unique file names).
    pub(crate) fn parse(bytes: &[u8]) -> Result<DeviceManifest, String> {
        let m: DeviceManifest = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if m.kind != DEVICE_KIND {
            return Err(format!(
                "its manifest is of kind {:?}, not {DEVICE_KIND:?}",
                m.kind
            ));
        }
        if m.format != DEVICE_FORMAT {
            return Err(format!(
                "its manifest has format {}, this build reads format {DEVICE_FORMAT}",
                m.format
            ));
        }
        for (i, f) in m.files.iter().enumerate() {
            if !plain_name(&f.name) || f.name == DEVICE_MANIFEST {
                return Err(format!(
                    "the manifest lists {:?}, not a plain file name",
                    f.name
                ));
            }
            if m.files[..i].iter().any(|g| g.name == f.name) {
                return Err(format!("the manifest lists {} twice", f.name));
            }
        }
        Ok(m)
    }

    pub fn file(&self, name: &str) -> Option<&ExportedFile> {
        self.files.iter().find(|f| f.name == name)
    }
}

/// A name that stays inside the directory: one component, not hidden.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\'])
        && Path::new(name).file_name().is_some_and(|n| n == name)
}

/// An opened exported directory: its manifest, read once.
#[derive(Debug)]
pub(crate) struct DeviceDir {
    pub dir: PathBuf,
    pub manifest: DeviceManifest,
}

impl DeviceDir {
    /// Reads and checks the manifest; the files are checked when they are read.
    pub fn open(dir: PathBuf) -> Result<DeviceDir, ModelError> {
        let path = dir.join(DEVICE_MANIFEST);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::ExportMissing {
                    dir,
                    file: DEVICE_MANIFEST.to_string(),
                })
            }
            Err(e) => return Err(ModelError::io(&path, e)),
        };
        let manifest = DeviceManifest::parse(&bytes).map_err(|why| ModelError::ExportManifest {
            dir: dir.clone(),
            why,
        })?;
        Ok(DeviceDir { dir, manifest })
    }

    /// The bytes of `name`, after checking them against the manifest.
    pub fn read(&self, name: &str, what: &str) -> Result<Vec<u8>, ModelError> {
        let Some(entry) = self.manifest.file(name) else {
            return Err(self.not_exported(what));
        };
        let path = self.dir.join(name);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ModelError::ExportMissing {
                    dir: self.dir.clone(),
                    file: name.to_string(),
                })
            }
            Err(e) => return Err(ModelError::io(&path, e)),
        };
        let actual = hex(&Sha256::digest(&bytes));
        if actual != entry.sha256 || bytes.len() as u64 != entry.bytes {
            return Err(ModelError::ExportAltered {
                dir: self.dir.clone(),
                file: name.to_string(),
                expected: entry.sha256.clone(),
                actual,
            });
        }
        Ok(bytes)
    }

    pub fn not_exported(&self, what: &str) -> ModelError {
        ModelError::NotExported {
            dir: self.dir.clone(),
            what: what.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(files: &[&str]) -> DeviceManifest {
        DeviceManifest {
            format: DEVICE_FORMAT,
            kind: DEVICE_KIND.to_string(),
            files: files
                .iter()
                .map(|name| ExportedFile {
                    name: name.to_string(),
                    bytes: 3,
                    sha256: hex(&Sha256::digest(b"abc")),
                    what: "test".into(),
                    from: Provenance {
                        package: "p==1".into(),
                        files: Vec::new(),
                        converter: None,
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn manifests_that_could_escape_or_mislead_are_refused() {
        let ok = serde_json::to_vec(&manifest(&["a.onnx", "b.dat"])).unwrap();
        assert!(DeviceManifest::parse(&ok).is_ok());
        for bad in [
            manifest(&["../a.onnx"]),
            manifest(&["sub/a.onnx"]),
            manifest(&[".hidden"]),
            manifest(&["manifest.json"]),
            manifest(&["a.onnx", "a.onnx"]),
            DeviceManifest {
                format: DEVICE_FORMAT + 1,
                ..manifest(&["a.onnx"])
            },
            DeviceManifest {
                kind: "something-else".into(),
                ..manifest(&["a.onnx"])
            },
        ] {
            let bytes = serde_json::to_vec(&bad).unwrap();
            assert!(DeviceManifest::parse(&bytes).is_err(), "{bad:?}");
        }
        // A pack directory's manifest is not an export's.
        let pack = br#"{"source":"p==1","archive_sha256":"00","files":[]}"#;
        assert!(DeviceManifest::parse(pack).is_err());
    }

    #[test]
    fn reads_are_checked_against_the_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        let m = manifest(&["a.onnx", "b.dat"]);
        fs::write(
            tmp.path().join(DEVICE_MANIFEST),
            serde_json::to_vec(&m).unwrap(),
        )
        .unwrap();
        fs::write(tmp.path().join("a.onnx"), b"abc").unwrap();
        fs::write(tmp.path().join("b.dat"), b"abd").unwrap();
        let d = DeviceDir::open(tmp.path().to_path_buf()).unwrap();
        assert_eq!(d.read("a.onnx", "a").unwrap(), b"abc");
        let err = d.read("b.dat", "b").unwrap_err();
        assert!(
            matches!(err, ModelError::ExportAltered { ref file, .. } if file == "b.dat"),
            "{err}"
        );
        fs::remove_file(tmp.path().join("a.onnx")).unwrap();
        let err = d.read("a.onnx", "a").unwrap_err();
        assert!(
            matches!(err, ModelError::ExportMissing { ref file, .. } if file == "a.onnx"),
            "{err}"
        );
        let err = d.read("c.onnx", "the c model").unwrap_err();
        assert!(matches!(err, ModelError::NotExported { .. }), "{err}");
        assert!(err.to_string().contains("the c model"), "{err}");
    }
}
