//! The 468-point face mesh and the iris points of one face, from MediaPipe's facemesh and
//! iris models as the `human-models` pack ships them (TensorFlow.js graphs converted to
//! ONNX by the `tfjs` crate), and what the API derives from them: IAI's 90-point shape,
//! the dense shape, head pose and eye openness.
//!
//! How a face is cropped, as the Human library does for one image but from dlib's box:
//! a square around the face, rotated so that the eyes are level (the roll from dlib's eye
//! corners), sampled bilinearly to 192×192 with RGB scaled to 0-1; the mesh comes back
//! through the inverse transform. A second pass crops again from the first mesh's bounds
//! (MediaPipe's ROI from landmarks: the bounds enlarged 1.5 times, the roll from the eye
//! corners), which is what Human does from one video frame to the next; `docs/landmarks.md`
//! gives the measurements behind it. Each eye is then cropped from the image (the eye
//! corners' box enlarged 2.3 times, square, 64×64, the image-right eye mirrored so the
//! model sees the eye it was trained on) for the iris model, whose 71 eye-contour points
//! replace the mesh's eyelid contours and whose 5 iris points are the pupils.
//!
//! Coordinates are image pixels in the convention of dlib's landmarks (the centre of
//! pixel `k` is `k`); `z` is in the same scale as `x` and `y`, smaller towards the
//! camera. "Left" and "right" in this module mean the image's left and right, as IAI's
//! `LeftEye` etc. do (see `docs/landmarks.md`). Mesh indices follow MediaPipe's topology
//! (there, "right eye" is the person's right, which is the image's left).

use image::RgbImage;

use crate::engine::Face;
use crate::error::{Result, VisionError};
use crate::runtime::Network;
use crate::shape::{DenseShape, FaceShape90, HeadPose, Point};

/// The facemesh input side.
pub const MESH_SIZE: usize = 192;
/// The iris model's input side.
pub const IRIS_SIZE: usize = 64;
/// Points of the face mesh.
pub const MESH_POINTS: usize = 468;
/// Values the iris model returns per eye: 71 contour and 5 iris points, x, y, z.
pub const IRIS_VALUES: usize = 228;

/// Crop side over the detector box's larger side in the first pass, centred on the
/// box. dlib's boxes run from the brows to the chin; the mesh also covers the forehead,
/// so the crop is wider than MediaPipe's 1.5 over mesh bounds. With 1.8 the second
/// pass's crop (1.5 × the first mesh's bounds) comes out 0.97-1.02 times as large and
/// its centre within 4 % of the side (docs/landmarks.md).
const FIRST_PASS_SCALE: f64 = 1.8;
/// Crop side over the mesh's bounds in the second pass (MediaPipe's landmark ROI).
const SECOND_PASS_SCALE: f64 = 1.5;
/// Eye crop side over the eye corners' distance (Human's iris default).
const EYE_SCALE: f64 = 2.3;

/// Eye aspect ratio under which an eye counts as closed. Open eyes measure 0.21-0.38 on
/// the fixture photos; the blink literature (Soukupová and Čech 2016) puts the closed
/// threshold near 0.2 for dlib's contours, lowered here to leave room for narrow eyes.
pub const EYE_CLOSED_BELOW: f32 = 0.15;

/// Mesh eyelid contours (MediaPipe): lower lid from the outer corner, upper lid from
/// the outer side, as Human's `rightEyeLower0`/`rightEyeUpper0` (image-left eye) and
/// `leftEyeLower0`/`leftEyeUpper0` (image-right eye). The iris model's contour points
/// 0-8 and 9-15 fall on these, in this order.
const LEFT_EYE_LOWER: [usize; 9] = [33, 7, 163, 144, 145, 153, 154, 155, 133];
const LEFT_EYE_UPPER: [usize; 7] = [246, 161, 160, 159, 158, 157, 173];
const RIGHT_EYE_LOWER: [usize; 9] = [263, 249, 390, 373, 374, 380, 381, 382, 362];
const RIGHT_EYE_UPPER: [usize; 7] = [466, 388, 387, 386, 385, 384, 398];

/// The facemesh and iris networks, loaded once.
#[derive(Clone, Debug)]
pub struct MeshNets {
    facemesh: Network,
    iris: Network,
}

/// The mesh of one face, in image pixels.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FaceMesh {
    /// The 468 mesh points (MediaPipe's topology), eyelids refined by the iris model.
    pub points: Vec<[f32; 3]>,
    /// The iris of the image-left eye (the person's right): centre, then the edge
    /// points to the image right, above, to the image left and below.
    pub left_iris: [[f32; 3]; 5],
    /// The iris of the image-right eye (the person's left), in the same order.
    pub right_iris: [[f32; 3]; 5],
    /// The facemesh model's face flag (a sigmoid: near 1 when the crop holds a face).
    pub confidence: f32,
}

