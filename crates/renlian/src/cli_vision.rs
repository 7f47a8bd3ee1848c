//! Local face tools: `renlian detect`, `compare`, `embed`, `liveness` and `landmarks`, on the same
//! engine as the server. The engine is loaded once per command (models are fetched on first use).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Subcommand;
use rayon::prelude::*;
use serde_json::json;
use vision::{Engine, EngineConfig, Face};

use crate::progress::{self, PackProgress};
use crate::GlobalOpts;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Find the faces in a photo: boxes, confidence and 5 landmarks; optionally their
    /// attributes and image quality (docs/attributes.md, docs/quality.md).
    Detect {
        /// JPEG, PNG or BMP file.
        image: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        /// Also estimate age, gender, expression, head pose and eye state per face.
        #[arg(long)]
        attributes: bool,
        /// Also assess sharpness, brightness and completeness per face.
        #[arg(long)]
        quality: bool,
        /// Print JSON: {"faces": [{"x","y","width","height","confidence","landmarks",
        /// "attributes"?, "quality"?}]}. `confidence` is dlib's MMOD detection score, not
        /// a probability: above 0 for every face found, not bounded by 1 (about 1.05 on
        /// clear frontal photos).
        #[arg(long)]
        json: bool,
    },
    /// Compare the largest face of two photos: distance, 0-100 score and what the score
    /// means (how often two different people reach it; the API's lines 40, 50, 60).
    Compare {
        /// First photo.
        image_a: PathBuf,
        /// Second photo.
        image_b: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print JSON: {"score", "distance"}.
        #[arg(long)]
        json: bool,
    },
    /// Export the 128-d descriptor of every face of every photo, largest face first.
    Embed {
        /// JPEG, PNG or BMP files, processed in parallel on all cores.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print JSON: [{"image", "faces": [{"x","y","width","height","confidence","descriptor"}]}].
        #[arg(long)]
        json: bool,
    },
    /// Static liveness of every face: the raw scores (0-1) of the antispoof and liveness
    /// models on the face box, and the API's 0-100 Score and IsLiveness (score ≥ 40) from
    /// the averaged crops (docs/liveness.md says what they are worth).
    Liveness {
        /// JPEG, PNG or BMP file.
        image: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print JSON: {"faces": [{"x","y","width","height","confidence","antispoof","liveness","Score","IsLiveness"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Facial landmarks of every face from the face mesh: IAI's 90 points by region (or
    /// the dense shape), head pose in degrees and each eye's openness (see docs/landmarks.md).
    Landmarks {
        /// JPEG, PNG or BMP file.
        image: PathBuf,
        #[command(flatten)]
        engine: EngineArgs,
        /// Print JSON: {"faces": [{"x","y","width","height","confidence","mesh_confidence",
        /// "shape" (or "dense_shape"),"head_pose","eye_openness","eyes_open"}]}.
        #[arg(long)]
        json: bool,
        /// The dense shape (AnalyzeDenseLandmarks) instead of the 90 points.
        #[arg(long)]
        dense: bool,
    },
}

/// Options of the face engine shared by the commands.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Smallest face side to find, in pixels (80 = the detector's own window; smaller is slower).
    #[arg(long, default_value_t = 80, value_name = "PX")]
    min_face_size: u32,
    /// Also place dlib's 68 landmarks. That model was trained on iBUG 300-W, whose
    /// creators ask that it not be used commercially.
    #[arg(long)]
    landmarks_68: bool,
    /// Face detector: `mmod` (dlib's CNN, the accurate mode) or `fast` (BlazeFace with
    /// boxes mapped to MMOD's; use with --min-face-size 34; docs/vision.md).
    #[arg(long, value_enum, default_value_t = DetectorArg::Mmod)]
    detector: DetectorArg,
}

/// `--detector`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorArg {
    /// dlib's MMOD CNN.
    Mmod,
    /// BlazeFace, boxes mapped to MMOD's convention.
    Fast,
}

impl From<DetectorArg> for vision::DetectorKind {
    fn from(d: DetectorArg) -> Self {
        match d {
            DetectorArg::Mmod => vision::DetectorKind::Mmod,
            DetectorArg::Fast => vision::DetectorKind::Fast,
        }
    }
}

pub async fn run(cmd: Command, _global: &GlobalOpts) -> anyhow::Result<()> {
    tokio::task::spawn_blocking(move || run_blocking(cmd)).await?
}

fn run_blocking(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Detect {
            image,
            engine,
            attributes,
            quality,
            json,
        } => {
            let engine = load_engine(&engine)?;
            let analyzer = (attributes || quality).then(load_analyzer).transpose()?;
            let img = read_image(&engine, &image)?;
            let faces = engine.detect(&img)?;
            let mut entries = Vec::with_capacity(faces.len());
            for f in &faces {
                let mut v = face_json(f);
                if let Some(analyzer) = &analyzer {
                    let mesh = analyzer.mesh.run(&img, f)?;
                    if attributes {
                        let a = analyzer.attributes.estimate(&img, f)?;
                        v["attributes"] = json!({
                            "age": a.age, "gender_male": a.gender_male,
                            "emotion": a.emotion, "smile": a.smile,
                            "head_pose": mesh.head_pose(),
                            "eye_openness": mesh.eye_openness(),
                            "eyes_open": mesh.eyes_open(),
                        });
                    }
                    if quality {
                        let q = vision::quality::assess(&img, f.rect, &mesh.shape90());
                        v["quality"] = serde_json::to_value(q)?;
                    }
                }
                entries.push(v);
            }
            if json {
                println!("{}", json!({ "faces": entries }));
            } else {
                println!("{}: {} face(s)", image.display(), faces.len());
                for v in &entries {
                    println!("  {v}");
                }
            }
        }
        Command::Compare {
            image_a,
            image_b,
            engine,
            json,
        } => {
            let engine = load_engine(&engine)?;
            // The largest face of each, in the version CompareFace uses.
            let version = vision::DescriptorVersion::LATEST;
            let describe = |path: &Path| -> anyhow::Result<vision::Descriptor> {
                let img = read_image(&engine, path)?;
                let mut faces = engine.detect(&img)?;
                faces.sort_by_key(|f| std::cmp::Reverse(f.rect.area()));
                faces.truncate(1);
                engine
                    .describe_as(&img, &faces, version)?
                    .into_iter()
                    .next()
                    .with_context(|| format!("no face found in {}", path.display()))
            };
            let (a, b) = rayon::join(|| describe(&image_a), || describe(&image_b));
            let cmp = engine.compare_as(&a?, &b?, version)?;
            if json {
                println!(
                    "{}",
                    json!({ "score": cmp.score, "distance": cmp.distance })
                );
            } else {
                let far = engine.calibration().far(cmp.score);
                println!(
                    "score {:.1} (distance {:.4}): {}",
                    cmp.score,
                    cmp.distance,
                    score_meaning(cmp.score, far)
                );
            }
        }
        Command::Embed {
            images,
            engine,
            json,
        } => {
            let engine = load_engine(&engine)?;
            let bar = progress::items(images.len() as u64, "describing");
            let results: Vec<_> = images
                .par_iter()
                .map(|path| {
                    let faces = read_image(&engine, path).and_then(|img| Ok(engine.embed(&img)?));
                    bar.inc(1);
                    (path, faces)
                })
                .collect();
            bar.finish_and_clear();
            let mut failed = 0;
            let mut entries = Vec::new();
            for (path, faces) in results {
                match faces {
                    Ok(faces) => {
                        let faces: Vec<_> = faces
                            .iter()
                            .map(|(f, d)| {
                                json!({
                                    "x": f.x(), "y": f.y(), "width": f.width(), "height": f.height(),
                                    "confidence": f.confidence, "descriptor": d.as_slice(),
                                })
                            })
                            .collect();
                        if !json {
                            println!("{}: {} face(s)", path.display(), faces.len());
                        }
                        entries
                            .push(json!({ "image": path.display().to_string(), "faces": faces }));
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: {e:#}", path.display());
                        entries.push(json!({ "image": path.display().to_string(), "error": format!("{e:#}") }));
                    }
                }
            }
            if json {
                println!("{}", serde_json::Value::Array(entries));
            }
            if failed > 0 {
                anyhow::bail!("{failed} of {} image(s) failed", images.len());
            }
        }
        Command::Liveness {
            image,
            engine,
            json,
        } => {
            let engine = load_engine(&engine)?;
            let store = human_models_store()?;
            let nets = vision::LivenessNets::load(&store).context("loading the liveness models")?;
            let img = read_image(&engine, &image)?;
            let faces = engine.detect(&img)?;
            let mut entries = Vec::new();
            for f in &faces {
                let s = nets.score_face(&img, f.rect)?;
                let a = nets.assess(&img, f.rect)?;
                let score = (a.score * 100.0).round() / 100.0;
                let live = a.score >= vision::liveness::RECOMMENDED_THRESHOLD;
                if json {
                    entries.push(json!({
                        "x": f.x(), "y": f.y(), "width": f.width(), "height": f.height(),
                        "confidence": f.confidence,
                        "antispoof": s.antispoof, "liveness": s.liveness,
                        "Score": score, "IsLiveness": live,
                    }));
                } else {
                    println!(
                        "  x={} y={} width={} height={}: antispoof {:.3}, liveness {:.3}; Score {score:.2}, IsLiveness {live}",
                        f.x(),
                        f.y(),
                        f.width(),
                        f.height(),
                        s.antispoof,
                        s.liveness
                    );
                }
            }
            if json {
                println!("{}", json!({ "faces": entries }));
            } else if faces.is_empty() {
                println!("{}: no face found", image.display());
            }
        }
        Command::Landmarks {
            image,
            engine,
            json,
            dense,
        } => {
            let engine = load_engine(&engine)?;
            let store = human_models_store()?;
            let nets = vision::MeshNets::load(&store).context("loading the face mesh models")?;
            let img = read_image(&engine, &image)?;
            let faces = engine.detect(&img)?;
            let mut entries = Vec::new();
            for f in &faces {
                let mesh = nets.run(&img, f)?;
                let pose = mesh.head_pose();
                let (left, right) = mesh.eye_openness();
                let regions = if dense {
                    serde_json::to_value(mesh.dense())?
                } else {
                    serde_json::to_value(mesh.shape90())?
                };
                if json {
                    let mut entry = json!({
                        "x": f.x(), "y": f.y(), "width": f.width(), "height": f.height(),
                        "confidence": f.confidence, "mesh_confidence": mesh.confidence,
                        "head_pose": pose,
                        "eye_openness": {"left": left, "right": right},
                        "eyes_open": mesh.eyes_open(),
                    });
                    entry[if dense { "dense_shape" } else { "shape" }] = regions;
                    entries.push(entry);
                    continue;
                }
                println!(
                    "  x={} y={} width={} height={}: mesh confidence {:.3}",
                    f.x(),
                    f.y(),
                    f.width(),
                    f.height(),
                    mesh.confidence
                );
                println!(
                    "    head pose: pitch {:.1}, yaw {:.1}, roll {:.1}",
                    pose.pitch, pose.yaw, pose.roll
                );
                println!(
                    "    eye openness: left {left:.3}, right {right:.3} (eyes open: {})",
                    mesh.eyes_open()
                );
                if let serde_json::Value::Object(map) = regions {
                    for (region, points) in map {
                        let pts: Vec<String> = match points {
                            serde_json::Value::Array(a) => a.iter().map(point_text).collect(),
                            p => vec![point_text(&p)],
                        };
                        println!("    {region} ({}): {}", pts.len(), pts.join(" "));
                    }
                }
            }
            if json {
                println!("{}", json!({ "faces": entries }));
            } else if faces.is_empty() {
                println!("{}: no face found", image.display());
            }
        }
    }
    Ok(())
}

/// `x,y` of a serialised point, to one decimal.
fn point_text(p: &serde_json::Value) -> String {
    let c = |k: &str| p[k].as_f64().unwrap_or(f64::NAN);
    format!("{:.1},{:.1}", c("x"), c("y"))
}

fn face_json(f: &Face) -> serde_json::Value {
    let landmarks: Vec<[i64; 2]> = f.landmarks.iter().map(|&(x, y)| [x, y]).collect();
    let mut v = json!({
        "x": f.x(), "y": f.y(), "width": f.width(), "height": f.height(),
        "confidence": f.confidence, "landmarks": landmarks,
    });
    if let Some(l68) = &f.landmarks_68 {
        v["landmarks_68"] = json!(l68.iter().map(|&(x, y)| [x, y]).collect::<Vec<_>>());
    }
    v
}

fn read_image(engine: &Engine, path: &Path) -> anyhow::Result<vision::RgbImage> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    engine
        .decode(&bytes)
        .with_context(|| format!("decoding {}", path.display()))
}

