//! Draws IAI's 90 points on the fixture photos (a colour per region, the first point of
//! each region larger), to look at: `MESH_DRAW_DIR=DIR cargo run --example explore -- draw-90`.

use std::path::PathBuf;

use vision::{Engine, EngineConfig, Face, FaceMesh, MeshNets, Point, RgbImage};

use crate::support::fixtures;

fn photo(name: &str) -> RgbImage {
    let bytes = std::fs::read(fixtures().join(name)).unwrap();
    vision::decode(&bytes, &vision::DecodeLimits::default()).unwrap()
}

fn mesh_of(img: &RgbImage) -> (Face, FaceMesh) {
    let store = models::ModelStore::from_env().unwrap();
    let engine = Engine::load(&store, EngineConfig::default()).unwrap();
    let nets = MeshNets::load(&store).unwrap();
    let face = engine
        .detect(img)
        .unwrap()
        .into_iter()
        .max_by_key(|f| f.rect.area())
        .expect("a face");
    let mesh = nets.run(img, &face).unwrap();
    (face, mesh)
}

/// Draws the 90 points (a colour per region, the first point of each region
/// larger) on the fixtures into `$MESH_DRAW_DIR`, to look at.
pub fn run() {
    let dir = PathBuf::from(std::env::var("MESH_DRAW_DIR").unwrap());
    for name in ["obama.jpg", "biden.jpg", "astronaut.png", "obama2.jpg"] {
        let mut img = photo(name);
        let (face, mesh) = mesh_of(&img);
        let s = mesh.shape90();
        let regions: [(&[Point], [u8; 3]); 9] = [
            (&s.face_profile, [255, 255, 0]),
            (&s.left_eye, [255, 0, 0]),
            (&s.right_eye, [0, 0, 255]),
            (&s.left_eye_brow, [255, 0, 255]),
            (&s.right_eye_brow, [0, 255, 255]),
            (&s.mouth, [0, 255, 0]),
            (&s.nose, [255, 128, 0]),
            (&[s.left_pupil], [255, 255, 255]),
            (&[s.right_pupil], [0, 0, 0]),
        ];
        let r = (face.rect.width().max(1) as f32 / 150.0).max(1.0);
        for (pts, colour) in regions {
            for (k, p) in pts.iter().enumerate() {
                let rad = if k == 0 { 2.5 * r } else { r } as i64;
                for dy in -rad..=rad {
                    for dx in -rad..=rad {
                        let (x, y) = (p.x.round() as i64 + dx, p.y.round() as i64 + dy);
                        if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height()
                        {
                            img.put_pixel(x as u32, y as u32, image::Rgb(colour));
                        }
                    }
                }
            }
        }
        let (w, h) = (face.rect.width(), face.rect.height());
        let x0 = (face.rect.left - w / 2).max(0) as u32;
        let y0 = (face.rect.top - h / 2).max(0) as u32;
        let cw = (2 * w as u32).min(img.width() - x0);
        let ch = (2 * h as u32).min(img.height() - y0);
        let crop = image::imageops::crop_imm(&img, x0, y0, cw, ch).to_image();
        let stem = name.split('.').next().unwrap();
        crop.save(dir.join(format!("{stem}.png"))).unwrap();
    }
}