/// What the networks were given and what they returned for one face, for parity checks
/// against the reference implementation.
#[derive(Clone, Debug)]
pub struct MeshTrace {
    /// The first pass's facemesh input (the crop placed by dlib's box), NHWC
    /// [1, 192, 192, 3], values 0-1.
    pub first_face_input: Vec<f32>,
    /// The last facemesh input, NHWC [1, 192, 192, 3], values 0-1.
    pub face_input: Vec<f32>,
    /// The facemesh outputs for it: 1404 mesh values and the face flag.
    pub mesh_output: Vec<f32>,
    pub flag_output: f32,
    /// The iris input, NHWC [2, 64, 64, 3]: the image-left eye, then the image-right
    /// eye mirrored.
    pub eye_input: Vec<f32>,
    /// The iris outputs, 2 × 228.
    pub iris_output: Vec<f32>,
}

/// An affine map from a crop's model coordinates (u, v) to continuous image coordinates
/// (pixel `k` spans `[k, k + 1)`): `origin + u · ax + v · ay`.
#[derive(Clone, Copy, Debug)]
struct Affine {
    origin: [f64; 2],
    ax: [f64; 2],
    ay: [f64; 2],
}

impl Affine {
    /// A square crop of side `side` image pixels around `center`, its x axis turned by
    /// `angle` (radians, clockwise in the image), seen as `n`×`n` model units.
    fn square(center: [f64; 2], side: f64, angle: f64, n: usize) -> Affine {
        let unit = side / n as f64;
        let (s, c) = angle.sin_cos();
        let ax = [c * unit, s * unit];
        let ay = [-s * unit, c * unit];
        let half = n as f64 / 2.0;
        Affine {
            origin: [
                center[0] - half * (ax[0] + ay[0]),
                center[1] - half * (ax[1] + ay[1]),
            ],
            ax,
            ay,
        }
    }

    fn map(&self, u: f64, v: f64) -> [f64; 2] {
        [
            self.origin[0] + u * self.ax[0] + v * self.ay[0],
            self.origin[1] + u * self.ax[1] + v * self.ay[1],
        ]
    }

    /// Image pixels per model unit.
    fn scale(&self) -> f64 {
        self.ax[0].hypot(self.ax[1])
    }

    /// Samples the `n`×`n` crop: output pixel (i, j) reads the image bilinearly at the
    /// centre of model cell (i, j); positions outside the image read 0 (as TensorFlow's
    /// `cropAndResize` extrapolates). RGB scaled to 0-1, NHWC.
    fn sample(&self, img: &RgbImage, n: usize, out: &mut Vec<f32>) {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let raw = img.as_raw();
        let px = |x: usize, y: usize, c: usize| f32::from(raw[(y * w + x) * 3 + c]);
        for j in 0..n {
            for i in 0..n {
                let [x, y] = self.map(i as f64 + 0.5, j as f64 + 0.5);
                // To pixel-index space, where pixel k's centre is k.
                let (x, y) = (x - 0.5, y - 0.5);
                if w == 0
                    || h == 0
                    || x < 0.0
                    || y < 0.0
                    || x > (w - 1) as f64
                    || y > (h - 1) as f64
                {
                    out.extend([0.0; 3]);
                    continue;
                }
                let (x0, y0) = (x.floor() as usize, y.floor() as usize);
                let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                let (dx, dy) = ((x - x0 as f64) as f32, (y - y0 as f64) as f32);
                for c in 0..3 {
                    let top = px(x0, y0, c) + (px(x1, y0, c) - px(x0, y0, c)) * dx;
                    let bottom = px(x0, y1, c) + (px(x1, y1, c) - px(x0, y1, c)) * dx;
                    out.push((top + (bottom - top) * dy) / 255.0);
                }
            }
        }
    }
}

/// One facemesh pass: the crop, and the mesh in the crop's model coordinates.
struct Pass {
    crop: Affine,
    input: Vec<f32>,
    raw: Vec<f32>,
    flag: f32,
}

impl MeshNets {
    /// Loads facemesh and iris from the store (fetching the pack on first use).
    pub fn load(store: &models::ModelStore) -> Result<MeshNets> {
        Ok(MeshNets {
            facemesh: Network::load_tfjs(
                store,
                "facemesh",
                "facemesh.json",
                [1, MESH_SIZE, MESH_SIZE, 3],
            )?,
            // Both eyes go through as one batch of two.
            iris: Network::load_tfjs(store, "iris", "iris.json", [2, IRIS_SIZE, IRIS_SIZE, 3])?,
        })
    }

    /// The mesh of the face in `face` (a dlib detection: its box places the first crop,
    /// its eye landmarks, when present, level it).
    pub fn run(&self, img: &RgbImage, face: &Face) -> Result<FaceMesh> {
        self.run_traced(img, face).map(|(mesh, _)| mesh)
    }

    /// [`MeshNets::run`], also returning the networks' last inputs and outputs.
    pub fn run_traced(&self, img: &RgbImage, face: &Face) -> Result<(FaceMesh, MeshTrace)> {
        if img.width() == 0 || img.height() == 0 {
            return Err(VisionError::InvalidArgument("the image is empty".into()));
        }
        let first = self.mesh_pass(img, first_crop(face)?)?;
        let second = self.mesh_pass(img, second_crop(&first))?;
        let (mesh, mut trace) = self.finish(img, second)?;
        trace.first_face_input = first.input;
        Ok((mesh, trace))
    }

