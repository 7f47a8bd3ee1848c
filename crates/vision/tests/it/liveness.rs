//! Liveness scores on the fixture photos, through the models store and the converted
//! TensorFlow.js graphs (the graphs' own parity with tfjs is tested in the `tfjs` crate).

use std::path::{Path, PathBuf};
use std::process::Command;

use vision::{LivenessNets, RgbImage};

fn fixtures() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new(root.join("scripts/fixtures"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

fn central_square(img: &RgbImage) -> RgbImage {
    let side = img.width().min(img.height());
    image::imageops::crop_imm(
        img,
        (img.width() - side) / 2,
        (img.height() - side) / 2,
        side,
        side,
    )
    .to_image()
}

#[test]
fn fixture_faces_get_scores_between_0_and_1() {
    let store = models::ModelStore::from_env().unwrap();
    let nets = LivenessNets::load(&store).unwrap();
    let dir = fixtures();
    for photo in ["obama.jpg", "biden.jpg", "astronaut.png"] {
        let bytes = std::fs::read(dir.join(photo)).unwrap();
        let img = vision::decode(&bytes, &vision::DecodeLimits::default()).unwrap();
        let s = nets.score(&central_square(&img)).unwrap();
        println!("{photo}: {s:?}");
        assert!((0.0..=1.0).contains(&s.antispoof), "{photo}: {s:?}");
        assert!((0.0..=1.0).contains(&s.liveness), "{photo}: {s:?}");
        // The same crop twice gives the same scores (no state between calls).
        assert_eq!(nets.score(&central_square(&img)).unwrap(), s);
    }
}
