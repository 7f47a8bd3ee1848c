//! `renlian calibrate`: measures the face engine's false- and true-accept rates on a
//! labelled set and fits the distance → score table (the `calibration` crate).

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;
use vision::{Engine, EngineConfig};

use crate::GlobalOpts;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Measure TAR at FAR 1e-2/1e-3/1e-4, the EER and the score map on labelled photos.
    ///
    /// With --out, the per-pair distances go to OUT/POPULATION.pairs.csv, and the
    /// summary (summary.json, table.md, roc.svg, score_map.json) is recomputed from
    /// every *.pairs.csv in OUT. Without --manifest only that recomputation is done.
    Calibrate {
        /// CSV with columns `file` (or `image`) and `identity`; other columns ignored.
        #[arg(long, value_name = "FILE")]
        manifest: Option<PathBuf>,
        /// CSV with columns `file_a`, `file_b`, `same` (1/0); default: every genuine and
        /// every cross-identity pair of the manifest.
        #[arg(long, value_name = "FILE")]
        pairs: Option<PathBuf>,
        /// Directory the manifest's files are relative to (default: the manifest's).
        #[arg(long, value_name = "DIR")]
        images: Option<PathBuf>,
        /// Name of the population the set stands for (letters, digits, '-', '_').
        #[arg(long, default_value = "all")]
        population: String,
        /// Where to write distances, summary, table and plot.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Descriptor cache (JSON, keyed by photo SHA-256); keep it out of the repository.
        #[arg(long, value_name = "FILE")]
        cache: Option<PathBuf>,
        /// Smallest face side to find, in pixels (the engine's default is 80).
        #[arg(long, default_value_t = 80, value_name = "PX")]
        min_face_size: u32,
        /// Face detector: `mmod` (the default) or `fast` (BlazeFace, docs/vision.md).
        /// The descriptor cache is keyed by photo and minimum face size, not detector:
        /// give each detector its own --cache file.
        #[arg(long, value_enum, default_value_t = crate::cli_vision::DetectorArg::Mmod)]
        detector: crate::cli_vision::DetectorArg,
        /// Print JSON: {"set": …, "summary": …}.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(cmd: Command, _global: &GlobalOpts) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(cmd)).await?
}

fn run_blocking(cmd: Command) -> anyhow::Result<()> {
    let Command::Calibrate {
        manifest,
        pairs,
        images,
        population,
        out,
        cache,
        min_face_size,
        detector,
        json,
    } = cmd;
    anyhow::ensure!(
        !population.is_empty()
            && population
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "--population must be letters, digits, '-' or '_'"
    );
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut set = None;
    let mut rows = Vec::new();
    let mut model = vision::Calibration::dlib_resnet_v1()?.model;
    if let Some(manifest_path) = &manifest {
        let m = calibration::Manifest::read(manifest_path, images.as_deref())?;
        let pairs = pairs.as_deref().map(|p| m.read_pairs(p)).transpose()?;
        let engine = load_engine(min_face_size, detector.into())?;
        model = engine.calibration().model.clone();
        eprintln!("describing {} photos…", m.entries.len());
        let bar = crate::progress::items(m.entries.len() as u64, "describing");
        let (report, measured) = calibration::measure_set_with_progress(
            &engine,
            &m,
            pairs,
            &population,
            cache.as_deref(),
            &|| bar.inc(1),
        )?;
        bar.finish_and_clear();
        for f in &report.no_face {
            eprintln!("{f}: no face found, left out");
        }
        for (f, why) in &report.failed {
            eprintln!("{f}: {why}, left out");
        }
        if let Some(dir) = &out {
            calibration::distances::write_csv(
                &dir.join(format!("{population}.pairs.csv")),
                &measured,
            )?;
            let set_json = serde_json::to_string_pretty(&report)? + "\n";
            std::fs::write(dir.join(format!("{population}.set.json")), set_json)?;
        }
        set = Some(report);
        rows = measured;
    } else {
        anyhow::ensure!(out.is_some(), "give --manifest, --out or both");
    }
    if let Some(dir) = &out {
        rows = calibration::read_distances_dir(dir)?;
    }
    let summary = calibration::summarize(&model, &rows);
    if let Some(dir) = &out {
        calibration::write_outputs(dir, &summary, &rows)?;
    }
    if json {
        println!("{}", json!({ "set": set, "summary": summary }));
    } else {
        print!("{}", calibration::summary::table_markdown(&summary));
    }
    Ok(())
}

fn load_engine(min_face_size: u32, detector: vision::DetectorKind) -> anyhow::Result<Engine> {
    let store = models::ModelStore::from_env()?;
    store
        .ensure(models::Pack::Dlib, &models::NoProgress)
        .context("obtaining the dlib model pack (try `renlian models fetch`)")?;
    let config = EngineConfig {
        detect: vision::DetectOptions {
            min_face_size,
            ..Default::default()
        },
        detector,
        ..Default::default()
    };
    Engine::load(&store, config).context("loading the face engine")
}
