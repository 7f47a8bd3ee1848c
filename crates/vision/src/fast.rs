//! The fast detector path: MediaPipe's BlazeFace (the 256×256 "back camera" model of the
//! `human-models` pack, `blazeface.json`, converted to ONNX by the `tfjs` crate), its
//! boxes mapped onto the box convention of dlib's MMOD detector, so that dlib's 5-point
//! shape predictor and the 150×150 chip, both trained on MMOD boxes, see what they expect.
//!
//! How it runs: the image is cut into square windows (one covering the whole image, or a
//! grid of overlapping tiles for small faces, see [`FastOptions::tiles`]); each window is
//! resized to 256×256 with a triangle filter (the part outside the image stays at the
//! normalised value 0), normalised to `v/127.5 − 1` and run through the network; the 896
//! anchors are decoded as MediaPipe's face_detection_back graph does (fixed-size anchors,
//! strides 16 and 32, offsets in input pixels); the candidates of every window are merged
//! by MediaPipe's weighted non-maximum suppression; the boxes are mapped to MMOD's
//! convention by [`BoxMapping`], whose constants were fitted on data
//! (`crates/calibration/benches/fastdet.rs` prints the fit).
//!
//! Anchors, decoding and the weighted suppression are written here because they are the
//! model's own post-processing (MediaPipe's `SsdAnchorsCalculator`,
//! `TensorsToDetectionsCalculator` and `NonMaxSuppressionCalculator`), which the graph
//! does not contain and which no crate of the dependency tree provides: tract runs the
//! network only, and the score-weighted blending is not plain NMS.

use image::RgbImage;

use crate::detector::Detection;
use crate::error::{Result, VisionError};
use crate::geometry::{DRect, Point};
use crate::runtime::Network;

/// The network's input side.
pub const INPUT: usize = 256;
/// The smallest face side, in pixels of the network's input, that one window is trusted
/// with; beyond it the image is also cut into tiles so that `min_face_size` maps to at
/// least this. 13 keeps 640×480 at 34-pixel faces to one window (13.6 input pixels):
/// on the 380 EA photos scaled so that the face is 34 px in a 640×480 frame, one window
/// found 330 (40 px: 360) in 25.5 ms, the whole image plus 2×2 tiles (24 input pixels
/// per face) 370 (40 px: 378) in 114.8 ms (`bench/fastdet`, release, one core,
/// docs/performance.md). The default keeps the speed; `FastOptions::tiles` buys the
/// recall.
pub const MIN_FACE_IN_INPUT: f64 = 13.0;

/// MediaPipe's anchor layout for the back model: 16×16 cells with 2 anchors (stride 16),
/// 8×8 cells with 6 anchors (strides 32, three layers merged).
const LAYERS: [(usize, usize); 2] = [(16, 2), (8, 6)];
/// MediaPipe's score clipping before the sigmoid.
const SCORE_CLIP: f32 = 100.0;

/// The box convention mapping: a fast box (centre `cx, cy`, side `s` = geometric mean
/// of its width and height) becomes the square MMOD box centred on
/// `(cx + dx·s, cy + dy·s)` with side `scale·s`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxMapping {
    /// Horizontal centre offset over the side.
    pub dx: f64,
    /// Vertical centre offset over the side.
    pub dy: f64,
    /// MMOD side over the fast side.
    pub scale: f64,
}

impl BoxMapping {
    /// No change: the fast box as a square of the same centre and mean side.
    pub const IDENTITY: BoxMapping = BoxMapping {
        dx: 0.0,
        dy: 0.0,
        scale: 1.0,
    };

    /// Fitted by `crates/calibration/benches/fastdet.rs` (`bench/fastdet`) on the 389
    /// pairs of a BlazeFace box and an MMOD box (centres within a third of the MMOD side)
    /// found on the 382 photos of `../shared/calibration/ea` and the 8 fixture photos: the
    /// medians of the per-face ratios (median IoU with MMOD's box 0.767 after the mapping,
    /// 0.697 before). BlazeFace's box is larger and its centre higher than MMOD's.
    pub const FITTED: BoxMapping = BoxMapping {
        dx: -0.0368,
        dy: -0.0939,
        scale: 0.9598,
    };