/// The analysis models (mesh, attributes, liveness) of the human-models pack.
fn load_analyzer() -> anyhow::Result<vision::Analyzer> {
    vision::Analyzer::load(&human_models_store()?).context("loading the analysis models")
}

/// The model store with the human-models pack present (fetched with progress if not).
fn human_models_store() -> anyhow::Result<models::ModelStore> {
    let store = models::ModelStore::from_env()?;
    store
        .ensure(models::Pack::HumanModels, &PackProgress::new())
        .context("obtaining the human-models pack (try `renlian models fetch`)")?;
    Ok(store)
}

fn load_engine(args: &EngineArgs) -> anyhow::Result<Engine> {
    let store = models::ModelStore::from_env()?;
    store
        .ensure(models::Pack::Dlib, &PackProgress::new())
        .context("obtaining the dlib model pack (try `renlian models fetch`)")?;
    let config = EngineConfig {
        detect: vision::DetectOptions {
            min_face_size: args.min_face_size,
            ..Default::default()
        },
        landmarks_68: args.landmarks_68,
        detector: args.detector.into(),
        ..Default::default()
    };
    Engine::load(&store, config).context("loading the face engine")
}

/// What a score says, in the README's terms: how often photos of two different people
/// reach it, and which of the API's lines (40, 50, 60: 1 false accept in 10^3, 10^4,
/// 10^5 pairs) it passes. A score is not a verdict: the right line depends on the false
/// accepts a use can afford.
fn score_meaning(score: f64, far: f64) -> String {
    let rate = if far >= 0.5 {
        "most pairs of different people score this high".to_string()
    } else {
        format!(
            "two different people score this high about once in {} pairs",
            one_in(far)
        )
    };
    let lines = [
        (40.0, "1 in 1,000"),
        (50.0, "1 in 10,000"),
        (60.0, "1 in 100,000"),
    ];
    let passed: Vec<String> = lines
        .iter()
        .filter(|(line, _)| score >= *line)
        .map(|(line, rate)| format!("{line} ({rate})"))
        .collect();
    let missed: Vec<String> = lines
        .iter()
        .filter(|(line, _)| score < *line)
        .map(|(line, _)| format!("{line}"))
        .collect();
    let verdict = match (passed.is_empty(), missed.is_empty()) {
        (true, _) => "below the API's lines 40, 50 and 60".to_string(),
        (_, true) => "passes the API's lines 40, 50 and 60".to_string(),
        _ => format!(
            "passes the API's {} {}, not {}",
            if passed.len() == 1 { "line" } else { "lines" },
            passed.join(" and "),
            missed.join(" or ")
        ),
    };
    format!("{rate}; {verdict}")
}