    fn mesh_pass(&self, img: &RgbImage, crop: Affine) -> Result<Pass> {
        let mut input = Vec::with_capacity(MESH_SIZE * MESH_SIZE * 3);
        crop.sample(img, MESH_SIZE, &mut input);
        let (raw, flag) = self.facemesh(&input)?;
        Ok(Pass {
            crop,
            input,
            raw,
            flag,
        })
    }

    /// The facemesh network alone on a prepared input (NHWC [1, 192, 192, 3], values
    /// 0-1, as [`MeshTrace`] holds them): the 1404 mesh values in the crop's model
    /// coordinates and the face flag. For parity checks and benchmarks.
    pub fn facemesh(&self, input: &[f32]) -> Result<(Vec<f32>, f32)> {
        if input.len() != MESH_SIZE * MESH_SIZE * 3 {
            return Err(VisionError::InvalidArgument(format!(
                "facemesh takes {} values, not {}",
                MESH_SIZE * MESH_SIZE * 3,
                input.len()
            )));
        }
        let outputs = self
            .facemesh
            .run_all(&[1, MESH_SIZE, MESH_SIZE, 3], |dst| {
                dst.copy_from_slice(input)
            })?;
        // Outputs told apart by size, as Human does: mesh 1404, face flag 1.
        let find = |len: usize| {
            outputs
                .iter()
                .find(|(_, v)| v.len() == len)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| {
                    VisionError::inference("facemesh", format!("no output of {len} values"))
                })
        };
        let raw = find(MESH_POINTS * 3)?;
        let flag = find(1)?[0];
        if raw.iter().any(|v| !v.is_finite()) {
            return Err(VisionError::inference("facemesh", "non-finite mesh output"));
        }
        Ok((raw, flag))
    }

    /// The iris network alone on a prepared input (NHWC [2, 64, 64, 3]: both eyes, as
    /// [`MeshTrace`] holds them): 2 × 228 values. For parity checks and benchmarks.
    pub fn iris(&self, eye_input: &[f32]) -> Result<Vec<f32>> {
        if eye_input.len() != 2 * IRIS_SIZE * IRIS_SIZE * 3 {
            return Err(VisionError::InvalidArgument(format!(
                "iris takes {} values, not {}",
                2 * IRIS_SIZE * IRIS_SIZE * 3,
                eye_input.len()
            )));
        }
        let (_, out) = self.iris.run(&[2, IRIS_SIZE, IRIS_SIZE, 3], |dst| {
            dst.copy_from_slice(eye_input)
        })?;
        if out.len() != 2 * IRIS_VALUES || out.iter().any(|v| !v.is_finite()) {
            return Err(VisionError::inference("iris", "unexpected output"));
        }
        Ok(out)
    }

    /// Iris on both eyes of the final pass, then everything in image coordinates.
    fn finish(&self, img: &RgbImage, pass: Pass) -> Result<(FaceMesh, MeshTrace)> {
        let raw = |i: usize| [pass.raw[i * 3] as f64, pass.raw[i * 3 + 1] as f64];
        // Eye crops in the face crop's model space, then composed into image space.
        // The model takes a person's right eye as it looks (outer corner on the crop's
        // left): the image-left eye as is, the image-right eye mirrored. The other way
        // round its lid contour lands 16-20 % of the eye distance off the mesh's lids,
        // this way 1-2 % (measured on the fixtures, see docs/landmarks.md).
        let left_eye = eye_crop(&pass.crop, raw(33), raw(133), false);
        let right_eye = eye_crop(&pass.crop, raw(263), raw(362), true);
        let mut eye_input = Vec::with_capacity(2 * IRIS_SIZE * IRIS_SIZE * 3);
        left_eye.sample(img, IRIS_SIZE, &mut eye_input);
        right_eye.sample(img, IRIS_SIZE, &mut eye_input);
        let iris_output = self.iris(&eye_input)?;

        let scale = pass.crop.scale();
        let mut points: Vec<[f32; 3]> = (0..MESH_POINTS)
            .map(|i| {
                let [x, y] = pass.crop.map(raw(i)[0], raw(i)[1]);
                [
                    (x - 0.5) as f32,
                    (y - 0.5) as f32,
                    (pass.raw[i * 3 + 2] as f64 * scale) as f32,
                ]
            })
            .collect();
        let eye_points = |crop: &Affine, out: &[f32]| -> Vec<[f32; 2]> {
            (0..IRIS_VALUES / 3)
                .map(|k| {
                    let [x, y] = crop.map(out[k * 3] as f64, out[k * 3 + 1] as f64);
                    [(x - 0.5) as f32, (y - 0.5) as f32]
                })
                .collect()
        };
        let left = eye_points(&left_eye, &iris_output[..IRIS_VALUES]);
        let right = eye_points(&right_eye, &iris_output[IRIS_VALUES..]);
        let left_iris = refine_eye(&mut points, &left, &LEFT_EYE_LOWER, &LEFT_EYE_UPPER);
        let mut right_iris = refine_eye(&mut points, &right, &RIGHT_EYE_LOWER, &RIGHT_EYE_UPPER);
        // The model orders the iris edge as its crop's right, top, left, bottom; in the
        // mirrored crop its "right" is the image's left.
        right_iris.swap(1, 3);
        let mesh = FaceMesh {
            points,
            left_iris,
            right_iris,
            confidence: pass.flag,
        };
        let trace = MeshTrace {
            // Filled in by run_traced, which holds the first pass.
            first_face_input: Vec::new(),
            face_input: pass.input,
            mesh_output: pass.raw,
            flag_output: pass.flag,
            eye_input,
            iris_output,
        };
        Ok((mesh, trace))
    }
}