    /// Least-absolute-deviation fit (per-coordinate medians of the ratios) from pairs of
    /// (fast box, MMOD box); `None` without pairs.
    pub fn fit(pairs: &[(DRect, DRect)]) -> Option<BoxMapping> {
        if pairs.is_empty() {
            return None;
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            let n = v.len();
            if n % 2 == 1 {
                v[n / 2]
            } else {
                (v[n / 2 - 1] + v[n / 2]) / 2.0
            }
        };
        let side = |r: &DRect| (r.width() * r.height()).sqrt();
        let ratios = |f: &dyn Fn(&DRect, &DRect) -> f64| {
            median(pairs.iter().map(|(a, b)| f(a, b)).collect())
        };
        Some(BoxMapping {
            dx: ratios(&|a, b| (b.center().x - a.center().x) / side(a)),
            dy: ratios(&|a, b| (b.center().y - a.center().y) / side(a)),
            scale: ratios(&|a, b| side(b) / side(a)),
        })
    }

    /// The MMOD-convention box for a fast box.
    pub fn apply(&self, r: &DRect) -> DRect {
        let s = (r.width() * r.height()).sqrt();
        let c = r.center();
        DRect::centered(
            Point::new(c.x + self.dx * s, c.y + self.dy * s),
            self.scale * s,
            self.scale * s,
        )
    }
}

/// How the fast detector runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FastOptions {
    /// Score threshold after the sigmoid (MediaPipe's back model uses 0.65).
    pub min_score: f32,
    /// IoU above which candidates are blended into one face (MediaPipe: 0.3).
    pub nms_iou: f64,
    /// Windows: 0 picks the fewest windows per side that bring `min_face_size` to
    /// [`MIN_FACE_IN_INPUT`] input pixels; n > 0 forces an n×n grid over the longer side.
    pub tiles: u32,
    /// Map the boxes to MMOD's convention (else the raw BlazeFace boxes, for fitting).
    pub map_to_mmod: bool,
}

impl Default for FastOptions {
    fn default() -> Self {
        FastOptions {
            min_score: 0.65,
            nms_iou: 0.3,
            tiles: 0,
            map_to_mmod: true,
        }
    }
}

/// A candidate before suppression: box in image pixels (continuous, dlib's edges),
/// score, and the six keypoints (eyes, nose, mouth, ears) in image pixels.
#[derive(Clone, Copy, Debug)]
struct Candidate {
    rect: DRect,
    score: f32,
}

/// The fast face detector.
#[derive(Clone, Debug)]
pub struct FastDetector {
    net: Network,
    /// Anchor centres in input pixels, in the order of the outputs (16×16 layer first).
    anchors: Vec<(f32, f32)>,
    mapping: BoxMapping,
}

impl FastDetector {
    /// Loads BlazeFace from the store (the `human-models` pack, converted on first use).
    pub fn load(store: &models::ModelStore) -> Result<FastDetector> {
        let net = Network::load_tfjs(store, "blazeface", "blazeface.json", [1, INPUT, INPUT, 3])?;
        Ok(FastDetector::from_network(net))
    }

    /// Loads BlazeFace from ONNX bytes already in memory.
    pub fn from_onnx(onnx: &[u8]) -> Result<FastDetector> {
        let input = [1, INPUT, INPUT, 3].map(crate::runtime::Dim::Fixed);
        Ok(FastDetector::from_network(Network::load(
            "blazeface",
            onnx,
            &input,
            1,
        )?))
    }

    fn from_network(net: Network) -> FastDetector {
        let mut anchors = Vec::with_capacity(896);
        for (grid, per_cell) in LAYERS {
            let stride = INPUT as f32 / grid as f32;
            for y in 0..grid {
                for x in 0..grid {
                    for _ in 0..per_cell {
                        anchors.push(((x as f32 + 0.5) * stride, (y as f32 + 0.5) * stride));
                    }
                }
            }
        }
        FastDetector {
            net,
            anchors,
            mapping: BoxMapping::FITTED,
        }
    }

