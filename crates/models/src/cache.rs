//! The cache of converted ONNX graphs under `ROOT/onnx/` (layout in `docs/models.md`).
//!
//! An entry's name says what it was made from and what it must contain:
//! `<stem>-<source key>-<converter>.<content>.onnx`, where the source key is the first 16
//! hex digits of a SHA-256 over the converter tag and every source file's name, length
//! and bytes, and the content is the first 16 hex digits of the SHA-256 of the entry's
//! own bytes. A new pack, a changed shard or a new converter gives a new source key, so a
//! stale entry is never found; an entry whose bytes no longer hash to its name (a torn
//! write after a crash, a disk error, a hand edit) is deleted and rebuilt, never loaded.
//! Entries are written to a temporary file and renamed into place: several processes
//! starting at once may all convert, but every one of them renames a complete file, and
//! conversion is deterministic, so they rename the same bytes to the same name.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fetch::hex;
use crate::ModelError;

/// Hex digits of a SHA-256 kept in a name: 64 bits, plenty to tell damage from content.
const NAME_HEX: usize = 16;

/// A converted graph and whether it came from the cache.
#[derive(Clone, Debug)]
pub struct CachedOnnx {
    /// The ONNX model.
    pub bytes: Vec<u8>,
    /// The cache file it was read from or written to.
    pub path: PathBuf,
    /// What happened on this call.
    pub origin: Origin,
}

/// How a [`CachedOnnx`] was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Read from an intact cache entry.
    Cached,
    /// No entry for these sources and converter: converted and written.
    Converted,
    /// An entry existed but its bytes did not match its name: deleted, converted again.
    Rebuilt,
    /// Read from a directory exported for a device, its SHA-256 checked against the
    /// directory's manifest.
    Exported,
}

/// Reads a cached conversion of `sources` by `converter`, or converts and caches it.
pub(crate) fn converted_onnx(
    dir: &Path,
    stem: &str,
    sources: &[PathBuf],
    converter: &str,
    convert: impl FnOnce() -> Result<Vec<u8>, String>,
) -> Result<CachedOnnx, ModelError> {
    let plain = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if !plain(stem) || !plain(converter) {
        return Err(ModelError::Convert {
            model: stem.to_string(),
            why: format!(
                "cache names must be plain words (stem {stem:?}, converter {converter:?})"
            ),
        });
    }
    let prefix = format!("{stem}-{}-{converter}.", source_key(sources, converter)?);
    let mut origin = Origin::Converted;
    for path in entries(dir, &prefix)? {
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            // Deleted by another process that found it damaged: convert below.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ModelError::io(&path, e)),
        };
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == entry_name(&prefix, &bytes) {
            return Ok(CachedOnnx {
                bytes,
                path,
                origin: Origin::Cached,
            });
        }
        origin = Origin::Rebuilt;
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(ModelError::io(&path, e)),
        }
    }
    let bytes = convert().map_err(|why| ModelError::Convert {
        model: stem.to_string(),
        why,
    })?;
    fs::create_dir_all(dir).map_err(|e| ModelError::io(dir, e))?;
    let path = dir.join(entry_name(&prefix, &bytes));
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| ModelError::io(dir, e))?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(|e| ModelError::io(tmp.path(), e))?;
    tmp.persist(&path)
        .map_err(|e| ModelError::io(&path, e.error))?;
    Ok(CachedOnnx {
        bytes,
        path,
        origin,
    })
}

fn entry_name(prefix: &str, bytes: &[u8]) -> String {
    format!("{prefix}{}.onnx", &hex(&Sha256::digest(bytes))[..NAME_HEX])
}

