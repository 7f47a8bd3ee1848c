//! The per-image figures behind docs/attributes.md and docs/quality.md, from the
//! East-Asian calibration set (not in the repository):
//! `cargo run --example explore -- attribute-figures`.

use std::path::PathBuf;
use std::time::Instant;

use vision::attributes::{age_human, age_mean, AttributeNets};
use vision::quality::{laplacian_ratio, luma};
use vision::{Engine, EngineConfig, Face, RgbImage};

fn largest(engine: &Engine, img: &RgbImage) -> Option<Face> {
    engine
        .detect(img)
        .unwrap()
        .into_iter()
        .max_by_key(|f| f.rect.area())
}

fn gaussian(img: &RgbImage, sigma: f32) -> RgbImage {
    image::imageops::blur(img, sigma)
}

/// The per-image figures behind docs/attributes.md and docs/quality.md, from the
/// calibration set (../shared/calibration/ea beside the repository, or
/// RENLIAN_CALIBRATION_EA). Prints; asserts only that the set was read.
pub fn run() {
    let dir = std::env::var_os("RENLIAN_CALIBRATION_EA")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::support::root().join("../shared/calibration/ea"));
    let store = models::ModelStore::from_env().unwrap();
    let engine = Engine::load(&store, EngineConfig::default()).unwrap();
    let nets = AttributeNets::load_with_gear(&store).unwrap();
    let scales = [1.0f32, 1.2, 1.4, 1.6];
    let nets: Vec<AttributeNets> = scales
        .iter()
        .map(|&s| nets.clone().with_crop_scale(s).unwrap())
        .collect();

    let ids = std::fs::read_to_string(dir.join("identities.csv")).unwrap();
    let sex: std::collections::HashMap<String, String> = ids
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[3].to_string())
        })
        .collect();
    let manifest = std::fs::read_to_string(dir.join("manifest.csv")).unwrap();
    // Per scale: faceres right, gear right; then counts.
    let mut right = vec![[0usize; 2]; scales.len()];
    let mut right_by_sex = vec![[[0usize; 2]; 2]; scales.len()];
    let (mut n, mut missed, mut n_sex) = (0usize, 0usize, [0usize; 2]);
    let mut ages_mean = Vec::new();
    let mut ages_human = Vec::new();
    let mut ages_gear = Vec::new();
    // Per identity, the three age estimates of each photo: their spread within one
    // person is a label-free measure of noise (the photos' true ages differ too, but
    // equally for every decoder).
    let mut ages_by_identity: std::collections::BTreeMap<String, Vec<[f32; 3]>> =
        Default::default();
    let mut top_emotion = [0usize; 7];
    // ln(Laplacian ratio) of the face box as it is, then Gaussian-blurred σ = 1, 2, 4.
    let sigmas = [1.0f32, 2.0, 4.0];
    let mut ln_ratio: Vec<Vec<f32>> = vec![Vec::new(); 4];
    let mut brightness = Vec::new();
    let mut ms = Vec::new();
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (file, identity) = (f[0], f[1]);
        let male = sex[identity] == "M";
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let img = engine.decode(&bytes).unwrap();
        let Some(face) = largest(&engine, &img) else {
            missed += 1;
            continue;
        };
        n += 1;
        n_sex[usize::from(male)] += 1;
        for (k, nets) in nets.iter().enumerate() {
            let start = Instant::now();
            let raw = nets.raw(&img, &face).unwrap();
            ms.push(start.elapsed().as_secs_f64() * 1000.0);
            let gear = raw.gear.unwrap();
            let ok = [
                (raw.gender_male > 0.5) == male,
                (gear.gender_male > 0.5) == male,
            ];
            for m in 0..2 {
                right[k][m] += usize::from(ok[m]);
                right_by_sex[k][usize::from(male)][m] += usize::from(ok[m]);
            }
            if scales[k] == vision::attributes::DEFAULT_CROP_SCALE {
                ages_mean.push(age_mean(&raw.age_distribution));
                ages_human.push(age_human(&raw.age_distribution));
                ages_gear.push(gear.age);
                ages_by_identity
                    .entry(identity.to_string())
                    .or_default()
                    .push([
                        age_mean(&raw.age_distribution),
                        age_human(&raw.age_distribution),
                        gear.age,
                    ]);
                let a = raw.attributes();
                let top = (0..7)
                    .max_by(|&i, &j| a.emotion[i].total_cmp(&a.emotion[j]))
                    .unwrap();
                top_emotion[top] += 1;
            }
        }
        let r = face.rect.intersect(&vision::Rect::new(
            0,
            0,
            i64::from(img.width()) - 1,
            i64::from(img.height()) - 1,
        ));
        let crop = image::imageops::crop_imm(
            &img,
            r.left as u32,
            r.top as u32,
            r.width() as u32,
            r.height() as u32,
        )
        .to_image();
        let grey = luma(&crop);
        ln_ratio[0].push(laplacian_ratio(&grey).max(1e-9).ln());
        for (k, &sigma) in sigmas.iter().enumerate() {
            let blurred = luma(&gaussian(&crop, sigma));
            ln_ratio[k + 1].push(laplacian_ratio(&blurred).max(1e-9).ln());
        }
        let mean = grey.pixels().map(|p| f64::from(p.0[0])).sum::<f64>()
            / f64::from(grey.width() * grey.height());
        brightness.push(mean / 255.0 * 100.0);
    }
    println!(
        "images {n} with a face ({missed} without); women {}, men {}",
        n_sex[0], n_sex[1]
    );
    for (k, s) in scales.iter().enumerate() {
        let pct = |c: usize, d: usize| 100.0 * c as f64 / d.max(1) as f64;
        println!(
            "crop ×{s}: gender accuracy faceres {:.1}% (women {:.1}%, men {:.1}%), gear {:.1}% (women {:.1}%, men {:.1}%)",
            pct(right[k][0], n),
            pct(right_by_sex[k][0][0], n_sex[0]),
            pct(right_by_sex[k][1][0], n_sex[1]),
            pct(right[k][1], n),
            pct(right_by_sex[k][0][1], n_sex[0]),
            pct(right_by_sex[k][1][1], n_sex[1]),
        );
    }
    let summary = |name: &str, v: &mut Vec<f32>| {
        v.sort_by(f32::total_cmp);
        let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
        println!(
            "{name}: min {:.1}, p10 {:.1}, median {:.1}, p90 {:.1}, max {:.1}",
            q(0.0),
            q(0.1),
            q(0.5),
            q(0.9),
            q(1.0)
        );
    };
    summary("age (faceres mean)", &mut ages_mean);
    summary("age (faceres, Human's decoding)", &mut ages_human);
    summary("age (gear)", &mut ages_gear);
    let mut spread = [0f64; 3];
    let mut people = 0usize;
    for ages in ages_by_identity.values().filter(|a| a.len() >= 2) {
        people += 1;
        for (k, s) in spread.iter_mut().enumerate() {
            let v: Vec<f64> = ages.iter().map(|a| f64::from(a[k])).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
            *s += var.sqrt();
        }
    }
    println!(
        "age spread within one person (mean SD over {people} people): faceres mean {:.1}, Human's decoding {:.1}, gear {:.1} years",
        spread[0] / people as f64,
        spread[1] / people as f64,
        spread[2] / people as f64
    );
    println!("top emotion (IAI order neutral, happy, surprise, angry, sad, disgust, fear): {top_emotion:?}");
    ms.sort_by(f64::total_cmp);
    println!(
        "faceres + emotion + gear: median {:.1} ms per face",
        ms[ms.len() / 2]
    );
    for (label, v) in ["original", "σ=1", "σ=2", "σ=4"]
        .iter()
        .zip(ln_ratio.iter_mut())
    {
        summary(&format!("ln(laplacian ratio) {label}"), v);
    }
    let mut b: Vec<f32> = brightness.iter().map(|&v| v as f32).collect();
    summary("brightness (mean luma %)", &mut b);
    assert!(n > 300);
}
