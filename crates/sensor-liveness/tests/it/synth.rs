//! Synthetic sensor frames: IR-like frames from RGB photos, and depth maps of printed
//! photos (planes, tilted planes, paper cylinders) and of faces rendered from their
//! meshes, all with the same sensor model (noise growing with distance, dropped pixels).
//!
//! Every choice here is an assumption standing in for a real capture (none were
//! available); each is documented where it is made and in docs/sensor-liveness.md.

use image::{GrayImage, Luma};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use sensor_liveness::DepthMap;
use vision::{FaceMesh, RgbImage};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Grey sensor noise: standard deviation in grey levels of an 8-bit NIR sensor at
/// normal gain.
pub const IR_NOISE: f64 = 2.0;

/// An IR-like frame from an RGB photo. At 850 nm skin reflects strongly and evenly
/// (melanin absorbs little), so a face looks bright and smooth; the red channel is the
/// visible band nearest, hence a red-weighted luma (0.70 R + 0.25 G + 0.05 B), a gamma
/// of 0.8 for the brighter skin, a Gaussian blur of σ = 0.8 px for the smoother skin
/// (light scattering under it), and sensor noise of [`IR_NOISE`] levels. No illuminator
/// fall-off is modelled: the background stays as bright as the photo has it, which
/// makes the face-to-frame check harder, not easier.
pub fn nir_like(img: &RgbImage, seed: u64) -> GrayImage {
    let luma = GrayImage::from_fn(img.width(), img.height(), |x, y| {
        let [r, g, b] = img.get_pixel(x, y).0.map(f64::from);
        let l = (0.70 * r + 0.25 * g + 0.05 * b) / 255.0;
        Luma([(255.0 * l.powf(0.8)).round().clamp(0.0, 255.0) as u8])
    });
    let mut out = image::imageops::blur(&luma, 0.8);
    add_noise(&mut out, IR_NOISE, seed);
    out
}

/// Adds Gaussian noise of `sigma` grey levels.
pub fn add_noise(img: &mut GrayImage, sigma: f64, seed: u64) {
    let mut rng = rng(seed);
    let normal = Normal::new(0.0, sigma).unwrap();
    for p in img.pixels_mut() {
        let v = f64::from(p.0[0]) + normal.sample(&mut rng);
        p.0[0] = v.round().clamp(0.0, 255.0) as u8;
    }
}

/// Uniform random grey levels (a frame of pure noise).
pub fn noise_frame(width: u32, height: u32, seed: u64) -> GrayImage {
    let mut rng = rng(seed);
    GrayImage::from_fn(width, height, |_, _| Luma([rng.random::<u8>()]))
}

/// The structured-light sensor: depth noise grows with the square of distance
/// (triangulation), `SIGMA_AT_500` mm at 0.5 m, typical of short-range modules; a
/// fraction [`DROPOUT`] of pixels has no reading (speckle that failed to match).
pub const SIGMA_AT_500: f64 = 1.0;
pub const DROPOUT: f64 = 0.03;
/// Beyond the printed sheet or the head: a wall this far behind the subject.
pub const WALL_BEHIND_MM: f64 = 800.0;
/// A printed photo's sheet: A4, 210 × 297 mm, centred on the face.
pub const SHEET_MM: (f64, f64) = (210.0, 297.0);

/// Pinhole camera: focal length in pixels and principal point.
#[derive(Clone, Copy, Debug)]
pub struct Camera {
    pub f: f64,
    pub cx: f64,
    pub cy: f64,
}

impl Camera {
    /// The frame's centre as principal point; focal length such that a face whose
    /// interpupillary distance is `ipd_px` pixels is life size (63 mm, the adult mean,
    /// Dodgson 2004) at `distance` mm.
    pub fn for_face(width: u32, height: u32, ipd_px: f64, distance: f64) -> Camera {
        Camera {
            f: distance * ipd_px / IPD_MM,
            cx: f64::from(width) / 2.0,
            cy: f64::from(height) / 2.0,
        }
    }

    fn ray(&self, u: f64, v: f64) -> [f64; 3] {
        [(u - self.cx) / self.f, (v - self.cy) / self.f, 1.0]
    }
}

/// Mean adult interpupillary distance, millimetres.
pub const IPD_MM: f64 = 63.0;

