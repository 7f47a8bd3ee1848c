//! The labelled set: a manifest of (image, identity) and the pairs to compare.
//!
//! Manifest: CSV with a header holding at least `file` (or `image`) and `identity`;
//! other columns are ignored, so the East-Asian set's own `manifest.csv` reads as is.
//! Pairs: CSV with `file_a`, `file_b` and `same` (1/0), as that set's `pairs.csv`.
//! Without a pairs file every genuine and every cross-identity pair is formed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::{CalibrationError, Result};

/// One labelled photo.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The file as the manifest names it (relative to the image directory).
    pub file: String,
    /// The person it shows.
    pub identity: String,
}

/// A labelled set of photos.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The photos, in manifest order.
    pub entries: Vec<Entry>,
    /// Where relative file names are resolved.
    pub image_dir: PathBuf,
}

/// Two photos to compare, by index into [`Manifest::entries`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    /// First photo.
    pub a: usize,
    /// Second photo.
    pub b: usize,
    /// Whether both show the same person.
    pub genuine: bool,
}

fn column(headers: &csv::StringRecord, names: &[&str], path: &Path) -> Result<usize> {
    headers
        .iter()
        .position(|h| names.contains(&h.trim()))
        .ok_or_else(|| {
            CalibrationError::csv(path, format!("no column named {}", names.join(" or ")))
        })
}

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    let file = std::fs::File::open(path).map_err(CalibrationError::io(path))?;
    Ok(csv::ReaderBuilder::new().flexible(false).from_reader(file))
}

impl Manifest {
    /// Reads a manifest; relative files resolve against `image_dir` (default: the
    /// manifest's own directory).
    pub fn read(path: &Path, image_dir: Option<&Path>) -> Result<Manifest> {
        let mut rdr = reader(path)?;
        let headers = rdr
            .headers()
            .map_err(|e| CalibrationError::csv(path, e))?
            .clone();
        let file_col = column(&headers, &["file", "image"], path)?;
        let id_col = column(&headers, &["identity"], path)?;
        let mut entries = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| CalibrationError::csv(path, e))?;
            let field = |c: usize| rec.get(c).map(str::trim).unwrap_or_default().to_string();
            let (file, identity) = (field(file_col), field(id_col));
            if file.is_empty() || identity.is_empty() {
                return Err(CalibrationError::csv(
                    path,
                    format!("row {}: empty file or identity", i + 2),
                ));
            }
            entries.push(Entry { file, identity });
        }
        let image_dir = match image_dir {
            Some(d) => d.to_path_buf(),
            None => path.parent().unwrap_or(Path::new(".")).to_path_buf(),
        };
        Manifest::new(entries, image_dir)
    }

    /// A manifest from entries; files must be unique.
    pub fn new(entries: Vec<Entry>, image_dir: PathBuf) -> Result<Manifest> {
        let mut seen = HashMap::new();
        for e in &entries {
            if seen.insert(e.file.as_str(), ()).is_some() {
                return Err(CalibrationError::InvalidSet(format!(
                    "{} is listed twice",
                    e.file
                )));
            }
        }
        Ok(Manifest { entries, image_dir })
    }

    /// The path of an entry's photo.
    pub fn path(&self, i: usize) -> PathBuf {
        self.image_dir.join(&self.entries[i].file)
    }

    /// Distinct identities.
    pub fn identities(&self) -> usize {
        let mut ids: Vec<&str> = self.entries.iter().map(|e| e.identity.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Every genuine pair and every cross-identity pair, in manifest order.
    pub fn all_pairs(&self) -> Vec<Pair> {
        let n = self.entries.len();
        let mut pairs = Vec::with_capacity(n * n.saturating_sub(1) / 2);
        for a in 0..n {
            for b in a + 1..n {
                pairs.push(Pair {
                    a,
                    b,
                    genuine: self.entries[a].identity == self.entries[b].identity,
                });
            }
        }
        pairs
    }

    /// Reads a pairs file naming photos of this manifest. A pair's `same` flag must
    /// agree with the manifest's identities: a mislabelled pair would silently bend
    /// every rate.
    pub fn read_pairs(&self, path: &Path) -> Result<Vec<Pair>> {
        let index: HashMap<&str, usize> = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.file.as_str(), i))
            .collect();
        let mut rdr = reader(path)?;
        let headers = rdr
            .headers()
            .map_err(|e| CalibrationError::csv(path, e))?
            .clone();
        let (ca, cb, cs) = (
            column(&headers, &["file_a"], path)?,
            column(&headers, &["file_b"], path)?,
            column(&headers, &["same"], path)?,
        );
        let mut pairs = Vec::new();
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| CalibrationError::csv(path, e))?;
            let row = i + 2;
            let get = |c: usize| rec.get(c).map(str::trim).unwrap_or_default();
            let find = |c: usize| {
                index.get(get(c)).copied().ok_or_else(|| {
                    CalibrationError::csv(
                        path,
                        format!("row {row}: {} is not in the manifest", get(c)),
                    )
                })
            };
            let (a, b) = (find(ca)?, find(cb)?);
            let genuine = match get(cs) {
                "1" => true,
                "0" => false,
                other => {
                    return Err(CalibrationError::csv(
                        path,
                        format!("row {row}: same must be 1 or 0, not {other:?}"),
                    ))
                }
            };
            if a == b || genuine != (self.entries[a].identity == self.entries[b].identity) {
                return Err(CalibrationError::csv(
                    path,
                    format!("row {row}: the pair disagrees with the manifest's identities"),
                ));
            }
            pairs.push(Pair { a, b, genuine });
        }
        Ok(pairs)
    }
}
