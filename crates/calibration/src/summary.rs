//! From photos to per-pair distances, and from distances to the summary, table and plot.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use vision::Engine;

use crate::describe::{describe_all_with_progress, Outcome};
use crate::distances::{self, PairDistance};
use crate::error::{CalibrationError, Result};
use crate::manifest::{Manifest, Pair};
use crate::metrics::{self, Metrics};
use crate::plot;
use crate::scoremap::{self, Basis, ScoreMap};

/// What became of a labelled set's photos and pairs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SetReport {
    /// The population's name.
    pub population: String,
    /// Photos in the manifest.
    pub images: usize,
    /// Identities in the manifest.
    pub identities: usize,
    /// Photos with a descriptor.
    pub described: usize,
    /// Photos in which more than one face was found (the largest was used).
    pub multi_face: Vec<String>,
    /// Photos in which no face was found (left out, with their pairs).
    pub no_face: Vec<String>,
    /// Photos that could not be read or decoded, with the reason.
    pub failed: Vec<(String, String)>,
    /// Pairs asked for.
    pub pairs: usize,
    /// Pairs measured (both photos described).
    pub measured_pairs: usize,
}

/// Describes a set and measures its pairs (all pairs when `pairs` is `None`).
pub fn measure_set(
    engine: &Engine,
    manifest: &Manifest,
    pairs: Option<Vec<Pair>>,
    population: &str,
    cache: Option<&Path>,
) -> Result<(SetReport, Vec<PairDistance>)> {
    measure_set_with_progress(engine, manifest, pairs, population, cache, &|| {})
}

/// [`measure_set`], calling `photo_done` once per photo described (for a progress bar).
pub fn measure_set_with_progress(
    engine: &Engine,
    manifest: &Manifest,
    pairs: Option<Vec<Pair>>,
    population: &str,
    cache: Option<&Path>,
    photo_done: &(dyn Fn() + Sync),
) -> Result<(SetReport, Vec<PairDistance>)> {
    let pairs = pairs.unwrap_or_else(|| manifest.all_pairs());
    let outcomes = describe_all_with_progress(engine, manifest, cache, photo_done)?;
    let rows = distances::measure(population, manifest, &outcomes, &pairs);
    let mut report = SetReport {
        population: population.to_string(),
        images: manifest.entries.len(),
        identities: manifest.identities(),
        described: 0,
        multi_face: Vec::new(),
        no_face: Vec::new(),
        failed: Vec::new(),
        pairs: pairs.len(),
        measured_pairs: rows.len(),
    };
    for (entry, outcome) in manifest.entries.iter().zip(&outcomes) {
        match outcome {
            Outcome::Described { faces, .. } => {
                report.described += 1;
                if *faces > 1 {
                    report.multi_face.push(entry.file.clone());
                }
            }
            Outcome::NoFace => report.no_face.push(entry.file.clone()),
            Outcome::Failed { reason } => report.failed.push((entry.file.clone(), reason.clone())),
        }
    }
    Ok((report, rows))
}

/// Every figure computed from per-pair distances.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The descriptor model.
    pub model: String,
    /// Figures per population.
    pub populations: Vec<Metrics>,
    /// The score map fitted on the worst population, when one resolves FAR 1e-3.
    pub score_map: Option<ScoreMap>,
    /// Why there is no score map, when there is none.
    pub score_map_missing: Option<String>,
}

/// The summary of a set of per-pair distances.
pub fn summarize(model: &str, rows: &[PairDistance]) -> Summary {
    let pops = distances::populations(rows);
    let populations = pops
        .iter()
        .map(|p| {
            let (g, i) = distances::split(rows, p);
            metrics::metrics(p, &g, &i)
        })
        .collect();
    let (score_map, score_map_missing) = match scoremap::fit_worst(model, rows, &pops) {
        Ok(m) => (Some(m), None),
        Err(e) => (None, Some(e.to_string())),
    };
    Summary {
        model: model.to_string(),
        populations,
        score_map,
        score_map_missing,
    }
}

/// The per-pair distance files (`*.pairs.csv`) of an output directory, by name.
pub fn distance_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(CalibrationError::io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".pairs.csv"))
        .collect();
    files.sort();
    Ok(files)
}

/// Every per-pair distance of an output directory.
pub fn read_distances_dir(dir: &Path) -> Result<Vec<PairDistance>> {
    let mut rows = Vec::new();
    for f in distance_files(dir)? {
        rows.extend(distances::read_csv(&f)?);
    }
    Ok(rows)
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{:.1} %", 100.0 * x)
    }
}

fn rate(r: &metrics::Rate) -> String {
    format!("{} [{}, {}]", pct(r.value), pct(r.low), pct(r.high))
}