/// The mesh's interpupillary distance in pixels (iris centres).
pub fn ipd_px(mesh: &FaceMesh) -> f64 {
    let (a, b) = (mesh.left_iris[0], mesh.right_iris[0]);
    f64::from((a[0] - b[0]).hypot(a[1] - b[1]))
}

/// The mesh's centre (mean of its points) in the image.
pub fn mesh_centre(mesh: &FaceMesh) -> (f64, f64) {
    let n = mesh.points.len() as f64;
    (
        mesh.points.iter().map(|p| f64::from(p[0])).sum::<f64>() / n,
        mesh.points.iter().map(|p| f64::from(p[1])).sum::<f64>() / n,
    )
}

/// A printed photo's sheet, its face centre at `distance` mm on the ray through the
/// face's centre pixel.
#[derive(Clone, Copy, Debug)]
pub enum Sheet {
    /// Flat, turned by `yaw` about the vertical and `pitch` about the horizontal axis
    /// (degrees).
    Plane { yaw: f64, pitch: f64 },
    /// Bent round a cylinder of `radius` mm, convex towards the camera, its axis
    /// vertical (bent left to right) or horizontal.
    Cylinder { radius: f64, vertical_axis: bool },
}

/// The depth map of a printed photo: ray-cast through a pinhole camera, then the
/// sensor model applied.
pub fn render_sheet(
    width: u32,
    height: u32,
    cam: Camera,
    face_centre: (f64, f64),
    distance: f64,
    sheet: Sheet,
    seed: u64,
) -> DepthMap {
    let r0 = cam.ray(face_centre.0, face_centre.1);
    // The face's centre on the sheet.
    let p0 = r0.map(|c| c * distance);
    let mut depth = vec![0.0f64; (width * height) as usize];
    for v in 0..height {
        for u in 0..width {
            let d = cam.ray(f64::from(u), f64::from(v));
            let hit = match sheet {
                Sheet::Plane { yaw, pitch } => {
                    let (sy, cy) = yaw.to_radians().sin_cos();
                    let (sp, cp) = pitch.to_radians().sin_cos();
                    // The sheet's normal and in-plane axes: the camera's axes turned by
                    // the pitch about x, then the yaw about y.
                    let n = [sy * cp, -sp, cy * cp];
                    let ex = [cy, 0.0, -sy];
                    let ey = [sy * sp, cp, cy * sp];
                    let t = dot(n, p0) / dot(n, d);
                    let p = d.map(|c| c * t);
                    let q = sub(p, p0);
                    on_sheet(dot(q, ex), dot(q, ey)).then_some(t)
                }
                Sheet::Cylinder {
                    radius,
                    vertical_axis,
                } => {
                    // Work in the plane across the axis: (x or y, z).
                    let (k, a0) = if vertical_axis { (0, 1) } else { (1, 0) };
                    let axis = [p0[k], p0[2] + radius];
                    let (dk, dz) = (d[k], d[2]);
                    let qa = dk * dk + dz * dz;
                    let qb = -2.0 * (dk * axis[0] + dz * axis[1]);
                    let qc = axis[0] * axis[0] + axis[1] * axis[1] - radius * radius;
                    let disc = qb * qb - 4.0 * qa * qc;
                    if disc < 0.0 {
                        None
                    } else {
                        let t = (-qb - disc.sqrt()) / (2.0 * qa);
                        let p = d.map(|c| c * t);
                        // Arc length across the axis, straight length along it.
                        let angle = (p[k] - axis[0]).atan2(axis[1] - p[2]);
                        let across = radius * angle;
                        let along = p[a0] - p0[a0];
                        let (sx, sy) = if vertical_axis {
                            (across, along)
                        } else {
                            (along, across)
                        };
                        on_sheet(sx, sy).then_some(t)
                    }
                }
            };
            depth[(v * width + u) as usize] = hit.unwrap_or(distance + WALL_BEHIND_MM);
        }
    }
    sensor(width, height, &depth, &[], seed)
}