/// The cache files of one source key (normally one; none when absent).
fn entries(dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, ModelError> {
    let list = match fs::read_dir(dir) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(ModelError::io(dir, e)),
    };
    let mut out = Vec::new();
    for entry in list {
        let entry = entry.map_err(|e| ModelError::io(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let matches = name.strip_prefix(prefix).is_some_and(|rest| {
            rest.strip_suffix(".onnx")
                .is_some_and(|h| h.len() == NAME_HEX && h.bytes().all(|b| b.is_ascii_hexdigit()))
        });
        if matches {
            out.push(entry.path());
        }
    }
    out.sort();
    Ok(out)
}

/// SHA-256 over the converter tag and each source's name, length and bytes (streamed:
/// a shard can be tens of megabytes), first 16 hex digits.
fn source_key(sources: &[PathBuf], converter: &str) -> Result<String, ModelError> {
    let mut h = Sha256::new();
    h.update(b"renlian converted onnx\0");
    h.update(converter.as_bytes());
    h.update([0]);
    let mut buf = vec![0u8; 1 << 16];
    for path in sources {
        let mut file = fs::File::open(path).map_err(|e| ModelError::io(path, e))?;
        let len = file.metadata().map_err(|e| ModelError::io(path, e))?.len();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        h.update(name.as_bytes());
        h.update([0]);
        h.update(len.to_le_bytes());
        loop {
            let n = file.read(&mut buf).map_err(|e| ModelError::io(path, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(hex(&h.finalize())[..NAME_HEX].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn source(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, bytes).unwrap();
        p
    }

    /// A "converter" that records its calls and returns a function of its input.
    fn run(dir: &Path, sources: &[PathBuf], converter: &str, calls: &Cell<u32>) -> CachedOnnx {
        converted_onnx(&dir.join("onnx"), "net", sources, converter, || {
            calls.set(calls.get() + 1);
            let mut out = converter.as_bytes().to_vec();
            for s in sources {
                out.extend(fs::read(s).unwrap());
            }
            Ok(out)
        })
        .unwrap()
    }

    #[test]
    fn key_covers_sources_and_converter_and_damage_is_rebuilt() {
        let tmp = tempfile::tempdir().unwrap();
        let a = source(tmp.path(), "net.json", b"{graph}");
        let b = source(tmp.path(), "net.bin", b"weights v1");
        let sources = [a, b.clone()];
        let calls = Cell::new(0);

        let first = run(tmp.path(), &sources, "t1", &calls);
        assert_eq!(first.origin, Origin::Converted);
        let again = run(tmp.path(), &sources, "t1", &calls);
        assert_eq!((again.origin, calls.get()), (Origin::Cached, 1));
        assert_eq!(again.bytes, first.bytes);
        assert_eq!(again.path, first.path);

        // A new converter version misses, and leaves the old entry alone.
        let v2 = run(tmp.path(), &sources, "t2", &calls);
        assert_eq!((v2.origin, calls.get()), (Origin::Converted, 2));
        assert_ne!(v2.path, first.path);
        assert!(first.path.is_file());

        // A changed shard (same length) misses too.
        fs::write(&b, b"weights v2").unwrap();
        let changed = run(tmp.path(), &sources, "t1", &calls);
        assert_eq!((changed.origin, calls.get()), (Origin::Converted, 3));
        assert_eq!(changed.bytes, b"t1{graph}weights v2");

        // One flipped byte: detected, deleted, rebuilt, and intact afterwards.
        let mut bytes = fs::read(&changed.path).unwrap();
        bytes[3] ^= 1;
        fs::write(&changed.path, &bytes).unwrap();
        let rebuilt = run(tmp.path(), &sources, "t1", &calls);
        assert_eq!((rebuilt.origin, calls.get()), (Origin::Rebuilt, 4));
        assert_eq!(rebuilt.bytes, changed.bytes);
        assert_eq!(fs::read(&rebuilt.path).unwrap(), changed.bytes);
        // A truncated (torn) entry likewise.
        fs::write(&rebuilt.path, &changed.bytes[..5]).unwrap();
        let rebuilt = run(tmp.path(), &sources, "t1", &calls);
        assert_eq!((rebuilt.origin, calls.get()), (Origin::Rebuilt, 5));
        let hit = run(tmp.path(), &sources, "t1", &calls);
        assert_eq!((hit.origin, calls.get()), (Origin::Cached, 5));
    }

    #[test]
    fn concurrent_first_use_leaves_one_intact_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let sources = [source(tmp.path(), "net.json", &[7u8; 300_000])];
        let dir = tmp.path().join("onnx");
        let results: Vec<CachedOnnx> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    s.spawn(|| {
                        converted_onnx(&dir, "net", &sources, "t1", || {
                            Ok(fs::read(&sources[0]).unwrap())
                        })
                        .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for r in &results {
            assert_eq!(r.bytes.len(), 300_000);
            assert_eq!(r.path, results[0].path);
        }
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let calls = Cell::new(0);
        let hit = converted_onnx(&dir, "net", &sources, "t1", || {
            calls.set(1);
            Ok(Vec::new())
        })
        .unwrap();
        assert_eq!((hit.origin, calls.get()), (Origin::Cached, 0));
    }

    #[test]
    fn names_that_could_escape_the_directory_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let sources = [source(tmp.path(), "a", b"x")];
        for (stem, conv) in [("../net", "t1"), ("net", "t/1"), ("", "t1")] {
            let err = converted_onnx(tmp.path(), stem, &sources, conv, || Ok(vec![1])).unwrap_err();
            assert!(matches!(err, ModelError::Convert { .. }), "{err}");
        }
    }
}
