//! Face detection with dlib's MMOD CNN, run the way dlib runs it: the image and its 5/6
//! downscales tiled into one canvas, one pass of the network, every positive cell of the
//! score map a candidate window, greedy non-maximum suppression.

use image::RgbImage;

use crate::error::{Result, VisionError};
use crate::geometry::{DRect, Point, Rect};
use crate::pyramid::TiledPyramid;
use crate::runtime::{Dim, Network, Threads};
use crate::upsample;

/// The most pixels an image is upsampled to for small faces: the largest photo the
/// decoder admits by default (`DecodeLimits::max_pixels`), which the 80-px mode already
/// runs on. Two doublings (faces down to 20 px) fit photos up to about 2.5 M pixels
/// (1920×1080: 33 M), one doubling up to about 10 M.
pub const MAX_UPSAMPLED_PIXELS: u64 = 40_000_000;

/// How much smaller than the minimum face size a box may be and still be kept: a box's
/// side is an estimate. BlazeFace's boxes (mapped to MMOD's convention) of faces scaled
/// to exactly 34 px came out as small as 26 px, and MMOD's own box sides step by 6/5
/// through its pyramid. On 40 East-Asian photos scaled so that the MMOD face is 34 px in
/// a 640×480 frame, a strict cut at 34 kept the fast path's face in 20, this margin in 39.
pub const MIN_SIZE_MARGIN: f64 = 0.75;

/// Whether a box is large enough for a minimum face size of `min` pixels (its longer side
/// at least [`MIN_SIZE_MARGIN`] of it).
pub fn large_enough(rect: &Rect, min: f64) -> bool {
    rect.width().max(rect.height()) as f64 >= MIN_SIZE_MARGIN * min
}

/// How many times dlib's `pyramid_up` doubles a `width`×`height` image so that faces of
/// `min` pixels fill the detector's `window`, within [`MAX_UPSAMPLED_PIXELS`].
pub fn upsamplings(width: u32, height: u32, window: f64, min: f64) -> u32 {
    let (mut w, mut h) = (width, height);
    let mut levels = 0;
    while window / f64::from(1u32 << levels) > min && levels < 8 {
        let (uw, uh) = upsample::upsampled_size(w, h);
        if u64::from(uw) * u64::from(uh) > MAX_UPSAMPLED_PIXELS {
            break;
        }
        (w, h, levels) = (uw, uh, levels + 1);
    }
    levels
}

/// A detected face box with the detector's confidence.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// The box, dlib's convention (inclusive edges; may reach outside the image).
    pub rect: Rect,
    /// The network's score; detections have a score above the threshold (0 by default).
    pub confidence: f32,
}

/// How detection runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DetectOptions {
    /// Smallest face side, in pixels, that must be found. The network's window is 80 px:
    /// a smaller value upsamples the image first as dlib does (each halving of the size
    /// costs four times the pixels), a larger one downsamples it (faster); see
    /// [`Detector::detect`].
    pub min_face_size: u32,
    /// At most this many faces, the most confident first.
    pub max_faces: usize,
    /// Score threshold (dlib's `adjust_threshold`); 0 is dlib's default.
    pub threshold: f32,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            min_face_size: 80,
            max_faces: 120,
            threshold: 0.0,
        }
    }
}

/// Geometry and thresholds of the detector, from its model file.
#[derive(Clone, Debug, PartialEq)]
pub struct MmodGeometry {
    /// Detector window width and height in canvas pixels.
    pub window: (f64, f64),
    /// NMS: IoU threshold and covered-fraction threshold.
    pub nms: (f64, f64),
    /// Raw RGB value that normalises to 0 (the canvas background).
    pub means: [f32; 3],
    /// Score-map cell spacing in canvas pixels.
    pub stride: f64,
    /// Canvas coordinate of cell 0's centre.
    pub offset: f64,
}

impl MmodGeometry {
    /// Reads the geometry from the options the `models` crate parsed.
    pub fn from_options(o: &models::dlib::MmodOptions) -> Result<Self> {
        let [w] = o.detector_windows.as_slice() else {
            return Err(VisionError::model(
                "mmod detector",
                format!("{} detector windows, expected 1", o.detector_windows.len()),
            ));
        };
        if o.pyramid_downsample != (5, 6)
            || o.pyramid_padding as i64 != crate::pyramid::LEVEL_PADDING
            || o.pyramid_outer_padding as i64 != crate::pyramid::OUTER_PADDING
            || o.use_bounding_box_regression
        {
            return Err(VisionError::model(
                "mmod detector",
                "unsupported pyramid or box regression",
            ));
        }
        Ok(MmodGeometry {
            window: (f64::from(w.width), f64::from(w.height)),
            nms: o.overlaps_nms,
            means: o.means,
            stride: o.output_stride,
            offset: o.output_offset,
        })
    }

    fn overlaps(&self, a: &Rect, b: &Rect) -> bool {
        let inner = a.intersect(b).area() as f64;
        if inner == 0.0 {
            return false;
        }
        let outer = a.union_box(b).area() as f64;
        inner / outer > self.nms.0
            || inner / a.area() as f64 > self.nms.1
            || inner / b.area() as f64 > self.nms.1
    }
}

/// The MMOD face detector.
#[derive(Clone, Debug)]
pub struct Detector {
    net: Network,
    geometry: MmodGeometry,
}