/// 1/far with two significant digits and thousands separators: 3,400.
fn one_in(far: f64) -> String {
    let n = 1.0 / far.max(f64::MIN_POSITIVE);
    let magnitude = 10f64.powi((n.log10().floor() as i32 - 1).max(0));
    let rounded = ((n / magnitude).round() * magnitude) as u64;
    let digits = rounded.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn far(score: f64) -> f64 {
        10f64.powf(-(score - 10.0) / 10.0)
    }

    #[test]
    fn a_score_says_its_false_accept_rate_and_the_lines_it_passes() {
        assert_eq!(
            score_meaning(45.3, far(45.3)),
            "two different people score this high about once in 3,400 pairs; \
             passes the API's line 40 (1 in 1,000), not 50 or 60"
        );
        assert_eq!(
            score_meaning(61.0, far(61.0)),
            "two different people score this high about once in 130,000 pairs; \
             passes the API's lines 40, 50 and 60"
        );
        assert_eq!(
            score_meaning(55.0, far(55.0)),
            "two different people score this high about once in 32,000 pairs; \
             passes the API's lines 40 (1 in 1,000) and 50 (1 in 10,000), not 60"
        );
        assert_eq!(
            score_meaning(5.0, far(5.0)),
            "most pairs of different people score this high; below the API's lines 40, 50 and 60"
        );
        assert_eq!(one_in(1e-4), "10,000");
        assert_eq!(one_in(0.1), "10");
    }
}
