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
        /// Fit and judge version 2's score model instead (descriptors averaged with their
        /// mirror image, a table per kind of pair): needs two or more --set, --region
        /// and --out; writes OUT/dlib_resnet_v2.json and OUT/v2-evaluation.{json,md}.
        #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=2))]
        descriptor_version: u32,
        /// NAME=MANIFEST: a population for version 2 (photos relative to the manifest).
        #[arg(long = "set", value_name = "NAME=MANIFEST")]
        sets: Vec<String>,
        /// The population whose region gets its own table (version 2).
        #[arg(long, value_name = "NAME")]
        region: Option<String>,
        /// Folds of people for the held-out judgement (version 2).
        #[arg(long, default_value_t = 5, value_name = "K")]
        folds: usize,
        /// Version 2: also describe the sets with the other detector and judge the shipped
        /// model on pairs with one face from each (a gallery enrolled with one detector,
        /// searched with the other).
        #[arg(long)]
        across_detectors: bool,
        /// Descriptor cache of the other detector (with --across-detectors).
        #[arg(long, value_name = "FILE")]
        across_cache: Option<PathBuf>,
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
        descriptor_version,
        sets,
        region,
        folds,
        across_detectors,
        across_cache,
    } = cmd;
    if descriptor_version == 2 {
        let out = out.context("--descriptor-version 2 needs --out")?;
        let region = region.context("--descriptor-version 2 needs --region")?;
        anyhow::ensure!(
            across_detectors || across_cache.is_none(),
            "--across-cache goes with --across-detectors"
        );
        let kind = vision::DetectorKind::from(detector);
        let engine = load_engine(min_face_size, kind)?;
        let other = if across_detectors {
            let other_kind = match kind {
                vision::DetectorKind::Mmod => vision::DetectorKind::Fast,
                vision::DetectorKind::Fast => vision::DetectorKind::Mmod,
            };
            Some(Across {
                engine: load_engine(min_face_size, other_kind)?,
                cache: across_cache,
            })
        } else {
            None
        };
        return calibrate_v2(
            &engine,
            &format!("{kind:?}").to_lowercase(),
            other.as_ref(),
            &V2Sets {
                sets: &sets,
                region: &region,
                folds,
            },
            &out,
            cache.as_deref(),
        );
    }
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

/// Judges the engine's own model as it is (nothing fitted per fold). `across`: each photo
/// holds two descriptors side by side (see [`side_by_side`]), and a pair is scored with
/// the first photo's first half against the second photo's second half: one face from
/// each detector.
fn judge_shipped(
    model: &vision::ScoreModel,
    populations: &[calibration::regional::Population],
    folds: usize,
    across: bool,
) -> anyhow::Result<Vec<calibration::regional::Judged>> {
    Ok(calibration::regional::cross_validate(
        populations,
        folds,
        |_| {
            let m = model.clone();
            Ok(Box::new(move |a: &[f32], b: &[f32]| {
                let (a, b) = if across {
                    let half = a.len() / 2;
                    (&a[..half], &b[half..])
                } else {
                    (a, b)
                };
                m.score(
                    &vision::Descriptor(a.to_vec()),
                    &vision::Descriptor(b.to_vec()),
                )
            }))
        },
    )?)
}

/// Every photo of one population with its descriptors of both versions (`None` where no
/// face was found), in the manifest's order.
struct Described {
    name: String,
    photos: Vec<(String, [Option<Vec<f32>>; 2])>,
}

impl Described {
    /// The populations of each version, photos without a face left out.
    fn into_populations(self) -> [calibration::regional::Population; 2] {
        use calibration::regional::{Labelled, Population};
        let total = self.photos.len();
        let mut by_version = [Vec::new(), Vec::new()];
        for (identity, descriptors) in self.photos {
            for (i, d) in descriptors.into_iter().enumerate() {
                if let Some(descriptor) = d {
                    by_version[i].push(Labelled {
                        identity: identity.clone(),
                        descriptor,
                    });
                }
            }
        }
        let left_out = total - by_version[0].len();
        if left_out > 0 {
            eprintln!("{}: {left_out} photos without a face, left out", self.name);
        }
        by_version.map(|photos| Population {
            name: self.name.clone(),
            photos,
        })
    }
}