/// The summary as a Markdown table (one column per population).
pub fn table_markdown(s: &Summary) -> String {
    let mut out = format!(
        "<!-- Generated by `renlian calibrate` from the *.pairs.csv files next to it. -->\n\n\
         Descriptor: `{}`. Intervals: 95 % Wilson. TAR at FAR x: threshold at the ⌊x·n⌋-th \
         closest impostor pair, accept below it; \"not resolved\" when ⌊x·n⌋ = 0.\n\n| |",
        s.model
    );
    for p in &s.populations {
        out += &format!(" {} |", p.population);
    }
    out += "\n|---|";
    out += &"---|".repeat(s.populations.len());
    out += "\n| genuine / impostor pairs |";
    for p in &s.populations {
        out += &format!(" {} / {} |", p.genuine_pairs, p.impostor_pairs);
    }
    for (i, far) in metrics::FAR_TARGETS.iter().enumerate() {
        out += &format!("\n| TAR at FAR {far:.0e} (distance) |");
        for p in &s.populations {
            match p.operating_points.get(i) {
                Some(op) if op.resolved => {
                    out += &format!(" {} ({:.3}) |", rate(&op.tar), op.threshold)
                }
                Some(op) => {
                    out += &format!(
                        " not resolved (≤ {}, {:.3}) |",
                        pct(op.tar.value),
                        op.threshold
                    )
                }
                None => out += " – |",
            }
        }
    }
    out += "\n| EER (distance) |";
    for p in &s.populations {
        match &p.eer {
            Some(e) => out += &format!(" {} ({:.3}) |", pct(e.eer), e.threshold),
            None => out += " – |",
        }
    }
    for (i, d) in metrics::FIXED_DISTANCES.iter().enumerate() {
        out += &format!("\n| FAR at distance {d} |");
        for p in &s.populations {
            out += &format!(" {} |", rate(&p.at_distances[i].far));
        }
        out += &format!("\n| TAR at distance {d} |");
        for p in &s.populations {
            out += &format!(" {} |", rate(&p.at_distances[i].tar));
        }
    }
    out += "\n| mean distance genuine / impostor |";
    for p in &s.populations {
        out += &format!(" {:.3} / {:.3} |", p.genuine_mean, p.impostor_mean);
    }
    out += "\n| closest impostor pair |";
    for p in &s.populations {
        match p.closest_impostor {
            Some(d) => out += &format!(" {d:.3} |"),
            None => out += " – |",
        }
    }
    out += "\n";
    match &s.score_map {
        Some(m) => {
            out += &format!(
                "\nScore map fitted on {} ({} impostor pairs); score = 10 − 10·log10(FAR).\n\n\
                 | score | FAR | distance | basis | impostor pairs below |\n|---|---|---|---|---|\n",
                m.fitted_on, m.impostor_pairs
            );
            for k in &m.knots {
                let far = k.far.map_or("–".to_string(), |f| format!("{f:.0e}"));
                let basis = match k.basis {
                    Basis::Measured => "measured",
                    Basis::Extrapolated => "extrapolated (tail fit)",
                    Basis::End => "end of table",
                };
                out += &format!(
                    "| {} | {far} | {:.4} | {basis} | {} |\n",
                    k.score, k.distance, k.impostors_below
                );
            }
        }
        None => {
            out += &format!(
                "\nNo score map: {}\n",
                s.score_map_missing.as_deref().unwrap_or("")
            )
        }
    }
    out
}

/// Writes `summary.json`, `table.md`, `roc.svg` and, when fitted, `score_map.json`
/// (the engine's table format) into `dir`.
pub fn write_outputs(dir: &Path, summary: &Summary, rows: &[PairDistance]) -> Result<()> {
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).map_err(CalibrationError::io(p))
    };
    write("summary.json", pretty(dir, summary)?.as_bytes())?;
    write("table.md", table_markdown(summary).as_bytes())?;
    if let Some(m) = &summary.score_map {
        write("score_map.json", pretty(dir, m)?.as_bytes())?;
    }
    let rocs: Vec<(String, Vec<(f64, f64)>)> = summary
        .populations
        .iter()
        .map(|p| {
            let (g, i) = distances::split(rows, &p.population);
            (
                format!(
                    "{} ({} genuine, {} impostor pairs)",
                    p.population,
                    g.len(),
                    i.len()
                ),
                metrics::roc(&g, &i),
            )
        })
        .collect();
    let curves: Vec<plot::Curve<'_>> = rocs
        .iter()
        .map(|(label, points)| plot::Curve {
            label: label.clone(),
            points,
        })
        .collect();
    plot::roc_svg(
        &dir.join("roc.svg"),
        &format!("{}: ROC per population", summary.model),
        &curves,
    )
}

/// Pretty JSON with a trailing newline, for files people read and diff.
fn pretty<T: Serialize>(dir: &Path, v: &T) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v).map_err(|source| CalibrationError::Json {
        path: dir.to_path_buf(),
        source,
    })?;
    s.push('\n');
    Ok(s)
}