    /// The same detector with another box mapping.
    pub fn with_mapping(mut self, mapping: BoxMapping) -> FastDetector {
        self.mapping = mapping;
        self
    }

    /// The box mapping in use.
    pub fn mapping(&self) -> BoxMapping {
        self.mapping
    }

    /// The square windows (left, top, side) in image pixels: the whole image, and when a
    /// face of `min_face_size` pixels would be under [`MIN_FACE_IN_INPUT`] input pixels
    /// in it, also tiles small enough for that (large faces are found in the whole-image
    /// window, which tiles may cut).
    pub fn windows(
        width: u32,
        height: u32,
        min_face_size: u32,
        tiles: u32,
    ) -> Vec<(f64, f64, f64)> {
        let long = f64::from(width.max(height));
        let n = if tiles > 0 {
            tiles
        } else {
            // Largest window side that keeps min_face_size at MIN_FACE_IN_INPUT.
            let max_side = f64::from(min_face_size.max(1)) * INPUT as f64 / MIN_FACE_IN_INPUT;
            // Neighbouring windows overlap by a quarter of a window, so that a face on
            // a seam is whole in one of them: n windows of side s cover s·(1 + 3(n−1)/4).
            let mut n = 1u32;
            while long / (1.0 + 0.75 * f64::from(n - 1)) > max_side && n < 16 {
                n += 1;
            }
            n
        };
        let side = long / (1.0 + 0.75 * f64::from(n - 1));
        let starts = |extent: f64| -> Vec<f64> {
            if extent <= side {
                return vec![0.0];
            }
            let k = ((extent - side) / (0.75 * side)).ceil() as usize + 1;
            let step = (extent - side) / (k - 1) as f64;
            (0..k).map(|i| i as f64 * step).collect()
        };
        let (xs, ys) = (starts(f64::from(width)), starts(f64::from(height)));
        let mut out = Vec::with_capacity(xs.len() * ys.len() + 1);
        if n > 1 {
            out.push((0.0, 0.0, long));
        }
        for &y in &ys {
            for &x in &xs {
                out.push((x, y, side));
            }
        }
        out
    }

    /// Finds faces of at least `min_face_size` pixels, the most confident first, at most
    /// `max_faces`; boxes in MMOD's convention unless `options.map_to_mmod` is off.
    pub fn detect(
        &self,
        img: &RgbImage,
        min_face_size: u32,
        max_faces: usize,
        options: &FastOptions,
    ) -> Result<Vec<Detection>> {
        if min_face_size == 0 {
            return Err(VisionError::InvalidArgument(
                "min_face_size must be positive".into(),
            ));
        }
        if img.width() == 0 || img.height() == 0 {
            return Ok(Vec::new());
        }
        let mut candidates = Vec::new();
        for (x, y, side) in Self::windows(img.width(), img.height(), min_face_size, options.tiles) {
            self.run_window(img, (x, y, side), options.min_score, &mut candidates)?;
        }
        let faces = weighted_nms(candidates, options.nms_iou);
        let min = f64::from(min_face_size);
        let mut out: Vec<Detection> = faces
            .into_iter()
            .map(|c| {
                let rect = if options.map_to_mmod {
                    self.mapping.apply(&c.rect)
                } else {
                    c.rect
                };
                (rect, c.score)
            })
            .filter(|(r, _)| crate::detector::large_enough(&r.to_rect(), min))
            .map(|(r, score)| Detection {
                rect: r.to_rect(),
                confidence: score,
            })
            .collect();
        out.truncate(max_faces);
        Ok(out)
    }