/// The first crop: dlib's box, enlarged, levelled by dlib's eye corners.
fn first_crop(face: &Face) -> Result<Affine> {
    let r = face.rect;
    if r.is_empty() {
        return Err(VisionError::InvalidArgument(format!(
            "empty face box {r:?}"
        )));
    }
    // dlib boxes include their right and bottom edges.
    let (w, h) = ((r.right - r.left + 1) as f64, (r.bottom - r.top + 1) as f64);
    let angle = match face.landmarks.as_slice() {
        // Outer and inner corners: image-right eye 0, 1; image-left eye 2, 3.
        [p0, p1, p2, p3, ..] => {
            let right = [(p0.0 + p1.0) as f64 / 2.0, (p0.1 + p1.1) as f64 / 2.0];
            let left = [(p2.0 + p3.0) as f64 / 2.0, (p2.1 + p3.1) as f64 / 2.0];
            (right[1] - left[1]).atan2(right[0] - left[0])
        }
        _ => 0.0,
    };
    let center = [r.left as f64 + w / 2.0, r.top as f64 + h / 2.0];
    Ok(Affine::square(
        center,
        FIRST_PASS_SCALE * w.max(h),
        angle,
        MESH_SIZE,
    ))
}

/// The second crop, from the first mesh: its bounds in the first crop's frame, enlarged
/// 1.5 times, levelled by the mesh's outer eye corners.
fn second_crop(first: &Pass) -> Affine {
    let raw = |i: usize| [first.raw[i * 3] as f64, first.raw[i * 3 + 1] as f64];
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for i in 0..MESH_POINTS {
        let p = raw(i);
        for k in 0..2 {
            lo[k] = lo[k].min(p[k]);
            hi[k] = hi[k].max(p[k]);
        }
    }
    let crop = &first.crop;
    let center = crop.map((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
    let side = SECOND_PASS_SCALE * (hi[0] - lo[0]).max(hi[1] - lo[1]) * crop.scale();
    let (a, b) = (
        crop.map(raw(33)[0], raw(33)[1]),
        crop.map(raw(263)[0], raw(263)[1]),
    );
    let angle = (b[1] - a[1]).atan2(b[0] - a[0]);
    Affine::square(center, side, angle, MESH_SIZE)
}

/// The iris model's crop of one eye, given its two corners in the face crop's model
/// coordinates: their box enlarged [`EYE_SCALE`] times and made square, mirrored when
/// `mirror` so that the model sees the eye it was trained on.
fn eye_crop(face: &Affine, a: [f64; 2], b: [f64; 2], mirror: bool) -> Affine {
    let center = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
    let side = EYE_SCALE * (a[0] - b[0]).abs().max((a[1] - b[1]).abs());
    let unit = side / IRIS_SIZE as f64;
    let start = [center[0] - side / 2.0, center[1] - side / 2.0];
    let (u0, du) = if mirror {
        (start[0] + side, -unit)
    } else {
        (start[0], unit)
    };
    let origin = face.map(u0, start[1]);
    Affine {
        origin,
        ax: [face.ax[0] * du, face.ax[1] * du],
        ay: [face.ay[0] * unit, face.ay[1] * unit],
    }
}

/// Replaces the mesh's eyelid contours with the iris model's (x, y; z stays the mesh's)
/// and returns the iris points, their z from the mesh's lid centres as Human does (the
/// iris model's own z is unreliable).
fn refine_eye(
    points: &mut [[f32; 3]],
    eye: &[[f32; 2]],
    lower: &[usize; 9],
    upper: &[usize; 7],
) -> [[f32; 3]; 5] {
    for (k, &m) in lower.iter().chain(upper.iter()).enumerate() {
        points[m][0] = eye[k][0];
        points[m][1] = eye[k][1];
    }
    let (upper_z, lower_z) = (points[upper[3]][2], points[lower[4]][2]);
    let mid = (upper_z + lower_z) / 2.0;
    std::array::from_fn(|k| {
        let [x, y] = eye[71 + k];
        let z = match k {
            2 => upper_z,
            4 => lower_z,
            _ => mid,
        };
        [x, y, z]
    })
}

// ---- Shapes derived from the mesh (index tables documented in docs/landmarks.md) ----

/// The face outline, image-left side from the temple down to the chin, then up the
/// image-right side (MediaPipe's silhouette).
const PROFILE_CHAIN: [usize; 23] = [
    127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397, 288,
    361, 323, 454, 356,
];
/// The chin in PROFILE_CHAIN.
const PROFILE_CHIN: usize = 11;

/// 90-point eyes: image-left corner, three points along the lower lid to the image
/// right, the other corner, three along the upper lid back.
const SHAPE90_LEFT_EYE: [usize; 8] = [33, 163, 145, 154, 133, 157, 159, 161];
const SHAPE90_RIGHT_EYE: [usize; 8] = [362, 381, 374, 390, 263, 388, 386, 384];
/// 90-point brows: image-left end, three along the lower edge, the image-right end,
/// three along the upper edge back.
const SHAPE90_LEFT_BROW: [usize; 8] = [46, 53, 52, 65, 55, 107, 105, 70];
const SHAPE90_RIGHT_BROW: [usize; 8] = [285, 295, 282, 283, 276, 300, 334, 336];
/// 90-point mouth: outer lips from the image-left corner along the lower lip to the other
/// corner and back along the upper lip (12), then the inner lips the same way (10).
const SHAPE90_MOUTH: [usize; 22] = [
    61, 146, 181, 17, 405, 375, 291, 409, 269, 0, 39, 185, //
    78, 88, 87, 317, 318, 308, 310, 312, 82, 80,
];
/// 90-point nose: tip, top of the bridge, down the image-left side to the wing, along
/// the base under the nostrils, up the image-right side.
const SHAPE90_NOSE: [usize; 13] = [1, 6, 196, 236, 131, 64, 99, 2, 328, 294, 360, 456, 419];

/// Dense eyes: the whole lid contours, image-left corner first, lower lid then upper.
const DENSE_LEFT_EYE: [usize; 16] = [
    33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
];
const DENSE_RIGHT_EYE: [usize; 16] = [
    362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398,
];
const DENSE_LEFT_BROW: [usize; 10] = [46, 53, 52, 65, 55, 107, 66, 105, 63, 70];
const DENSE_RIGHT_BROW: [usize; 10] = [285, 295, 282, 283, 276, 300, 293, 334, 296, 336];
const DENSE_MOUTH_OUTSIDE: [usize; 20] = [
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
];
const DENSE_MOUTH_INSIDE: [usize; 20] = [
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191,
];
const DENSE_NOSE: [usize; 15] = [
    1, 6, 196, 236, 131, 64, 98, 97, 2, 326, 327, 294, 360, 456, 419,
];
const DENSE_CENTRAL_AXIS: [usize; 28] = [
    10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 19, 94, 2, 164, 0, 11, 12, 13, 14, 15, 16, 17, 18,
    200, 199, 175, 152,
];
const DENSE_CHIN: [usize; 13] = [
    172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397,
];
/// Eye bags: the row under the lower lid, image left to right, then the row below it
/// back.
const DENSE_LEFT_EYE_BAG: [usize; 18] = [
    130, 25, 110, 24, 23, 22, 26, 112, 243, 244, 233, 232, 231, 230, 229, 228, 31, 226,
];
const DENSE_RIGHT_EYE_BAG: [usize; 18] = [
    463, 341, 256, 252, 253, 254, 339, 255, 359, 446, 261, 448, 449, 450, 451, 452, 453, 464,
];
/// The top of the mesh outline, temple to temple over the forehead (the mesh stops short
/// of the hairline).
const DENSE_FOREHEAD: [usize; 15] = [
    127, 162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389, 356,
];

impl FaceMesh {
    fn pt(&self, i: usize) -> Point {
        Point::new(self.points[i][0], self.points[i][1])
    }

    fn pts(&self, idx: &[usize]) -> Vec<Point> {
        idx.iter().map(|&i| self.pt(i)).collect()
    }

    /// IAI's 90 points (AnalyzeFace's `FaceShape`).
    pub fn shape90(&self) -> FaceShape90 {
        let chain = self.pts(&PROFILE_CHAIN);
        let mut face_profile = resample(&chain[..=PROFILE_CHIN], 11);
        face_profile.pop();
        face_profile.extend(resample(&chain[PROFILE_CHIN..], 11));
        FaceShape90 {
            face_profile,
            left_eye: self.pts(&SHAPE90_LEFT_EYE),
            right_eye: self.pts(&SHAPE90_RIGHT_EYE),
            left_eye_brow: self.pts(&SHAPE90_LEFT_BROW),
            right_eye_brow: self.pts(&SHAPE90_RIGHT_BROW),
            mouth: self.pts(&SHAPE90_MOUTH),
            nose: self.pts(&SHAPE90_NOSE),
            left_pupil: Point::new(self.left_iris[0][0], self.left_iris[0][1]),
            right_pupil: Point::new(self.right_iris[0][0], self.right_iris[0][1]),
        }
    }

    /// The dense shape (AnalyzeDenseLandmarks), counts in `docs/landmarks.md`.
    pub fn dense(&self) -> DenseShape {
        let iris = |p: &[[f32; 3]; 5]| p.iter().map(|q| Point::new(q[0], q[1])).collect();
        DenseShape {
            left_eye: self.pts(&DENSE_LEFT_EYE),
            right_eye: self.pts(&DENSE_RIGHT_EYE),
            left_eye_brow: self.pts(&DENSE_LEFT_BROW),
            right_eye_brow: self.pts(&DENSE_RIGHT_BROW),
            mouth_outside: self.pts(&DENSE_MOUTH_OUTSIDE),
            mouth_inside: self.pts(&DENSE_MOUTH_INSIDE),
            nose: self.pts(&DENSE_NOSE),
            left_pupil: iris(&self.left_iris),
            right_pupil: iris(&self.right_iris),
            central_axis: self.pts(&DENSE_CENTRAL_AXIS),
            chin: self.pts(&DENSE_CHIN),
            left_eye_bags: self.pts(&DENSE_LEFT_EYE_BAG),
            right_eye_bags: self.pts(&DENSE_RIGHT_EYE_BAG),
            forehead: self.pts(&DENSE_FOREHEAD),
        }
    }

    /// Head pose from the mesh's 3D axes, after Human's `calculateFaceAngle`: the face's
    /// x axis from the image-left outer eye corner (33) to the other (263), z
    /// perpendicular to it and to the forehead-top (10) to chin (152) line, y completing
    /// them; then the YZX Euler angles of that rotation, signed as [`HeadPose`] documents.
    /// Human takes the cheeks (234, 454) for x and keeps the midline exact instead; on a
    /// mirrored photo that gave rolls 2.1° from symmetric, the eye corners 0.2-0.4°
    /// (docs/landmarks.md).
    pub fn head_pose(&self) -> HeadPose {
        let p = |i: usize| self.points[i].map(f64::from);
        let sub = |a: [f64; 3], b: [f64; 3]| [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
        let cross = |a: [f64; 3], b: [f64; 3]| {
            [
                a[1] * b[2] - a[2] * b[1],
                a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0],
            ]
        };
        let norm = |v: [f64; 3]| {
            let l = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
                .sqrt()
                .max(f64::EPSILON);
            v.map(|c| c / l)
        };
        let x = norm(sub(p(263), p(33)));
        let z = norm(cross(x, sub(p(152), p(10))));
        let y = cross(z, x);
        // Rows x, y, z of the rotation matrix; YZX Euler angles.
        let roll = y[0].atan2((x[0] * x[0] + z[0] * z[0]).sqrt());
        let yaw = (-z[0]).atan2(x[0]);
        let pitch = (-y[2]).atan2(y[1]);
        HeadPose {
            // Looking down brings the forehead towards the camera: positive.
            pitch: (-pitch).to_degrees() as f32,
            // Turned to the image right: the image-right eye recedes, positive.
            yaw: yaw.to_degrees() as f32,
            // The eye line turned clockwise in the image: positive.
            roll: (-roll).to_degrees() as f32,
        }
    }

    /// Eye aspect ratio of the image-left and image-right eye: the mean of three lid
    /// openings (upper to lower lid) over the corner-to-corner width.
    pub fn eye_openness(&self) -> (f32, f32) {
        let d = |a: usize, b: usize| {
            let (p, q) = (self.points[a], self.points[b]);
            (p[0] - q[0]).hypot(p[1] - q[1])
        };
        let ear = |pairs: [(usize, usize); 3], corners: (usize, usize)| {
            let open = pairs.iter().map(|&(a, b)| d(a, b)).sum::<f32>() / 3.0;
            open / d(corners.0, corners.1).max(f32::EPSILON)
        };
        (
            ear([(160, 144), (159, 145), (158, 153)], (33, 133)),
            ear([(387, 373), (386, 374), (385, 380)], (263, 362)),
        )
    }

    /// IAI's `EyeOpen`: false as soon as one eye's aspect ratio is under
    /// [`EYE_CLOSED_BELOW`].
    pub fn eyes_open(&self) -> bool {
        let (l, r) = self.eye_openness();
        l >= EYE_CLOSED_BELOW && r >= EYE_CLOSED_BELOW
    }
}

/// `n` points evenly spaced by arc length along the polyline `pts` (its ends included).
fn resample(pts: &[Point], n: usize) -> Vec<Point> {
    let seg: Vec<f32> = pts
        .windows(2)
        .map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y))
        .collect();
    let total: f32 = seg.iter().sum();
    if pts.len() < 2 || n < 2 || total <= 0.0 {
        return vec![pts.first().copied().unwrap_or(Point::new(0.0, 0.0)); n];
    }
    let mut out = Vec::with_capacity(n);
    let (mut k, mut walked) = (0, 0.0);
    for i in 0..n {
        let target = total * i as f32 / (n - 1) as f32;
        while k + 1 < seg.len() && walked + seg[k] < target {
            walked += seg[k];
            k += 1;
        }
        let t = if seg[k] > 0.0 {
            ((target - walked) / seg[k]).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (a, b) = (pts[k], pts[k + 1]);
        out.push(Point::new(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mesh whose forehead top, chin and outer eye corners are a unit face (x right, y down, z
    /// away from the camera) turned by `f`.
    fn turned_face(f: impl Fn([f64; 3]) -> [f64; 3]) -> FaceMesh {
        let mut points = vec![[0.0f32; 3]; MESH_POINTS];
        for (i, p) in [
            (10, [0.0, -1.0, 0.0]),
            (152, [0.0, 1.0, 0.0]),
            (33, [-0.5, -0.3, 0.0]),
            (263, [0.5, -0.3, 0.0]),
        ] {
            points[i] = f(p).map(|v| (100.0 * v) as f32);
        }
        FaceMesh {
            points,
            left_iris: [[0.0; 3]; 5],
            right_iris: [[0.0; 3]; 5],
            confidence: 1.0,
        }
    }

    #[test]
    fn head_pose_signs_follow_the_documented_conventions() {
        let a = 25f64.to_radians();
        let (s, c) = a.sin_cos();
        // Turned to the image's right: the nose (0, 0, -1) moves right, the image-right
        // cheek recedes.
        let yaw = turned_face(|[x, y, z]| [x * c - z * s, y, x * s + z * c]).head_pose();
        // Looking down: the forehead comes towards the camera, the nose moves down.
        let pitch = turned_face(|[x, y, z]| [x, y * c - z * s, y * s + z * c]).head_pose();
        // Turned clockwise in the image (y down): the image-right cheek moves down.
        let roll = turned_face(|[x, y, z]| [x * c - y * s, x * s + y * c, z]).head_pose();
        let near = |v: f32, want: f32| (v - want).abs() < 1e-3;
        assert!(
            near(yaw.yaw, 25.0) && near(yaw.pitch, 0.0) && near(yaw.roll, 0.0),
            "{yaw:?}"
        );
        assert!(
            near(pitch.pitch, 25.0) && near(pitch.yaw, 0.0) && near(pitch.roll, 0.0),
            "{pitch:?}"
        );
        assert!(
            near(roll.roll, 25.0) && near(roll.yaw, 0.0) && near(roll.pitch, 0.0),
            "{roll:?}"
        );
    }

    #[test]
    fn eye_openness_is_lid_opening_over_eye_width_and_one_closed_eye_closes_both() {
        let mut mesh = turned_face(|p| p);
        // Image-left eye 30 wide and 9 open (ratio 0.3), the other 30 wide and 3 open.
        let set = |m: &mut FaceMesh, i: usize, x: f32, y: f32| m.points[i] = [x, y, 0.0];
        for (eye, open) in [
            ((33, 133, [(160, 144), (159, 145), (158, 153)]), 9.0),
            ((263, 362, [(387, 373), (386, 374), (385, 380)]), 3.0),
        ] {
            let ((a, b, lids), h) = (eye, open);
            set(&mut mesh, a, 0.0, 0.0);
            set(&mut mesh, b, 30.0, 0.0);
            for (k, (up, down)) in lids.into_iter().enumerate() {
                let x = 7.5 * (k + 1) as f32;
                set(&mut mesh, up, x, -h / 2.0);
                set(&mut mesh, down, x, h / 2.0);
            }
        }
        let (l, r) = mesh.eye_openness();
        assert!((l - 0.3).abs() < 1e-6 && (r - 0.1).abs() < 1e-6, "{l} {r}");
        assert!(!mesh.eyes_open());
        // Open the second eye to 0.2: both open.
        for (up, down) in [(387, 373), (386, 374), (385, 380)] {
            mesh.points[up][1] = -3.0;
            mesh.points[down][1] = 3.0;
        }
        assert!(mesh.eyes_open(), "{:?}", mesh.eye_openness());
    }

    #[test]
    fn the_first_crop_is_levelled_by_dlibs_eyes_and_refuses_an_empty_box() {
        let face = |landmarks: Vec<(i64, i64)>, right: i64| Face {
            rect: crate::Rect::new(100, 100, right, 199),
            confidence: 1.0,
            landmarks,
            landmarks_68: None,
        };
        // Image-right eye (points 0, 1) 20 px lower than the image-left one (2, 3) over
        // 40 px: the crop turns by atan(20 / 40) clockwise.
        let eyes = vec![(180, 150), (160, 150), (120, 130), (140, 130), (150, 170)];
        let crop = first_crop(&face(eyes, 199)).unwrap();
        let angle = crop.ax[1].atan2(crop.ax[0]);
        assert!((angle - 0.5f64.atan()).abs() < 1e-12, "{angle}");
        // 1.8 × the 100 px box.
        assert!((crop.scale() * MESH_SIZE as f64 - 180.0).abs() < 1e-9);
        // Without landmarks the crop is upright; an empty box is an error.
        let upright = first_crop(&face(vec![], 199)).unwrap();
        assert_eq!(upright.ax[1], 0.0);
        assert!(matches!(
            first_crop(&face(vec![], 50)),
            Err(VisionError::InvalidArgument(_))
        ));
    }

    #[test]
    fn sampling_reads_pixel_centres_bilinearly_and_zero_outside() {
        // Grey 2×2 image 0, 100 / 200, 40.
        let mut img = RgbImage::new(2, 2);
        for (i, v) in [0u8, 100, 200, 40].into_iter().enumerate() {
            img.put_pixel(i as u32 % 2, i as u32 / 2, image::Rgb([v, v, v]));
        }
        let grey = |a: &Affine, n: usize| {
            let mut out = Vec::new();
            a.sample(&img, n, &mut out);
            out.chunks(3).map(|p| p[0] * 255.0).collect::<Vec<f32>>()
        };
        // The whole image at its own size reads each pixel.
        let same = Affine::square([1.0, 1.0], 2.0, 0.0, 2);
        let v = grey(&same, 2);
        assert!(
            v.iter()
                .zip([0.0, 100.0, 200.0, 40.0])
                .all(|(a, b)| (a - b).abs() < 1e-3),
            "{v:?}"
        );
        // A 1×1 crop on the image centre blends all four equally.
        let centre = Affine::square([1.0, 1.0], 1.0, 0.0, 1);
        assert!((grey(&centre, 1)[0] - 85.0).abs() < 1e-3);
        // Twice the resolution: cell centres at pixel positions -0.25, 0.25, 0.75, 1.25; the
        // outer ones fall outside the image and read 0.
        let v = grey(&Affine::square([1.0, 1.0], 2.0, 0.0, 4), 4);
        assert_eq!(v[0], 0.0);
        assert_eq!(v[3], 0.0);
        // (0.25, 0.25): 0 · 0.5625 + 100 · 0.1875 + 200 · 0.1875 + 40 · 0.0625.
        assert!((v[5] - 58.75).abs() < 1e-3, "{v:?}");
    }

    #[test]
    fn a_levelled_square_crop_maps_its_centre_and_corners() {
        let a = Affine::square([100.0, 50.0], 96.0, 0.0, 192);
        assert_eq!(a.map(96.0, 96.0), [100.0, 50.0]);
        assert_eq!(a.map(0.0, 0.0), [52.0, 2.0]);
        assert!((a.scale() - 0.5).abs() < 1e-12);
        // Turned 90° clockwise: the crop's x axis points down the image.
        let r = Affine::square([0.0, 0.0], 192.0, std::f64::consts::FRAC_PI_2, 192);
        let p = r.map(106.0, 96.0);
        assert!(p[0].abs() < 1e-9 && (p[1] - 10.0).abs() < 1e-9, "{p:?}");
    }

    #[test]
    fn a_mirrored_eye_crop_runs_its_x_axis_backwards() {
        let face = Affine::square([96.0, 96.0], 192.0, 0.0, 192);
        // Corners 23 model units apart: the crop is 2.3 × 23 = 52.9 wide.
        let plain = eye_crop(&face, [50.0, 80.0], [73.0, 80.0], false);
        let mirrored = eye_crop(&face, [50.0, 80.0], [73.0, 80.0], true);
        let (p0, m0) = (plain.map(0.0, 32.0), mirrored.map(0.0, 32.0));
        assert!((p0[0] - (61.5 - 26.45)).abs() < 1e-9, "{p0:?}");
        assert!((m0[0] - (61.5 + 26.45)).abs() < 1e-9, "{m0:?}");
        // Both meet at the centre.
        let (pc, mc) = (plain.map(32.0, 32.0), mirrored.map(32.0, 32.0));
        assert!((pc[0] - mc[0]).abs() < 1e-9 && (pc[1] - mc[1]).abs() < 1e-9);
        assert!((pc[0] - 61.5).abs() < 1e-9, "{pc:?}");
    }

    #[test]
    fn resampling_spaces_points_evenly_along_the_line() {
        let line = [
            Point::new(0.0, 0.0),
            Point::new(1.0, 0.0),
            Point::new(1.0, 3.0),
        ];
        let r = resample(&line, 5);
        let want = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (1.0, 2.0), (1.0, 3.0)];
        for (p, w) in r.iter().zip(want) {
            assert!(
                (p.x - w.0).abs() < 1e-6 && (p.y - w.1).abs() < 1e-6,
                "{r:?}"
            );
        }
    }

    #[test]
    fn shape_tables_have_the_iai_counts_and_valid_indices() {
        let tables: [&[usize]; 6] = [
            &SHAPE90_LEFT_EYE,
            &SHAPE90_RIGHT_EYE,
            &SHAPE90_LEFT_BROW,
            &SHAPE90_RIGHT_BROW,
            &SHAPE90_MOUTH,
            &SHAPE90_NOSE,
        ];
        let counts: Vec<usize> = tables.iter().map(|t| t.len()).collect();
        assert_eq!(counts, [8, 8, 8, 8, 22, 13]);
        assert!(tables.iter().all(|t| t.iter().all(|&i| i < MESH_POINTS)));
        // A region never names the same mesh point twice.
        for t in tables {
            let mut s = t.to_vec();
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), t.len());
        }
    }
}