impl Detector {
    /// Loads the imported ONNX graph (input `[1,3,H,W]` raw RGB, output `[1,1,H',W']`).
    /// The network is optimised for each canvas size it meets (the canvas size follows
    /// from the image size), keeping the plans of the `max_plans` most recent sizes.
    pub fn load(onnx: &[u8], geometry: MmodGeometry, max_plans: usize) -> Result<Detector> {
        let net = Network::load(
            "mmod detector",
            onnx,
            &[
                Dim::Fixed(1),
                Dim::Fixed(3),
                Dim::Symbol("H"),
                Dim::Symbol("W"),
            ],
            max_plans,
        )?;
        Ok(Detector { net, geometry })
    }

    /// The same detector (sharing its plans), its network passes run on `threads`.
    pub fn with_threads(self, threads: &Threads) -> Detector {
        Detector {
            net: self.net.with_threads(threads),
            geometry: self.geometry,
        }
    }

    /// The detector's window side in pixels: the face size found without resizing.
    pub fn window(&self) -> f64 {
        self.geometry.window.0.max(self.geometry.window.1)
    }

    /// Finds faces, the most confident first.
    ///
    /// The network's window is 80 px. A minimum face size above that downsamples the
    /// image first (faster) and drops smaller boxes ([`large_enough`]). Below it, the image is doubled with
    /// dlib's `pyramid_up` as `cnn_face_detection_model_v1(img, n)` does (the parity
    /// tests compare with dlib's own upsampled detections): once for 40-79 px, twice
    /// for 20-39 px, and so on, each doubling costing four times the pixels. So that a
    /// small minimum cannot make a large photo cost gigabytes, the doublings stop before
    /// the upsampled image exceeds [`MAX_UPSAMPLED_PIXELS`]; smaller faces are then not
    /// found. Between two doublings' own
    /// minima, boxes under the asked size are dropped ([`large_enough`]).
    pub fn detect(&self, img: &RgbImage, options: &DetectOptions) -> Result<Vec<Detection>> {
        if options.min_face_size == 0 {
            return Err(VisionError::InvalidArgument(
                "min_face_size must be positive".into(),
            ));
        }
        let min = f64::from(options.min_face_size);
        let window = self.window();
        let mut dets = if min > window {
            let scale = window / min;
            let (w, h) = (
                ((f64::from(img.width()) * scale).round() as u32).max(1),
                ((f64::from(img.height()) * scale).round() as u32).max(1),
            );
            let resized = image::imageops::resize(img, w, h, image::imageops::FilterType::Triangle);
            let (sx, sy) = (
                f64::from(img.width()) / f64::from(w),
                f64::from(img.height()) / f64::from(h),
            );
            let mut dets: Vec<Detection> = self
                .detect_at_scale(&resized, options.threshold)?
                .into_iter()
                .map(|d| {
                    let r = DRect::new(
                        d.rect.left as f64 * sx,
                        d.rect.top as f64 * sy,
                        (d.rect.right + 1) as f64 * sx - 1.0,
                        (d.rect.bottom + 1) as f64 * sy - 1.0,
                    );
                    Detection {
                        rect: r.to_rect(),
                        confidence: d.confidence,
                    }
                })
                .collect();
            dets.retain(|d| large_enough(&d.rect, min));
            dets
        } else {
            let levels = upsamplings(img.width(), img.height(), window, min);
            let mut upsampled = std::borrow::Cow::Borrowed(img);
            for _ in 0..levels {
                upsampled = std::borrow::Cow::Owned(upsample::pyramid_up(&upsampled));
            }
            let mut dets: Vec<Detection> = self
                .detect_at_scale(&upsampled, options.threshold)?
                .into_iter()
                .map(|d| Detection {
                    rect: upsample::rect_down(&d.rect, levels),
                    confidence: d.confidence,
                })
                .collect();
            if min > window / f64::from(1u32 << levels) {
                dets.retain(|d| large_enough(&d.rect, min));
            }
            dets
        };
        dets.truncate(options.max_faces);
        Ok(dets)
    }

    /// dlib's `net(image)` for the CNN face detector at the image's own scale.
    fn detect_at_scale(&self, img: &RgbImage, threshold: f32) -> Result<Vec<Detection>> {
        let pyramid = TiledPyramid::layout(i64::from(img.width()), i64::from(img.height()));
        if pyramid.levels.is_empty() {
            return Ok(Vec::new());
        }
        let (h, w) = (pyramid.height as usize, pyramid.width as usize);
        let (shape, scores) = self.net.run(&[1, 3, h, w], |data| {
            pyramid.fill_canvas(img, self.geometry.means, data)
        })?;
        let [_, _, rows, cols] = shape[..] else {
            return Err(VisionError::inference(
                "mmod detector",
                format!("output shape {shape:?}"),
            ));
        };
        let g = &self.geometry;
        let mut candidates = Vec::new();
        for r in 0..rows {
            for c in 0..cols {
                let score = scores[r * cols + c];
                if score > threshold {
                    let centre = Point::new(
                        g.stride * c as f64 + g.offset,
                        g.stride * r as f64 + g.offset,
                    );
                    let window = DRect::centered(centre, g.window.0, g.window.1);
                    candidates.push(Detection {
                        rect: pyramid.to_image(&window).to_rect(),
                        confidence: score,
                    });
                }
            }
        }
        candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        let mut kept: Vec<Detection> = Vec::new();
        for d in candidates {
            if !kept.iter().any(|k| g.overlaps(&k.rect, &d.rect)) {
                kept.push(d);
            }
        }
        Ok(kept)
    }
}