    /// One window: crop, resize, run, decode into image coordinates.
    fn run_window(
        &self,
        img: &RgbImage,
        (x0, y0, side): (f64, f64, f64),
        min_score: f32,
        out: &mut Vec<Candidate>,
    ) -> Result<()> {
        let scale = INPUT as f64 / side;
        // The part of the window inside the image, in whole pixels.
        let (cx, cy) = (x0.round() as u32, y0.round() as u32);
        let cw = ((x0 + side).round() as u32)
            .min(img.width())
            .saturating_sub(cx);
        let ch = ((y0 + side).round() as u32)
            .min(img.height())
            .saturating_sub(cy);
        if cw == 0 || ch == 0 {
            return Ok(());
        }
        let (rw, rh) = (
            ((f64::from(cw) * scale).round() as u32).clamp(1, INPUT as u32),
            ((f64::from(ch) * scale).round() as u32).clamp(1, INPUT as u32),
        );
        let whole = (cx, cy, cw, ch) == (0, 0, img.width(), img.height());
        let view = image::imageops::crop_imm(img, cx, cy, cw, ch);
        let resized = match ((rw, rh) == (cw, ch), whole) {
            (true, _) => view.to_image(),
            // The whole image: no copy of the crop first.
            (false, true) => {
                image::imageops::resize(img, rw, rh, image::imageops::FilterType::Triangle)
            }
            (false, false) => {
                image::imageops::resize(&*view, rw, rh, image::imageops::FilterType::Triangle)
            }
        };
        // The input pixel size in image pixels along each axis (exact for the resize).
        let (sx, sy) = (f64::from(cw) / f64::from(rw), f64::from(ch) / f64::from(rh));
        let outputs = self.net.run_all(&[1, INPUT, INPUT, 3], |data| {
            let raw = resized.as_raw();
            let w = rw as usize;
            for y in 0..rh as usize {
                let row = &raw[y * w * 3..(y + 1) * w * 3];
                let dst = &mut data[y * INPUT * 3..y * INPUT * 3 + w * 3];
                for (d, &s) in dst.iter_mut().zip(row) {
                    *d = f32::from(s) / 127.5 - 1.0;
                }
            }
        })?;
        // Outputs: scores [1,512,1], [1,384,1] and boxes [1,512,16], [1,384,16], told
        // apart by their shapes.
        let find = |n: usize, k: usize| {
            outputs
                .iter()
                .find(|(shape, _)| shape[..] == [1, n, k])
                .map(|(_, v)| v.as_slice())
                .ok_or_else(|| {
                    VisionError::inference(
                        "blazeface",
                        format!(
                            "no [1,{n},{k}] output among {:?}",
                            outputs.iter().map(|o| &o.0).collect::<Vec<_>>()
                        ),
                    )
                })
        };
        let mut first = 0;
        for (grid, per_cell) in LAYERS {
            let n = grid * grid * per_cell;
            let (scores, boxes) = (find(n, 1)?, find(n, 16)?);
            for i in 0..n {
                let logit = scores[i].clamp(-SCORE_CLIP, SCORE_CLIP);
                let score = 1.0 / (1.0 + (-logit).exp());
                if score < min_score {
                    continue;
                }
                let b = &boxes[i * 16..i * 16 + 4];
                let (ax, ay) = self.anchors[first + i];
                // Centre and size in input pixels, then continuous image pixels (pixel
                // k spans [k, k+1)), then dlib's inclusive edges (centre of pixel k is k).
                let (icx, icy) = (f64::from(ax + b[0]), f64::from(ay + b[1]));
                let (iw, ih) = (f64::from(b[2]), f64::from(b[3]));
                if !(iw > 0.0 && ih > 0.0 && icx.is_finite() && icy.is_finite()) {
                    continue;
                }
                let centre = Point::new(
                    f64::from(cx) + icx * sx - 0.5,
                    f64::from(cy) + icy * sy - 0.5,
                );
                out.push(Candidate {
                    rect: DRect::centered(centre, iw * sx, ih * sy),
                    score,
                });
            }
            first += n;
        }
        Ok(())
    }
}

fn iou(a: &DRect, b: &DRect) -> f64 {
    let inter = DRect::new(
        a.left.max(b.left),
        a.top.max(b.top),
        a.right.min(b.right),
        a.bottom.min(b.bottom),
    );
    let i = inter.area();
    if i <= 0.0 {
        return 0.0;
    }
    i / (a.area() + b.area() - i)
}