/// Describes the photos of `spec` (`NAME=MANIFEST`).
fn describe_entries(
    engine: &Engine,
    spec: &str,
    cache: Option<&std::path::Path>,
) -> anyhow::Result<Described> {
    let (name, manifest) = spec
        .split_once('=')
        .context("--set must be NAME=MANIFEST")?;
    let m = calibration::Manifest::read(std::path::Path::new(manifest), None)?;
    eprintln!("{name}: describing {} photos…", m.entries.len());
    let bar = crate::progress::items(m.entries.len() as u64, "describing");
    let outcomes = calibration::describe_all_with_progress(engine, &m, cache, &|| bar.inc(1))?;
    bar.finish_and_clear();
    let photos = m
        .entries
        .iter()
        .zip(&outcomes)
        .map(|(entry, o)| {
            let d = vision::DescriptorVersion::ALL.map(|v| o.descriptor_of(v).map(|d| d.0));
            (entry.identity.clone(), d)
        })
        .collect();
    Ok(Described {
        name: name.to_string(),
        photos,
    })
}

/// The photos both detectors found a face in, each with its two version-2 descriptors
/// side by side (this run's detector first).
fn side_by_side(mine: &Described, others: &Described) -> calibration::regional::Population {
    let photos = mine
        .photos
        .iter()
        .zip(&others.photos)
        .filter_map(|((identity, a), (_, b))| {
            let (a, b) = (a[1].as_ref()?, b[1].as_ref()?);
            Some(calibration::regional::Labelled {
                identity: identity.clone(),
                descriptor: a.iter().chain(b).copied().collect(),
            })
        })
        .collect();
    calibration::regional::Population {
        name: mine.name.clone(),
        photos,
    }
}

/// Fits version 2's model on every set and judges it, version 1 and version 2's
/// descriptor with one table beside it, on people held out of each fit.
/// The other detector's engine and descriptor cache (`--across-detectors`).
struct Across {
    engine: Engine,
    cache: Option<PathBuf>,
}

/// What version 2 is fitted and judged on.
struct V2Sets<'a> {
    sets: &'a [String],
    region: &'a str,
    folds: usize,
}

