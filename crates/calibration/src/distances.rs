//! Per-pair distances, the data every figure and the score map are computed from.
//!
//! CSV columns `population,file_a,file_b,same,distance`, distances written with 6
//! decimals. Figures are always computed from distances rounded the same way, so the
//! committed CSV reproduces the committed tables exactly, without the photos.

use std::path::Path;

use serde::{Deserialize, Serialize};
use vision::Descriptor;

use crate::describe::Outcome;
use crate::error::{CalibrationError, Result};
use crate::manifest::{Manifest, Pair};

/// One compared pair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PairDistance {
    /// The population the pair belongs to.
    pub population: String,
    /// First photo, as the manifest names it.
    pub file_a: String,
    /// Second photo.
    pub file_b: String,
    /// 1 when both show the same person, else 0.
    pub same: u8,
    /// Euclidean distance of the two descriptors, rounded to 6 decimals.
    pub distance: f64,
}

/// Rounds as the CSV stores it.
pub fn round6(d: f64) -> f64 {
    (d * 1e6).round() / 1e6
}

/// Distances of the pairs whose photos both have a descriptor; pairs touching a photo
/// without one are left out (the outcomes say which).
pub fn measure(
    population: &str,
    manifest: &Manifest,
    outcomes: &[Outcome],
    pairs: &[Pair],
) -> Vec<PairDistance> {
    let descriptors: Vec<Option<Descriptor>> = outcomes.iter().map(Outcome::descriptor).collect();
    pairs
        .iter()
        .filter_map(|p| {
            let (a, b) = (descriptors[p.a].as_ref()?, descriptors[p.b].as_ref()?);
            Some(PairDistance {
                population: population.to_string(),
                file_a: manifest.entries[p.a].file.clone(),
                file_b: manifest.entries[p.b].file.clone(),
                same: u8::from(p.genuine),
                distance: round6(a.distance(b)),
            })
        })
        .collect()
}

/// Writes the CSV.
pub fn write_csv(path: &Path, rows: &[PairDistance]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| CalibrationError::csv(path, e))?;
    w.write_record(["population", "file_a", "file_b", "same", "distance"])
        .map_err(|e| CalibrationError::csv(path, e))?;
    for r in rows {
        w.write_record([
            r.population.as_str(),
            &r.file_a,
            &r.file_b,
            &r.same.to_string(),
            &format!("{:.6}", r.distance),
        ])
        .map_err(|e| CalibrationError::csv(path, e))?;
    }
    w.flush().map_err(CalibrationError::io(path))
}

/// Reads a CSV written by [`write_csv`].
pub fn read_csv(path: &Path) -> Result<Vec<PairDistance>> {
    let file = std::fs::File::open(path).map_err(CalibrationError::io(path))?;
    let mut rdr = csv::Reader::from_reader(file);
    let mut rows = Vec::new();
    for rec in rdr.deserialize() {
        let r: PairDistance = rec.map_err(|e| CalibrationError::csv(path, e))?;
        if r.same > 1 || !r.distance.is_finite() || r.distance < 0.0 {
            return Err(CalibrationError::csv(path, format!("bad row {r:?}")));
        }
        rows.push(r);
    }
    Ok(rows)
}

/// Genuine and impostor distances of one population, each sorted ascending.
pub fn split(rows: &[PairDistance], population: &str) -> (Vec<f64>, Vec<f64>) {
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for r in rows.iter().filter(|r| r.population == population) {
        if r.same == 1 {
            genuine.push(r.distance);
        } else {
            impostor.push(r.distance);
        }
    }
    genuine.sort_by(f64::total_cmp);
    impostor.sort_by(f64::total_cmp);
    (genuine, impostor)
}

/// The populations present, in order of first appearance.
pub fn populations(rows: &[PairDistance]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r.population) {
            out.push(r.population.clone());
        }
    }
    out
}