/// MediaPipe's weighted non-maximum suppression: the most confident remaining candidate
/// and every candidate overlapping it by more than `threshold` (IoU) become one face,
/// whose box is the score-weighted mean of theirs and whose score is the top one's.
fn weighted_nms(mut candidates: Vec<Candidate>, threshold: f64) -> Vec<Candidate> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut out = Vec::new();
    while let Some(top) = candidates.first().copied() {
        let (group, rest): (Vec<Candidate>, Vec<Candidate>) = candidates
            .into_iter()
            .partition(|c| iou(&top.rect, &c.rect) > threshold);
        candidates = rest;
        let total: f64 = group.iter().map(|c| f64::from(c.score)).sum();
        let mut r = DRect::new(0.0, 0.0, 0.0, 0.0);
        for c in &group {
            let w = f64::from(c.score) / total;
            r.left += c.rect.left * w;
            r.top += c.rect.top * w;
            r.right += c.rect.right * w;
            r.bottom += c.rect.bottom * w;
        }
        out.push(Candidate {
            rect: r,
            score: top.score,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_known_mapping() {
        let truth = BoxMapping {
            dx: 0.05,
            dy: 0.12,
            scale: 0.9,
        };
        let pairs: Vec<(DRect, DRect)> = (0..7)
            .map(|i| {
                let s = 40.0 + 13.0 * f64::from(i);
                let fast = DRect::centered(Point::new(100.0 + 7.0 * f64::from(i), 80.0), s, s);
                (fast, truth.apply(&fast))
            })
            .collect();
        let fit = BoxMapping::fit(&pairs).unwrap();
        assert!((fit.dx - truth.dx).abs() < 1e-9, "{fit:?}");
        assert!((fit.dy - truth.dy).abs() < 1e-9, "{fit:?}");
        assert!((fit.scale - truth.scale).abs() < 1e-9, "{fit:?}");
        assert_eq!(BoxMapping::fit(&[]), None);
    }

    #[test]
    fn windows_cover_the_image_with_overlap() {
        // Large faces only: one window over the whole image.
        assert_eq!(
            FastDetector::windows(640, 480, 80, 0),
            vec![(0.0, 0.0, 640.0)]
        );
        // 34-pixel faces on 640×480: 13.6 input pixels, still one window.
        assert_eq!(
            FastDetector::windows(640, 480, 34, 0),
            vec![(0.0, 0.0, 640.0)]
        );
        // 20-pixel faces: the whole image, then tiles of at most 20·256/13 = 394 px.
        let w = FastDetector::windows(640, 480, 20, 0);
        assert!(w.len() > 2);
        assert_eq!(w[0], (0.0, 0.0, 640.0));
        for &(x, y, s) in &w[1..] {
            assert!(s <= 20.0 * 256.0 / MIN_FACE_IN_INPUT + 1e-9);
            assert!(x >= 0.0 && y >= 0.0 && x + s <= 640.0 + 1e-9);
        }
        let right = w.iter().map(|&(x, _, s)| x + s).fold(0.0, f64::max);
        let bottom = w.iter().map(|&(_, y, s)| y + s).fold(0.0, f64::max);
        assert!((right - 640.0).abs() < 1e-9 && bottom >= 480.0 - 1e-9);
    }

    #[test]
    fn weighted_nms_blends_overlapping_candidates() {
        let c = |l: f64, s: f32| Candidate {
            rect: DRect::new(l, 0.0, l + 9.0, 9.0),
            score: s,
        };
        let out = weighted_nms(vec![c(0.0, 0.9), c(2.0, 0.3), c(50.0, 0.8)], 0.3);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].score, 0.9);
        // Scores are f32: 0.3 · 2 / 1.2 to within f32 precision.
        assert!((out[0].rect.left - 0.5).abs() < 1e-6, "{:?}", out[0].rect);
        assert_eq!(out[1].rect.left, 50.0);
    }
}