fn calibrate_v2(
    engine: &Engine,
    detector_name: &str,
    across: Option<&Across>,
    v2sets: &V2Sets,
    out: &std::path::Path,
    cache: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    let V2Sets {
        sets,
        region,
        folds,
    } = *v2sets;
    use calibration::regional::{self, FitOptions};
    anyhow::ensure!(sets.len() >= 2, "version 2 needs two or more --set");
    anyhow::ensure!(folds >= 2, "--folds must be 2 or more");
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let model_name = engine.calibration().model.clone();
    let mut v1 = Vec::new();
    let mut v2 = Vec::new();
    // Per set, each photo's version-2 descriptor from both detectors, side by side.
    let mut paired = Vec::new();
    for spec in sets {
        let entries = describe_entries(engine, spec, cache)?;
        if let Some(a) = across {
            let others = describe_entries(&a.engine, spec, a.cache.as_deref())?;
            paired.push(side_by_side(&entries, &others));
        }
        let [a, b] = entries.into_populations();
        v1.push(a);
        v2.push(b);
    }
    let opts = FitOptions::default();
    eprintln!("fitting…");
    let model = regional::fit(&model_name, &v2, region, &opts)?;
    std::fs::write(
        out.join("dlib_resnet_v2.json"),
        serde_json::to_string_pretty(&model)? + "\n",
    )?;
    eprintln!("judging on held-out people ({folds} folds)…");
    let table_v1 = engine.calibration().clone();
    let before = regional::cross_validate(&v1, folds, |_| {
        let t = table_v1.clone();
        Ok(Box::new(move |a: &[f32], b: &[f32]| {
            t.score(vision::Descriptor(a.to_vec()).distance(&vision::Descriptor(b.to_vec())))
        }))
    })?;
    let one_table = regional::cross_validate(&v2, folds, |train| {
        let m = regional::fit_one_table(&model_name, &v2, train, &opts)?;
        Ok(Box::new(move |a: &[f32], b: &[f32]| {
            m.score(regional::distance(a, b))
        }))
    })?;
    let after = regional::cross_validate_regional(&model_name, &v2, region, &opts, folds)?;
    // The model the engine ships, as it is: fitted on all photos of the sets with MMOD's
    // boxes, so in-sample there; with `--detector fast` it shows whether the shipped
    // scores keep their meaning on the fast path's descriptors of the same people.
    let shipped_model = engine.score_model(vision::DescriptorVersion::V2).clone();
    let shipped = judge_shipped(&shipped_model, &v2, folds, false)?;
    let across_judged = match across {
        Some(_) => Some(judge_shipped(&shipped_model, &paired, folds, true)?),
        None => None,
    };
    let mut gains = Vec::new();
    let mut gain_md = String::from(
        "\nTAR gained by version 2 on the same genuine pairs (95 % interval of the paired difference):\n\n| population | score 40 | score 50 | score 60 |\n|---|---|---|---|\n",
    );
    for (b, a) in before.iter().zip(&after) {
        let g = regional::paired_gain(b, a);
        gain_md.push_str(&format!("| {} |", a.population));
        for (_, gain, low, high) in &g {
            gain_md.push_str(&format!(
                " {:+.1} [{:+.1}, {:+.1}] |",
                100.0 * gain,
                100.0 * low,
                100.0 * high
            ));
        }
        gain_md.push('\n');
        gains.push(json!({"population": a.population, "score_gain_low_high": g}));
    }
    let mut evaluation = json!({
        "folds": folds,
        "region": region,
        "options": opts,
        "judged": [
            {"name": "version 1 (today's table, fitted on all East-Asian photos: not held out)", "populations": before},
            {"name": "version 2 descriptor, one table", "populations": one_table},
            {"name": "version 2 (descriptor and regional tables)", "populations": after},
            {"name": "version 2 as shipped (the engine's model, fitted on all photos with MMOD's boxes: not held out)", "populations": shipped},
        ],
        "detector": detector_name,
        "tar_gain_version_1_to_2": gains,
    });
    if let Some(j) = &across_judged {
        evaluation["across_detectors"] = json!({
            "name": "version 2 as shipped, one face from each detector",
            "populations": j,
        });
    }
    std::fs::write(
        out.join("v2-evaluation.json"),
        serde_json::to_string_pretty(&evaluation)? + "\n",
    )?;
    let mut rows: Vec<(&str, &[regional::Judged])> = vec![
        ("version 1", before.as_slice()),
        ("v2 descriptor, one table", one_table.as_slice()),
        ("version 2", after.as_slice()),
        ("version 2 as shipped", shipped.as_slice()),
    ];
    if let Some(j) = &across_judged {
        rows.push(("shipped, across detectors", j.as_slice()));
    }
    let md = regional::judged_markdown(&rows) + &gain_md;
    std::fs::write(out.join("v2-evaluation.md"), &md)?;
    print!("{md}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(photos: &[(&str, Option<f32>)]) -> Described {
        Described {
            name: "set".into(),
            photos: photos
                .iter()
                .map(|(id, d)| {
                    let v2 = d.map(|x| vec![x, x + 0.5]);
                    (id.to_string(), [v2.clone().map(|v| vec![v[0]]), v2])
                })
                .collect(),
        }
    }

    #[test]
    fn side_by_side_keeps_the_photos_both_detectors_described_in_order() {
        let mine = described(&[
            ("a", Some(1.0)),
            ("a", None),
            ("b", Some(3.0)),
            ("c", Some(4.0)),
        ]);
        let others = described(&[
            ("a", Some(10.0)),
            ("a", Some(20.0)),
            ("b", None),
            ("c", Some(40.0)),
        ]);
        let p = side_by_side(&mine, &others);
        assert_eq!(p.name, "set");
        let got: Vec<(&str, &[f32])> = p
            .photos
            .iter()
            .map(|l| (l.identity.as_str(), l.descriptor.as_slice()))
            .collect();
        // Version-2 descriptors only, this run's detector first.
        assert_eq!(
            got,
            vec![
                ("a", &[1.0, 1.5, 10.0, 10.5][..]),
                ("c", &[4.0, 4.5, 40.0, 40.5][..]),
            ]
        );
    }

    #[test]
    fn populations_leave_out_the_photos_without_a_face() {
        let [v1, v2] =
            described(&[("a", Some(1.0)), ("b", None), ("b", Some(2.0))]).into_populations();
        assert_eq!(v1.photos.len(), 2);
        assert_eq!(v2.photos[1].identity, "b");
        assert_eq!(v2.photos[1].descriptor, vec![2.0, 2.5]);
        assert_eq!(v1.photos[1].descriptor, vec![2.0]);
    }
}