fn on_sheet(x: f64, y: f64) -> bool {
    x.abs() <= SHEET_MM.0 / 2.0 && y.abs() <= SHEET_MM.1 / 2.0
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

/// The depth map of a real face: the mesh's z interpolated over its Delaunay
/// triangulation (barycentric), scaled to millimetres by the face's interpupillary
/// distance ([`IPD_MM`]; the check itself scales by the cheek width, a different
/// measure), its median at `distance` mm; a wall behind the head elsewhere. `z` gives
/// the relief per mesh point (the mesh's own z, or another face's). The sensor model
/// adds a shadow beside the nose (where the projector, offset from the camera, does not
/// reach), dropped pixels and noise.
pub fn render_face(
    width: u32,
    height: u32,
    mesh: &FaceMesh,
    z: &[f64],
    distance: f64,
    seed: u64,
) -> DepthMap {
    let mm_per_px = IPD_MM / ipd_px(mesh);
    let mut sorted = z.to_vec();
    sorted.sort_by(f64::total_cmp);
    let z_mid = sorted[sorted.len() / 2];
    let pts: Vec<delaunator::Point> = mesh
        .points
        .iter()
        .map(|p| delaunator::Point {
            x: f64::from(p[0]),
            y: f64::from(p[1]),
        })
        .collect();
    let tri = delaunator::triangulate(&pts);
    assert!(!tri.triangles.is_empty(), "no triangulation of the mesh");
    let mut depth = vec![distance + WALL_BEHIND_MM; (width * height) as usize];
    for t in tri.triangles.chunks_exact(3) {
        let (a, b, c) = (&pts[t[0]], &pts[t[1]], &pts[t[2]]);
        let det = (b.y - c.y) * (a.x - c.x) + (c.x - b.x) * (a.y - c.y);
        if det.abs() < 1e-9 {
            continue;
        }
        let x0 = a.x.min(b.x).min(c.x).floor().max(0.0) as u32;
        let x1 = (a.x.max(b.x).max(c.x).ceil() as u32).min(width - 1);
        let y0 = a.y.min(b.y).min(c.y).floor().max(0.0) as u32;
        let y1 = (a.y.max(b.y).max(c.y).ceil() as u32).min(height - 1);
        for v in y0..=y1 {
            for u in x0..=x1 {
                let (x, y) = (f64::from(u), f64::from(v));
                let l0 = ((b.y - c.y) * (x - c.x) + (c.x - b.x) * (y - c.y)) / det;
                let l1 = ((c.y - a.y) * (x - c.x) + (a.x - c.x) * (y - c.y)) / det;
                let l2 = 1.0 - l0 - l1;
                if l0 < -1e-9 || l1 < -1e-9 || l2 < -1e-9 {
                    continue;
                }
                let zi = l0 * z[t[0]] + l1 * z[t[1]] + l2 * z[t[2]];
                depth[(v * width + u) as usize] = distance + (zi - z_mid) * mm_per_px;
            }
        }
    }
    // The projector sits beside the camera: the nose shades a patch on its far side.
    let nose = mesh.points[1];
    let r = 0.25 * ipd_px(mesh);
    let shadow = [(
        f64::from(nose[0]) + 0.35 * ipd_px(mesh),
        f64::from(nose[1]),
        r,
    )];
    sensor(width, height, &depth, &shadow, seed)
}

/// The mesh's own z per point.
pub fn own_z(mesh: &FaceMesh) -> Vec<f64> {
    mesh.points.iter().map(|p| f64::from(p[2])).collect()
}

/// The sensor model over ideal depths: noise of `SIGMA_AT_500·(Z/500)²`, [`DROPOUT`]
/// of pixels lost at random, discs `(x, y, radius)` lost entirely, rounded to whole
/// millimetres as sensors report them.
fn sensor(
    width: u32,
    height: u32,
    ideal: &[f64],
    holes: &[(f64, f64, f64)],
    seed: u64,
) -> DepthMap {
    let mut rng = rng(seed);
    let unit = Normal::new(0.0, 1.0).unwrap();
    DepthMap::from_fn(width, height, |u, v| {
        let z = ideal[(v * width + u) as usize];
        let (x, y) = (f64::from(u), f64::from(v));
        let in_hole = holes
            .iter()
            .any(|&(hx, hy, r)| (x - hx).powi(2) + (y - hy).powi(2) <= r * r);
        let lost = rng.random::<f64>() < DROPOUT;
        let noisy = z + SIGMA_AT_500 * (z / 500.0).powi(2) * unit.sample(&mut rng);
        if in_hole || lost {
            Luma([0])
        } else {
            Luma([noisy.round().clamp(1.0, f64::from(u16::MAX)) as u16])
        }
    })
}
